package incident

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vigilops/vigil/ops/audit"
)

// GraphWindows are the windows the detail view switches between, shortest
// first; it opens on DefaultGraphWindow.
var GraphWindows = []time.Duration{5 * time.Minute, 15 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour}

// DefaultGraphWindow indexes GraphWindows: an hour shows what led to most
// alerts; 5 m and 15 m are a key away for one that just fired.
const DefaultGraphWindow = 2

// graphPoints is about how many points a graph asks for: more than a wide
// terminal has braille columns, few enough to fetch fast.
const graphPoints = 240

// Graph is an alert's expression over a window, with its threshold and the
// changes journaled on its workload or host in that window.
type Graph struct {
	Expr      string
	Threshold *float64
	Range     Range
	Series    []Series
	Markers   []audit.Entry
}

// GraphRange is the range a graph of window ending at end queries: the
// step is rounded to whole seconds and the ends aligned on it, so repeated
// queries hit the same evaluation instants.
func GraphRange(window time.Duration, end time.Time) Range {
	step := max((window / graphPoints).Round(time.Second), time.Second)
	end = end.Truncate(step)
	return Range{Start: end.Add(-window), End: end, Step: step}
}

// Graph queries the alert's rule expression (its graphed side) over the
// window ending at end. Only the series of this alert are kept: those whose
// labels all appear, with the same values, on the alert.
func (s *Service) Graph(ctx context.Context, fingerprint string, window time.Duration, end time.Time) (Graph, error) {
	if s.o.Prometheus == nil {
		return Graph{}, errNoPrometheus
	}
	a, ok := s.Snapshot().Alert(fingerprint)
	if !ok {
		return Graph{}, fmt.Errorf("no alert has fingerprint %s: it may have resolved more than %s ago", fingerprint, s.o.ResolvedFor)
	}
	if a.Rule == nil {
		return Graph{}, fmt.Errorf("no alerting rule in Prometheus produces %s: its expression is unknown", a.Name)
	}
	g := Graph{Expr: a.Rule.ValueExpr, Threshold: a.Rule.Threshold, Range: GraphRange(window, end)}
	series, err := s.o.Prometheus.QueryRange(ctx, g.Expr, g.Range)
	if err != nil {
		return Graph{}, fmt.Errorf("querying %s over %s: %w", g.Expr, window, err)
	}
	g.Series = seriesOf(a, series)
	if g.Markers, err = s.changes(a, g.Range.Start, g.Range.End); err != nil {
		return Graph{}, err
	}
	return g, nil
}

// seriesOf keeps the series that belong to alert a, or all of them when
// none does (an aggregation that dropped the alert's labels).
func seriesOf(a *Alert, all []Series) []Series {
	var mine []Series
	for _, sr := range all {
		if labelsWithin(sr.Labels, a.Labels) {
			mine = append(mine, sr)
		}
	}
	if len(mine) == 0 {
		return all
	}
	return mine
}

func labelsWithin(sub, labels map[string]string) bool {
	for k, v := range sub {
		if k != "__name__" && labels[k] != v {
			return false
		}
	}
	return true
}

func (s *Service) changes(a *Alert, since, until time.Time) ([]audit.Entry, error) {
	var out []audit.Entry
	for _, target := range s.targets(a) {
		es, err := s.o.Journal.Query(audit.Query{Since: since, Until: until, Target: target})
		if err != nil {
			return nil, fmt.Errorf("reading the journal for %s: %w", target, err)
		}
		for _, e := range es {
			if e.Result == audit.OK {
				out = append(out, e)
			}
		}
	}
	slices.SortFunc(out, func(x, y audit.Entry) int {
		if c := y.Time.Compare(x.Time); c != 0 {
			return c
		}
		return cmp.Compare(y.Seq, x.Seq)
	})
	// An entry on both the workload and the host comes back twice.
	return slices.CompactFunc(out, func(x, y audit.Entry) bool { return x.Seq == y.Seq }), nil
}

// targets are the journal targets of what the alert is about: its
// workload as the alert names it and as the journal does ("env/app"), and
// its host.
func (s *Service) targets(a *Alert) []string {
	var out []string
	add := func(t string) {
		if t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	add(a.Workload)
	if s.o.Releases != nil && a.Workload != "" {
		if app, env, ok := s.o.Releases.Locate(a.Workload); ok {
			add(env + "/" + app)
		}
	}
	add(a.Host)
	return out
}

var errNoPrometheus = errors.New("graphs need Prometheus: configure prometheus.url")
