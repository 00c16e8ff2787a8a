package incident

import (
	"context"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
)

// Prometheus is what incident needs from Prometheus.
type Prometheus interface {
	// Alerts returns the alerts Prometheus evaluates now, pending and
	// firing, with their fingerprints computed as Alertmanager does.
	Alerts(ctx context.Context) ([]Alert, error)
	// Rules returns the alerting rules, with thresholds where readable.
	Rules(ctx context.Context) ([]Rule, error)
	QueryRange(ctx context.Context, expr string, r Range) ([]Series, error)
}

// Alertmanager is what incident needs from Alertmanager (one cluster, of one
// or several instances).
type Alertmanager interface {
	// Alerts returns the active alerts with their silenced and inhibited
	// state, deduplicated by fingerprint.
	Alerts(ctx context.Context) ([]Alert, error)
	Silences(ctx context.Context) ([]Silence, error)
	// CreateSilence returns the new silence's id. With s.ID set it updates
	// that silence instead; Alertmanager may then replace it by a new one
	// (when more than its end and comment change), whose id it returns.
	CreateSilence(ctx context.Context, s Silence) (string, error)
	ExpireSilence(ctx context.Context, id string) error
}

// MatcherParser parses a list of matchers in Alertmanager's syntax, e.g.
// `severity="critical",namespace=~"prod.*"`. Its error is shown as is.
type MatcherParser func(input string) ([]Matcher, error)

// Journal is the audit journal as incident uses it.
type Journal interface {
	Record(ctx context.Context, actor access.Actor, action, target string, params map[string]string, err error) error
	Query(q audit.Query) ([]audit.Entry, error)
}

var _ Journal = (*audit.Journal)(nil)

// Sample is one value of an instant query.
type Sample struct {
	Labels map[string]string `json:"labels"`
	Time   time.Time         `json:"time"`
	Value  float64           `json:"value"`
}

// Range is the window and resolution of a range query.
type Range struct {
	Start, End time.Time
	Step       time.Duration
}

// Point is one value of a series.
type Point struct {
	Time  time.Time `json:"time"`
	Value float64   `json:"value"`
}

// Series is one labelled series of a range query.
type Series struct {
	Labels map[string]string `json:"labels"`
	Points []Point           `json:"points"`
}
