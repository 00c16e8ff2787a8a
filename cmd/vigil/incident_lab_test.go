package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vigilops/vigil/integrations/alertmanager"
	"github.com/vigilops/vigil/integrations/kubernetes"
	"github.com/vigilops/vigil/integrations/prometheus"
	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ops/release"
)

// TestIncidentOnTheLab drives a real incident on the lab, in namespaces
// of the test's own, while a watcher journals the alert transitions as the
// console does: alice promotes a bad release into prod, AppHighErrorRate
// fires, bob acknowledges it, notes it and rolls back, the alert
// resolves. The exported Markdown names every step with its actor, in
// order, with the rule's PromQL and the versions; the hand-over follows.
func TestIncidentOnTheLab(t *testing.T) {
	env := labtest.Env(t, "KUBECONFIG", "VIGIL_LAB_PROMETHEUS_URL", "VIGIL_LAB_ALERTMANAGER_URL")
	lab, err := config.Load(filepath.Join(labtest.StateDir(), "vigil.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := sandbox(t)
	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix)
	id := hex.EncodeToString(suffix)
	app, partOf := "inc-"+id, "vigil-incident-test-"+id
	k := lab.Kubernetes
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: k.Kubeconfig}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: k.Environments[0].Context}).ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	cs, err := k8s.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 9*time.Minute)
	defer cancel()

	// preprod runs the bad release, prod the good one.
	var envLines strings.Builder
	for _, e := range []struct{ name, version string }{{"preprod", "1.1.0-bad"}, {"prod", "1.0.0"}} {
		ns := "vi-" + id + "-" + e.name
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
		labels := map[string]string{"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": partOf}
		two := int32(2)
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: app, Labels: labels},
			Spec: appsv1.DeploymentSpec{
				Replicas: &two,
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": app}},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
					Containers: []corev1.Container{{Name: "app", Image: "registry.lab.local/test/incident:" + e.version}},
				}},
			},
		}
		if _, err := cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&envLines, "    - {name: %s, context: %q, namespace: %s}\n", e.name, k.Environments[0].Context, ns)
	}
	prodNS := "vi-" + id + "-prod"
	journalPath := filepath.Join(dir, "journal.db")
	configs := map[string]string{}
	for _, who := range []string{"alice", "bob"} {
		path := filepath.Join(dir, who+".yaml")
		writeFile(t, path, fmt.Sprintf("identity: {name: %s, role: operator}\naudit: {path: %q}\n"+
			"kubernetes:\n  kubeconfig: %q\n  app_selector: %q\n  environments:\n%s"+
			"prometheus: {url: %q}\nalertmanager: {urls: [%q]}\n",
			who, journalPath, k.Kubeconfig, "app.kubernetes.io/part-of="+partOf, envLines.String(),
			env["VIGIL_LAB_PROMETHEUS_URL"], env["VIGIL_LAB_ALERTMANAGER_URL"]))
		configs[who] = path
	}
	as := func(who string, args ...string) (int, string, string) {
		t.Helper()
		t.Setenv("VIGIL_CONFIG", configs[who])
		return cli(t, args...)
	}

	// The watcher: what the console or vigil serve runs, journaling the
	// alert transitions to the same journal.
	cfg, err := config.Load(configs["alice"])
	if err != nil {
		t.Fatal(err)
	}
	j, err := audit.Open(journalPath)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	envs, err := release.EnvsFromConfig(cfg.Kubernetes)
	if err != nil {
		t.Fatal(err)
	}
	rel := release.New(envs, kubernetes.New(ctx, k.Kubeconfig), j, release.Options{Selector: cfg.Kubernetes.AppSelector, LockTTL: time.Minute})
	if err := rel.Start(ctx); err != nil {
		t.Fatal(err)
	}
	pc, err := prometheus.New(env["VIGIL_LAB_PROMETHEUS_URL"])
	if err != nil {
		t.Fatal(err)
	}
	ac, err := alertmanager.New([]string{env["VIGIL_LAB_ALERTMANAGER_URL"]})
	if err != nil {
		t.Fatal(err)
	}
	watcher, err := incident.New(incident.Options{Prometheus: pc, Alertmanager: ac, ParseMatchers: alertmanager.ParseMatchers,
		Journal: j, Releases: rel, Interval: 2 * time.Second, JournalAlerts: true})
	if err != nil {
		t.Fatal(err)
	}
	wctx, stopWatcher := context.WithCancel(ctx)
	watching := make(chan struct{})
	go func() { defer close(watching); watcher.Run(wctx) }()
	defer func() { stopWatcher(); <-watching }()

	// 1. alice promotes the bad release into prod.
	if code, out, errOut := as("alice", "promote", app, "--from", "preprod", "--to", "prod"); code != 0 {
		t.Fatalf("promote: exit %d\n%s\n%s", code, out, errOut)
	}
	// 2. AppHighErrorRate fires on it.
	var fp string
	var seen []string
	waitUntil(t, 4*time.Minute, "AppHighErrorRate to fire on "+prodNS+"/"+app, func() bool {
		seen = nil
		for _, a := range watcher.Snapshot().Alerts {
			seen = append(seen, a.Name+" "+a.Workload+" "+string(a.State))
			if a.Name == "AppHighErrorRate" && a.Workload == prodNS+"/"+app && a.State == incident.Firing {
				fp = a.Fingerprint
				return true
			}
		}
		return false
	}, func() string { return strings.Join(seen, "\n") })
	// 3. bob acknowledges it; the silence is expired at the end.
	code, out, errOut := as("bob", "ack", fp, "--for", "30m", "--comment", "rolling back "+app)
	if code != 0 {
		t.Fatalf("ack: exit %d\n%s\n%s", code, out, errOut)
	}
	silence := strings.TrimSpace(out[strings.LastIndex(out, "silence ")+len("silence "):])
	t.Cleanup(func() { _ = ac.ExpireSilence(context.Background(), silence) })

	// 4. The incident is listed; bob notes it.
	// The shared lab may have alerts of its own: they are incidents too.
	var mine *incident.Incident
	var listed string
	waitUntil(t, 30*time.Second, "the incident to be listed", func() bool {
		code, out, _ := as("bob", "incident", "list", "--json")
		var incs []incident.Incident
		listed = out
		if code != 0 || json.Unmarshal([]byte(out), &incs) != nil {
			return false
		}
		for i := range incs {
			if incs[i].Workload == prodNS+"/"+app && incs[i].Open() {
				mine = &incs[i]
			}
		}
		return mine != nil
	}, func() string { return listed })
	incID := mine.ID
	if len(mine.Rollouts) != 1 || mine.Rollouts[0] != "prod/"+app || len(mine.Alerts) != 1 || mine.Alerts[0].Fingerprint != fp {
		t.Fatalf("the incident: %+v", mine)
	}
	if code, out, errOut := as("bob", "incident", "note", incID, "1.1.0-bad fails its requests: rolling back"); code != 0 {
		t.Fatalf("note: exit %d\n%s\n%s", code, out, errOut)
	}

	// 5. bob rolls back; 6. the alert resolves.
	if code, out, errOut := as("bob", "rollback", app, "--env", "prod", "--yes"); code != 0 {
		t.Fatalf("rollback: exit %d\n%s\n%s", code, out, errOut)
	}
	waitUntil(t, 5*time.Minute, "the incident to end", func() bool {
		incs, err := incident.ReadIncidents(j, time.Now(), time.Hour)
		inc, ferr := incident.FindIncident(incs, incID)
		return err == nil && ferr == nil && !inc.Open()
	}, nil)

	// 7. The export names every step with its actor, in order.
	code, md, errOut := as("alice", "incident", "export", incID)
	if code != 0 {
		t.Fatalf("export: exit %d: %s", code, errOut)
	}
	last := -1
	// The revisions come from the cluster: alice's bad one, bob's restored one.
	for _, step := range []string{
		"| alice | promote | promoted prod/" + app + " from preprod: registry.lab.local/test/incident:1.0.0 → registry.lab.local/test/incident:1.1.0-bad |",
		"| alice | rollout | revision 2 of prod/" + app + " became current: app registry.lab.local/test/incident:1.1.0-bad |",
		"| alertmanager | firing | AppHighErrorRate fired on " + prodNS + "/" + app + " (value ",
		"| bob | ack | acknowledged AppHighErrorRate until",
		"| bob | note | 1.1.0-bad fails its requests: rolling back |",
		"| bob | rollback | rolled back prod/" + app,
		"| bob | rollout | revision 3 of prod/" + app + " became current (restored): app registry.lab.local/test/incident:1.0.0; now healthy, 2/2 available |",
		"| alertmanager | resolved | AppHighErrorRate resolved on " + prodNS + "/" + app + " (value ",
	} {
		i := strings.Index(md, step)
		if i <= last {
			t.Fatalf("step %q missing or out of order in the export:\n%s", step, md)
		}
		last = i
	}
	for _, want := range []string{"| Time to acknowledge | ", "Rule expression (PromQL):", "```promql", "| bob | rollback | prod/" + app + " | registry.lab.local/test/incident:1.1.0-bad | registry.lab.local/test/incident:1.0.0 | ok |"} {
		if !strings.Contains(md, want) {
			t.Errorf("the export lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "value unknown") {
		t.Errorf("the values at firing and resolution should be read from Prometheus:\n%s", md)
	}
	t.Logf("the export:\n%s", md)

	// 8. The hand-over, and the next session reads it.
	if code, out, errOut := as("bob", "handover", "--text", "api rolled back after "+incID); code != 0 || !strings.Contains(out, "Hand-over by bob") {
		t.Fatalf("handover: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, out, _ := as("alice", "handover", "--show", "--markdown"); code != 0 || !strings.Contains(out, "## Hand-over by bob") || !strings.Contains(out, "api rolled back after "+incID) {
		t.Fatalf("handover --show: exit %d\n%s", code, out)
	}
}

func waitUntil(t *testing.T, timeout time.Duration, what string, ok func() bool, state func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			s := ""
			if state != nil {
				s = state()
			}
			t.Fatalf("timed out after %s waiting for %s:\n%s", timeout, what, s)
		}
		time.Sleep(time.Second)
	}
}
