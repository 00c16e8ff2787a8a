package alertmanager_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-openapi/strfmt"
	amclient "github.com/prometheus/alertmanager/api/v2/client"
	"github.com/prometheus/alertmanager/api/v2/client/alert"
	"github.com/prometheus/alertmanager/api/v2/models"

	"github.com/vigilops/vigil/integrations/alertmanager"
	"github.com/vigilops/vigil/integrations/prometheus"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/incident"
)

func newService(t testing.TB, o incident.Options) *incident.Service {
	t.Helper()
	j, err := audit.Open(t.TempDir() + "/journal.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	o.Journal, o.ParseMatchers = j, alertmanager.ParseMatchers
	svc, err := incident.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// waitFor polls cond every 50 ms until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWebhookFromAlertmanager has a real Alertmanager notify the webhook
// handler: its payload updates the list at once (no poll runs here), a
// resolved notification resolves the alert, and a malformed body is
// refused with 400 and changes nothing.
func TestWebhookFromAlertmanager(t *testing.T) {
	var (
		mu       sync.Mutex
		bodies   []string
		statuses []int
	)
	var svc *incident.Service
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(r.Method, r.URL.Path, bytes.NewReader(body))
		req.Header = r.Header.Clone() // Alertmanager's Content-Type
		svc.WebhookHandler().ServeHTTP(rec, req)
		mu.Lock()
		bodies, statuses = append(bodies, string(body)), append(statuses, rec.Code)
		mu.Unlock()
		w.WriteHeader(rec.Code)
	}))
	defer hook.Close()
	am := startAlertmanager(t, freeAddr(t), fmt.Sprintf(`
route: {receiver: vigil, group_wait: 0s, group_interval: 1s, repeat_interval: 1h}
receivers:
- name: vigil
  webhook_configs: [{url: %q, send_resolved: true}]
`, hook.URL+"/webhook"))
	client, err := alertmanager.New([]string{am.url})
	if err != nil {
		t.Fatal(err)
	}
	svc = newService(t, incident.Options{Alertmanager: client})

	labels := models.LabelSet{"alertname": "WebhookProbe", "severity": "critical", "namespace": "prod", "deployment": "api"}
	sent := time.Now()
	postAlert(t, am.url, labels, time.Time{})
	var fp string
	waitFor(t, 10*time.Second, "the webhook did not bring WebhookProbe", func() bool {
		for _, a := range svc.Snapshot().Alerts {
			if a.Name == "WebhookProbe" && a.State == incident.Firing && a.Workload == "prod/api" {
				fp = a.Fingerprint
				return true
			}
		}
		return false
	})
	took := time.Since(sent)
	t.Logf("alert posted to Alertmanager → listed through the webhook: %s", took.Round(time.Millisecond))
	if took > time.Second {
		t.Fatalf("the webhook path took %s, want under 1 s", took)
	}
	mu.Lock()
	if statuses[0] != http.StatusNoContent || !strings.Contains(bodies[0], `"version":"4"`) {
		t.Fatalf("first notification: %d %s", statuses[0], bodies[0])
	}
	mu.Unlock()

	before := svc.Snapshot()
	res, err := http.Post(hook.URL+"/webhook", "application/json", strings.NewReader(`{"version":"4","alerts":[{"status":"resolved"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest || svc.Snapshot() != before {
		t.Fatalf("malformed body: status %d, list changed %v", res.StatusCode, svc.Snapshot() != before)
	}

	postAlert(t, am.url, labels, time.Now().Add(-time.Second))
	waitFor(t, 10*time.Second, "the resolved notification did not resolve WebhookProbe", func() bool {
		a, ok := svc.Snapshot().Alert(fp)
		return ok && a.State == incident.Resolved
	})
}

// postAlert sends an alert to Alertmanager as Prometheus would; a past
// endsAt resolves it.
func postAlert(t testing.TB, url string, labels models.LabelSet, ends time.Time) {
	t.Helper()
	api := amclient.NewHTTPClientWithConfig(strfmt.Default, amclient.DefaultTransportConfig().WithHost(strings.TrimPrefix(url, "http://")))
	a := &models.PostableAlert{Alert: models.Alert{Labels: labels}, Annotations: models.LabelSet{"summary": "probe"}}
	if !ends.IsZero() {
		a.EndsAt = strfmt.DateTime(ends)
	}
	if _, err := api.Alert.PostAlerts(alert.NewPostAlertsParams().WithAlerts(models.PostableAlerts{a})); err != nil {
		t.Fatalf("posting an alert to %s: %v", url, err)
	}
}

// TestOutageKeepsDataAndRecovers stops this test's own Alertmanager, then
// its own Prometheus, mid-session: the list keeps the last data with its
// age and the error, polling goes on, and both recover when restarted.
func TestOutageKeepsDataAndRecovers(t *testing.T) {
	amAddr, promAddr := freeAddr(t), freeAddr(t)
	am := startAlertmanager(t, amAddr, "route: {receiver: none, group_wait: 0s}\nreceivers: [{name: none}]\n")
	prom := startPrometheus(t, promAddr, fmt.Sprintf(`
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [rules.yml]
alerting: {alertmanagers: [{static_configs: [{targets: [%q]}]}]}
`, amAddr), `
groups:
- name: probe
  rules:
  - alert: ProbeDown
    expr: vector(1) > 0
    labels: {severity: critical, droplet: web-02}
`)
	pc, err := prometheus.New(prom.url)
	if err != nil {
		t.Fatal(err)
	}
	ac, err := alertmanager.New([]string{am.url})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("prometheus %s, alertmanager %s", prom.url, am.url)
	svc := newService(t, incident.Options{Prometheus: pc, Alertmanager: ac, Interval: 200 * time.Millisecond, Timeout: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go svc.Run(ctx)

	probe := func() (*incident.Alert, int) {
		n := 0
		var found *incident.Alert
		for _, a := range svc.Snapshot().Alerts {
			if a.Name == "ProbeDown" {
				n++
				found = a
			}
		}
		return found, n
	}
	waitFor(t, 20*time.Second, "ProbeDown never reached Alertmanager and the list", func() bool {
		a, _ := probe()
		return a != nil && a.GeneratorURL != "" // GeneratorURL comes from Alertmanager only
	})
	if a, n := probe(); n != 1 || a.Rule == nil || a.Rule.Expr != "vector(1) > 0" || *a.Rule.Threshold != 0 || a.Host != "web-02" {
		t.Fatalf("ProbeDown listed %d times (Prometheus's and Alertmanager's fingerprints must agree), %+v", n, a)
	}

	for _, c := range []struct {
		name   string
		p      *proc
		status func(*incident.Snapshot) incident.SourceStatus
	}{
		{"Alertmanager", am, func(s *incident.Snapshot) incident.SourceStatus { return s.Alertmanager }},
		{"Prometheus", prom, func(s *incident.Snapshot) incident.SourceStatus { return s.Prometheus }},
	} {
		c.p.stop()
		waitFor(t, 10*time.Second, c.name+" stopped but the list shows no error", func() bool { return c.status(svc.Snapshot()).Err != nil })
		time.Sleep(time.Second)
		snap := svc.Snapshot()
		st := c.status(snap)
		if a, n := probe(); n != 1 || a.State != incident.Firing {
			t.Fatalf("%s down: the last data should stay, got %d ProbeDown, %+v", c.name, n, a)
		}
		if st.Age(snap.Time) < 900*time.Millisecond || !strings.Contains(strings.Join(snap.Problems(snap.Time), "\n"), c.name+" unreachable, showing data from") {
			t.Fatalf("%s down: age %s, problems %q", c.name, st.Age(snap.Time), snap.Problems(snap.Time))
		}
		t.Logf("%s down: %s", c.name, snap.Problems(snap.Time))
		c.p.start()
		waitFor(t, 20*time.Second, c.name+" restarted but the list did not recover", func() bool {
			st := c.status(svc.Snapshot())
			return st.Err == nil && st.Age(svc.Snapshot().Time) < time.Second
		})
	}
	waitFor(t, 20*time.Second, "ProbeDown not back in the recovered Alertmanager", func() bool {
		a, n := probe()
		return n == 1 && a.State == incident.Firing && a.GeneratorURL != ""
	})
}
