package release

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/presence"
)

// fakeCluster is the Cluster the presence tests need: each mutation calls
// during before it returns, so a test sees what is in progress then. Other
// methods are those of the nil embedded interface and panic.
type fakeCluster struct {
	Cluster
	during   func()
	lockErr  error
	restored []Container    // the containers a rollback restores
	held     []*LockedError // the promotion locks held
}

func (c *fakeCluster) GetFreeze(context.Context, Target) (*Freeze, error) { return nil, nil }
func (c *fakeCluster) Lock(context.Context, Target, string, Holder, time.Duration) error {
	return c.lockErr
}
func (c *fakeCluster) Unlock(context.Context, Target, string, string) error { return nil }
func (c *fakeCluster) Held(context.Context, Target, string) ([]*LockedError, error) {
	return c.held, nil
}
func (c *fakeCluster) SetImages(context.Context, Ref, []Container, map[string]string) error {
	c.during()
	return nil
}
func (c *fakeCluster) Rollback(context.Context, Ref, int64, Annotator) (Revision, error) {
	c.during()
	return Revision{Number: 2, Containers: c.restored}, nil
}
func (c *fakeCluster) SetPaused(context.Context, Ref, bool) error { c.during(); return nil }
func (c *fakeCluster) Restart(context.Context, Ref, time.Time) error {
	c.during()
	return nil
}
func (c *fakeCluster) Scale(context.Context, Ref, int32) error { c.during(); return nil }
func (c *fakeCluster) PlanSeed(context.Context, Target, Target, string) (Seed, error) {
	return Seed{}, nil
}
func (c *fakeCluster) Seed(context.Context, Target, Target, []SeedObject) error {
	c.during()
	return nil
}

// doing is what session self sees the others doing, "" for nothing.
func doing(reg *presence.Registry, self uint64) string {
	for _, e := range reg.Snapshot(self).Others() {
		if d := e.Doing(); d != "" {
			return d
		}
	}
	return ""
}

// waitIdle waits until bob sees nothing in progress, the rollout settled.
func waitIdle(t *testing.T, reg *presence.Registry, bob uint64, changed <-chan struct{}) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for doing(reg, bob) != "" {
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("the rollout settled, but bob still sees %q", doing(reg, bob))
		}
	}
}

// presenceFixture is a service whose mutations run in alice's session,
// watched from bob's.
func presenceFixture() (s *Service, c *fakeCluster, reg *presence.Registry, ctx context.Context, bob uint64, seen *string) {
	reg = presence.New(nil)
	ctx = presence.WithSession(context.Background(), reg.Join(access.Actor{Name: "alice", Role: access.Operator}))
	bob = reg.Join(access.Actor{Name: "bob", Role: access.Viewer}).ID()
	seen = new(string)
	c = &fakeCluster{during: func() { *seen = doing(reg, bob) }}
	s = newTestService(Options{})
	s.cluster = c
	return s, c, reg, ctx, bob, seen
}

func TestActionsShownToEverySession(t *testing.T) {
	s, _, reg, ctx, bob, seen := presenceFixture()
	alice := access.Actor{Name: "alice", Role: access.Operator}
	cases := []struct {
		want string
		run  func() error
	}{
		{"alice is pausing the rollout of api in prod", func() error { return s.Pause(ctx, alice, "api", "prod") }},
		{"alice is resuming the rollout of api in prod", func() error { return s.Resume(ctx, alice, "api", "prod") }},
		{"alice is restarting web in dev", func() error { return s.Restart(ctx, alice, "web", "dev") }},
		{"alice is scaling api in prod to 5 replicas", func() error { return s.Scale(ctx, alice, "api", "prod", 5) }},
		{"alice is preparing prod from preprod", func() error {
			return s.Prepare(ctx, alice, PreparePlan{Env: pipeline[3], From: pipeline[2]})
		}},
	}
	for _, c := range cases {
		*seen = ""
		if err := c.run(); err != nil {
			t.Fatalf("%s: %v", c.want, err)
		}
		if *seen != c.want {
			t.Errorf("while it ran, bob saw %q, want %q", *seen, c.want)
		}
		if d := doing(reg, bob); d != "" {
			t.Errorf("after %q, bob still sees %q", c.want, d)
		}
	}
	// A refused action never shows: the presence does not change.
	changed, cancel := reg.Subscribe()
	defer cancel()
	if err := s.Restart(ctx, access.Actor{Name: "alice", Role: access.Viewer}, "api", "prod"); err == nil {
		t.Fatal("a viewer restarted api")
	}
	select {
	case <-changed:
		t.Error("a refused restart showed as an action in progress")
	default:
	}
}

// A promotion shows until its rollout settles, not only while Promote runs.
func TestPromotionShownUntilItsRolloutSettles(t *testing.T) {
	s, c, reg, ctx, bob, seen := presenceFixture()
	alice := access.Actor{Name: "alice", Role: access.Operator}
	plan, err := s.PlanPromote(alice, "api", "", "prod")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Promote(ctx, alice, plan); err != nil {
		t.Fatal(err)
	}
	const want = "alice is promoting api to prod"
	if *seen != want {
		t.Errorf("while Promote ran, bob saw %q, want %q", *seen, want)
	}
	if d := doing(reg, bob); d != want {
		t.Errorf("while the rollout runs, bob sees %q, want %q", d, want)
	}

	changed, cancel := reg.Subscribe()
	defer cancel()
	w := healthy("api", "2.5.0", 3)
	w.Containers = plan.Containers()
	s.store.Workload("prod", w)
	s.store.rebuild()
	waitIdle(t, reg, bob, changed)

	// A promotion that fails ends at once.
	c.lockErr = errors.New("lease unavailable")
	if err := s.Promote(ctx, alice, plan); err == nil {
		t.Fatal("Promote succeeded without its lock")
	}
	if d := doing(reg, bob); d != "" {
		t.Errorf("after a failed promotion, bob still sees %q", d)
	}
}

// A rollback, an image change like a promotion, shows until its rollout
// settles; refused by a promotion holding the workload, it ends at once and
// names the holder.
func TestRollbackShownUntilItsRolloutSettles(t *testing.T) {
	s, c, reg, ctx, bob, seen := presenceFixture()
	alice := access.Actor{Name: "alice", Role: access.Operator}
	c.restored = []Container{{Name: "api", Image: "registry.example/api:2.4.1"}}
	if _, err := s.Rollback(ctx, alice, "api", "prod", 3); err != nil {
		t.Fatal(err)
	}
	const want = "alice is rolling back api in prod to revision 3"
	if *seen != want {
		t.Errorf("while Rollback ran, bob saw %q, want %q", *seen, want)
	}
	if d := doing(reg, bob); d != want {
		t.Errorf("while its rollout runs, bob sees %q, want %q", d, want)
	}
	changed, cancel := reg.Subscribe()
	defer cancel()
	w := healthy("api", "2.4.1", 3)
	w.Containers = c.restored
	s.store.Workload("prod", w)
	s.store.rebuild()
	waitIdle(t, reg, bob, changed)

	c.lockErr = &LockedError{Lock: "vigil-promote-api in prod", Holder: "bob on bastion-2", Until: time.Now().Add(time.Minute)}
	_, err := s.Rollback(ctx, alice, "api", "prod", 0)
	if !access.IsRefusal(err) || !strings.Contains(err.Error(), "locked by bob on bastion-2") {
		t.Fatalf("a rollback during bob's promotion: %v, want a refusal naming him", err)
	}
	if d := doing(reg, bob); d != "" {
		t.Errorf("after a refused rollback, bob still sees %q", d)
	}
}

// A preparation while a promotion into the environment is in flight is
// refused naming the promotion's holder, and seeds nothing.
func TestPrepareRefusedDuringAPromotion(t *testing.T) {
	s, c, _, ctx, _, _ := presenceFixture()
	alice := access.Actor{Name: "alice", Role: access.Operator}
	seeded := false
	c.during = func() { seeded = true }
	c.held = []*LockedError{{Lock: "vigil-promote-api in prod", Holder: "bob on bastion-2", Until: time.Now().Add(time.Minute)}}
	err := s.Prepare(ctx, alice, PreparePlan{Env: pipeline[3], From: pipeline[2]})
	if !access.IsRefusal(err) || !strings.Contains(err.Error(), "a promotion into prod is in flight") || !strings.Contains(err.Error(), "bob on bastion-2") || seeded {
		t.Fatalf("prepare during bob's promotion: %v (seeded %v)", err, seeded)
	}
	c.held = nil
	if err := s.Prepare(ctx, alice, PreparePlan{Env: pipeline[3], From: pipeline[2]}); err != nil || !seeded {
		t.Fatalf("prepare once the promotion settled: %v (seeded %v)", err, seeded)
	}
}
