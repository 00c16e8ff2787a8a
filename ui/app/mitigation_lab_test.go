package app

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/integrations/alertmanager"
	"github.com/vigilops/vigil/integrations/prometheus"
	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ui/common"
)

// waitLine waits until one line of the screen holds every one of wants.
func (p *probe) waitLine(t *testing.T, timeout time.Duration, wants ...string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		screen := p.last
		p.mu.Unlock()
		for _, l := range strings.Split(screen, "\n") {
			all := true
			for _, w := range wants {
				all = all && strings.Contains(l, w)
			}
			if all {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	t.Fatalf("no line with %q after %s:\n%s", wants, timeout, p.last)
}

// TestMitigationPathOnTheLab is issue 12's drill on the lab, in namespaces
// of the test's own: a bad release promoted from preprod into protected
// prod fires AppHighErrorRate; from the alert on screen, u offers the
// rollback of that promotion and y confirms it: 2 keys (the goal is 4) to
// the rollback under way, and prod runs the good release again.
func TestMitigationPathOnTheLab(t *testing.T) {
	env := labtest.Env(t, "VIGIL_LAB_PROMETHEUS_URL", "VIGIL_LAB_ALERTMANAGER_URL", "KUBECONFIG")
	l := newReleaseLab(t, "1.0.0", "1.0.0", "1.1.0-bad", "1.0.0")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	bob := access.Actor{Name: "bob", Role: access.Operator, Source: "local"}
	plan, err := l.svc.PlanPromote(bob, l.app, "preprod", "prod")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.svc.Promote(ctx, bob, plan); err != nil {
		t.Fatal(err)
	}
	l.waitCell("prod", "1.1.0-bad")

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

	// Only this test's prod: the shared lab may have alerts of its own.
	prodNS := l.svc.Envs()[3].Namespace
	sendKeys(tm, "/")
	sendText(tm, fmt.Sprintf(`namespace=%q`, prodNS))
	sendKeys(tm, "enter")
	p.waitLine(t, 3*time.Minute, "AppHighErrorRate", prodNS+"/"+l.app, "firing")

	keys := 0
	key := func(k string) { keys++; sendKeys(tm, k) }
	key("u")
	p.waitFor(t, "Roll back prod/"+l.app+" from 1.1.0-bad to 1.0.0")
	p.waitFor(t, "promotion by bob (operator)")
	key("y")
	p.waitLine(t, 30*time.Second, "done: roll back prod/"+l.app)
	if keys > 4 {
		t.Fatalf("%d keys from the alert to the rollback", keys)
	}
	l.waitCell("prod", "1.0.0")
	if e := l.entry("roll back"); e.Actor != "alice" || e.Target != "prod/"+l.app {
		t.Fatalf("rollback journaled as %+v", e)
	}
}
