package main

import (
	"context"
	"net/http"

	"github.com/vigilops/vigil/integrations/alertmanager"
	"github.com/vigilops/vigil/integrations/prometheus"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ui/common"
)

// newIncident builds the Prometheus and Alertmanager clients and the
// incident service from config.Prometheus and config.Alertmanager, without
// polling; nil when neither is configured.
// Recent changes read the revisions of rel's workloads when rel is set.
func newIncident(w wiring, rel *release.Service) (*incident.Service, error) {
	var r incident.Releases
	if rel != nil {
		r = rel
	}
	return newIncidentWith(w, w.journal, r)
}

// newIncidentWith is newIncident journaling to j, with releases (nil when
// none).
func newIncidentWith(w wiring, j incident.Journal, releases incident.Releases) (*incident.Service, error) {
	return newIncidentOpts(w, j, releases, nil)
}

// newIncidentOpts is newIncidentWith with the options changed by set,
// when not nil.
func newIncidentOpts(w wiring, j incident.Journal, releases incident.Releases, set func(*incident.Options)) (*incident.Service, error) {
	o := incident.Options{
		ParseMatchers: alertmanager.ParseMatchers,
		Journal:       j,
		Releases:      releases,
		Guard:         w.guard,
		Interval:      incident.PollInterval(w.cfg),
	}
	if p := w.cfg.Prometheus; p != nil {
		c, err := prometheus.New(p.URL, prometheus.WithTransport(w.transport("prometheus")))
		if err != nil {
			return nil, err
		}
		o.Prometheus = c
	}
	if a := w.cfg.Alertmanager; a != nil {
		c, err := alertmanager.New(a.URLs, alertmanager.WithTransport(w.transport("alertmanager")))
		if err != nil {
			return nil, err
		}
		o.Alertmanager = c
	}
	if o.Prometheus == nil && o.Alertmanager == nil {
		return nil, nil
	}
	if set != nil {
		set(&o)
	}
	return incident.New(o)
}

// startIncident builds the alert list once per process and polls it until
// the process ends. An unreachable source is not fatal: the pane shows it
// and polling retries.
func startIncident(ctx context.Context, w wiring, svc *common.Services) (func(), error) {
	var r incident.Releases
	if svc.Release != nil {
		r = svc.Release
	}
	// This process watches the alerts: it journals their firing and
	// resolution, from which incidents are rebuilt.
	inc, err := newIncidentOpts(w, w.journal, r, func(o *incident.Options) { o.JournalAlerts = true })
	if err != nil || inc == nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		inc.Run(ctx)
	}()
	svc.Incident = inc
	return func() { cancel(); <-done }, nil
}

// incidentWebhook is the Alertmanager webhook receiver vigil serve mounts,
// nil when alerts are not configured.
func incidentWebhook(svc *common.Services) http.Handler {
	if svc.Incident == nil {
		return nil
	}
	return svc.Incident.WebhookHandler()
}
