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
	if a[AnnotationPromotedBy] != alice.String() || a[AnnotationPromotedAt] != epoch.UTC().Format(time.RFC3339) || a[AnnotationRolledBackFrom] != "3" {
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
