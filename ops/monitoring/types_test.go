package monitoring

import (
	"testing"
	"time"
)

func TestQueryErrorPosition(t *testing.T) {
	for _, c := range []struct {
		msg       string
		line, col int
	}{
		{`invalid parameter "query": 1:17: parse error: unclosed left parenthesis`, 1, 17},
		{`2:3: parse error: unexpected identifier "foo"`, 2, 3},
		{`query processing would load too many samples into memory`, 0, 0},
	} {
		e := NewQueryError("bad_data", c.msg)
		if e.Line != c.line || e.Column != c.col {
			t.Errorf("%q: line %d col %d, want %d %d", c.msg, e.Line, e.Column, c.line, c.col)
		}
	}
}

func TestRangeOver(t *testing.T) {
	end := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	r := RangeOver(end, time.Hour, 120)
	if r.Step != 30*time.Second || !r.Start.Equal(end.Add(-time.Hour)) {
		t.Fatalf("%+v", r)
	}
	if r := RangeOver(end, 10*time.Second, 120); r.Step != time.Second {
		t.Fatalf("%+v", r)
	}
}
