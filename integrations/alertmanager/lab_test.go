package alertmanager_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vigilops/vigil/integrations/alertmanager"
	"github.com/vigilops/vigil/integrations/prometheus"
	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/incident"
)

// TestLabBadReleaseLifecycle walks an incident through the lab's real
// Prometheus and Alertmanager: a -bad release of prod/worker fires
// AppHighErrorRate, which vigil lists within 10 s of Alertmanager having
// it (one 5 s poll, no webhook); its graph equals a direct query_range;
// acknowledging it makes a silence amtool shows with the actor and the
// comment; unacknowledging expires it; rolling back resolves the alert.
func TestLabBadReleaseLifecycle(t *testing.T) {
	env := labtest.Env(t, "VIGIL_LAB_PROMETHEUS_URL", "VIGIL_LAB_ALERTMANAGER_URL", "KUBECONFIG")
	promURL, amURL := env["VIGIL_LAB_PROMETHEUS_URL"], env["VIGIL_LAB_ALERTMANAGER_URL"]
	amtool := binary(t, "amtool")
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()

	cfg, err := clientcmd.BuildConfigFromFlags("", env["KUBECONFIG"])
	if err != nil {
		t.Fatal(err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const ns, app = "prod", "worker"
	dep, err := kube.AppsV1().Deployments(ns).Get(ctx, app, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	container, good := dep.Spec.Template.Spec.Containers[0].Name, dep.Spec.Template.Spec.Containers[0].Image
	if strings.Contains(good, "bad") {
		t.Fatalf("%s/%s already runs a bad image %s: roll it back first", ns, app, good)
	}
	setImage := func(ctx context.Context, image string) error {
		patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":%q,"image":%q}]}}}}`, container, image)
		_, err := kube.AppsV1().Deployments(ns).Patch(ctx, app, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
		return err
	}
	t.Cleanup(func() { // leave the shared lab as found, even on failure
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := setImage(c, good); err != nil {
			t.Errorf("restoring %s/%s to %s: %v", ns, app, good, err)
		}
	})

	pc, err := prometheus.New(promURL)
	if err != nil {
		t.Fatal(err)
	}
	ac, err := alertmanager.New([]string{amURL})
	if err != nil {
		t.Fatal(err)
	}
	svc := newService(t, incident.Options{Prometheus: pc, Alertmanager: ac})
	if svc.Interval() != 5*time.Second {
		t.Fatalf("default interval %s, want 5s", svc.Interval())
	}
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	go svc.Run(runCtx)

	if err := setImage(ctx, good+"-bad"); err != nil {
		t.Fatal(err)
	}
	isOurs := func(labels map[string]string) bool {
		return labels["alertname"] == "AppHighErrorRate" && labels["namespace"] == ns && labels["deployment"] == app
	}

	// Alertmanager has it: watched directly, every 50 ms.
	var inAM time.Time
	waitFor(t, 3*time.Minute, "AppHighErrorRate for prod/worker never reached Alertmanager", func() bool {
		as, err := ac.Alerts(ctx)
		for _, a := range as {
			if err == nil && isOurs(a.Labels) {
				inAM = time.Now()
				return true
			}
		}
		return false
	})
	var alert *incident.Alert
	waitFor(t, 15*time.Second, "vigil did not list the alert Alertmanager has", func() bool {
		for _, a := range svc.Snapshot().Alerts {
			if isOurs(a.Labels) && a.Active() && a.State != incident.Pending {
				alert = a
				return true
			}
		}
		return false
	})
	delay := time.Since(inAM)
	t.Logf("Alertmanager has it → vigil lists it: %s (polling every 5 s)", delay.Round(time.Millisecond))
	if delay > 10*time.Second {
		t.Fatalf("vigil listed the alert %s after Alertmanager had it, want under 10 s", delay)
	}
	if alert.Workload != "prod/worker" || alert.Severity != incident.Critical || alert.Rule == nil || alert.Rule.Threshold == nil || *alert.Rule.Threshold != 0.05 {
		t.Fatalf("alert %+v, rule %+v", alert, alert.Rule)
	}

	// The graph equals a direct query_range over the same window.
	// The window ends 30 s ago: samples still arriving could otherwise
	// change the last point between the two queries.
	g, err := svc.Graph(ctx, alert.Fingerprint, time.Hour, time.Now().Add(-30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	direct := queryRange(t, promURL, g.Expr, g.Range)
	var want [][2]float64
	for _, s := range direct {
		if s.Metric["namespace"] == ns && s.Metric["deployment"] == app {
			for _, v := range s.Values {
				f, _ := strconv.ParseFloat(v[1].(string), 64)
				want = append(want, [2]float64{v[0].(float64), f})
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
	comment := "rolling back the bad worker release " + strconv.FormatInt(time.Now().Unix(), 10)
	sil, err := svc.Acknowledge(ctx, actor, incident.AckRequest{Fingerprint: alert.Fingerprint, Duration: 30 * time.Minute, Comment: comment})
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := svc.Snapshot().Alert(alert.Fingerprint); a.State != incident.Acknowledged || a.Ack.Owner != actor.Name || a.Ack.Remaining(time.Now()) < 29*time.Minute {
		t.Fatalf("after acknowledging: %+v, %+v", a, a.Ack)
	}
	out := run(t, amtool, "--alertmanager.url="+amURL, "silence", "query", "-o", "extended", "alertname=AppHighErrorRate")
	if line := lineWith(out, sil.ID); !strings.Contains(line, actor.Name) || !strings.Contains(line, comment) {
		t.Fatalf("amtool silence query shows no silence %s by %s with the comment:\n%s", sil.ID, actor.Name, out)
	}

	if err := svc.Unacknowledge(ctx, actor, sil.ID); err != nil {
		t.Fatal(err)
	}
	if lineWith(run(t, amtool, "--alertmanager.url="+amURL, "silence", "query", "-q"), sil.ID) != "" {
		t.Fatal("the silence is still active after unacknowledging")
	}
	if lineWith(run(t, amtool, "--alertmanager.url="+amURL, "silence", "query", "--expired", "-q"), sil.ID) == "" {
		t.Fatal("amtool does not list the silence as expired")
	}
	if a, _ := svc.Snapshot().Alert(alert.Fingerprint); a.State != incident.Firing {
		t.Fatalf("after unacknowledging: %s", a.State)
	}

	// Roll back: the alert resolves in vigil.
	if err := setImage(ctx, good); err != nil {
		t.Fatal(err)
	}
	rolledBack := time.Now()
	waitFor(t, 3*time.Minute, "the alert did not resolve after the rollback", func() bool {
		a, ok := svc.Snapshot().Alert(alert.Fingerprint)
		return ok && a.State == incident.Resolved
	})
	t.Logf("rollback → resolved in vigil: %s", time.Since(rolledBack).Round(time.Second))
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
