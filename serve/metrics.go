package serve

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vigilops/vigil/ops/audit"
)

// Metrics are the server's Prometheus metrics, on their own registry so
// that several servers (in tests) do not collide.
type Metrics struct {
	reg *prometheus.Registry

	sessions     prometheus.Gauge
	sessionsOpen *prometheus.CounterVec // by outcome: opened, no_pty, full
	authRefused  *prometheus.CounterVec // by method
	connsRefused *prometheus.CounterVec // by reason: rate, pending
	actions      *prometheus.CounterVec // journaled actions by action and result
	requests     *prometheus.HistogramVec
}

func newMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		sessions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vigil_ssh_sessions", Help: "SSH sessions connected now.",
		}),
		sessionsOpen: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_ssh_session_starts_total", Help: "SSH sessions started, by outcome (opened, no_pty, full).",
		}, []string{"outcome"}),
		authRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_ssh_auth_refused_total", Help: "SSH authentication attempts refused, by method.",
		}, []string{"method"}),
		connsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_ssh_connections_refused_total", Help: "SSH connections closed on accept, by reason (rate: too many from one address; pending: too many without a session).",
		}, []string{"reason"}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_actions_total", Help: "Actions written to the audit journal, by action and result.",
		}, []string{"action", "result"}),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vigil_integration_request_duration_seconds",
			Help:    "Requests to integrations (Kubernetes, Prometheus, Alertmanager, DigitalOcean), by integration and outcome (ok or error).",
			Buckets: prometheus.DefBuckets,
		}, []string{"integration", "outcome"}),
	}
	m.reg.MustRegister(m.sessions, m.sessionsOpen, m.authRefused, m.connsRefused, m.actions, m.requests,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Transport instruments the HTTP requests an integration client makes:
// wrap its transport with it where the integration is built.
func (m *Metrics) Transport(integration string, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		start := time.Now()
		resp, err := base.RoundTrip(r)
		outcome := "ok"
		if err != nil || resp.StatusCode >= 500 {
			outcome = "error"
		}
		m.requests.WithLabelValues(integration, outcome).Observe(time.Since(start).Seconds())
		return resp, err
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// countActions counts journaled actions until entries closes.
func (m *Metrics) countActions(entries <-chan audit.Entry) {
	for e := range entries {
		m.actions.WithLabelValues(e.Action, string(e.Result)).Inc()
	}
}

func (m *Metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}
