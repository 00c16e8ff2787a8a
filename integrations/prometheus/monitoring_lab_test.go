package prometheus

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/monitoring"
)

// TestLabMonitoring reads the lab Prometheus's targets, rule groups,
// names, and runs good and bad queries.
func TestLabMonitoring(t *testing.T) {
	env := labtest.Env(t, "VIGIL_LAB_PROMETHEUS_URL")
	c, err := New(env["VIGIL_LAB_PROMETHEUS_URL"])
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	targets, err := c.Targets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	jobs := map[string]monitoring.Target{}
	for _, tg := range targets {
		jobs[tg.Job] = tg
	}
	prom, ok := jobs["prometheus"]
	if !ok || prom.Health != monitoring.Up || prom.LastScrape.IsZero() || prom.LastScrapeDuration <= 0 ||
		!strings.HasSuffix(prom.ScrapeURL, "/metrics") || prom.Labels["instance"] == "" || prom.DiscoveredLabels["__address__"] == "" {
		t.Fatalf("the prometheus job's target: %+v (all: %+v)", prom, targets)
	}

	groups, err := c.RuleGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var found *monitoring.Rule
	for _, g := range groups {
		if g.File == "" || g.Interval <= 0 {
			t.Errorf("group %s: %+v", g.Name, g)
		}
		for i, r := range g.Rules {
			if r.Name == "HostDown" {
				found = &g.Rules[i]
			}
			if r.Name == "AppHighErrorRate" && (r.Threshold == nil || r.ValueExpr == r.Query) {
				t.Errorf("AppHighErrorRate's threshold was not read: %+v", r)
			}
		}
	}
	if found == nil || found.Kind != monitoring.Alerting || found.Query == "" || found.Health != monitoring.OK ||
		(found.State != monitoring.Inactive && found.State != monitoring.Pending && found.State != monitoring.Firing) || found.LastEvaluation.IsZero() {
		t.Fatalf("HostDown: %+v", found)
	}

	now := time.Now()
	r, err := c.Instant(ctx, "up", now)
	if err != nil || r.Type != monitoring.Vector || len(r.Vector) == 0 || r.Vector[0].Labels["job"] == "" {
		t.Fatalf("up = %+v, %v", r, err)
	}
	r, err = c.Instant(ctx, "1+1", now)
	if err != nil || r.Type != monitoring.Scalar || r.Scalar.Value != 2 {
		t.Fatalf("1+1 = %+v, %v", r, err)
	}
	r, err = c.RangeQuery(ctx, `up{job="prometheus"}`, monitoring.RangeOver(now, 5*time.Minute, 60))
	if err != nil || r.Type != monitoring.Matrix || len(r.Matrix) != 1 || len(r.Matrix[0].Points) < 2 {
		t.Fatalf("up over 5m = %+v, %v", r, err)
	}

	_, err = c.Instant(ctx, "sum(rate(up[5m])", now)
	var qe *monitoring.QueryError
	if !errors.As(err, &qe) || qe.Type != "bad_data" || qe.Line != 1 || qe.Column == 0 || !strings.Contains(qe.Message, "parse error") {
		t.Fatalf("a bad expression: %#v", err)
	}
	t.Logf("bad expression: %s at %s", qe.Message, qe.Position())

	metrics, err := c.MetricNames(ctx)
	if err != nil || !slices.Contains(metrics, "up") || !slices.Contains(metrics, "prometheus_build_info") {
		t.Fatalf("metric names: %d, %v", len(metrics), err)
	}
	labels, err := c.LabelNames(ctx)
	if err != nil || !slices.Contains(labels, "job") || !slices.Contains(labels, "instance") {
		t.Fatalf("label names: %v, %v", labels, err)
	}
}
