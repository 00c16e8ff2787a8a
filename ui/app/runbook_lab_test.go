package app

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vigilops/vigil/integrations/alertmanager"
	"github.com/vigilops/vigil/integrations/prometheus"
	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ui/common"
)

// TestRunbookScaleOnTheLab drives a runbook as a person would, on the
// lab, in namespaces of the test's own: a bad release in prod fires
// AppHighErrorRate; its detail lists the configured scale runbook first;
// r, 1 asks to scale exactly that workload, y scales it: the lab's
// Deployment has the runbook's replicas, and the journal says alice did.
func TestRunbookScaleOnTheLab(t *testing.T) {
	env := labtest.Env(t, "VIGIL_LAB_PROMETHEUS_URL", "VIGIL_LAB_ALERTMANAGER_URL", "KUBECONFIG")
	l := newReleaseLab(t, "1.0.0", "1.0.0", "1.0.0", "1.1.0-bad")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	prod := l.svc.Envs()[3]
	three := 3
	l.cfg.Runbooks = []config.Runbook{{Name: "scale-out", Alert: "AppHighErrorRate", Labels: map[string]string{"namespace": prod.Namespace},
		Kind: config.RunbookScale, Replicas: &three, Role: "operator"}}

	pc, err := prometheus.New(env["VIGIL_LAB_PROMETHEUS_URL"])
	if err != nil {
		t.Fatal(err)
	}
	ac, err := alertmanager.New([]string{env["VIGIL_LAB_ALERTMANAGER_URL"]})
	if err != nil {
		t.Fatal(err)
	}
	inc, err := incident.New(incident.Options{Prometheus: pc, Alertmanager: ac, ParseMatchers: alertmanager.ParseMatchers,
		Journal: l.journal, Interval: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	go inc.Run(ctx)

	opts := testOptions(t, l.cfg)
	opts.Actor, opts.Journal, opts.Now = access.Actor{Name: "alice", Role: access.Operator, Source: "local"}, l.journal, time.Now
	opts.Services = &common.Services{Release: l.svc, Incident: inc}
	tm, p := l.consoleWith(opts)

	workload := prod.Namespace + "/" + l.app
	sendKeys(tm, "4 /")
	sendText(tm, fmt.Sprintf(`namespace=%q`, prod.Namespace))
	sendKeys(tm, "enter")
	p.waitLine(t, 3*time.Minute, "AppHighErrorRate", workload, "firing")
	sendKeys(tm, "enter")
	p.waitLine(t, 5*time.Second, "1 scale-out", "scale "+l.app+" in prod ("+workload+") to 3 replicas")
	sendKeys(tm, "r 1")
	p.waitFor(t, "Runbook scale-out: scale "+l.app+" in prod")
	p.waitFor(t, "to 3 replicas?")
	p.waitFor(t, "for the alert AppHighErrorRate")
	sendKeys(tm, "y")
	p.waitLine(t, 30*time.Second, "done: runbook scale-out")

	d, err := l.cs.AppsV1().Deployments(prod.Namespace).Get(ctx, l.app, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 3 {
		t.Fatalf("prod's Deployment has %v replicas after the runbook, want 3", d.Spec.Replicas)
	}
	if e := l.entry("scale"); e.Actor != "alice" || e.Target != "prod/"+l.app || e.Parameters["replicas"] != "3" {
		t.Fatalf("scale journaled as %+v", e)
	}
}
