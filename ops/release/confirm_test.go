package release

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/ops/access"
)

// The confirmations name the app and environments acted on, ask to type a
// protected environment's name, and ask at all only when the action is
// declared dangerous.
func TestConfirmations(t *testing.T) {
	prod := Env{Name: "prod", Protected: true}
	test := Env{Name: "test"}
	c := (&PromotePlan{App: "api", From: Env{Name: "preprod"}, To: prod}).Confirmation()
	if c.Title != "Promote api from preprod to prod?" || c.TypeName != "prod" || c.Target != "prod/api" || !c.Needed() || c.Action != ActPromoteProtected {
		t.Errorf("promote to prod: %+v", c)
	}
	c = (&PromotePlan{App: "api", From: Env{Name: "dev"}, To: test}).Confirmation()
	if c.Needed() || c.TypeName != "" || c.Action != ActPromote {
		t.Errorf("promote to an unprotected environment must not ask: %+v", c)
	}
	c = (&PreparePlan{Env: prod, From: Env{Name: "preprod"}}).Confirmation()
	if c.Title != "Prepare prod from preprod?" || c.TypeName != "prod" || c.Target != "prod" || !c.Needed() {
		t.Errorf("prepare prod: %+v", c)
	}
	c = RollbackConfirmation("api", "prod", true, 0)
	if c.Title != "Roll api in prod back to the previous revision?" || c.TypeName != "prod" || c.Target != "prod/api" || !c.Needed() {
		t.Errorf("rollback in prod: %+v", c)
	}
	c = RollbackConfirmation("web", "test", false, 3)
	if c.Title != "Roll web in test back to revision 3?" || c.TypeName != "" || !c.Needed() {
		t.Errorf("rollback in test: %+v", c)
	}
}

// historyCluster has a fixed history and records the revision a rollback
// asks for.
type historyCluster struct {
	Cluster
	history    []Revision
	rolledBack []int64
}

func (c *historyCluster) History(Ref) ([]Revision, error) { return c.history, nil }
func (c *historyCluster) Rollback(_ context.Context, _ Ref, n int64, _ Annotator) (Revision, error) {
	c.rolledBack = append(c.rolledBack, n)
	return Revision{Number: n}, nil
}

// The rollback's lock is tested with the Leases on the lab.
func (c *historyCluster) Lock(context.Context, Target, string, Holder, time.Duration) error {
	return nil
}
func (c *historyCluster) Unlock(context.Context, Target, string, string) error { return nil }

// rollback prints the revision it restores with its images, asks about
// that revision (the previous one resolved to its number), and restores
// exactly it; a confirmation refused restores nothing and exits 3.
func TestRollbackCLIConfirmsTheRevisionItRestores(t *testing.T) {
	s := newTestService(Options{})
	c := &historyCluster{history: []Revision{
		{Number: 3, Current: true, Containers: []Container{{Name: "api", Image: "reg.example/api:2.4.1"}}},
		{Number: 2, Containers: []Container{{Name: "api", Image: "reg.example/api:2.4.0"}}, ChangeCause: "vigil: bob promoted api 2.4.0 from preprod"},
		{Number: 1, Containers: []Container{{Name: "api", Image: "reg.example/api:2.3.0"}}},
	}}
	s.cluster = c
	alice := access.Actor{Name: "alice", Role: access.Operator}
	var asked []access.Confirmation
	yes := func(c access.Confirmation) error { asked = append(asked, c); return nil }
	var out strings.Builder
	if code := s.RollbackCLI(context.Background(), alice, &out, yes, "api", "prod", 0, false); code != ExitOK {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
	want := "roll api in prod back to revision 2:\n  container api:  reg.example/api:2.4.1 -> reg.example/api:2.4.0\n" +
		"  revision 2 was: vigil: bob promoted api 2.4.0 from preprod\nrolled api in prod back to revision 2\n"
	if out.String() != want {
		t.Errorf("output\n%s\nwant\n%s", out.String(), want)
	}
	if len(asked) != 1 || asked[0].Title != "Roll api in prod back to revision 2?" || asked[0].TypeName != "prod" || !asked[0].Needed() {
		t.Errorf("asked %+v", asked)
	}
	if len(c.rolledBack) != 1 || c.rolledBack[0] != 2 {
		t.Errorf("rolled back to %v, want [2]: the revision confirmed", c.rolledBack)
	}

	no := func(access.Confirmation) error { return access.Refuse(errors.New("not confirmed")) }
	out.Reset()
	if code := s.RollbackCLI(context.Background(), alice, &out, no, "api", "prod", 1, false); code != ExitRefused || !strings.Contains(out.String(), "vigil rollback: not confirmed") {
		t.Fatalf("refused: exit %d:\n%s", code, out.String())
	}
	if len(c.rolledBack) != 1 {
		t.Fatalf("a refused rollback ran: %v", c.rolledBack)
	}
}

// imageCluster records promotions; the freeze it reports is frozen.
type imageCluster struct {
	Cluster
	frozen *Freeze
	set    int
}

func (c *imageCluster) GetFreeze(context.Context, Target) (*Freeze, error) { return c.frozen, nil }
func (c *imageCluster) SetImages(context.Context, Ref, []Container, map[string]string) error {
	c.set++
	return nil
}

// promote asks, after printing the plan, the question of the plan it
// prints: a refusal changes nothing and exits 3. A freeze seen in the
// cache is not asked about: Promote refuses it.
func TestPromoteCLIAsksBeforeActing(t *testing.T) {
	s := newTestService(Options{})
	c := &imageCluster{}
	s.cluster = c
	alice := access.Actor{Name: "alice", Role: access.Operator}
	var asked []access.Confirmation
	no := func(conf access.Confirmation) error {
		asked = append(asked, conf)
		return conf.Declined("not confirmed")
	}
	var out strings.Builder
	code := s.PromoteCLI(context.Background(), alice, &out, no, "api", "", "prod", 0, false)
	if code != ExitRefused || c.set != 0 || strings.Contains(out.String(), "promoted") ||
		!strings.Contains(out.String(), "promote api from preprod to prod:\n") ||
		!strings.Contains(out.String(), "vigil promote: promote to a protected environment prod/api: not confirmed: nothing was done; type prod") {
		t.Fatalf("exit %d, %d promotions:\n%s", code, c.set, out.String())
	}
	if len(asked) != 1 || asked[0].Title != "Promote api from preprod to prod?" || asked[0].TypeName != "prod" {
		t.Fatalf("asked %+v", asked)
	}

	asked = nil
	until := epoch.Add(time.Hour)
	c.frozen = &Freeze{Reason: "launch", By: "carol", Until: until}
	s.store.Freeze("prod", c.frozen)
	s.store.rebuild()
	out.Reset()
	if code := s.PromoteCLI(context.Background(), alice, &out, no, "api", "", "prod", 0, false); code != ExitRefused || len(asked) != 0 || c.set != 0 ||
		!strings.Contains(out.String(), "prod is frozen by carol") {
		t.Fatalf("frozen: exit %d, asked %+v:\n%s", code, asked, out.String())
	}
}
