package prometheus

import (
	"context"
	"testing"
	"time"

	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/incident"
)

// TestLabPrometheus reads the lab Prometheus's rules, alerts and queries.
func TestLabPrometheus(t *testing.T) {
	env := labtest.Env(t, "VIGIL_LAB_PROMETHEUS_URL")
	c, err := New(env["VIGIL_LAB_PROMETHEUS_URL"])
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	rules, err := c.Rules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]bool{}
	for _, r := range rules {
		byName[r.Name] = true
		if r.Expr == "" || r.ValueExpr == "" {
			t.Errorf("rule %s without expression: %+v", r.Name, r)
		}
		if r.Name == "AppHighErrorRate" && r.Threshold == nil {
			t.Errorf("AppHighErrorRate's threshold was not read from %q", r.Expr)
		}
	}
	for _, name := range []string{"AppHighErrorRate", "AppHighLatency", "HostDown"} {
		if !byName[name] {
			t.Errorf("the lab's rule %s is missing from %v", name, byName)
		}
	}

	if _, err := c.Alerts(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	samples, err := c.Query(ctx, "up", now)
	if err != nil || len(samples) == 0 || samples[0].Labels["job"] == "" {
		t.Fatalf("up = %+v, %v", samples, err)
	}
	series, err := c.QueryRange(ctx, "up", incident.Range{Start: now.Add(-2 * time.Minute), End: now, Step: 15 * time.Second})
	if err != nil || len(series) == 0 || len(series[0].Points) == 0 {
		t.Fatalf("up over 2m = %+v, %v", series, err)
	}
	if _, err := c.Query(ctx, "up{", now); err == nil {
		t.Fatal("a bad query should fail")
	}
}
