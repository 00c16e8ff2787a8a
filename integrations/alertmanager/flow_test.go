package alertmanager_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigilops/vigil/integrations/alertmanager"
	"github.com/vigilops/vigil/integrations/prometheus"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/incident"
)

// incidentFlow is an incident's life once its cause is in place: the
// alert reaches Alertmanager, vigil lists it within 10 s (one 5 s poll, no
// webhook), its graph equals a direct query_range, acknowledging it makes
// a silence amtool shows with the actor and the comment, unacknowledging
// expires it, and after rollback the alert resolves in vigil.
type incidentFlow struct {
	svc                    *incident.Service
	am                     *alertmanager.Client
	promURL, amURL, amtool string
	alertname, workload    string // the alert expected, on namespace/deployment
	threshold              float64
	rollback               func(context.Context) error
}

func (f incidentFlow) isOurs(labels map[string]string) bool {
	return labels["alertname"] == f.alertname && incident.WorkloadOf(labels) == f.workload
}

func (f incidentFlow) run(t *testing.T, ctx context.Context) {
	// Alertmanager has it: watched directly, every 50 ms.
	var inAM time.Time
	waitFor(t, 3*time.Minute, f.alertname+" for "+f.workload+" never reached Alertmanager", func() bool {
		as, err := f.am.Alerts(ctx)
		for _, a := range as {
			if err == nil && f.isOurs(a.Labels) {
				inAM = time.Now()
				return true
			}
		}
		return false
	})
	var alert *incident.Alert
	waitFor(t, 15*time.Second, "vigil did not list the alert Alertmanager has", func() bool {
		for _, a := range f.svc.Snapshot().Alerts {
			if f.isOurs(a.Labels) && a.Active() && a.State != incident.Pending {
				alert = a
				return true
			}
		}
		return false
	})
	delay := time.Since(inAM)
	t.Logf("Alertmanager has it → vigil lists it: %s (polling every %s)", delay.Round(time.Millisecond), f.svc.Interval())
	if delay > 10*time.Second {
		t.Fatalf("vigil listed the alert %s after Alertmanager had it, want under 10 s", delay)
	}
	if alert.Severity != incident.Critical || alert.Rule == nil || alert.Rule.Threshold == nil || *alert.Rule.Threshold != f.threshold {
		t.Fatalf("alert %+v, rule %+v", alert, alert.Rule)
	}

	// The graph equals a direct query_range over the same window, which
	// ends a few seconds ago so that no sample in flight changes its last
	// point between the two queries. (Steps are 15 s: a fresh Prometheus
	// needs a moment to have a point in the window.)
	var g incident.Graph
	waitFor(t, 40*time.Second, "the graph has no points", func() bool {
		var err error
		g, err = f.svc.Graph(ctx, alert.Fingerprint, time.Hour, time.Now().Add(-5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		return len(g.Series) > 0 && len(g.Series[0].Points) > 0
	})
	var want [][2]float64
	for _, s := range queryRange(t, f.promURL, g.Expr, g.Range) {
		if incident.WorkloadOf(s.Metric) == f.workload {
			for _, v := range s.Values {
				x, _ := strconv.ParseFloat(v[1].(string), 64)
				want = append(want, [2]float64{v[0].(float64), x})
			}
		}
	}
	if len(g.Series) != 1 || len(want) == 0 || len(g.Series[0].Points) != len(want) {
		t.Fatalf("graph has %d series, %v; direct query_range has %d points", len(g.Series), g.Series, len(want))
	}
	for i, p := range g.Series[0].Points {
		if float64(p.Time.UnixMilli())/1000 != want[i][0] || p.Value != want[i][1] {
			t.Fatalf("point %d: graph (%s, %v), query_range (%v, %v)", i, p.Time, p.Value, want[i][0], want[i][1])
		}
	}

	// Acknowledge, as the pane's dialog does, and ask amtool.
	actor := access.Actor{Name: fmt.Sprintf("alice-%d", time.Now().UnixNano()), Role: access.Operator, Source: "local"}
	comment := "rolling back the bad release " + strconv.FormatInt(time.Now().Unix(), 10)
	sil, err := f.svc.Acknowledge(ctx, actor, incident.AckRequest{Fingerprint: alert.Fingerprint, Duration: 30 * time.Minute, Comment: comment})
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := f.svc.Snapshot().Alert(alert.Fingerprint); a.State != incident.Acknowledged || a.Ack.Owner != actor.Name || a.Ack.Remaining(time.Now()) < 29*time.Minute {
		t.Fatalf("after acknowledging: %+v, %+v", a, a.Ack)
	}
	out := run(t, f.amtool, "--alertmanager.url="+f.amURL, "silence", "query", "-o", "extended", "alertname="+f.alertname)
	if line := lineWith(out, sil.ID); !strings.Contains(line, actor.Name) || !strings.Contains(line, comment) {
		t.Fatalf("amtool silence query shows no silence %s by %s with the comment:\n%s", sil.ID, actor.Name, out)
	}

	if err := f.svc.Unacknowledge(ctx, actor, sil.ID); err != nil {
		t.Fatal(err)
	}
	if lineWith(run(t, f.amtool, "--alertmanager.url="+f.amURL, "silence", "query", "-q"), sil.ID) != "" {
		t.Fatal("the silence is still active after unacknowledging")
	}
	if lineWith(run(t, f.amtool, "--alertmanager.url="+f.amURL, "silence", "query", "--expired", "-q"), sil.ID) == "" {
		t.Fatal("amtool does not list the silence as expired")
	}
	if a, _ := f.svc.Snapshot().Alert(alert.Fingerprint); a.State != incident.Firing {
		t.Fatalf("after unacknowledging: %s", a.State)
	}

	// Roll back: the alert resolves in vigil.
	if err := f.rollback(ctx); err != nil {
		t.Fatal(err)
	}
	rolledBack := time.Now()
	waitFor(t, 3*time.Minute, "the alert did not resolve after the rollback", func() bool {
		a, ok := f.svc.Snapshot().Alert(alert.Fingerprint)
		return ok && a.State == incident.Resolved
	})
	t.Logf("rollback → resolved in vigil: %s", time.Since(rolledBack).Round(time.Second))
}

// TestIncidentFlowOnOwnServers runs the incident flow on this test's own
// Prometheus and Alertmanager, the error ratio coming from a scrape target
// the test controls: the same checks as the lab test, without Kubernetes.
func TestIncidentFlowOnOwnServers(t *testing.T) {
	amtool := binary(t, "amtool")
	var ratio atomic.Value
	ratio.Store("0.2")
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "lab_error_ratio{namespace=\"prod\",deployment=\"worker\"} %s\nlab_error_ratio{namespace=\"prod\",deployment=\"api\"} 0\n", ratio.Load())
	}))
	defer target.Close()
	amAddr := freeAddr(t)
	am := startAlertmanager(t, amAddr, "route: {receiver: none, group_wait: 0s}\nreceivers: [{name: none}]\n")
	prom := startPrometheus(t, freeAddr(t), fmt.Sprintf(`
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [rules.yml]
alerting: {alertmanagers: [{static_configs: [{targets: [%q]}]}]}
scrape_configs: [{job_name: app, static_configs: [{targets: [%q]}]}]
`, amAddr, strings.TrimPrefix(target.URL, "http://")), `
groups:
- name: app
  rules:
  - alert: AppHighErrorRate
    expr: max by (namespace, deployment) (lab_error_ratio) > 0.05
    labels: {severity: critical}
`)
	pc, err := prometheus.New(prom.url)
	if err != nil {
		t.Fatal(err)
	}
	ac, err := alertmanager.New([]string{am.url})
	if err != nil {
		t.Fatal(err)
	}
	svc := newService(t, incident.Options{Prometheus: pc, Alertmanager: ac})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	go svc.Run(ctx)
	incidentFlow{
		svc: svc, am: ac, promURL: prom.url, amURL: am.url, amtool: amtool,
		alertname: "AppHighErrorRate", workload: "prod/worker", threshold: 0.05,
		rollback: func(context.Context) error { ratio.Store("0"); return nil },
	}.run(t, ctx)
}

type rangeSeries struct {
	Metric map[string]string `json:"metric"`
	Values [][2]any          `json:"values"`
}

// queryRange asks Prometheus's HTTP API itself, without client_golang.
func queryRange(t testing.TB, base, expr string, r incident.Range) []rangeSeries {
	t.Helper()
	q := url.Values{"query": {expr}, "start": {strconv.FormatInt(r.Start.Unix(), 10)},
		"end": {strconv.FormatInt(r.End.Unix(), 10)}, "step": {strconv.FormatFloat(r.Step.Seconds(), 'f', -1, 64)}}
	res, err := http.Get(strings.TrimSuffix(base, "/") + "/api/v1/query_range?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Status string `json:"status"`
		Data   struct {
			Result []rangeSeries `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || body.Status != "success" {
		t.Fatalf("query_range %s: %v, status %q", expr, err, body.Status)
	}
	return body.Data.Result
}

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func lineWith(out, s string) string {
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, s) {
			return line
		}
	}
	return ""
}
