package main

import (
	"context"
	"path/filepath"

	"github.com/vigilops/vigil/integrations/prometheus"
	"github.com/vigilops/vigil/ops/monitoring"
	"github.com/vigilops/vigil/ui/common"
)

// MonitoringSD is the file_sd file, beside ansible.prometheus_sd, where
// the node exporter's install lists a host: Prometheus reads it when its
// file_sd_configs take the directory's *.json, as the lab's do.
const MonitoringSD = "vigil-monitoring.json"

// startMonitoring reads Prometheus's targets and rules (config.Prometheus)
// until the process ends, correlated with the inventory when there is one;
// with ansible configured too, flagged hosts can get the node exporter.
func startMonitoring(ctx context.Context, w wiring, svc *common.Services) (func(), error) {
	p := w.cfg.Prometheus
	if p == nil {
		return nil, nil
	}
	c, err := prometheus.New(p.URL)
	if err != nil {
		return nil, err
	}
	opt := monitoring.Options{Prometheus: c, Guard: w.guard}
	if w.journal != nil {
		opt.Journal = w.journal
	}
	if svc.Inventory != nil {
		opt.Inventory = svc.Inventory
	}
	if svc.Playbook != nil {
		opt.Runs = svc.Playbook
	}
	if a := w.cfg.Ansible; a != nil && a.PrometheusSD != "" {
		opt.FileSD = filepath.Join(filepath.Dir(a.PrometheusSD), MonitoringSD)
	}
	mon, err := monitoring.New(opt)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); mon.Run(ctx) }()
	svc.Monitoring = mon
	return func() { cancel(); <-done }, nil
}
