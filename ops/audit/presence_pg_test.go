package audit

import (
	"testing"
	"time"

	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/internal/testclock"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/presence"
)

// waitFor polls cond every 10 ms for up to limit and returns how long it took.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

func sessionOf(r *presence.Registry, name, bastion string) (presence.Entry, bool) {
	for _, e := range r.Snapshot(0).Sessions {
		if e.Actor.Name == name && e.Bastion == bastion {
			return e, true
		}
	}
	return presence.Entry{}, false
}

// Presence across two bastions through PostgreSQL: a session on A shows on
// B, with its pane, within a second; a bastion that leaves withdraws its
// sessions at once; one that dies (no more heartbeats) drops out once its
// last heartbeat expires.
func TestPostgresPresenceAcrossBastions(t *testing.T) {
	dsn := labtest.PostgresDatabase(t)
	ja, jb := openPG(t, dsn), openPG(t, dsn)
	now := testclock.Epoch()
	clock := func() time.Time { return now }
	ra, rb := presence.New(clock), presence.New(clock)
	const heartbeat, expiry = 200 * time.Millisecond, 1 * time.Second
	stopA := ra.Share(ja.Presence(expiry), "bastion-a", heartbeat)
	defer stopA()
	stopB := rb.Share(jb.Presence(expiry), "bastion-b", heartbeat)

	alice := ra.Join(access.Actor{Name: "alice", Role: access.Operator})
	alice.Look("Activity")
	took := waitFor(t, time.Second, "alice on B", func() bool {
		e, ok := sessionOf(rb, "alice", "bastion-a")
		return ok && e.Pane == "Activity"
	})
	t.Logf("a session on A showed on B after %s", took)
	end := alice.Begin("rolling back api in prod")
	waitFor(t, time.Second, "alice's action on B", func() bool {
		e, ok := sessionOf(rb, "alice", "bastion-a")
		return ok && e.Doing() == "alice is rolling back api in prod"
	})
	end()
	bob := rb.Join(access.Actor{Name: "bob", Role: access.Viewer})
	waitFor(t, time.Second, "bob on A", func() bool { _, ok := sessionOf(ra, "bob", "bastion-b"); return ok })
	if snap := rb.Snapshot(bob.ID()); len(snap.Others()) != 1 || snap.Others()[0].Actor.Name != "alice" {
		t.Fatalf("bob's others: %+v", snap.Others())
	}

	// B leaves cleanly: A sees bob go at once, not after the expiry.
	stopB()
	took = waitFor(t, expiry/2, "bob gone from A after B left", func() bool { _, ok := sessionOf(ra, "bob", "bastion-b"); return !ok })
	t.Logf("a bastion that left: its sessions gone from the other after %s", took)

	// A dies: its store connection gone, no more heartbeats, nothing
	// withdrawn. B (again) drops alice once the expiry passes.
	rb2 := presence.New(clock)
	stopB2 := rb2.Share(jb.Presence(expiry), "bastion-b", heartbeat)
	defer stopB2()
	waitFor(t, time.Second, "alice on B again", func() bool { _, ok := sessionOf(rb2, "alice", "bastion-a"); return ok })
	died := time.Now()
	ja.Close()
	waitFor(t, expiry+2*time.Second, "alice gone from B after A died", func() bool { _, ok := sessionOf(rb2, "alice", "bastion-a"); return !ok })
	gone := time.Since(died)
	t.Logf("a bastion that died: its sessions gone from the other after %s (expiry %s)", gone, expiry)
	if gone < expiry-heartbeat {
		t.Errorf("alice dropped after %s, before the expiry %s: heartbeats are not what keeps her", gone, expiry)
	}
}
