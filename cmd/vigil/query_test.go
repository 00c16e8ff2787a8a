package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/internal/testclock"
	"github.com/vigilops/vigil/ops/monitoring"
	"github.com/vigilops/vigil/ops/release"
)

type fakeQuerier struct {
	res monitoring.Result
	err error
	rng monitoring.Range
}

func (f *fakeQuerier) Instant(context.Context, string, time.Time) (monitoring.Result, error) {
	return f.res, f.err
}
func (f *fakeQuerier) RangeQuery(_ context.Context, _ string, r monitoring.Range) (monitoring.Result, error) {
	f.rng = r
	return f.res, f.err
}

func TestQueryOutput(t *testing.T) {
	now := testclock.Epoch()
	vec := monitoring.Result{Type: monitoring.Vector, Vector: []monitoring.Sample{
		{Labels: map[string]string{"__name__": "up", "job": "droplets", "instance": "10.0.0.1:9100"}, Time: now, Value: 1},
		{Labels: map[string]string{"__name__": "up", "job": "prometheus"}, Time: now, Value: 0},
	}}
	var out bytes.Buffer
	if err := runQuery(context.Background(), &fakeQuerier{res: vec}, "up", 0, now, false, &out); err != nil {
		t.Fatal(err)
	}
	want := "SERIES                                        VALUE\n" +
		"up{instance=\"10.0.0.1:9100\", job=\"droplets\"}  1\n" +
		"up{job=\"prometheus\"}                          0\n"
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}

	mat := monitoring.Result{Type: monitoring.Matrix, Matrix: []monitoring.Series{{Labels: map[string]string{"job": "a"},
		Points: []monitoring.Point{{Time: now.Add(-time.Minute), Value: 3}, {Time: now, Value: 1}}}}}
	q := &fakeQuerier{res: mat}
	out.Reset()
	if err := runQuery(context.Background(), q, "x", time.Hour, now, false, &out); err != nil {
		t.Fatal(err)
	}
	if q.rng.End != now || q.rng.End.Sub(q.rng.Start) != time.Hour || q.rng.Step != 15*time.Second {
		t.Fatalf("range %+v", q.rng)
	}
	if !strings.Contains(out.String(), `{job="a"}  1     1    3    2`) {
		t.Fatalf("%q", out.String())
	}
	out.Reset()
	if err := runQuery(context.Background(), q, "x", time.Hour, now, true, &out); err != nil {
		t.Fatal(err)
	}
	var got queryJSON
	if err := json.Unmarshal(out.Bytes(), &got); err != nil || got.Expr != "x" || got.Type != monitoring.Matrix || len(got.Matrix[0].Points) != 2 {
		t.Fatalf("%s: %v", out.String(), err)
	}
}

func TestQueryErrorsExit(t *testing.T) {
	now := testclock.Epoch()
	bad := monitoring.NewQueryError("bad_data", `invalid parameter "query": 1:4: parse error: unexpected end of input inside braces`)
	err := runQuery(context.Background(), &fakeQuerier{err: bad}, "up{", 0, now, false, &bytes.Buffer{})
	var coded *exitCodeError
	if !errors.As(err, &coded) || coded.code != release.ExitUsage || !strings.Contains(coded.msg, "1:4: parse error") || !strings.Contains(coded.msg, "(line 1, column 4)") {
		t.Fatalf("%#v", err)
	}
	exec := monitoring.NewQueryError("execution", "query timed out")
	if err := runQuery(context.Background(), &fakeQuerier{err: exec}, "x", 0, now, false, &bytes.Buffer{}); !errors.As(err, &coded) || coded.code != release.ExitFailed {
		t.Fatalf("%#v", err)
	}
	down := errors.New("prometheus http://127.0.0.1:9: query: connection refused")
	if err := runQuery(context.Background(), &fakeQuerier{err: down}, "x", 0, now, false, &bytes.Buffer{}); err != down {
		t.Fatalf("%v", err)
	}
}
