// Package presence knows who is connected to a shared console, which pane
// each of them is looking at, and which actions are in progress, so that
// every session can show the others ("alice is rolling back api in prod").
package presence

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/notify"
)

// Action is an action in progress.
type Action struct {
	ID    uint64
	What  string // e.g. "rolling back api in prod"
	Since time.Time
}

// Entry is one connected session as the others see it.
type Entry struct {
	ID      uint64
	Actor   access.Actor
	Since   time.Time
	Pane    string   // the pane in focus; "" until the session reports one
	Actions []Action // in progress, oldest first
	// Bastion is the vigil serve the session is connected to when it is
	// another bastion's (Share); "" for this process's sessions.
	Bastion string
}

// Doing says what the session is doing, the way a status line shows it:
// "alice is rolling back api in prod", or "" when it has no action in progress.
func (e Entry) Doing() string {
	if len(e.Actions) == 0 {
		return ""
	}
	return e.Actor.Name + " is " + e.Actions[len(e.Actions)-1].What
}

// Snapshot is the presence at one moment. Self is the receiving session's
// own ID (0 when the snapshot is not meant for a session), so a UI can
// tell "you" from the others.
type Snapshot struct {
	Self     uint64
	Sessions []Entry // by connection time
}

// Others returns the sessions other than Self.
func (s Snapshot) Others() []Entry {
	return slices.DeleteFunc(slices.Clone(s.Sessions), func(e Entry) bool { return e.ID == s.Self })
}

// InProgress returns every action in progress, with the session doing it.
func (s Snapshot) InProgress() []Entry {
	var out []Entry
	for _, e := range s.Sessions {
		if len(e.Actions) > 0 {
			out = append(out, e)
		}
	}
	return out
}

// Registry is the presence of one process, shared by all its sessions.
// Its methods are safe for concurrent use.
type Registry struct {
	now func() time.Time

	mu       sync.Mutex
	nextID   uint64
	sessions map[uint64]*Entry
	remote   []Entry // the other bastions' sessions (Share)
	subs     notify.Subscribers
	inFlight int
	idle     chan struct{} // closed while no action is in progress
}

// New returns an empty registry; now is the clock (time.Now when nil).
func New(now func() time.Time) *Registry {
	if now == nil {
		now = time.Now
	}
	idle := make(chan struct{})
	close(idle)
	return &Registry{now: now, sessions: map[uint64]*Entry{}, idle: idle}
}

// Session is one connected session's handle on the registry.
type Session struct {
	r  *Registry
	id uint64
}

// Join records a new session for actor.
func (r *Registry) Join(actor access.Actor) *Session {
	r.mu.Lock()
	r.nextID++
	id := r.nextID
	r.sessions[id] = &Entry{ID: id, Actor: actor, Since: r.now()}
	r.notifyLocked()
	r.mu.Unlock()
	return &Session{r: r, id: id}
}

// ID identifies the session in snapshots.
func (s *Session) ID() uint64 { return s.id }

// Leave removes the session. Its actions still in progress stay counted
// until they end, so a shutdown waits for them.
func (s *Session) Leave() {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	if _, ok := s.r.sessions[s.id]; ok {
		delete(s.r.sessions, s.id)
		s.r.notifyLocked()
	}
}

// Look records the pane the session has in focus.
func (s *Session) Look(pane string) {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	if e, ok := s.r.sessions[s.id]; ok && e.Pane != pane {
		e.Pane = pane
		s.r.notifyLocked()
	}
}

// Begin records an action in progress and returns the function that ends
// it; calling that function more than once has no further effect.
func (s *Session) Begin(what string) (end func()) {
	r := s.r
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nextID++
	a := Action{ID: r.nextID, What: what, Since: r.now()}
	if e, ok := r.sessions[s.id]; ok {
		e.Actions = append(e.Actions, a)
	}
	if r.inFlight == 0 {
		r.idle = make(chan struct{})
	}
	r.inFlight++
	r.notifyLocked()
	var once sync.Once
	return func() {
		once.Do(func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			if e, ok := r.sessions[s.id]; ok {
				e.Actions = slices.DeleteFunc(e.Actions, func(x Action) bool { return x.ID == a.ID })
			}
			r.inFlight--
			if r.inFlight == 0 {
				close(r.idle)
			}
			r.notifyLocked()
		})
	}
}

// Snapshot returns the presence as session self sees it (0 for none).
func (r *Registry) Snapshot(self uint64) Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := Snapshot{Self: self, Sessions: make([]Entry, 0, len(r.sessions)+len(r.remote))}
	for _, e := range r.sessions {
		c := *e
		c.Actions = slices.Clone(e.Actions)
		out.Sessions = append(out.Sessions, c)
	}
	for _, e := range r.remote {
		c := e
		c.Actions = slices.Clone(e.Actions)
		out.Sessions = append(out.Sessions, c)
	}
	slices.SortFunc(out.Sessions, func(a, b Entry) int {
		if c := a.Since.Compare(b.Since); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}

// Len is the number of sessions connected to this process.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sessions)
}

// Subscribe returns a channel that receives a signal after each change,
// coalesced: a slow reader gets one signal for many changes and reads the
// current state with Snapshot. cancel ends it and closes the channel.
func (r *Registry) Subscribe() (changed <-chan struct{}, cancel func()) { return r.subs.Subscribe() }

func (r *Registry) notifyLocked() { r.subs.Notify() }

// Wait blocks until no action is in progress, or ctx ends. A graceful
// shutdown calls it so that in-flight actions finish and are journaled.
func (r *Registry) Wait(ctx context.Context) error {
	r.mu.Lock()
	idle := r.idle
	r.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type ctxKey struct{}

// WithSession returns ctx carrying s, so that ops services reached with it
// can report their actions through Begin without knowing about sessions.
func WithSession(ctx context.Context, s *Session) context.Context {
	return context.WithValue(ctx, ctxKey{}, s)
}

// Begin records an action in progress for the session ctx carries, and
// returns the function that ends it. Without a session it does nothing,
// so ops services may call it from the CLI too:
//
//	defer presence.Begin(ctx, "promoting api to prod")()
func Begin(ctx context.Context, what string) (end func()) {
	if s, ok := ctx.Value(ctxKey{}).(*Session); ok && s != nil {
		return s.Begin(what)
	}
	return func() {}
}
