package incident_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/incident"
)

// The CLI verbs run in a fresh process: List and Acknowledge poll first.
func TestCLICore(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	t0 := f.clock.Now()
	f.am.set([]incident.Alert{
		mkAlert("a1", "AppHighErrorRate", "critical", t0.Add(-3*time.Minute), "namespace", "prod", "deployment", "api"),
		mkAlert("a2", "HostDown", "warning", t0.Add(-time.Minute), "droplet", "web-02"),
	}, nil)

	if _, err := f.svc.Acknowledge(ctx, alice, incident.AckRequest{Fingerprint: "a1", Duration: time.Hour, Comment: "on it"}); err != nil {
		t.Fatalf("ack from a process that has not polled yet: %v", err)
	}
	v, snap, err := f.svc.List(ctx, `severity="critical"`)
	if err != nil || len(v.Alerts) != 1 || snap.Counts.Total != 2 {
		t.Fatalf("list = %d alerts, %v", len(v.Alerts), err)
	}
	var table bytes.Buffer
	if err := incident.WriteTable(&table, v.Alerts, t0); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SEVERITY", "AppHighErrorRate", "prod/api", "acknowledged by alice, 1h0m0s left (silence sil-1)", "3m0s", "a1"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	var js bytes.Buffer
	if err := incident.WriteJSON(&js, v.Alerts); err != nil {
		t.Fatal(err)
	}
	var decoded []map[string]any
	if err := json.Unmarshal(js.Bytes(), &decoded); err != nil || len(decoded) != 1 || decoded[0]["fingerprint"] != "a1" || decoded[0]["state"] != "acknowledged" {
		t.Fatalf("json %s: %v", js.String(), err)
	}
	js.Reset()
	if err := incident.WriteJSON(&js, nil); err != nil || strings.TrimSpace(js.String()) != "[]" {
		t.Fatalf("no alerts as JSON: %q", js.String())
	}

	if _, _, err := f.svc.List(ctx, `severity=~"(`); err == nil || !strings.Contains(err.Error(), "bad --filter") {
		t.Fatalf("bad filter: %v", err)
	}
	down := errors.New("connection refused")
	f.am.set(nil, down)
	f.prom.set(nil, down)
	if _, _, err := f.svc.List(ctx, ""); !errors.Is(err, down) || !strings.Contains(err.Error(), "Alertmanager") || !strings.Contains(err.Error(), "Prometheus") {
		t.Fatalf("both sources down: %v", err)
	}
	f.prom.set(nil, nil)
	if v, snap, err := f.svc.List(ctx, ""); err != nil || len(v.Alerts) != 2 || len(snap.Problems(snap.Time)) != 1 {
		t.Fatalf("one source down: %d alerts, %v, problems %q", len(v.Alerts), err, snap.Problems(snap.Time))
	}
}

func TestPollInterval(t *testing.T) {
	for _, c := range []struct {
		cfg  config.Config
		want time.Duration
	}{
		{config.Config{}, incident.DefaultInterval},
		{config.Config{Prometheus: &config.Prometheus{PollInterval: 10 * time.Second}}, 10 * time.Second},
		{config.Config{Prometheus: &config.Prometheus{PollInterval: 10 * time.Second}, Alertmanager: &config.Alertmanager{PollInterval: 2 * time.Second}}, 2 * time.Second},
		{config.Config{Prometheus: &config.Prometheus{}, Alertmanager: &config.Alertmanager{PollInterval: 3 * time.Second}}, 3 * time.Second},
	} {
		if got := incident.PollInterval(&c.cfg); got != c.want {
			t.Errorf("PollInterval(%+v) = %s, want %s", c.cfg, got, c.want)
		}
	}
}
