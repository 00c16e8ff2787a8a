package main

import (
	"context"
	"log/slog"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ui/common"
)

// wiring is what every integration's constructor gets: the config, the
// journal and guard its ops service writes to and checks, and a logger.
type wiring struct {
	cfg     *config.Config
	journal *audit.Journal
	guard   access.Guard
	log     *slog.Logger
}

// startServices builds the process's ops services from the configured
// integrations, once, for the console or for every session of vigil serve.
// The returned stop releases them (watches, pollers) when the process ends.
func startServices(ctx context.Context, w wiring) (svc *common.Services, stop func(), err error) {
	svc = &common.Services{}
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	for _, start := range []func(context.Context, wiring, *common.Services) (func(), error){} {
		s, err := start(ctx, w, svc)
		if err != nil {
			stop()
			return nil, nil, err
		}
		if s != nil {
			stops = append(stops, s)
		}
	}
	return svc, stop, nil
}
