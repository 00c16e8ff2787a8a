package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ui/common"
)

func TestStartIncident(t *testing.T) {
	j, err := audit.Open(filepath.Join(t.TempDir(), "j.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	w := wiring{journal: j, log: slog.New(slog.DiscardHandler)}

	// Not configured: no service, no webhook.
	w.cfg = config.Default()
	svc := &common.Services{}
	if stop, err := startIncident(context.Background(), w, svc); err != nil || stop != nil || svc.Incident != nil || incidentWebhook(svc) != nil {
		t.Fatalf("without prometheus and alertmanager: %v, %v", err, svc.Incident)
	}

	// A bad URL is a config error.
	w.cfg = &config.Config{Alertmanager: &config.Alertmanager{URLs: []string{"127.0.0.1:9093"}}}
	if _, err := startIncident(context.Background(), w, svc); err == nil || !strings.Contains(err.Error(), "http://host:port") {
		t.Fatalf("a URL without a scheme: %v", err)
	}

	// Configured: polled at its interval until stopped, webhook mounted.
	polls := make(chan struct{}, 100)
	am := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/alerts") {
			polls <- struct{}{}
		}
		rw.Header().Set("Content-Type", "application/json")
		rw.Write([]byte("[]"))
	}))
	defer am.Close()
	w.cfg = &config.Config{Alertmanager: &config.Alertmanager{URLs: []string{am.URL}, PollInterval: 50 * time.Millisecond}}
	stop, err := startIncident(context.Background(), w, svc)
	if err != nil || svc.Incident == nil || incidentWebhook(svc) == nil {
		t.Fatalf("with alertmanager: %v, %v", err, svc.Incident)
	}
	if svc.Incident.Interval() != 50*time.Millisecond {
		t.Fatalf("interval %s, want the config's 50ms", svc.Incident.Interval())
	}
	for range 3 {
		select {
		case <-polls:
		case <-time.After(5 * time.Second):
			t.Fatal("the alert list is not polled")
		}
	}
	stop()
	for len(polls) > 0 {
		<-polls
	}
	time.Sleep(200 * time.Millisecond)
	if len(polls) != 0 {
		t.Fatal("still polling after stop")
	}
	snap := svc.Incident.Snapshot()
	if !snap.Alertmanager.Configured || snap.Alertmanager.Err != nil || snap.Alertmanager.LastOK.IsZero() {
		t.Fatalf("alertmanager status %+v", snap.Alertmanager)
	}

	// The console's service journals the alerts' transitions, from which
	// incidents are rebuilt.
	req := httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(`{"version":"4","groupKey":"g","status":"firing","alerts":[`+
		`{"status":"firing","fingerprint":"f1","labels":{"alertname":"HostDown","droplet":"web-02"},"startsAt":"2026-12-01T10:00:00Z"}]}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	incidentWebhook(svc).ServeHTTP(rec, req)
	es, err := j.Query(audit.Query{Target: "alert/f1"})
	if rec.Code != http.StatusNoContent || err != nil || len(es) != 1 || es[0].Action != incident.FiringEntry || es[0].Parameters["host"] != "web-02" {
		t.Fatalf("webhook %d; journal %+v, %v", rec.Code, es, err)
	}
}
