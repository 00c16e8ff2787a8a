package presence

import (
	"context"
	"hash/fnv"
	"slices"
	"time"
)

// Remote is where a registry shows its sessions to the other bastions and
// sees theirs: the shared store (PostgreSQL, ops/audit). A bastion's
// sessions live there as long as it renews them; one that stops (killed,
// its host gone) drops out after the store's expiry.
type Remote interface {
	// Publish replaces bastion's sessions with sessions and renews them.
	Publish(ctx context.Context, bastion string, sessions []Entry) error
	// Others returns the live sessions of every other bastion.
	Others(ctx context.Context, bastion string) ([]Entry, error)
	// Changed signals, coalesced, that some bastion published.
	Changed() <-chan struct{}
}

// Share mirrors the registry's sessions to remote as bastion's, at each
// change and every heartbeat, and merges the other bastions' live sessions
// into every snapshot (their Bastion set), until the returned function is
// called, which withdraws this bastion's sessions. A bastion that dies
// without calling it drops out of the others' snapshots once its last
// heartbeat expires.
func (r *Registry) Share(remote Remote, bastion string, heartbeat time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	local, unsub := r.Subscribe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(heartbeat)
		defer tick.Stop()
		var last []Entry
		published := false
		// renew publishes the sessions again even when unchanged (the
		// heartbeat); otherwise only a change is published.
		publish := func(renew bool) {
			now := r.localSessions()
			if !renew && published && slices.EqualFunc(now, last, sameEntry) {
				return
			}
			pctx, c := context.WithTimeout(ctx, heartbeat)
			defer c()
			if remote.Publish(pctx, bastion, now) == nil {
				last, published = now, true
			}
		}
		refresh := func() {
			pctx, c := context.WithTimeout(ctx, heartbeat)
			defer c()
			others, err := remote.Others(pctx, bastion)
			if err != nil {
				return // the last ones known stay until the store answers
			}
			r.setRemote(others)
		}
		publish(true)
		refresh()
		for {
			select {
			case <-ctx.Done():
				return
			case <-local:
				publish(false)
			case <-remote.Changed():
				refresh()
			case <-tick.C:
				publish(true)
				refresh()
			}
		}
	}()
	return func() {
		cancel()
		unsub()
		<-done
		wctx, c := context.WithTimeout(context.Background(), 2*time.Second)
		defer c()
		_ = remote.Publish(wctx, bastion, nil)
	}
}

// localSessions are this process's sessions.
func (r *Registry) localSessions() []Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Entry, 0, len(r.sessions))
	for _, e := range r.sessions {
		c := *e
		c.Actions = slices.Clone(e.Actions)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Entry) int { return compareIDs(a.ID, b.ID) })
	return out
}

// setRemote keeps the other bastions' sessions, with IDs of their own (the
// high bit set, so they never equal a local session's), and tells the
// subscribers when they changed.
func (r *Registry) setRemote(others []Entry) {
	for i := range others {
		h := fnv.New64a()
		h.Write([]byte(others[i].Bastion))
		var b [8]byte
		for k := range 8 {
			b[k] = byte(others[i].ID >> (8 * k))
		}
		h.Write(b[:])
		others[i].ID = h.Sum64() | 1<<63
	}
	slices.SortFunc(others, func(a, b Entry) int { return compareIDs(a.ID, b.ID) })
	r.mu.Lock()
	defer r.mu.Unlock()
	if slices.EqualFunc(r.remote, others, sameEntry) {
		return
	}
	r.remote = others
	r.notifyLocked()
}

func compareIDs(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func sameEntry(a, b Entry) bool {
	return a.ID == b.ID && a.Bastion == b.Bastion && a.Actor == b.Actor && a.Since.Equal(b.Since) &&
		a.Pane == b.Pane && slices.EqualFunc(a.Actions, b.Actions, func(x, y Action) bool {
		return x.ID == y.ID && x.What == y.What && x.Since.Equal(y.Since)
	})
}
