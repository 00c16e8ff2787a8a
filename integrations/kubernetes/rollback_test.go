package kubernetes_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ops/release"
)

// A rollback keeps who did it and the images from and to: on the
// Deployment, on the ReplicaSet it brings back, in what the Rollouts pane
// reads (the matrix and the history) and in the journal.
func TestRollbackRecordsWhoAndImages(t *testing.T) {
	f := newFixture(t, lab(t), "dev", "test")
	f.deploy("dev", "api", "2.0.0", 1)
	f.deploy("test", "api", "1.0.0", 1)
	f.start()
	f.waitHealthy("test", "api", "1.0.0")
	plan, err := f.svc.PlanPromote(alice, "api", "", "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Promote(f.ctx, alice, plan); err != nil {
		t.Fatal(err)
	}
	f.waitHealthy("test", "api", "2.0.0")
	f.waitUnlocked("test", "api")
	if a := f.live("test", "api").Annotations; a[release.AnnotationPromotedFrom] != "dev" || a[release.AnnotationRevision] != "2" {
		t.Fatalf("the promotion's annotations: %v", a)
	}

	rev, err := f.svc.Rollback(f.ctx, bob, "api", "test", 0)
	if err != nil || rev.Number != 1 {
		t.Fatalf("rollback: %+v %v", rev, err)
	}
	f.waitHealthy("test", "api", "1.0.0")

	old, bad := "registry.lab.local/test/api:1.0.0", "registry.lab.local/test/api:2.0.0"
	check := func(what string, a map[string]string) {
		t.Helper()
		cause := a[release.AnnotationChangeCause]
		if a[release.AnnotationPromotedBy] != "bob" || a[release.AnnotationPromotedAt] == "" || a[release.AnnotationRolledBackFrom] != "2" || a[release.AnnotationRevision] != "3" ||
			!strings.Contains(cause, "vigil: bob rolled back api from revision 2 to revision 1") || !strings.Contains(cause, "api "+bad+" → "+old) {
			t.Errorf("%s annotations after bob's rollback: %v", what, a)
		}
		if from, ok := a[release.AnnotationPromotedFrom]; ok {
			t.Errorf("%s still says promoted from %q: the rollback is no promotion", what, from)
		}
	}
	d := f.live("test", "api")
	check("the Deployment", d.Annotations)
	if d.Annotations["deployment.kubernetes.io/revision"] != "3" {
		t.Fatalf("the Deployment is at revision %s, want 3", d.Annotations["deployment.kubernetes.io/revision"])
	}
	// The controller copies the annotations to the ReplicaSet it brings back.
	waitFor(t, "the restored ReplicaSet to carry the rollback's annotations", func() bool {
		rss, err := f.cs.AppsV1().ReplicaSets(f.env("test").Namespace).List(f.ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=api"})
		if err != nil {
			t.Fatal(err)
		}
		for _, rs := range rss.Items {
			if rs.Annotations["deployment.kubernetes.io/revision"] == "3" && rs.Annotations[release.AnnotationPromotedBy] == "bob" {
				check("the new ReplicaSet", rs.Annotations)
				return true
			}
		}
		return false
	})

	// What the Rollouts pane shows: the BY column comes from the cell's
	// workload, the history from the revisions.
	waitFor(t, "the matrix to name bob", func() bool {
		c, _ := f.svc.Matrix().Cell("api", "test")
		return c.Workload.PromotedBy == "bob" && c.Workload.RolledBackFrom == 2 && c.Workload.PromotedFrom == ""
	})
	waitFor(t, "the history to name bob", func() bool {
		h, err := f.svc.History("api", "test")
		return err == nil && len(h) == 2 && h[0].Number == 3 && h[0].Current && h[0].By == "bob" && h[0].Restored &&
			strings.Contains(h[0].ChangeCause, "bob rolled back") && !h[0].Since.Before(h[0].At) && h[1].By == "alice" && !h[1].Restored
	})

	es := f.entries(release.ActRollback.Name)
	if len(es) != 1 || es[0].Actor != "bob" || es[0].Result != audit.OK {
		t.Fatalf("journal: %+v", es)
	}
	p := es[0].Parameters
	if p["image.api"] != bad+" -> "+old || p["image.migrate"] != "registry.lab.local/test/api-migrate:2.0.0 -> registry.lab.local/test/api-migrate:1.0.0" ||
		p["from-revision"] != "2" || p["restored"] != "1" {
		t.Fatalf("journal parameters: %v", p)
	}
}

// noAlertmanager satisfies incident.New; the test asks for recent changes
// only, which need no alert source.
type noAlertmanager struct{ incident.Alertmanager }

// An alert's recent changes list what vigil did (once each, with its
// revision) and what was done to the workload outside vigil: an image set
// with client-go as `kubectl set image` does, then `kubectl rollout undo`.
func TestRecentChangesShowChangesMadeOutsideVigil(t *testing.T) {
	kubeconfig := lab(t)
	f := newFixture(t, kubeconfig, "dev", "test")
	f.deploy("dev", "api", "2.0.0", 1)
	f.deploy("test", "api", "1.0.0", 1)
	f.start()
	f.waitHealthy("test", "api", "1.0.0")
	ns := f.env("test").Namespace
	inc, err := incident.New(incident.Options{
		Alertmanager:  noAlertmanager{},
		ParseMatchers: func(string) ([]incident.Matcher, error) { return nil, nil },
		Journal:       f.journal,
		Releases:      f.svc,
	})
	if err != nil {
		t.Fatal(err)
	}
	alert := &incident.Alert{Name: "AppHighErrorRate", Workload: ns + "/api"}

	plan, err := f.svc.PlanPromote(alice, "api", "", "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Promote(f.ctx, alice, plan); err != nil {
		t.Fatal(err)
	}
	f.waitHealthy("test", "api", "2.0.0")
	f.waitUnlocked("test", "api")
	if _, err := f.svc.Rollback(f.ctx, bob, "api", "test", 0); err != nil {
		t.Fatal(err)
	}
	f.waitHealthy("test", "api", "1.0.0")
	rolledBack := time.Now()

	// The same change as `kubectl set image deployment/api api=…:2.0.1`: a
	// strategic merge patch of one container, which leaves bob's
	// annotations on the Deployment (the controller copies them onto the
	// new ReplicaSet). Changes within a few seconds of each other cannot
	// be told apart by their timestamps: wait that long first.
	time.Sleep(time.Until(rolledBack.Add(7 * time.Second)))
	outside := fmt.Sprintf(image, "api", "2.0.1")
	patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"api","image":%q}]}}}}`, outside)
	if _, err := f.cs.AppsV1().Deployments(ns).Patch(f.ctx, "api", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: "kubectl-set"}); err != nil {
		t.Fatal(err)
	}
	f.waitHealthy("test", "api", "2.0.1")
	// The Rollouts BY column names nobody for it: bob's annotations,
	// left on the Deployment, no longer describe what runs.
	if c, _ := f.svc.Matrix().Cell("api", "test"); c.Workload.PromotedBy != "" || c.Workload.RolledBackFrom != 0 || c.Workload.ChangeCause != "" {
		t.Errorf("after kubectl set image, the matrix names %q (rolled back from %d, cause %q)", c.Workload.PromotedBy, c.Workload.RolledBackFrom, c.Workload.ChangeCause)
	}

	var ch []incident.Change
	waitFor(t, "the image set outside vigil among the recent changes", func() bool {
		ch, err = inc.RecentChanges(alert, time.Hour)
		return err == nil && len(ch) > 0 && ch[0].Revision != nil && ch[0].Revision.Number == 4
	})
	// Newest first: the outside change, bob's rollback (revision 1 came
	// back as 3), alice's promotion (revision 2). Revision 1 is now 3.
	if len(ch) != 3 {
		t.Fatalf("want 3 changes, got %d:\n%s", len(ch), changesText(ch))
	}
	if !ch[0].Outside() || ch[0].By() != "" || !strings.Contains(ch[0].What(), "api "+outside) {
		t.Errorf("the image set with client-go should show as made outside vigil:\n%s", changesText(ch))
	}
	if ch[1].Outside() || ch[1].By() != "bob" || ch[1].Entry == nil || ch[1].Revision == nil || ch[1].Revision.Number != 3 ||
		!strings.Contains(ch[1].What(), "api "+fmt.Sprintf(image, "api", "2.0.0")+" → "+fmt.Sprintf(image, "api", "1.0.0")) {
		t.Errorf("bob's rollback should show once, with its revision and images:\n%s", changesText(ch))
	}
	if ch[2].By() != "alice" || ch[2].Entry == nil || ch[2].Revision == nil || ch[2].Revision.Number != 2 {
		t.Errorf("alice's promotion should show once, with its revision:\n%s", changesText(ch))
	}

	// The drill's `kubectl rollout undo`: revision 3 comes back as 5 with
	// bob's annotations, but bob did not do it.
	time.Sleep(7 * time.Second)
	kubectl(t, kubeconfig, "-n", ns, "rollout", "undo", "deployment/api")
	f.waitHealthy("test", "api", "1.0.0")
	waitFor(t, "the undo among the recent changes", func() bool {
		ch, err = inc.RecentChanges(alert, time.Hour)
		return err == nil && len(ch) > 0 && ch[0].Revision != nil && ch[0].Revision.Number == 5
	})
	if len(ch) != 4 || !ch[0].Outside() || !ch[0].Revision.Restored || !ch[0].Revision.Stale || !ch[1].Outside() || ch[2].By() != "bob" || ch[2].Revision != nil {
		t.Errorf("after kubectl rollout undo, want it and the set image outside vigil, then bob's rollback alone:\n%s", changesText(ch))
	}
	// The undo copied bob's annotations back onto the Deployment; made for
	// revision 3, they do not name him for revision 5.
	waitFor(t, "the matrix at revision 5", func() bool { c, _ := f.svc.Matrix().Cell("api", "test"); return c.Workload.Revision == 5 })
	if c, _ := f.svc.Matrix().Cell("api", "test"); c.Workload.PromotedBy != "" || c.Workload.RolledBackFrom != 0 {
		t.Errorf("after kubectl rollout undo, the matrix names %q (rolled back from %d)", c.Workload.PromotedBy, c.Workload.RolledBackFrom)
	}
}

func changesText(ch []incident.Change) string {
	var b strings.Builder
	for _, c := range ch {
		fmt.Fprintf(&b, "  %s  by=%q outside=%v  %s\n", c.Time.Format(time.TimeOnly), c.By(), c.Outside(), c.What())
	}
	return b.String()
}
