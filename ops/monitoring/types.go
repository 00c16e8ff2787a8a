// Package monitoring reads what Prometheus scrapes and evaluates (its
// targets and rule groups), runs ad-hoc PromQL, and correlates the
// Inventory's hosts with the targets: a host nothing scrapes, a target that
// points at no host. From a host nothing scrapes, it installs the node
// exporter through the Runs machinery and lists the host in a file_sd file.
package monitoring

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Health is a target's or a rule's health as Prometheus reports it.
type Health string

const (
	Up      Health = "up"      // a target scraped fine
	Down    Health = "down"    // a target whose last scrape failed
	OK      Health = "ok"      // a rule evaluated fine
	Err     Health = "err"     // a rule whose last evaluation failed
	Unknown Health = "unknown" // not scraped or evaluated yet
)

// Target is one of Prometheus's active scrape targets.
type Target struct {
	Job                string            `json:"job"`
	ScrapePool         string            `json:"scrape_pool"`
	ScrapeURL          string            `json:"scrape_url"`
	Instance           string            `json:"instance"`
	Health             Health            `json:"health"`
	LastScrape         time.Time         `json:"last_scrape"`
	LastScrapeDuration time.Duration     `json:"last_scrape_duration"`
	LastError          string            `json:"last_error,omitempty"`
	Labels             map[string]string `json:"labels"`
	DiscoveredLabels   map[string]string `json:"discovered_labels"`
}

// Host is the Inventory host the target scrapes, from its HostLabel; "" for
// a target of no host.
func (t Target) Host() string { return t.Labels[HostLabel] }

// HostLabel names a host on its node exporter's target (the file_sd files
// of vigil and of the lab write it).
const HostLabel = "droplet"

// RuleKind tells alerting rules from recording ones.
type RuleKind string

const (
	Alerting  RuleKind = "alerting"
	Recording RuleKind = "recording"
)

// RuleState is an alerting rule's state; recording rules have none.
type RuleState string

const (
	Inactive RuleState = "inactive"
	Pending  RuleState = "pending"
	Firing   RuleState = "firing"
)

// RuleGroup is one group of rules, as loaded from a rule file.
type RuleGroup struct {
	Name           string        `json:"name"`
	File           string        `json:"file"`
	Interval       time.Duration `json:"interval"`
	LastEvaluation time.Time     `json:"last_evaluation"`
	EvaluationTime time.Duration `json:"evaluation_time"`
	Rules          []Rule        `json:"rules"`
}

// Rule is one alerting or recording rule.
type Rule struct {
	Name           string            `json:"name"`
	Group          string            `json:"group"`
	File           string            `json:"file"`
	Kind           RuleKind          `json:"kind"`
	Query          string            `json:"query"`
	For            time.Duration     `json:"for,omitempty"`
	Labels         map[string]string `json:"labels,omitempty"`
	Annotations    map[string]string `json:"annotations,omitempty"`
	State          RuleState         `json:"state,omitempty"`
	Health         Health            `json:"health"`
	LastError      string            `json:"last_error,omitempty"`
	EvaluationTime time.Duration     `json:"evaluation_time"`
	LastEvaluation time.Time         `json:"last_evaluation"`
	// ValueExpr is what an alerting rule compares (its Query without the
	// comparison, when it ends in one with a number: Op Threshold), the
	// expression its graph draws; the whole Query otherwise.
	ValueExpr string   `json:"value_expr,omitempty"`
	Op        string   `json:"op,omitempty"`
	Threshold *float64 `json:"threshold,omitempty"`
}

// ResultType is the type of a query's result.
type ResultType string

const (
	Vector ResultType = "vector"
	Matrix ResultType = "matrix"
	Scalar ResultType = "scalar"
	String ResultType = "string"
)

// Sample is one value of an instant vector, or a scalar's (no labels).
type Sample struct {
	Labels map[string]string `json:"labels"`
	Time   time.Time         `json:"time"`
	Value  float64           `json:"value"`
}

// Point is one value of a series.
type Point struct {
	Time  time.Time `json:"time"`
	Value float64   `json:"value"`
}

// Series is one series of a range query.
type Series struct {
	Labels map[string]string `json:"labels"`
	Points []Point           `json:"points"`
}

// Result is a query's result: Vector for an instant vector, Matrix for a
// range query (or an instant query of a range selector), Scalar (and
// String) in one sample.
type Result struct {
	Type     ResultType `json:"type"`
	Vector   []Sample   `json:"vector,omitempty"`
	Matrix   []Series   `json:"matrix,omitempty"`
	Scalar   *Sample    `json:"scalar,omitempty"`
	String   string     `json:"string,omitempty"`
	Warnings []string   `json:"warnings,omitempty"`
}

// Range is the window and resolution of a range query.
type Range struct {
	Start, End time.Time
	Step       time.Duration
}

// RangeOver is the window of span ending at end, in about points steps of
// whole seconds.
func RangeOver(end time.Time, span time.Duration, points int) Range {
	step := (span / time.Duration(max(points, 1))).Truncate(time.Second)
	return Range{Start: end.Add(-span), End: end, Step: max(step, time.Second)}
}

// QueryError is Prometheus's refusal of a query: its errorType (bad_data
// for a parse error) and message, and where the message gives one, the
// line and column of the fault in the expression (1-based; 0 for none).
type QueryError struct {
	Type    string `json:"error_type"`
	Message string `json:"error"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
}

func (e *QueryError) Error() string { return e.Type + ": " + e.Message }

// parsePos finds PromQL's "LINE:COL: parse error" in a message.
var parsePos = regexp.MustCompile(`(\d+):(\d+): parse error`)

// NewQueryError reads the position out of Prometheus's message.
func NewQueryError(typ, msg string) *QueryError {
	e := &QueryError{Type: typ, Message: msg}
	if m := parsePos.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Column, _ = strconv.Atoi(m[2])
	}
	return e
}

// Position is "line L, column C" or "".
func (e *QueryError) Position() string {
	if e.Line == 0 {
		return ""
	}
	return fmt.Sprintf("line %d, column %d", e.Line, e.Column)
}

// Targets reads Prometheus's active targets.
type Targets interface {
	Targets(ctx context.Context) ([]Target, error)
}

// Rules reads Prometheus's rule groups.
type Rules interface {
	RuleGroups(ctx context.Context) ([]RuleGroup, error)
}

// Querier runs PromQL. A query Prometheus refuses fails with a
// *QueryError.
type Querier interface {
	Instant(ctx context.Context, expr string, at time.Time) (Result, error)
	RangeQuery(ctx context.Context, expr string, r Range) (Result, error)
}

// Names lists metric and label names, for completion.
type Names interface {
	MetricNames(ctx context.Context) ([]string, error)
	LabelNames(ctx context.Context) ([]string, error)
}

// Prometheus is all monitoring reads from Prometheus.
type Prometheus interface {
	Targets
	Rules
	Querier
	Names
}

// ParseDuration reads a Go duration or a PromQL one with days or weeks
// (1d, 2w).
func ParseDuration(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			if v, err := strconv.Atoi(n); err == nil {
				return time.Duration(v) * unit, nil
			}
		}
	}
	return 0, fmt.Errorf("%q is not a duration such as 15m, 1h or 2d", s)
}

// SeriesName writes labels as Prometheus does: name{k="v", …}.
func SeriesName(ls map[string]string) string {
	name := ls["__name__"]
	var parts []string
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range ls {
			if k != "__name__" && !yield(k) {
				return
			}
		}
	}) {
		parts = append(parts, k+"="+strconv.Quote(ls[k]))
	}
	if len(parts) == 0 && name == "" {
		return "{}"
	}
	if len(parts) == 0 {
		return name
	}
	return name + "{" + strings.Join(parts, ", ") + "}"
}
