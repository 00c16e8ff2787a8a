package rules

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/vigilops/vigil/ops/incident"
)

// Span is a stretch of one series over which a rule's condition held:
// pending from Active, firing from Firing (zero when For never elapsed)
// until End, the last point that still held.
type Span struct {
	Labels map[string]string
	Active time.Time
	Firing time.Time
	End    time.Time
}

// Fired reports whether the rule would have fired in the span.
func (s Span) Fired() bool { return !s.Firing.IsZero() }

// Compare applies a comparison of Comparisons; NaN compares false, as in
// PromQL.
func Compare(op string, v, threshold float64) bool {
	if math.IsNaN(v) {
		return false
	}
	switch op {
	case ">":
		return v > threshold
	case ">=":
		return v >= threshold
	case "<":
		return v < threshold
	case "<=":
		return v <= threshold
	case "==":
		return v == threshold
	case "!=":
		return v != threshold
	}
	return false
}

// Preview says when a rule `EXPR op threshold for forDur` would have been
// pending and firing over graphed series of EXPR, as Prometheus evaluates
// it at each point: the condition must hold at every point from Active on,
// and a hole (two points more than 1.5 steps apart) starts over, as a
// series missing from an evaluation resets its alert. It sees only the
// graph's points, so it is as fine as the graph's step. Spans are in time
// order.
func Preview(series []incident.Series, op string, threshold float64, forDur, step time.Duration) []Span {
	var out []Span
	gap := time.Duration(math.MaxInt64)
	if step > 0 {
		gap = step + step/2
	}
	for _, s := range series {
		var cur *Span
		var prev time.Time
		flush := func() {
			if cur != nil {
				out = append(out, *cur)
				cur = nil
			}
		}
		for _, p := range s.Points {
			if cur != nil && p.Time.Sub(prev) > gap {
				flush()
			}
			prev = p.Time
			if !Compare(op, p.Value, threshold) {
				flush()
				continue
			}
			if cur == nil {
				cur = &Span{Labels: s.Labels, Active: p.Time}
			}
			cur.End = p.Time
			if cur.Firing.IsZero() && p.Time.Sub(cur.Active) >= forDur {
				cur.Firing = p.Time
			}
		}
		flush()
	}
	slices.SortStableFunc(out, func(a, b Span) int { return a.Active.Compare(b.Active) })
	return out
}

// FiringWindows merges the firing part of spans into disjoint windows in
// time order: when, over all series, at least one alert would have fired.
func FiringWindows(spans []Span) [][2]time.Time {
	var ws [][2]time.Time
	for _, s := range spans {
		if s.Fired() {
			ws = append(ws, [2]time.Time{s.Firing, s.End})
		}
	}
	slices.SortFunc(ws, func(a, b [2]time.Time) int { return cmp.Compare(a[0].UnixNano(), b[0].UnixNano()) })
	var out [][2]time.Time
	for _, w := range ws {
		if n := len(out); n > 0 && !w[0].After(out[n-1][1]) {
			if w[1].After(out[n-1][1]) {
				out[n-1][1] = w[1]
			}
			continue
		}
		out = append(out, w)
	}
	return out
}
