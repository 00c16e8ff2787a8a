package release

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
)

// rollbackCluster restores to from from, as the cluster would: it calls
// annotate and keeps what it returns.
type rollbackCluster struct {
	Cluster
	from, to    Revision
	err         error
	annotations map[string]string
}

func (c *rollbackCluster) Rollback(_ context.Context, _ Ref, _ int64, annotate Annotator) (Revision, error) {
	c.annotations = annotate(c.from, c.to)
	return c.to, c.err
}

// The rollback's lock is tested with the Leases on the lab.
func (c *rollbackCluster) Lock(context.Context, Target, string, Holder, time.Duration) error {
	return nil
}
func (c *rollbackCluster) Unlock(context.Context, Target, string, string) error { return nil }

func rollbackFixture(t *testing.T) (*Service, *rollbackCluster, *audit.Journal) {
	t.Helper()
	j, err := audit.Open(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	c := &rollbackCluster{
		from: Revision{Number: 3, Containers: []Container{
			{Name: "migrate", Image: "reg.example/migrate:2.4.1", Init: true},
			{Name: "api", Image: "reg.example/api:2.5.1-bad"},
			{Name: "sidecar", Image: "reg.example/proxy:1.0"},
		}},
		to: Revision{Number: 1, Containers: []Container{
			{Name: "migrate", Image: "reg.example/migrate:2.4.1", Init: true},
			{Name: "api", Image: "reg.example/api:2.4.1"},
			{Name: "sidecar", Image: "reg.example/proxy:1.0"},
		}},
	}
	s := newTestService(Options{})
	s.cluster, s.journal = c, j
	return s, c, j
}

// A rollback's journal entry and annotations say who rolled back and the
// images from and to; the containers that kept their image are left out.
func TestRollbackRecordsActorAndImages(t *testing.T) {
	s, c, j := rollbackFixture(t)
	alice := access.Actor{Name: "alice", Role: access.Operator}
	if _, err := s.Rollback(context.Background(), alice, "api", "prod", 0); err != nil {
		t.Fatal(err)
	}
	settle(s, "prod", "api", c.to.Containers)
	es, err := j.Query(audit.Query{Target: "prod/api"})
	if err != nil || len(es) != 1 {
		t.Fatalf("journal: %+v %v", es, err)
	}
	p := es[0].Parameters
	want := map[string]string{
		"to-revision":   "0",
		"restored":      "1",
		"from-revision": "3",
		"image.api":     "reg.example/api:2.5.1-bad -> reg.example/api:2.4.1",
	}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("journal parameter %s = %q, want %q (all: %v)", k, p[k], v, p)
		}
	}
	if _, ok := p["image.migrate"]; ok || p["image.sidecar"] != "" {
		t.Errorf("unchanged containers journaled: %v", p)
	}
	if es[0].Actor != "alice" || es[0].Result != audit.OK || es[0].Action != ActRollback.Name {
		t.Errorf("entry: %+v", es[0])
	}

	a := c.annotations
	if a[AnnotationPromotedBy] != alice.String() || a[AnnotationPromotedAt] != epoch.UTC().Format(time.RFC3339) || a[AnnotationRolledBackFrom] != "3" ||
		a[AnnotationImages] != "api=reg.example/api:2.4.1,init:migrate=reg.example/migrate:2.4.1,sidecar=reg.example/proxy:1.0" {
		t.Errorf("provenance annotations: %v", a)
	}
	if v, ok := a[AnnotationPromotedFrom]; !ok || v != "" {
		t.Errorf("a rollback must remove the promoted-from of the revision it restores: %v", a)
	}
	const cause = "vigil: alice rolled back api from revision 3 to revision 1: api reg.example/api:2.5.1-bad → reg.example/api:2.4.1"
	if a[AnnotationChangeCause] != cause {
		t.Errorf("change-cause %q, want %q", a[AnnotationChangeCause], cause)
	}
}

// A failed rollback journals what it tried; a refused one, nothing of the
// cluster.
func TestRollbackFailureJournalsWhatWasTried(t *testing.T) {
	s, c, j := rollbackFixture(t)
	c.err = errors.New("the API server said no")
	alice := access.Actor{Name: "alice", Role: access.Operator}
	if _, err := s.Rollback(context.Background(), alice, "api", "prod", 1); err == nil {
		t.Fatal("the failure was lost")
	}
	viewer := access.Actor{Name: "victor", Role: access.Viewer}
	if _, err := s.Rollback(context.Background(), viewer, "api", "prod", 1); err == nil {
		t.Fatal("a viewer rolled back")
	}
	es, err := j.Query(audit.Query{Target: "prod/api"})
	if err != nil || len(es) != 2 {
		t.Fatalf("journal: %+v %v", es, err)
	}
	if es[0].Result != audit.Failed || !strings.Contains(es[0].Parameters["image.api"], "2.5.1-bad -> ") || es[0].Parameters["restored"] != "" {
		t.Errorf("failed rollback: %+v", es[0])
	}
	if es[1].Result != audit.Refused || es[1].Parameters["image.api"] != "" {
		t.Errorf("refused rollback: %+v", es[1])
	}
}

func TestLocate(t *testing.T) {
	s := New([]Env{{Name: "dev", Namespace: "shop-dev"}, {Name: "prod", Namespace: "shop"}, {Name: "shop", Namespace: "other"}}, nil, nil, Options{Now: fixedNow})
	for in, want := range map[string]string{"shop-dev/api": "dev/api", "prod/api": "prod/api", "shop/api": "shop/api", "other/web": "shop/web", "nowhere/api": "", "shop-dev": "", "dev/": ""} {
		app, env, ok := s.Locate(in)
		if got := env + "/" + app; (ok && got != want) || ok != (want != "") {
			t.Errorf("Locate(%q) = %s, %v; want %q", in, got, ok, want)
		}
	}
}

// A revision is vigil's when its annotations name the images it runs and a
// time near when it appeared; the annotations the controller copies onto a
// later change made outside vigil do not pass.
func TestRevisionByVigil(t *testing.T) {
	cs := []Container{{Name: "migrate", Image: "reg/m:1", Init: true}, {Name: "api", Image: "reg/api:1"}, {Name: "proxy", Image: "reg/p:9"}}
	mine := Revision{Containers: cs, By: "bob", At: epoch, Since: epoch.Add(3 * time.Second), Images: ImagesAnnotation(cs[:2])}
	if !mine.ByVigil() {
		t.Errorf("vigil's own revision (a container vigil did not set aside): %+v", mine)
	}
	if want := "api=reg/api:1,init:migrate=reg/m:1"; mine.Images != want {
		t.Errorf("images annotation %q, want %q", mine.Images, want)
	}
	outside := mine
	outside.Containers = []Container{cs[0], {Name: "api", Image: "reg/api:2"}, cs[2]}
	late := mine
	late.Since = epoch.Add(10 * time.Minute)
	undone := mine
	undone.Stale = StaleProvenance(map[string]string{AnnotationRevision: "3"}, 5)
	if StaleProvenance(map[string]string{AnnotationRevision: "3"}, 3) || StaleProvenance(map[string]string{AnnotationRevision: "3"}, 2) || StaleProvenance(nil, 9) {
		t.Error("annotations made for this revision, the next, or none taken for stale")
	}
	for name, r := range map[string]Revision{"other images": outside, "much later": late, "brought back by kubectl rollout undo": undone, "no images": {Containers: cs, By: "bob", At: epoch, Since: epoch}, "nobody": {Containers: cs, Since: epoch}} {
		if r.ByVigil() {
			t.Errorf("%s: taken for vigil's: %+v", name, r)
		}
	}
}

// settle shows app in env healthy on cs, as the cluster does once a
// rollout to cs is done: the rollback's lock is freed then.
func settle(s *Service, env, app string, cs []Container) {
	w := healthy(app, "settled", 3)
	w.Containers = cs
	s.store.Workload(env, w)
	s.store.rebuild()
}
