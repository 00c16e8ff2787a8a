package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/integrations/alertmanager"
	"github.com/vigilops/vigil/integrations/prometheus"
	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ui/common"
)

// waitHealth waits until the app's cell in env has health h.
func (l *releaseLab) waitHealth(env string, h release.Health, timeout time.Duration) release.Cell {
	l.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if c, ok := l.svc.Matrix().Cell(l.app, env); ok && c.Health == h {
			return c
		}
		time.Sleep(100 * time.Millisecond)
	}
	c, _ := l.svc.Matrix().Cell(l.app, env)
	l.t.Fatalf("%s in %s is %s (%s) after %s, want %s", l.app, env, c.Health, c.Reason, timeout, h)
	return c
}

// Issue 12, point 7, on the lab: a broken release promoted into test
// never shows full or green progress; once its detail sees the new pod
// crash-loop, the detail's header, banner and bars, the Rollouts list, the
// matrix and vigil status all say stalled, with 0 of 2 new pods ready.
func TestStalledEverywhereOnTheLab(t *testing.T) {
	l := newReleaseLab(t, "1.1.0-broken", "1.0.0")
	tm, p := l.console(access.Actor{Name: "alice", Role: access.Operator, Source: "local"})

	sendKeys(tm, "2")
	p.waitFor(t, l.app)
	sendKeys(tm, "p")
	p.waitFor(t, "Promote "+l.app+" from dev to test?")
	p.waitFor(t, "the source, is")
	sendKeys(tm, "y")
	p.waitFor(t, "promote it to test anyway?")
	sendKeys(tm, "y")
	p.waitFor(t, "promoted "+l.app+" to test")

	// While it rolls, the new pods count: never 2/2, never healthy.
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		c, _ := l.svc.Matrix().Cell(l.app, "test")
		if c.Version == "1.1.0-broken" && (c.Ready != 0 || c.Health == release.Healthy) {
			t.Fatalf("the broken release shows %d/%d ready, %s", c.Ready, c.Desired, c.Health)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The detail sees the new pod crash-loop (the test's Deployments have
	// the default 10-minute progress deadline): header, banner and bars.
	sendKeys(tm, ":")
	sendText(tm, "rollout test/"+l.app)
	sendKeys(tm, "enter")
	p.waitFor(t, l.app+" in test · Deployment · revision 2 · 1.1.0-broken")
	p.waitForLong(t, "1.1.0-broken · ✗ stalled", 60*time.Second)
	p.waitFor(t, "✗ stalled: pod ")
	p.waitLine(t, 5*time.Second, "ready  ", "0/2")
	p.waitLine(t, 5*time.Second, "available  ", "0/2")

	// Every other view says the same: the Rollouts list, the matrix and
	// vigil status.
	sendKeys(tm, "esc") // back to the matrix, where the palette was opened
	p.waitLine(t, 5*time.Second, l.app, "1.1.0-broken 0/2 ✗")
	sendKeys(tm, "3")
	p.waitLine(t, 5*time.Second, "test", l.app, "1.1.0-broken", "0/2", "stalled")
	var status strings.Builder
	if err := l.svc.WriteStatus(&status, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(status.String(), "1.1.0-broken 0/2 stalled") {
		t.Fatalf("vigil status:\n%s", status.String())
	}
}

// Issue 12, points 8 and 3, on the lab: a bad release in test fires
// AppHighErrorRate for real; the matrix and vigil status show test
// alerting (▲) with the alert named, and promoting from it says so and
// asks twice.
func TestAlertingEverywhereOnTheLab(t *testing.T) {
	env := labtest.Env(t, "VIGIL_LAB_PROMETHEUS_URL", "VIGIL_LAB_ALERTMANAGER_URL", "KUBECONFIG")
	l := newReleaseLab(t, "1.0.0", "1.1.0-bad", "1.0.0")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
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
	l.svc.FollowAlerts(ctx, inc) // as cmd/vigil wires it

	opts := testOptions(t, l.cfg)
	opts.Actor, opts.Journal, opts.Now = access.Actor{Name: "alice", Role: access.Operator, Source: "local"}, l.journal, time.Now
	opts.Services = &common.Services{Release: l.svc, Incident: inc}
	tm, p := l.consoleWith(opts)

	c := l.waitHealth("test", release.Alerting, 3*time.Minute)
	if c.Reason != "firing: AppHighErrorRate" {
		t.Fatalf("test is alerting for %q", c.Reason)
	}
	if c, _ := l.svc.Matrix().Cell(l.app, "dev"); c.Health != release.Healthy {
		t.Fatalf("dev runs the good release and is %s (%s)", c.Health, c.Reason)
	}
	var status strings.Builder
	if err := l.svc.WriteStatus(&status, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(status.String(), "1.1.0-bad 2/2 alerting (AppHighErrorRate)") {
		t.Fatalf("vigil status:\n%s", status.String())
	}

	sendKeys(tm, "2")
	p.waitLine(t, 10*time.Second, l.app, "1.1.0-bad 2/2 ▲")
	sendKeys(tm, "l")
	p.waitFor(t, "test/"+l.app+" 1.1.0-bad 2/2 ▲ · firing: AppHighErrorRate")
	sendKeys(tm, "p")
	p.waitFor(t, "Promote "+l.app+" from test to preprod?")
	p.waitFor(t, "is alerting: firing:")
	sendKeys(tm, "y")
	p.waitFor(t, "test/"+l.app+" is alerting: promote it to")
	sendKeys(tm, "esc")
	p.waitFor(t, "cancelled: test/"+l.app+" is alerting")
	if c, _ := l.svc.Matrix().Cell(l.app, "preprod"); c.Version != "1.0.0" {
		t.Fatalf("preprod runs %s after a cancelled promotion", c.Version)
	}
}
