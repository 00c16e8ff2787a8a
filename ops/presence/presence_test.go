package presence

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/internal/testclock"
	"github.com/vigilops/vigil/ops/access"
)

// clock returns a clock from the fixture epoch that advances a second per call.
func clock() func() time.Time {
	t := testclock.Epoch()
	var mu sync.Mutex
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Second)
		return t
	}
}

var (
	alice = access.Actor{Name: "alice", Role: access.Operator, Source: "ssh", KeyFingerprint: "SHA256:a"}
	bob   = access.Actor{Name: "bob", Role: access.Viewer, Source: "ssh", KeyFingerprint: "SHA256:b"}
)

func TestJoinLookLeave(t *testing.T) {
	r := New(clock())
	a := r.Join(alice)
	b := r.Join(bob)
	a.Look("Environments")
	b.Look("Activity")

	snap := r.Snapshot(a.ID())
	if len(snap.Sessions) != 2 || snap.Sessions[0].Actor.Name != "alice" || snap.Sessions[1].Actor.Name != "bob" {
		t.Fatalf("sessions = %+v, want alice then bob", snap.Sessions)
	}
	if snap.Sessions[0].Pane != "Environments" || snap.Sessions[1].Pane != "Activity" {
		t.Errorf("panes = %q, %q", snap.Sessions[0].Pane, snap.Sessions[1].Pane)
	}
	others := snap.Others()
	if len(others) != 1 || others[0].Actor.Name != "bob" {
		t.Errorf("alice's others = %+v, want bob", others)
	}
	b.Leave()
	b.Leave() // twice is harmless
	if r.Len() != 1 {
		t.Errorf("Len after bob left = %d, want 1", r.Len())
	}
	b.Look("Alerts") // a session that left changes nothing
	if got := r.Snapshot(0).Sessions; len(got) != 1 || got[0].Actor.Name != "alice" {
		t.Errorf("sessions after bob left = %+v", got)
	}
}

func TestActionsInProgress(t *testing.T) {
	r := New(clock())
	a := r.Join(alice)
	r.Join(bob)
	end := a.Begin("rolling back api in prod")
	snap := r.Snapshot(0)
	busy := snap.InProgress()
	if len(busy) != 1 || busy[0].Doing() != "alice is rolling back api in prod" {
		t.Fatalf("in progress = %+v", busy)
	}
	end2 := a.Begin("promoting web to test")
	if got := r.Snapshot(0).Sessions[0].Doing(); got != "alice is promoting web to test" {
		t.Errorf("Doing with two actions = %q, want the latest", got)
	}
	end()
	end() // idempotent
	if got := r.Snapshot(0).Sessions[0].Actions; len(got) != 1 || got[0].What != "promoting web to test" {
		t.Errorf("actions after ending the first = %+v", got)
	}
	end2()
	if got := r.Snapshot(0).InProgress(); len(got) != 0 {
		t.Errorf("in progress after both ended = %+v", got)
	}
}

func TestSubscribeCoalesces(t *testing.T) {
	r := New(nil)
	ch, cancel := r.Subscribe()
	s := r.Join(alice)
	s.Look("Alerts")
	s.Look("Alerts") // no change, no signal needed
	select {
	case <-ch:
	default:
		t.Fatal("no signal after a join")
	}
	select {
	case <-ch:
		t.Fatal("changes were not coalesced into one signal")
	default:
	}
	cancel()
	cancel()
	s.Leave()
	if _, ok := <-ch; ok {
		t.Fatal("signal after cancel: cancel closes the channel, as every service's does")
	}
}

func TestWaitForActions(t *testing.T) {
	r := New(nil)
	if err := r.Wait(context.Background()); err != nil {
		t.Fatalf("Wait with nothing in progress: %v", err)
	}
	s := r.Join(alice)
	end := s.Begin("promoting api to prod")
	s.Leave() // leaving does not cancel the wait: the action still runs

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := r.Wait(ctx); err == nil {
		t.Fatal("Wait returned while an action was in progress")
	}
	done := make(chan error, 1)
	go func() { done <- r.Wait(context.Background()) }()
	end()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return after the action ended")
	}
}

func TestBeginThroughContext(t *testing.T) {
	r := New(nil)
	s := r.Join(alice)
	Begin(context.Background(), "nothing")() // no session: a no-op

	ctx := WithSession(context.Background(), s)
	end := Begin(ctx, "acknowledging HostDown")
	if got := r.Snapshot(0).Sessions[0].Doing(); got != "alice is acknowledging HostDown" {
		t.Errorf("Doing = %q", got)
	}
	end()
	if got := r.Snapshot(0).Sessions[0].Doing(); got != "" {
		t.Errorf("Doing after end = %q, want empty", got)
	}
}

func TestConcurrentUse(t *testing.T) {
	r := New(nil)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := r.Join(access.Actor{Name: "u", Role: access.Viewer})
			ch, cancel := r.Subscribe()
			defer cancel()
			for j := range 50 {
				s.Look([]string{"Alerts", "Activity"}[(i+j)%2])
				s.Begin("x")()
				select {
				case <-ch:
				default:
				}
				r.Snapshot(s.ID())
			}
			s.Leave()
		}()
	}
	wg.Wait()
	if r.Len() != 0 {
		t.Errorf("Len = %d after every session left", r.Len())
	}
	if err := r.Wait(context.Background()); err != nil {
		t.Error(err)
	}
}
