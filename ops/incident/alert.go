// Package incident is the live alert list: alerts from Prometheus and
// Alertmanager merged by fingerprint, their rules and graphs,
// acknowledgements (Alertmanager silences), and the correlation of an alert
// to its workload, host and recent changes.
package incident

import (
	"net"
	"strings"
	"time"
)

// State is where an alert stands in its life.
type State string

const (
	Pending      State = "pending"
	Firing       State = "firing"
	Silenced     State = "silenced"
	Acknowledged State = "acknowledged"
	Resolved     State = "resolved"
)

// Severity is the alert's severity label. Unknown values rank below info.
type Severity string

const (
	Critical Severity = "critical"
	Error    Severity = "error"
	Warning  Severity = "warning"
	Info     Severity = "info"
)

// Rank orders severities: the higher, the more urgent.
func (s Severity) Rank() int {
	switch s {
	case Critical:
		return 4
	case Error:
		return 3
	case Warning:
		return 2
	case Info:
		return 1
	}
	return 0
}

// Alert is one alert instance, identified by the fingerprint of its labels
// (the same fingerprint Alertmanager computes).
type Alert struct {
	Fingerprint string            `json:"fingerprint"`
	Name        string            `json:"alertname"`
	State       State             `json:"state"`
	Severity    Severity          `json:"severity"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// StartsAt is when the alert became active: when it was first pending
	// (Prometheus's activeAt), else when it fired. It does not move when
	// the alert goes from pending to firing.
	StartsAt time.Time `json:"startsAt"`
	// StateSince is when the alert entered State: when it fired, was
	// acknowledged or resolved.
	StateSince time.Time `json:"stateSince,omitzero"`
	// FirstSeen is when this process first listed the alert: a pane
	// highlights alerts seen in the last few seconds.
	FirstSeen time.Time `json:"-"`
	// ResolvedAt is set once the alert has left both systems.
	ResolvedAt   time.Time `json:"resolvedAt,omitzero"`
	Value        string    `json:"value,omitempty"` // the expression's value, from Prometheus
	GeneratorURL string    `json:"generatorURL,omitempty"`
	SilencedBy   []string  `json:"silencedBy,omitempty"`
	InhibitedBy  []string  `json:"inhibitedBy,omitempty"`
	// Ack is the acknowledgement when State is Acknowledged or Silenced.
	Ack  *Ack  `json:"ack,omitempty"`
	Rule *Rule `json:"rule,omitempty"`
	// Workload is "namespace/name" from the namespace and deployment or
	// statefulset labels; Host comes from the droplet or instance label.
	Workload string `json:"workload,omitempty"`
	Host     string `json:"host,omitempty"`
}

// Age is the time since the alert was first pending (or fired), at now. A
// resolved alert's age keeps counting: StateSince says when it resolved.
func (a *Alert) Age(now time.Time) time.Duration {
	if a.StartsAt.IsZero() {
		return 0
	}
	return now.Sub(a.StartsAt)
}

// InState is how long the alert has been in its State at now; 0 when
// unknown.
func (a *Alert) InState(now time.Time) time.Duration {
	if a.StateSince.IsZero() {
		return 0
	}
	return now.Sub(a.StateSince)
}

// Active reports whether the alert has not resolved.
func (a *Alert) Active() bool { return a.State != Resolved }

// Ack is a silence seen from the alert it covers: who, why, until when.
type Ack struct {
	SilenceID string    `json:"silenceID"`
	Owner     string    `json:"owner"`
	Comment   string    `json:"comment"`
	EndsAt    time.Time `json:"endsAt"`
}

// Remaining is the time left before the silence expires.
func (k *Ack) Remaining(now time.Time) time.Duration {
	if d := k.EndsAt.Sub(now); d > 0 {
		return d
	}
	return 0
}

// Rule is the alerting rule behind an alert.
type Rule struct {
	Name   string            `json:"name"`
	Group  string            `json:"group"`
	Expr   string            `json:"expr"`
	For    time.Duration     `json:"for,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
	// ValueExpr is the side of Expr that is graphed: Expr without its final
	// comparison when Threshold could be read, Expr itself otherwise.
	ValueExpr string   `json:"valueExpr"`
	Threshold *float64 `json:"threshold,omitempty"`
	// Op is the comparison against Threshold (">", "<=", ...).
	Op string `json:"op,omitempty"`
}

// covers reports whether an alert with these labels comes from r: same
// alertname and every rule label present with the same value.
func (r *Rule) covers(name string, labels map[string]string) bool {
	if r.Name != name {
		return false
	}
	for k, v := range r.Labels {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// Silence is an Alertmanager silence.
type Silence struct {
	ID        string    `json:"id"`
	Matchers  []Matcher `json:"matchers"`
	StartsAt  time.Time `json:"startsAt"`
	EndsAt    time.Time `json:"endsAt"`
	CreatedBy string    `json:"createdBy"`
	Comment   string    `json:"comment"`
	// State is Alertmanager's: "active", "pending" or "expired".
	State string `json:"state"`
	// UpdatedAt is when Alertmanager last stored the silence, by its own
	// clock: it orders two silences made at once.
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// Group is Alertmanager's notification group of alerts.
type Group struct {
	Labels   map[string]string `json:"labels"`
	Receiver string            `json:"receiver"`
	Alerts   []Alert           `json:"alerts"`
}

// correlate fills the alert's derived fields from its labels.
func (a *Alert) correlate() {
	if a.Name == "" {
		a.Name = a.Labels["alertname"]
	}
	a.Severity = Severity(a.Labels["severity"])
	a.Workload = WorkloadOf(a.Labels)
	a.Host = HostOf(a.Labels)
}

// WorkloadOf returns "namespace/name" when the labels name a Deployment or
// StatefulSet in a namespace (the id of a cell of the release matrix).
func WorkloadOf(labels map[string]string) string {
	ns := labels["namespace"]
	name := labels["deployment"]
	if name == "" {
		name = labels["statefulset"]
	}
	if ns == "" || name == "" {
		return ""
	}
	return ns + "/" + name
}

// HostOf returns the host an alert is about: its droplet label, or the host
// part of its instance label.
func HostOf(labels map[string]string) string {
	if d := labels["droplet"]; d != "" {
		return d
	}
	inst := labels["instance"]
	if h, _, err := net.SplitHostPort(inst); err == nil {
		return h
	}
	return strings.TrimSpace(inst)
}
