package main

import (
	"context"
	"strings"

	"github.com/vigilops/vigil/integrations/kubernetes"
	"github.com/vigilops/vigil/ops/logs"
	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ops/workload"
	"github.com/vigilops/vigil/ui/common"
)

// newRelease builds the Kubernetes client and the release service from
// config.Kubernetes, without starting them; nil when it is not configured.
// The client is returned for the services that share it.
func newRelease(ctx context.Context, w wiring) (*release.Service, *kubernetes.Client, error) {
	k := w.cfg.Kubernetes
	if k == nil {
		return nil, nil, nil
	}
	envs, err := release.EnvsFromConfig(k)
	if err != nil {
		return nil, nil, err
	}
	kc := kubernetes.New(ctx, k.Kubeconfig, kubernetes.WithTransport(w.transport("kubernetes")))
	return release.New(envs, kc, w.journal, release.Options{Selector: k.AppSelector, Guard: w.guard,
		RefuseUnhealthySource: k.RefuseUnhealthySourceForProtected, LockTTL: k.LockTTL, Bastion: w.bastion(),
		TestHoldAfterPromote: testHoldAfterPromote()}), kc, nil
}

// newLogs builds the logs service of config.Kubernetes over kc, the
// process's client (nil: a client of its own); nil when Kubernetes is not
// configured. A follow starts its own scoped pod watch: nothing runs
// until one is asked for.
func newLogs(ctx context.Context, w wiring, kc *kubernetes.Client) (*logs.Service, error) {
	k := w.cfg.Kubernetes
	if k == nil {
		return nil, nil
	}
	envs, err := release.EnvsFromConfig(k)
	if err != nil {
		return nil, err
	}
	if kc == nil {
		kc = kubernetes.New(ctx, k.Kubeconfig, kubernetes.WithTransport(w.transport("kubernetes")))
	}
	return logs.New(kc, envs, logs.Options{Since: k.Logs.Since, BufferLines: k.Logs.BufferLines}), nil
}

// startRelease builds the release service once per process and starts its
// shared informers without waiting for them: the console opens at once and
// the matrix fills in as each cluster answers. A cluster that does not
// answer is logged, not fatal: its environments show as disconnected and
// recover by themselves.
func startRelease(ctx context.Context, w wiring, svc *common.Services) (func(), error) {
	ctx, cancel := context.WithCancel(ctx)
	rel, kc, err := newRelease(ctx, w)
	if err != nil || rel == nil {
		cancel()
		return nil, err
	}
	lg, err := newLogs(ctx, w, kc)
	if err != nil {
		cancel()
		return nil, err
	}
	kubernetes.LogTo(klogWriter{w})
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := rel.Start(ctx); err != nil && ctx.Err() == nil {
			w.log.Error("kubernetes: caches not synced at start; the matrix fills in as the clusters answer", "err", err)
		}
	}()
	svc.Release, svc.Logs, svc.Workload = rel, lg, workload.New(rel, kc)
	return func() { cancel(); <-done }, nil
}

// klogWriter sends client-go's log lines to vigil's log, off the terminal.
type klogWriter struct{ w wiring }

func (k klogWriter) Write(p []byte) (int, error) {
	k.w.log.Info("client-go", "msg", strings.TrimSpace(string(p)))
	return len(p), nil
}
