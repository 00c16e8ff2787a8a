package rules

import (
	"math"
	"testing"
	"time"

	"github.com/vigilops/vigil/internal/testclock"
	"github.com/vigilops/vigil/ops/incident"
)

func series(t0 time.Time, step time.Duration, labels map[string]string, values ...float64) incident.Series {
	s := incident.Series{Labels: labels}
	for i, v := range values {
		if math.IsInf(v, -1) { // a hole: no point
			continue
		}
		s.Points = append(s.Points, incident.Point{Time: t0.Add(time.Duration(i) * step), Value: v})
	}
	return s
}

var hole = math.Inf(-1)

func TestPreview(t *testing.T) {
	t0 := testclock.Epoch()
	step := 5 * time.Second
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * step) }
	a := series(t0, step, map[string]string{"instance": "a"},
		0.1, 0.6, 0.7, 0.8, 0.2, // held 3 points: pending at 1, firing at 3 (10s after)
		0.9, 0.9, 0.1, // held 2 points: 5s, never fires
		0.9, hole, 0.9, 0.9, 0.9) // a hole starts over: active at 10, firing at 12
	b := series(t0, step, map[string]string{"instance": "b"},
		0, 0, 0.6, 0.6, 0.6, 0.6, math.NaN(), 0.6)
	spans := Preview([]incident.Series{a, b}, ">", 0.5, 10*time.Second, step)
	want := []struct {
		inst                string
		active, firing, end int
	}{
		{"a", 1, 3, 3},
		{"b", 2, 4, 5},
		{"a", 5, -1, 6},
		{"b", 7, -1, 7},
		{"a", 8, -1, 8},
		{"a", 10, 12, 12},
	}
	if len(spans) != len(want) {
		t.Fatalf("spans %+v", spans)
	}
	for i, w := range want {
		s := spans[i]
		firing := time.Time{}
		if w.firing >= 0 {
			firing = at(w.firing)
		}
		if s.Labels["instance"] != w.inst || !s.Active.Equal(at(w.active)) || !s.Firing.Equal(firing) || !s.End.Equal(at(w.end)) {
			t.Errorf("span %d = %s %v %v %v, want %+v", i, s.Labels["instance"], s.Active.Sub(t0), s.Firing, s.End.Sub(t0), w)
		}
	}
	ws := FiringWindows(spans)
	if len(ws) != 3 || !ws[0][0].Equal(at(3)) || !ws[0][1].Equal(at(3)) || !ws[1][0].Equal(at(4)) || !ws[1][1].Equal(at(5)) || !ws[2][0].Equal(at(12)) {
		t.Errorf("windows %v", ws)
	}

	// for 0 fires at once; another comparison.
	// Overlapping windows merge.
	ws = FiringWindows([]Span{{Firing: at(1), End: at(4)}, {Firing: at(2), End: at(3)}, {Firing: at(4), End: at(6)}})
	if len(ws) != 1 || !ws[0][0].Equal(at(1)) || !ws[0][1].Equal(at(6)) {
		t.Errorf("merged windows %v", ws)
	}

	spans = Preview([]incident.Series{a}, "<=", 0.1, 0, step)
	if len(spans) != 2 || !spans[0].Firing.Equal(at(0)) || !spans[1].Firing.Equal(at(7)) {
		t.Errorf("<= 0.1: %+v", spans)
	}
	if len(Preview(nil, ">", 0, 0, step)) != 0 {
		t.Error("no series, spans")
	}
}

func TestCompare(t *testing.T) {
	for _, c := range []struct {
		op   string
		v    float64
		want bool
	}{{">", 2, true}, {">", 1, false}, {">=", 1, true}, {"<", 0, true}, {"<=", 1, true}, {"==", 1, true}, {"!=", 1, false}, {"!=", math.NaN(), false}, {"?", 1, false}} {
		if got := Compare(c.op, c.v, 1); got != c.want {
			t.Errorf("%v %s 1 = %v", c.v, c.op, got)
		}
	}
}
