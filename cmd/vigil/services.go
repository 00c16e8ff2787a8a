package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/serve"
	"github.com/vigilops/vigil/themes"
	"github.com/vigilops/vigil/ui/common"
)

// wiring is what every integration's constructor gets: the config, the
// journal and guard its ops service writes to and checks, and a logger.
type wiring struct {
	cfg     *config.Config
	journal *audit.Journal
	guard   access.Guard
	log     *slog.Logger
	// metrics, under vigil serve, count the integrations' requests.
	metrics *serve.Metrics
	// sshAddr is vigil serve's SSH address, part of its bastion name.
	sshAddr string
}

// bastion names this vigil in the locks it takes and in presence:
// $VIGIL_BASTION, else the host (and vigil serve's SSH port).
func (w wiring) bastion() string {
	host, _ := os.Hostname()
	return bastionName(os.Getenv("VIGIL_BASTION"), host, w.sshAddr)
}

// transport is what wraps the HTTP transport of the integration called
// system: vigil serve's metrics count its requests and errors; nil (no
// wrapping) elsewhere.
func (w wiring) transport(system string) func(http.RoundTripper) http.RoundTripper {
	if w.metrics == nil {
		return nil
	}
	m := w.metrics
	return func(base http.RoundTripper) http.RoundTripper { return m.Transport(system, base) }
}

// backend is what the console and vigil serve both open before their
// first session: the theme, the journal, the guard and the ops services.
type backend struct {
	theme    *themes.Theme
	themeDir string
	journal  *audit.Journal
	guard    access.Guard
	services *common.Services
	stop     func()
	notice   string // what the console says when it opens, if anything
}

func openBackend(ctx context.Context, g *globals, cfg *config.Config, log *slog.Logger, metrics *serve.Metrics) (*backend, error) {
	name := cfg.Theme
	if g.theme != "" {
		name = g.theme
	}
	b := &backend{themeDir: themes.UserDir(), guard: access.Guard{ReadOnly: g.readOnly}}
	var err error
	if b.theme, err = themes.Load(name, b.themeDir); err != nil {
		return nil, err
	}
	if b.journal, err = openJournal(cfg.Audit); err != nil {
		return nil, err
	}
	// The shared journal's server may go away while vigil runs: every
	// mutation asks it first, and is refused while it is away.
	if b.journal.Shared() {
		b.guard.Journal = b.journal
	}
	// A journal that cannot record actions allows none: the console opens
	// read-only and says why (vigil serve refuses to start instead).
	if err := b.journal.Writable(); err != nil {
		b.guard.ReadOnly = true
		b.notice = "read-only: " + err.Error()
	}
	b.services, b.stop, err = startServices(ctx, wiring{cfg: cfg, journal: b.journal, guard: b.guard, log: log, metrics: metrics, sshAddr: g.sshAddr})
	if err != nil {
		b.journal.Close()
		return nil, err
	}
	return b, nil
}

// close stops the services, then closes the journal they write to.
func (b *backend) close() {
	b.stop()
	b.journal.Close()
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
	for _, start := range []func(context.Context, wiring, *common.Services) (func(), error){
		startInventory,
		startRelease,
		startIncident,
		startMonitoring,
		startRules,
	} {
		s, err := start(ctx, w, svc)
		if err != nil {
			stop()
			return nil, nil, err
		}
		if s != nil {
			stops = append(stops, s)
		}
	}
	// The matrix shows a workload with a firing alert as alerting.
	if svc.Release != nil && svc.Incident != nil {
		svc.Release.FollowAlerts(ctx, svc.Incident)
	}
	return svc, stop, nil
}
