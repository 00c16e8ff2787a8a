package kubernetes_test

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vigilops/vigil/ops/audit"
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
	if from := f.live("test", "api").Annotations[release.AnnotationPromotedFrom]; from != "dev" {
		t.Fatalf("the promotion's promoted-from is %q", from)
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
		if a[release.AnnotationPromotedBy] != "bob" || a[release.AnnotationPromotedAt] == "" || a[release.AnnotationRolledBackFrom] != "2" ||
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
