package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/vigilops/vigil/integrations/ansible"
	"github.com/vigilops/vigil/integrations/digitalocean"
	"github.com/vigilops/vigil/integrations/hostkeys"
	"github.com/vigilops/vigil/integrations/kubernetes"
	"github.com/vigilops/vigil/integrations/prometheus"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ops/playbook"
	"github.com/vigilops/vigil/ui/common"
)

// How often the inventory is read again from the cloud; after a failure it
// is retried sooner, so that a pane showing the error recovers quickly.
const (
	inventoryRefresh = 30 * time.Second
	inventoryRetry   = 5 * time.Second
)

// cloudClient builds the DigitalOcean client from the config.
// wrap, when not nil, wraps its transport (vigil serve's metrics).
func cloudClient(do *config.DigitalOcean, onWait func(string, time.Duration), wrap ...func(http.RoundTripper) http.RoundTripper) (*digitalocean.Client, error) {
	token, err := do.Token.Value()
	if err != nil {
		return nil, fmt.Errorf("digitalocean.token: %w", err)
	}
	o := digitalocean.Options{APIURL: do.APIURL, Token: token, OnWait: onWait}
	if len(wrap) > 0 && wrap[0] != nil {
		o.HTTPClient = &http.Client{Transport: wrap[0](http.DefaultTransport), Timeout: 30 * time.Second}
	}
	return digitalocean.New(o)
}

// inventoryOptions are the connection variables the config gives every host.
func inventoryOptions(a *config.Ansible) playbook.InventoryOptions {
	if a == nil {
		return playbook.InventoryOptions{}
	}
	return playbook.InventoryOptions{User: a.User, PrivateKey: a.PrivateKey}
}

// historyPath is the run history's file, beside the audit journal.
func historyPath(cfg *config.Config) string {
	return filepath.Join(filepath.Dir(cfg.Audit.Path), "runs.db")
}

// hostKeys is vigil's known_hosts file, beside the audit journal: the SSH
// host keys of the hosts it created or first met, checked strictly by the
// playbook runs.
func hostKeys(cfg *config.Config) *hostkeys.File {
	return hostkeys.New(filepath.Join(filepath.Dir(cfg.Audit.Path), "known_hosts"))
}

// startInventory builds the inventory (config.DigitalOcean) and, with
// config.Ansible too, the playbook runs on its hosts. It keeps the
// inventory fresh, and the Prometheus file_sd file with it when configured.
func startInventory(ctx context.Context, w wiring, svc *common.Services) (func(), error) {
	do := w.cfg.DigitalOcean
	if do == nil {
		return nil, nil
	}
	cloud, err := cloudClient(do, func(reason string, d time.Duration) {
		w.log.Info("digitalocean: waiting", "reason", reason, "for", d)
	}, w.transport("digitalocean"))
	if err != nil {
		return nil, err
	}
	keys := hostKeys(w.cfg)
	runs := &runHolders{}
	opt := inventory.Options{Guard: w.guard, Templates: inventory.TemplatesFrom(do.Templates), HostKeys: keys, Holders: runs, Storage: cloud}
	if a := w.cfg.Ansible; a != nil {
		opt.SSH = inventory.SSHOptions{User: a.User, PrivateKey: a.PrivateKey}
	}
	// The host detail's figures come from the node exporters Prometheus
	// scrapes (the file_sd file labels each with its host's name).
	if p := w.cfg.Prometheus; p != nil {
		if m, err := prometheus.New(p.URL, prometheus.WithTransport(w.transport("prometheus"))); err == nil {
			opt.Metrics = m
		}
	}
	inv := inventory.New(cloud, w.journal, opt)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	stop := func() { cancel(); wg.Wait() }
	wg.Go(func() { keepFresh(ctx, inv, w) })
	svc.Network = newNetwork(cloud, inv, w)
	wg.Go(func() { keepNetworkFresh(ctx, svc.Network, w) })

	if a := w.cfg.Ansible; a != nil {
		history, err := openHistory(w.cfg)
		if err != nil {
			stop()
			return nil, err
		}
		pb, err := playbook.New(&ansible.Runner{KnownHosts: keys.File()}, w.journal, history, playbook.Options{
			Guard: w.guard, PlaybookDir: a.PlaybookDir, Inventory: inventoryOptions(a), HostKeys: keys,
			Hosts:     func() []inventory.Host { return inv.State().Hosts },
			HostLocks: hostLocks(ctx, w.cfg.Kubernetes), Bastion: w.bastion(),
		})
		if err != nil {
			history.Close()
			stop()
			return nil, err
		}
		runs.svc = pb
		svc.Playbook = pb
		if w.cfg.Data != nil {
			if svc.Refresh, err = newRefreshService(ctx, w.cfg, w.guard, w.journal, cloud, cloud, pb); err != nil {
				history.Close()
				stop()
				return nil, err
			}
		}
		if a.PrometheusSD != "" {
			changes, unsubscribe := inv.Subscribe()
			wg.Go(func() {
				defer unsubscribe()
				playbook.KeepPrometheusSD(ctx, changes, func() []inventory.Host { return inv.State().Hosts }, a.PrometheusSD,
					func(err error) { w.log.Error("ansible.prometheus_sd: write failed", "err", err) })
			})
		}
		prev := stop
		stop = func() { prev(); history.Close() }
	}
	svc.Inventory = inv
	return stop, nil
}

// keepFresh refreshes the inventory until ctx ends.
func keepFresh(ctx context.Context, inv *inventory.Service, w wiring) {
	for {
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		err := inv.Refresh(rctx)
		cancel()
		wait := inventoryRefresh
		if err != nil && ctx.Err() == nil {
			w.log.Error("digitalocean: refresh failed", "err", err)
			wait = inventoryRetry
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// hostLocks are the runs' host locks, shared by every vigil reaching the
// pipeline's first environment: Leases vigil-host-NAME in its namespace,
// where vigil already takes its promotion Leases. Without Kubernetes, a run
// holds its hosts within this process only.
func hostLocks(ctx context.Context, k *config.Kubernetes) playbook.HostLocks {
	if k == nil || len(k.Environments) == 0 {
		return nil
	}
	first := k.Environments[0]
	return &kubernetes.HostLocks{Client: kubernetes.New(ctx, k.Kubeconfig), Context: first.Context, Namespace: first.Namespace}
}

// runHolders tells the inventory which run holds a host, once the playbook
// service that knows exists (it needs the inventory first).
type runHolders struct{ svc *playbook.Service }

func (r *runHolders) HostHolder(ctx context.Context, host string) (string, bool, error) {
	if r.svc == nil {
		return "", false, nil
	}
	return r.svc.HostHolder(ctx, host)
}
