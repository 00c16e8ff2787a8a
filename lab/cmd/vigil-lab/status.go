package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"text/tabwriter"

	"github.com/vigilops/vigil/lab/internal/daemon"
	"github.com/vigilops/vigil/lab/internal/labstate"
	"github.com/vigilops/vigil/lab/kube"
)

func runStatus(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	memory := fs.Bool("memory", false, "also print the resident memory of every lab process and their sum")
	if err := fs.Parse(args); err != nil {
		return err
	}
	l := openLab(os.Stdout)
	ports, err := labstate.LoadPorts(l.state)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("the lab was never brought up in %s: run `make lab-up`", l.state)
		}
		return err
	}
	l.ports = ports
	portOf := map[string]int{}
	for _, np := range ports.ByName() {
		portOf[np.Name] = np.Port
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "COMPONENT\tPID\tPORT\tSTATE")
	down := 0
	row := func(name string, pid int, state string) {
		if state != "up" {
			down++
		}
		p := "-"
		if pid > 0 {
			p = fmt.Sprint(pid)
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", name, p, portOf[name], state)
	}
	components := l.cluster("").Components()
	for _, name := range kube.Components {
		pid := components[name]
		state := "up"
		if pid == 0 || !l.daemons.Alive(pid) {
			state = "not running"
		}
		row(name, pid, state)
	}
	token, _ := l.token()
	for _, s := range l.daemonSpecs(token) {
		pid, ok := l.daemons.Pid(s.name)
		state := "up"
		if !ok {
			state, pid = "not running", 0
		} else if err := s.health(); err != nil {
			state = "unhealthy: " + err.Error()
		}
		row(s.name, pid, state)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if *memory {
		printMemory(l.daemons.Processes())
	}
	if down > 0 {
		return fmt.Errorf("%d components are not up", down)
	}
	if !fileExists(l.envFile()) {
		return fmt.Errorf("no %s: `make lab-up` did not finish", l.envFile())
	}
	fmt.Printf("env: %s\n", l.envFile())
	return nil
}

func printMemory(procs []daemon.Process) {
	sort.Slice(procs, func(i, j int) bool { return procs[i].RSS > procs[j].RSS })
	var total int64
	for _, p := range procs {
		total += p.RSS
		name := p.Cmdline
		if len(name) > 90 {
			name = name[:90] + "…"
		}
		fmt.Printf("%8.1f MB  %6d  %s\n", float64(p.RSS)/1e6, p.Pid, name)
	}
	fmt.Printf("memory: %.0f MB resident in %d lab processes\n", float64(total)/1e6, len(procs))
}
