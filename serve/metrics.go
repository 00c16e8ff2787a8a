package serve

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vigilops/vigil/ops/audit"
)

// Metrics are the server's Prometheus metrics, on their own registry so
// that several servers (in tests) do not collide. vigil serve makes them
// before its services (NewMetrics) so that the integration clients it
// builds count their requests (Transport), and hands them to Listen.
type Metrics struct {
	reg *prometheus.Registry

	sessions     prometheus.Gauge
	sessionsOpen *prometheus.CounterVec // by outcome: opened, no_pty, full
	authRefused  *prometheus.CounterVec // by method
	connsRefused *prometheus.CounterVec // by reason: rate, pending
	actions      *prometheus.CounterVec // journaled actions by action and result
	durations    *prometheus.HistogramVec
	sessionTime  prometheus.Histogram
	requests     *prometheus.HistogramVec
	errors       *prometheus.CounterVec
}

// DurationParam is the journal parameter an action's duration is in (Go
// duration syntax, e.g. "1.5s"): the promotions, rollbacks, playbook runs
// and rule changes that set it are timed in vigil_action_duration_seconds.
const DurationParam = "duration"

// NewMetrics returns a server's metrics, on a registry of their own.
func NewMetrics() *Metrics { return newMetrics() }

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
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vigil_action_duration_seconds",
			Help: "How long journaled actions took, by action and result: promotions and rollbacks (to the new revision applied), playbook runs (start to end), rule changes (to Prometheus showing them).",
			// From a rule change's milliseconds to a long playbook run.
			Buckets: []float64{0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600},
		}, []string{"action", "result"}),
		sessionTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "vigil_ssh_session_duration_seconds",
			Help:    "How long SSH sessions lasted, from the console's start to its end.",
			Buckets: []float64{10, 60, 300, 900, 1800, 3600, 4 * 3600, 8 * 3600, 24 * 3600},
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_integration_errors_total",
			Help: "Requests to integrations that failed (no answer, or a 5xx status), by integration.",
		}, []string{"integration"}),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vigil_integration_request_duration_seconds",
			Help:    "Requests to integrations (Kubernetes, Prometheus, Alertmanager, DigitalOcean), by integration and outcome (ok or error).",
			Buckets: prometheus.DefBuckets,
		}, []string{"integration", "outcome"}),
	}
	m.reg.MustRegister(m.sessions, m.sessionsOpen, m.authRefused, m.connsRefused, m.actions, m.durations, m.sessionTime,
		m.requests, m.errors,
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
			m.errors.WithLabelValues(integration).Inc()
		}
		m.requests.WithLabelValues(integration, outcome).Observe(time.Since(start).Seconds())
		return resp, err
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// countActions counts journaled actions until entries closes, and times
// those that say how long they took.
func (m *Metrics) countActions(entries <-chan audit.Entry) {
	for e := range entries {
		m.actions.WithLabelValues(e.Action, string(e.Result)).Inc()
		if d, ok := entryDuration(e); ok {
			m.durations.WithLabelValues(e.Action, string(e.Result)).Observe(d.Seconds())
		}
	}
}

// entryDuration reads an entry's DurationParam: a Go duration, or seconds.
func entryDuration(e audit.Entry) (time.Duration, bool) {
	v, ok := e.Parameters[DurationParam]
	if !ok {
		return 0, false
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return d, true
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 {
		return time.Duration(f * float64(time.Second)), true
	}
	return 0, false
}

func (m *Metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}
