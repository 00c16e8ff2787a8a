package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"time"

	"github.com/vigilops/vigil/lab/exporter"
	"github.com/vigilops/vigil/lab/kube"
	"github.com/vigilops/vigil/lab/podlogs"
)

// runExporter runs the lab exporter until ctx ends.
func runExporter(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("exporter", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig of the lab cluster (required)")
	listen := fs.String("listen", "127.0.0.1:9101", "address to serve /metrics on")
	podLogs := fs.String("pod-logs", "", "directory of the pods' log files (empty: no pod logs)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *kubeconfig == "" {
		return errors.New("--kubeconfig is required")
	}
	cs, err := kube.Client(*kubeconfig)
	if err != nil {
		return err
	}
	dyn, err := kube.Dynamic(*kubeconfig)
	if err != nil {
		return err
	}
	store := exporter.NewStore(time.Now)
	if err := exporter.Watch(ctx, cs, store); err != nil {
		return err
	}
	if *podLogs != "" {
		w := &podlogs.Writer{Dir: *podLogs, Client: cs, Dynamic: dyn, Logf: log.Printf}
		if err := w.Run(ctx); err != nil {
			return err
		}
	}
	return exporter.Serve(ctx, *listen, store)
}
