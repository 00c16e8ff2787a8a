package release

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/ops/access"
)

// lockingCluster promotes (counting) under a lock that is always free.
type lockingCluster struct{ imageCluster }

func (c *lockingCluster) Lock(context.Context, Target, string, Holder, time.Duration) error {
	return nil
}
func (c *lockingCluster) Unlock(context.Context, Target, string, string) error { return nil }

// liveCluster reads the target's containers live, and they are live.
type liveCluster struct {
	lockingCluster
	live  []Container
	cause string
}

func (c *liveCluster) LiveContainers(context.Context, Ref) ([]Container, string, error) {
	return c.live, c.cause, nil
}

// A promotion planned before another change of its target (a rollback that
// settled and freed the lock before the promotion took it) would undo that
// change unseen: it is refused, naming what the target runs now and the
// change, and nothing is set. The target is read live when the cluster can,
// from the cache otherwise; an unchanged target is promoted.
func TestAPromotionPlannedBeforeAnotherChangeIsRefused(t *testing.T) {
	alice := access.Actor{Name: "alice", Role: access.Operator}
	ctx := context.Background()

	s := newTestService(Options{})
	c := &lockingCluster{}
	s.cluster = c
	plan, err := s.PlanPromote(alice, "web", "dev", "prod")
	if err != nil {
		t.Fatal(err)
	}
	// bob rolls prod back meanwhile.
	w := healthy("web", "1.8.2", 2)
	w.ChangeCause = "vigil: bob rolled back web from revision 4 to revision 3"
	s.store.Workload("prod", w)
	s.store.rebuild()
	err = s.Promote(ctx, alice, plan)
	var changed *ChangedError
	if !errors.As(err, &changed) || ExitCode(err) != ExitRefused || c.set != 0 ||
		!strings.Contains(err.Error(), "web in prod changed since this promotion was planned: container web runs reg.example/web:1.8.2 now (vigil: bob rolled back web from revision 4 to revision 3), not reg.example/web:1.8.3: nothing was done") {
		t.Fatalf("a stale promotion: %v (%d promotions)", err, c.set)
	}

	// Read live, the target changed though the cache has not seen it yet.
	s = newTestService(Options{})
	lc := &liveCluster{live: []Container{{Name: "web", Image: "reg.example/web:1.8.0"}}, cause: "ci: web 1.8.0"}
	s.cluster = lc
	if plan, err = s.PlanPromote(alice, "web", "dev", "prod"); err != nil {
		t.Fatal(err)
	}
	if err := s.Promote(ctx, alice, plan); !errors.As(err, &changed) || changed.Now != "reg.example/web:1.8.0" || changed.Change != "ci: web 1.8.0" || lc.set != 0 {
		t.Fatalf("a stale promotion, read live: %v (%d promotions)", err, lc.set)
	}
	lc.live = []Container{{Name: "web", Image: "reg.example/web:1.8.3"}}
	if err := s.Promote(ctx, alice, plan); err != nil || lc.set != 1 {
		t.Fatalf("an unchanged target: %v (%d promotions)", err, lc.set)
	}
	// Its rollout settles: the promotion frees its lock and stops watching.
	s.store.Workload("prod", healthy("web", "1.9.0", 2))
	s.store.rebuild()
}

// preparedCluster's environment gains the ConfigMap once the plan is made:
// another preparation copies it in between.
type preparedCluster struct {
	lockingCluster
	plans, seeds int
}

func (c *preparedCluster) Held(context.Context, Target, string) ([]*LockedError, error) {
	return nil, nil
}
func (c *preparedCluster) PlanSeed(context.Context, Target, Target, string) (Seed, error) {
	c.plans++
	return Seed{NamespaceExists: true, Objects: []SeedObject{
		{Kind: "Deployment", Name: "api", Exists: true},
		{Kind: "ConfigMap", Name: "api-config", Exists: c.plans > 1},
	}}, nil
}
func (c *preparedCluster) Seed(context.Context, Target, Target, []SeedObject) error {
	c.seeds++
	return nil
}

// A preparation planned before another one copied what it would create is
// refused under its lock, naming what exists now: nothing is created, and
// it is not told it created anything.
func TestAPreparationPlannedBeforeAnotherIsRefused(t *testing.T) {
	s := newTestService(Options{})
	c := &preparedCluster{}
	s.cluster = c
	alice := access.Actor{Name: "alice", Role: access.Operator}
	plan, err := s.PlanPrepare(context.Background(), "test")
	if err != nil || len(plan.Creates()) != 1 {
		t.Fatalf("plan %+v, %v", plan, err)
	}
	err = s.Prepare(context.Background(), alice, plan)
	var since *PreparedSinceError
	if !errors.As(err, &since) || ExitCode(err) != ExitRefused || c.seeds != 0 ||
		err.Error() != "test changed since this preparation was planned: ConfigMap/api-config exists now (another preparation came first): nothing was done; prepare again to see what is left" {
		t.Fatalf("a stale preparation: %v (%d seeds)", err, c.seeds)
	}
}
