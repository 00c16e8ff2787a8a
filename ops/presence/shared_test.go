package presence

import (
	"context"
	"sync"
	"testing"
	"time"
)

// memRemote is a shared store in memory: what each bastion published, and
// a wake for every other registry at each publish.
type memRemote struct {
	mu      sync.Mutex
	by      map[string][]Entry
	changed []chan struct{}
}

func (m *memRemote) view() *memView {
	m.mu.Lock()
	defer m.mu.Unlock()
	ch := make(chan struct{}, 1)
	m.changed = append(m.changed, ch)
	return &memView{m: m, ch: ch}
}

type memView struct {
	m  *memRemote
	ch chan struct{}
}

func (v *memView) Publish(_ context.Context, bastion string, sessions []Entry) error {
	v.m.mu.Lock()
	defer v.m.mu.Unlock()
	if v.m.by == nil {
		v.m.by = map[string][]Entry{}
	}
	v.m.by[bastion] = sessions
	for _, ch := range v.m.changed {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	return nil
}

func (v *memView) Others(_ context.Context, bastion string) ([]Entry, error) {
	v.m.mu.Lock()
	defer v.m.mu.Unlock()
	var out []Entry
	for b, es := range v.m.by {
		if b == bastion {
			continue
		}
		for _, e := range es {
			e.Bastion = b
			out = append(out, e)
		}
	}
	return out, nil
}

func (v *memView) Changed() <-chan struct{} { return v.ch }

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
	}
}

// Shared registries see each other's sessions, named with their bastion
// and with IDs that never equal a local one; a pane change travels; a
// bastion that stops withdraws its sessions.
func TestShareMergesOtherBastions(t *testing.T) {
	store := &memRemote{}
	a, b := New(clock()), New(clock())
	stopA := a.Share(store.view(), "a", time.Hour) // no heartbeat needed: changes are published
	stopB := b.Share(store.view(), "b", time.Hour)
	defer stopB()
	sa := a.Join(alice)
	sb := b.Join(bob)
	find := func(r *Registry, name string) (Entry, bool) {
		for _, e := range r.Snapshot(0).Sessions {
			if e.Actor.Name == name {
				return e, true
			}
		}
		return Entry{}, false
	}
	waitUntil(t, "alice on b", func() bool { e, ok := find(b, "alice"); return ok && e.Bastion == "a" })
	waitUntil(t, "bob on a", func() bool { e, ok := find(a, "bob"); return ok && e.Bastion == "b" })
	if e, _ := find(a, "bob"); e.ID&(1<<63) == 0 || e.ID == sa.ID() {
		t.Fatalf("bob's ID on a: %x", e.ID)
	}
	if others := a.Snapshot(sa.ID()).Others(); len(others) != 1 || others[0].Actor.Name != "bob" {
		t.Fatalf("alice's others: %+v", others)
	}
	if a.Len() != 1 {
		t.Fatalf("a's own sessions: %d", a.Len())
	}
	sb.Look("Alerts")
	waitUntil(t, "bob's pane on a", func() bool { e, _ := find(a, "bob"); return e.Pane == "Alerts" })
	stopA()
	waitUntil(t, "alice gone from b", func() bool { _, ok := find(b, "alice"); return !ok })
}
