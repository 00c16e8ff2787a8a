package release

import (
	"context"
	"strings"
	"testing"

	"github.com/vigilops/vigil/ops/access"
)

// brokenRollout is worker promoted to an image whose pods never become
// ready (the lab's worker:3.1.1-broken): the new ReplicaSet has its one pod,
// not ready, while the old one still serves. Deployment status then says
// 1/1 updated, 1 ready, 1 available.
func brokenRollout() Workload {
	w := healthy("worker", "3.1.1-broken", 1)
	w.Revision = 2
	w.Current, w.Updated, w.Ready, w.Available = 2, 1, 1, 1
	w.OldReady, w.OldAvailable = 1, 1
	w.Conditions = []Condition{{Type: "Available", Status: "True"}, {Type: "Progressing", Status: "True", Reason: "ReplicaSetUpdated"}}
	return w
}

func TestAssessCountsTheNewReplicaSet(t *testing.T) {
	w := brokenRollout()
	a := Assess(&w, Signals{})
	if a.Health != Progressing || a.Ready != 0 || a.Available != 0 || a.Updated != 1 || a.Desired != 1 || a.RolledOut {
		t.Fatalf("a rollout whose new pod is not ready: %+v, want progressing with 0/1 ready", a)
	}
	// The deadline passes: stalled, still 0 ready.
	w.Conditions[1] = Condition{Type: "Progressing", Status: "False", Reason: "ProgressDeadlineExceeded", Message: `ReplicaSet "worker-2" has timed out progressing.`}
	a = Assess(&w, Signals{})
	if a.Health != Stalled || a.Ready != 0 || !strings.Contains(a.Reason, "timed out progressing") {
		t.Fatalf("after the deadline: %+v, want stalled with 0 ready", a)
	}
	// A failing pod of the new revision, seen before the deadline, is a stall.
	w = brokenRollout()
	a = Assess(&w, Signals{Failing: "pod worker-2-x is failing (CrashLoopBackOff, 5 restarts)"})
	if a.Health != Stalled || a.Reason != "pod worker-2-x is failing (CrashLoopBackOff, 5 restarts)" {
		t.Fatalf("failing new pod: %+v", a)
	}
	// Once the new pods are ready, the rollout is over.
	done := healthy("worker", "3.1.1", 1)
	if a := Assess(&done, Signals{Failing: "stale"}); a.Health != Healthy || !a.RolledOut || a.Ready != 1 {
		t.Fatalf("rolled out: %+v", a)
	}
}

func TestAssessAlerts(t *testing.T) {
	w := healthy("api", "2.5.1-bad", 3)
	alerts := []FiringAlert{
		{Name: "AppHighLatency", Severity: "warning", Namespace: "preprod", Workload: "api"},
		{Name: "AppHighErrorRate", Severity: "critical", Namespace: "preprod", Workload: "api"},
	}
	a := Assess(&w, Signals{Alerts: alerts})
	if a.Health != Alerting || a.Reason != "firing: AppHighErrorRate, AppHighLatency" || !a.RolledOut {
		t.Fatalf("healthy workload with firing alerts: %+v", a)
	}
	stalled := brokenRollout()
	a = Assess(&stalled, Signals{Failing: "pod x is failing", Alerts: alerts})
	if a.Health != Stalled || !strings.Contains(a.Reason, "pod x is failing; firing: AppHighErrorRate") {
		t.Fatalf("stalled with alerts: %+v", a)
	}
}

// fakeAlerts is an AlertSource that reports a fixed list.
type fakeAlerts struct {
	list []FiringAlert
	fn   func([]FiringAlert)
}

func (f *fakeAlerts) WatchFiring(_ context.Context, fn func([]FiringAlert)) {
	f.fn = fn
	fn(f.list)
}

// TestMatrixWeighsAlertsAndFailingPods checks that the matrix cell, the
// rollout detail and `vigil status` show the one state.
func TestMatrixWeighsAlertsAndFailingPods(t *testing.T) {
	s := newTestService(Options{})
	src := &fakeAlerts{list: []FiringAlert{{Name: "AppHighErrorRate", Severity: "critical", Namespace: "preprod", Workload: "api"}}}
	s.FollowAlerts(context.Background(), src)
	s.store.rebuild()
	c, _ := s.Matrix().Cell("api", "preprod")
	if c.Health != Alerting || len(c.Alerts) != 1 {
		t.Fatalf("preprod/api with a firing alert: %+v", c.Assessment)
	}
	if c, _ := s.Matrix().Cell("api", "prod"); c.Health != Healthy {
		t.Fatalf("prod/api has no alert (same name, other namespace): %s", c.Health)
	}
	var out strings.Builder
	if err := s.WriteStatus(&out, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "2.5.0 3/3 alerting (AppHighErrorRate)") {
		t.Errorf("vigil status does not show the alert:\n%s", out.String())
	}
	// The alert resolves.
	src.fn(nil)
	s.store.rebuild()
	if c, _ := s.Matrix().Cell("api", "preprod"); c.Health != Healthy {
		t.Fatalf("after the alert resolved: %s", c.Health)
	}

	// A rollout detail sees a failing pod of the new revision: the matrix
	// says stalled too, and the detail says the same.
	w := brokenRollout()
	s.store.Workload("test", w)
	s.store.rebuild()
	if c, _ := s.Matrix().Cell("worker", "test"); c.Health != Progressing || c.Ready != 0 {
		t.Fatalf("broken rollout before any pod is seen: %+v", c.Assessment)
	}
	d := Detail{Workload: w, New: &ReplicaSet{Name: "worker-2"}, Pods: []Pod{{Name: "worker-2-x", Owner: "worker-2", Reason: "CrashLoopBackOff", Restarts: 5}}}
	s.assess("test", &d, true)
	s.store.rebuild()
	c, _ = s.Matrix().Cell("worker", "test")
	if c.Health != Stalled || d.Assessment.Health != Stalled || c.Reason != d.Assessment.Reason || d.Stall != c.Reason {
		t.Fatalf("cell %+v, detail %+v (stall %q): want both stalled for the same reason", c.Assessment, d.Assessment, d.Stall)
	}
	// An old pod failing is not this rollout's stall.
	d.Pods = []Pod{{Name: "worker-1-y", Owner: "worker-1", Reason: "CrashLoopBackOff"}}
	s.assess("test", &d, true)
	s.store.rebuild()
	if c, _ := s.Matrix().Cell("worker", "test"); c.Health != Progressing || d.Assessment.Health != Progressing {
		t.Fatalf("old pod failing: cell %s, detail %s", c.Health, d.Assessment.Health)
	}
	// A failing pod seen for an older revision does not count for a newer one.
	d.Pods = []Pod{{Name: "worker-2-x", Owner: "worker-2", Reason: "CrashLoopBackOff"}}
	s.assess("test", &d, true)
	w.Revision = 3
	s.store.Workload("test", w)
	s.store.rebuild()
	if c, _ := s.Matrix().Cell("worker", "test"); c.Health != Progressing {
		t.Fatalf("a new revision after a failing one: %s", c.Health)
	}
}

// Issue 12, point 3: the preview names an unhealthy source, and with
// RefuseUnhealthySource a promotion into a protected environment from it
// is refused (exit 3) before anything in the cluster changes.
func TestPromoteFromUnhealthySource(t *testing.T) {
	alice := access.Actor{Name: "alice", Role: access.Operator}
	alert := &fakeAlerts{list: []FiringAlert{{Name: "AppHighErrorRate", Severity: "critical", Namespace: "preprod", Workload: "api"}}}
	for _, refuse := range []bool{false, true} {
		s := newTestService(Options{RefuseUnhealthySource: refuse})
		s.cluster = &fakeCluster{during: func() {
			if refuse {
				t.Error("the cluster changed despite the refusal")
			}
			// The rollout completes at once: the promotion lock is freed.
			c, _ := s.Matrix().Cell("api", "preprod")
			s.store.Workload("prod", *c.Workload)
			s.store.rebuild()
		}}
		// Healthy source: no warning, no refusal.
		plan, err := s.PlanPromote(alice, "api", "", "prod")
		if err != nil {
			t.Fatal(err)
		}
		if w := plan.SourceWarning(); w != "" || s.CheckSource(plan) != nil {
			t.Fatalf("healthy source: warning %q, check %v", w, s.CheckSource(plan))
		}
		s.FollowAlerts(context.Background(), alert)
		plan, _ = s.PlanPromote(alice, "api", "", "prod")
		want := "preprod/api, the source, is alerting: firing: AppHighErrorRate"
		if plan.SourceWarning() != want {
			t.Fatalf("warning %q, want %q", plan.SourceWarning(), want)
		}
		var out strings.Builder
		code := s.PromoteCLI(context.Background(), alice, &out, nil, "api", "", "prod", 0, false)
		if !strings.Contains(out.String(), "warning: "+want) {
			t.Errorf("vigil promote does not warn:\n%s", out.String())
		}
		switch {
		case refuse && (code != ExitRefused || !strings.Contains(out.String(), "refuse_unhealthy_source_for_protected")):
			t.Errorf("refuse: exit %d, want %d:\n%s", code, ExitRefused, out.String())
		case !refuse && code != ExitOK:
			t.Errorf("warn only: exit %d:\n%s", code, out.String())
		}
		// Into an unprotected environment the option does not refuse.
		s.store.Workload("preprod", healthy("web", "1.9.1", 2))
		s.store.Workload("test", healthy("web", "1.9.0", 2))
		s.store.rebuild()
		if p, err := s.PlanPromote(alice, "api", "preprod", "test"); err != nil || s.CheckSource(p) != nil || p.SourceWarning() == "" {
			t.Errorf("into test: plan err %v, check %v, warning %q", err, s.CheckSource(p), p.SourceWarning())
		}
	}
}
