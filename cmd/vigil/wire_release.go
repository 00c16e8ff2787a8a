package main

import (
	"context"
	"strings"
	"time"

	"github.com/vigilops/vigil/integrations/kubernetes"
	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ui/common"
)

// releaseSyncTimeout bounds how long start-up waits for the clusters'
// caches, so that the first screen shows the whole matrix; past it the
// console opens anyway and the matrix fills in as the clusters answer.
const releaseSyncTimeout = 2 * time.Second

// newRelease builds the Kubernetes client and the release service from
// config.Kubernetes, without starting them; nil when it is not configured.
func newRelease(ctx context.Context, w wiring) (*release.Service, error) {
	k := w.cfg.Kubernetes
	if k == nil {
		return nil, nil
	}
	envs, err := release.EnvsFromConfig(k)
	if err != nil {
		return nil, err
	}
	return release.New(envs, kubernetes.New(ctx, k.Kubeconfig), w.journal, release.Options{Selector: k.AppSelector, Guard: w.guard,
		RefuseUnhealthySource: k.RefuseUnhealthySourceForProtected}), nil
}

// startRelease builds the release service once per process and starts its
// shared informers. A cluster that does not answer in time is logged, not
// fatal: its environments show as disconnected and recover by themselves.
func startRelease(ctx context.Context, w wiring, svc *common.Services) (func(), error) {
	ctx, cancel := context.WithCancel(ctx)
	rel, err := newRelease(ctx, w)
	if err != nil || rel == nil {
		cancel()
		return nil, err
	}
	kubernetes.LogTo(klogWriter{w})
	started := make(chan error, 1)
	go func() { started <- rel.Start(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			w.log.Error("kubernetes: caches not synced at start", "err", err)
		}
	case <-time.After(releaseSyncTimeout):
		w.log.Warn("kubernetes: caches still syncing; the matrix fills in as the clusters answer", "waited", releaseSyncTimeout)
	}
	svc.Release = rel
	return cancel, nil
}

// klogWriter sends client-go's log lines to vigil's log, off the terminal.
type klogWriter struct{ w wiring }

func (k klogWriter) Write(p []byte) (int, error) {
	k.w.log.Info("client-go", "msg", strings.TrimSpace(string(p)))
	return len(p), nil
}
