package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vigilops/vigil/lab/internal/labstate"
	"github.com/vigilops/vigil/lab/kube"
)

// Nodes is how many kwok nodes the lab starts with.
const Nodes = 3

func runUp(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	timeout := fs.Duration("timeout", 3*time.Minute, "how long to wait for the lab to be healthy (after any build)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	start := time.Now()
	l := openLab(os.Stdout)
	if err := ensurePackages(l); err != nil {
		return err
	}
	dir, err := labDir()
	if err != nil {
		return err
	}
	if l.ports, err = labstate.EnsurePorts(l.state); err != nil {
		return err
	}
	token, err := l.ensureSecrets()
	if err != nil {
		return err
	}
	bin := kube.CacheDir()
	if _, err := kube.EnsureBinaries(filepath.Join(dir, "toolchain"), bin, l.out); err != nil {
		return err
	}
	if err := l.installSelf(); err != nil {
		return fmt.Errorf("copying vigil-lab into the state dir: %w", err)
	}
	if err := l.mon.Write(l.ports); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	specs := l.daemonSpecs(token)
	byName := map[string]daemonSpec{}
	for _, s := range specs {
		byName[s.name] = s
	}
	if err := l.ensurePostgresCluster(); err != nil {
		return err
	}
	// The exporter needs the cluster; the others start while it comes up.
	for _, name := range []string{"prometheus", "alertmanager", "alertmanager-2", "emulator", "postgres"} {
		if err := l.startDaemon(byName[name]); err != nil {
			return err
		}
	}
	created, err := l.ensureCluster(ctx, bin)
	if err != nil {
		return err
	}
	if created {
		// An exporter of a previous cluster trusts that cluster's CA only.
		if err := l.daemons.Stop("exporter", 5*time.Second); err != nil {
			return err
		}
	}
	if err := l.startDaemon(byName["exporter"]); err != nil {
		return err
	}

	// Wait for every daemon and the demo product, all at once.
	var wg sync.WaitGroup
	errs := make([]error, len(specs)+1)
	for i, s := range specs {
		wg.Go(func() {
			if err := waitFor(ctx, s.health); err != nil {
				errs[i] = fmt.Errorf("%s not healthy: %w\n%s", s.name, err, tail(l.daemons.LogFile(s.name), 15))
			}
		})
	}
	wg.Go(func() {
		cs, err := kube.Client(l.kubeconfig())
		if err == nil {
			err = kube.WaitReady(ctx, cs, "shop", len(kube.Shop()), nil)
		}
		if err != nil {
			errs[len(specs)] = fmt.Errorf("the shop demo product: %w", err)
		}
	})
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := l.ensurePgDatabase(); err != nil {
		return err
	}
	if err := l.writeEnv(token, dir); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		logf(l.out, "not root: droplets are API objects only, without SSH hosts")
	}
	logf(l.out, "lab up in %s; state in %s", time.Since(start).Round(100*time.Millisecond), l.state)
	logf(l.out, "use it with:  set -a; . %s; set +a", l.envFile())
	return nil
}

// ensureSecrets makes the DigitalOcean token and the lab's SSH key once.
func (l *lab) ensureSecrets() (string, error) {
	if err := os.MkdirAll(filepath.Dir(l.sshKey()), 0o700); err != nil {
		return "", err
	}
	if !fileExists(l.tokenFile()) {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		if err := os.WriteFile(l.tokenFile(), []byte("dop_v1_"+hex.EncodeToString(b)+"\n"), 0o600); err != nil {
			return "", err
		}
	}
	if !fileExists(l.sshKey()) {
		out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "vigil-lab", "-f", l.sshKey()).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("ssh-keygen: %w: %s", err, out)
		}
	}
	return l.token()
}

// startDaemon starts s unless it already runs as s says. One that runs
// with another command line (a lab brought up by an older vigil-lab: the
// first Alertmanager without gossip, say) is restarted; a running
// Prometheus rereads its configuration (SIGHUP), which up rewrites.
func (l *lab) startDaemon(s daemonSpec) error {
	if pid, ok := l.daemons.Pid(s.name); ok {
		running, _ := l.daemons.Argv(s.name)
		if slices.Equal(running, execArgv(s.argv)) {
			if s.name == "prometheus" {
				_ = syscall.Kill(pid, syscall.SIGHUP)
			}
			logf(l.out, "%-12s runs (pid %d, port %d)", s.name, pid, s.port)
			return nil
		}
		logf(l.out, "%-12s runs with another command line (pid %d): restarting it", s.name, pid)
		if err := l.daemons.StopWith(s.name, stopSignalOf(s.name), 20*time.Second); err != nil {
			return err
		}
	}
	pid, err := l.daemons.Start(s.name, s.argv)
	if err != nil {
		return err
	}
	logf(l.out, "%-12s started (pid %d, port %d)", s.name, pid, s.port)
	return nil
}

// ensureCluster creates the cluster with its nodes and the demo product
// unless it is up already, and reports whether it did. A cluster that does
// not answer or lost a component (after a reboot, say) is recreated.
func (l *lab) ensureCluster(ctx context.Context, bin string) (bool, error) {
	c := l.cluster(bin)
	if c.Exists() {
		err := l.clusterHealthy(ctx, c)
		if err == nil {
			logf(l.out, "%-12s runs (port %d)", "kubernetes", l.ports.APIServer)
			return false, nil
		}
		logf(l.out, "the cluster is not healthy (%v): recreating it", err)
		if err := c.Delete(ctx); err != nil {
			return false, err
		}
	}
	t := time.Now()
	if err := c.Create(ctx); err != nil {
		return true, err
	}
	if err := c.ScaleNodes(ctx, Nodes); err != nil {
		return true, err
	}
	cs, err := kube.Client(l.kubeconfig())
	if err != nil {
		return true, err
	}
	if err := kube.ApplyNamespaces(ctx, cs); err != nil {
		return true, err
	}
	if err := kube.Apply(ctx, cs, kube.Shop(), 8); err != nil {
		return true, fmt.Errorf("applying the shop demo product: %w", err)
	}
	logf(l.out, "%-12s created with %d nodes and the shop product in %s (port %d)", "kubernetes", Nodes, time.Since(t).Round(100*time.Millisecond), l.ports.APIServer)
	return true, nil
}

// clusterHealthy checks that every component runs and the API server is ready.
func (l *lab) clusterHealthy(ctx context.Context, c kube.Cluster) error {
	running := c.Components()
	for _, name := range kube.Components {
		if pid, ok := running[name]; !ok || !l.daemons.Alive(pid) {
			return fmt.Errorf("%s does not run", name)
		}
	}
	cs, err := kube.Client(l.kubeconfig())
	if err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	return kube.Ready(rctx, cs)
}

// tail returns the last n lines of a log file, indented.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "  (no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + path + ":\n    " + strings.Join(lines, "\n    ")
}

// execArgv is the command line a daemon started with argv shows: setpriv
// executes the program after its "--".
func execArgv(argv []string) []string {
	if len(argv) > 0 && argv[0] == "setpriv" {
		if i := slices.Index(argv, "--"); i >= 0 {
			return argv[i+1:]
		}
	}
	return argv
}
