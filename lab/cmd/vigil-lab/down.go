package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"syscall"
	"time"

	"github.com/vigilops/vigil/lab/internal/daemon"
	"github.com/vigilops/vigil/lab/internal/labstate"
	"github.com/vigilops/vigil/lab/kube"
)

func runDown(ctx context.Context, _ []string) error {
	l := openLab(os.Stdout)
	ports, err := labstate.LoadPorts(l.state)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	l.ports = ports
	// Tests take a present env file for a lab that is up.
	if err := os.Remove(l.envFile()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var errs []error
	specs := l.daemonSpecs("")
	slices.Reverse(specs)
	for _, s := range specs {
		pid, running := l.daemons.Pid(s.name)
		// The emulator stops its droplets' hosts before it exits.
		if err := l.daemons.StopWith(s.name, stopSignalOf(s.name), 20*time.Second); err != nil {
			errs = append(errs, err)
		} else if running {
			logf(l.out, "%-12s stopped (pid %d)", s.name, pid)
		}
	}
	c := l.cluster(kube.CacheDir())
	if c.Exists() {
		components := c.Components()
		if err := c.Delete(ctx); err != nil {
			// Without kwokctl (a wiped cache, say), stop it by hand.
			logf(l.out, "kwokctl delete cluster failed (%v): killing the cluster's processes", err)
			for _, pid := range components {
				if l.daemons.Alive(pid) {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
			if err := os.RemoveAll(c.Dir()); err != nil {
				errs = append(errs, err)
			}
		} else {
			logf(l.out, "%-12s deleted", "kubernetes")
		}
	}
	if err := checkNothingLeft(l, 10*time.Second); err != nil {
		errs = append(errs, err)
	} else {
		// The next lab starts with no series, alerts or silences of this one
		// (a test run's HostDown once greeted the next demo), and the pods'
		// log files go with their pods, and the shared store's journal
		// goes too.
		for _, d := range []string{l.mon.PrometheusData(), l.mon.AlertmanagerData(), l.mon.Alertmanager2Data(), l.path("podlogs"), l.pgDir(), l.pgDSNFile()} {
			if err := os.RemoveAll(d); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	logf(l.out, "lab down: no process and no port of %s left", l.state)
	return nil
}

// checkNothingLeft waits up to grace for every process naming the state dir
// to exit and every lab port to close. Whatever is left is reported, and
// killed so that the next up starts clean.
func checkNothingLeft(l *lab, grace time.Duration) error {
	var ports []int
	for _, np := range l.ports.ByName() {
		if np.Port > 0 {
			ports = append(ports, np.Port)
		}
	}
	deadline := time.Now().Add(grace)
	for {
		procs := l.daemons.Processes()
		open, err := daemon.Listening(ports)
		if err != nil {
			return err
		}
		if len(procs) == 0 && len(open) == 0 {
			return nil
		}
		if time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		msg := ""
		for _, p := range procs {
			_ = syscall.Kill(p.Pid, syscall.SIGKILL)
			msg += fmt.Sprintf("\n  pid %d: %s (killed)", p.Pid, p.Cmdline)
		}
		for _, p := range open {
			msg += fmt.Sprintf("\n  port %d still listening", p)
		}
		return errors.New("left running after down:" + msg)
	}
}
