package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/vigilops/vigil/lab/internal/labstate"
	"github.com/vigilops/vigil/lab/kube"
)

// podsPerNode is what a kwok node takes; nodes are added with headroom for
// the surge pods of rollouts.
const podsPerNode = 110

func runLoad(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	apps := fs.Int("apps", 0, "number of apps to deploy in each environment (required)")
	replicas := fs.Int("replicas", 3, "replicas of each app")
	parallel := fs.Int("parallel", 32, "concurrent API requests")
	wait := fs.Bool("wait", true, "wait until every load app is ready")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *apps <= 0 || *replicas <= 0 {
		return errors.New("--apps N (N > 0) is required, and --replicas must be positive")
	}
	l := openLab(os.Stdout)
	var err error
	if l.ports, err = labstate.LoadPorts(l.state); err != nil || !fileExists(l.envFile()) {
		return fmt.Errorf("the lab is not up in %s: run `make lab-up` first", l.state)
	}
	cs, err := kube.Client(l.kubeconfig())
	if err != nil {
		return err
	}
	ws := kube.Load(*apps, int32(*replicas))
	pods := len(ws) * *replicas
	nodes := max(Nodes, (pods*5/4+podsPerNode-1)/podsPerNode+1)
	start := time.Now()
	if err := l.cluster(kube.CacheDir()).ScaleNodes(ctx, nodes); err != nil {
		return err
	}
	logf(l.out, "%d nodes in %s", nodes, time.Since(start).Round(100*time.Millisecond))
	t := time.Now()
	if err := kube.Apply(ctx, cs, ws, *parallel); err != nil {
		return err
	}
	logf(l.out, "applied %d Deployments (%d pods) in %s", len(ws), pods, time.Since(t).Round(100*time.Millisecond))
	if !*wait {
		return nil
	}
	last := time.Now()
	err = kube.WaitReady(ctx, cs, kube.LoadProduct, len(ws), func(ready, total int) {
		if time.Since(last) > 5*time.Second {
			logf(l.out, "  %d of %d ready", ready, total)
			last = time.Now()
		}
	})
	if err != nil {
		return err
	}
	logf(l.out, "all %d Deployments ready %s after the start", len(ws), time.Since(start).Round(100*time.Millisecond))
	return nil
}
