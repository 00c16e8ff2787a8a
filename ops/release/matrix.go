package release

import (
	"context"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigilops/vigil/ops/notify"
)

// Cell is one app in one environment.
type Cell struct {
	Env      string    `json:"env"`
	Workload *Workload `json:"workload,omitempty"` // nil: the app is not in this environment
	Version  string    `json:"version,omitempty"`
	// Assessment is the cell's one state (health, progress, reason,
	// alerts): what every pane shows of it.
	Assessment
	// Drift is true when the images differ from the previous environment's;
	// DriftFrom is that environment's version.
	Drift     bool   `json:"drift,omitempty"`
	DriftFrom string `json:"drift_from,omitempty"`
}

// Row is one app across the pipeline.
type Row struct {
	App   string `json:"app"`
	Kind  Kind   `json:"kind"`
	Cells []Cell `json:"cells"` // one per environment, in pipeline order
}

// EnvState is an environment with its freeze, the locks held in it and its
// cluster's connection.
type EnvState struct {
	Env
	Freeze *Freeze `json:"freeze,omitempty"`
	// Locks are the promotion, rollback and preparation locks held in the
	// environment's namespace when the matrix was built, by lock name:
	// each names its holder, bastion and action, since and until when.
	Locks []*LockedError `json:"locks,omitempty"`
	Conn  Conn           `json:"conn"`
}

// LockSubject says what the lock l of the environment covers: "web in
// test" for the lock of web's promotions and rollbacks, "the preparation
// of test" for a preparation's (held in its source environment).
func (e *EnvState) LockSubject(l *LockedError) string {
	name, _, _ := strings.Cut(l.Lock, " in ")
	switch {
	case strings.HasPrefix(name, lockName("")):
		return strings.TrimPrefix(name, lockName("")) + " in " + e.Name
	case strings.HasPrefix(name, prepareLock("")):
		return "the preparation of " + strings.TrimPrefix(name, prepareLock(""))
	}
	return l.Lock
}

// LockOf returns the lock of app's promotions and rollbacks in the
// environment, nil when none is held.
func (e *EnvState) LockOf(app string) *LockedError {
	for _, l := range e.Locks {
		if strings.HasPrefix(l.Lock, lockName(app)+" in ") {
			return l
		}
	}
	return nil
}

// Matrix is an immutable snapshot of the release matrix: panes read it
// without locks and get a new one after each change notification.
type Matrix struct {
	Envs  []EnvState `json:"environments"`
	Rows  []Row      `json:"apps"` // sorted by app
	Built time.Time  `json:"built"`
}

// Row returns the row of app.
func (m *Matrix) Row(app string) (*Row, bool) {
	i, ok := slices.BinarySearchFunc(m.Rows, app, func(r Row, a string) int {
		switch {
		case r.App < a:
			return -1
		case r.App > a:
			return 1
		}
		return 0
	})
	if !ok {
		return nil, false
	}
	return &m.Rows[i], true
}

// Cell returns app's cell in env.
func (m *Matrix) Cell(app, env string) (Cell, bool) {
	r, ok := m.Row(app)
	if !ok {
		return Cell{}, false
	}
	for _, c := range r.Cells {
		if c.Env == env {
			return c, c.Workload != nil
		}
	}
	return Cell{}, false
}

// store keeps the workloads the watcher reports and rebuilds the matrix:
// only the rows of apps that changed, once per burst of changes.
type store struct {
	now  func() time.Time
	envs []Env
	idx  map[string]int

	mu        sync.Mutex
	apps      map[string][]*Workload // app → one slot per env
	dirty     map[string]struct{}
	envsDirty bool
	freezes   []*Freeze
	locks     []map[string]*LockedError // per env, by Lease name
	expiry    *time.Timer               // rebuilds the envs when the next lock runs out (expireAt)
	conns     map[string]Conn
	subs      notify.Subscribers
	// alerts are the firing alerts by "namespace/workload"; failing are
	// the failing pods seen by rollout details, by env and app.
	alerts  map[string][]FiringAlert
	failing map[[2]string]failure

	cur  atomic.Pointer[Matrix]
	wake chan struct{}
}

func newStore(envs []Env, now func() time.Time) *store {
	s := &store{
		now:     now,
		envs:    envs,
		idx:     make(map[string]int, len(envs)),
		apps:    map[string][]*Workload{},
		dirty:   map[string]struct{}{},
		freezes: make([]*Freeze, len(envs)),
		locks:   make([]map[string]*LockedError, len(envs)),
		conns:   map[string]Conn{},
		failing: map[[2]string]failure{},
		wake:    make(chan struct{}, 1),
	}
	for i, e := range envs {
		s.idx[e.Name] = i
		if _, ok := s.conns[e.Context]; !ok {
			s.conns[e.Context] = Conn{Context: e.Context}
		}
	}
	s.envsDirty = true
	s.rebuild()
	return s
}

func (s *store) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run rebuilds the matrix after changes until ctx ends.
func (s *store) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
			s.rebuild()
		}
	}
}

func (s *store) Workload(env string, w Workload) {
	i, ok := s.idx[env]
	if !ok {
		return
	}
	s.mu.Lock()
	slots := s.apps[w.Name]
	if slots == nil {
		slots = make([]*Workload, len(s.envs))
		s.apps[w.Name] = slots
	}
	slots[i] = &w
	s.dirty[w.Name] = struct{}{}
	s.mu.Unlock()
	s.poke()
}

func (s *store) WorkloadGone(env string, kind Kind, name string) {
	i, ok := s.idx[env]
	if !ok {
		return
	}
	s.mu.Lock()
	if slots := s.apps[name]; slots != nil && slots[i] != nil && slots[i].Kind == kind {
		slots[i] = nil
		s.dirty[name] = struct{}{}
	}
	s.mu.Unlock()
	s.poke()
}

func (s *store) Freeze(env string, f *Freeze) {
	i, ok := s.idx[env]
	if !ok {
		return
	}
	s.mu.Lock()
	s.freezes[i] = f
	s.envsDirty = true
	s.mu.Unlock()
	s.poke()
}

var _ LockSink = (*store)(nil)

// Lock implements LockSink.
func (s *store) Lock(env, name string, l *LockedError) {
	i, ok := s.idx[env]
	if !ok {
		return
	}
	s.mu.Lock()
	if l == nil {
		delete(s.locks[i], name)
	} else {
		if s.locks[i] == nil {
			s.locks[i] = map[string]*LockedError{}
		}
		s.locks[i][name] = l
	}
	s.envsDirty = true
	s.mu.Unlock()
	s.poke()
}

// heldLocks returns the locks of envs[i] still held at now, by name, and
// the time the first of them runs out (zero when none is held); s.mu is
// held.
func (s *store) heldLocks(i int, now time.Time) ([]*LockedError, time.Time) {
	var out []*LockedError
	var first time.Time
	for _, l := range s.locks[i] {
		if !now.Before(l.Until) {
			continue
		}
		out = append(out, l)
		if first.IsZero() || l.Until.Before(first) {
			first = l.Until
		}
	}
	slices.SortFunc(out, func(a, b *LockedError) int { return strings.Compare(a.Lock, b.Lock) })
	return out, first
}

// expireAt rebuilds the envs at the time next, when a lock runs out, so
// that a lock whose holder died leaves the matrix by itself (its Lease
// stays); s.mu is held.
func (s *store) expireAt(now, next time.Time) {
	if s.expiry != nil {
		s.expiry.Stop()
		s.expiry = nil
	}
	if next.IsZero() {
		return
	}
	s.expiry = time.AfterFunc(next.Sub(now), func() {
		s.mu.Lock()
		s.envsDirty = true
		s.mu.Unlock()
		s.poke()
	})
}

// failure is a failing pod of one revision, seen by a rollout detail.
type failure struct {
	revision int64
	reason   string
}

// Alerts sets the firing alerts (an AlertSource's callback) and rebuilds
// the rows whose alerts changed.
func (s *store) Alerts(list []FiringAlert) {
	by := map[string][]FiringAlert{}
	for _, a := range list {
		k := a.Namespace + "/" + a.Workload
		by[k] = append(by[k], a)
	}
	s.mu.Lock()
	changed := map[string]bool{}
	for k, v := range by {
		if !slices.Equal(s.alerts[k], v) {
			changed[k] = true
		}
	}
	for k := range s.alerts {
		if _, ok := by[k]; !ok {
			changed[k] = true
		}
	}
	s.alerts = by
	for k := range changed {
		_, app, _ := strings.Cut(k, "/")
		if _, ok := s.apps[app]; ok {
			s.dirty[app] = struct{}{}
		}
	}
	s.mu.Unlock()
	if len(changed) > 0 {
		s.poke()
	}
}

// observe records why a pod of app's revision in env is failing ("" when
// none is), as a rollout detail sees it, so that every pane shows it.
func (s *store) observe(env, app string, revision int64, reason string) {
	k := [2]string{env, app}
	s.mu.Lock()
	old, had := s.failing[k]
	switch {
	case reason == "" && !had, had && old == failure{revision, reason}:
		s.mu.Unlock()
		return
	case reason == "":
		delete(s.failing, k)
	default:
		s.failing[k] = failure{revision, reason}
	}
	s.dirty[app] = struct{}{}
	s.mu.Unlock()
	s.poke()
}

// signals returns what Assess weighs for w in envs[i] beside its status;
// s.mu is held.
func (s *store) signals(i int, w *Workload) Signals {
	var sig Signals
	if f, ok := s.failing[[2]string{s.envs[i].Name, w.Name}]; ok && f.revision == w.Revision {
		sig.Failing = f.reason
	}
	sig.Alerts = s.alerts[s.envs[i].Namespace+"/"+w.Name]
	return sig
}

func (s *store) Conn(c Conn) {
	s.mu.Lock()
	s.conns[c.Context] = c
	s.envsDirty = true
	s.mu.Unlock()
	s.poke()
}

// rebuild makes a new Matrix from the previous one, rebuilding the rows of
// dirty apps only, and notifies subscribers.
func (s *store) rebuild() {
	s.mu.Lock()
	prev := s.cur.Load()
	if prev != nil && len(s.dirty) == 0 && !s.envsDirty {
		s.mu.Unlock()
		return
	}
	m := &Matrix{Built: s.now()}
	if prev == nil || s.envsDirty {
		m.Envs = make([]EnvState, len(s.envs))
		var next time.Time
		for i, e := range s.envs {
			locks, first := s.heldLocks(i, m.Built)
			m.Envs[i] = EnvState{Env: e, Freeze: s.freezes[i], Locks: locks, Conn: s.conns[e.Context]}
			if !first.IsZero() && (next.IsZero() || first.Before(next)) {
				next = first
			}
		}
		s.expireAt(m.Built, next)
		s.envsDirty = false
	} else {
		m.Envs = prev.Envs
	}
	var old []Row
	if prev != nil {
		old = prev.Rows
	}
	rows := make([]Row, 0, len(s.apps))
	added := false
	for _, r := range old {
		if _, ok := s.dirty[r.App]; !ok {
			rows = append(rows, r)
			continue
		}
		delete(s.dirty, r.App)
		if nr, ok := s.row(r.App); ok {
			rows = append(rows, nr)
		}
	}
	for app := range s.dirty {
		if nr, ok := s.row(app); ok {
			rows = append(rows, nr)
			added = true
		}
	}
	clear(s.dirty)
	if added {
		sort.Slice(rows, func(i, j int) bool { return rows[i].App < rows[j].App })
	}
	m.Rows = rows
	// Stored under the lock: a concurrent rebuild must start from this one.
	s.cur.Store(m)
	s.mu.Unlock()
	s.subs.Notify()
}

// row builds app's row; ok is false when no environment holds it any more
// (then the app is forgotten). s.mu is held.
func (s *store) row(app string) (Row, bool) {
	slots := s.apps[app]
	r := Row{App: app, Cells: make([]Cell, len(s.envs))}
	present := false
	var prev *Workload
	for i, w := range slots {
		c := Cell{Env: s.envs[i].Name}
		c.Health = Missing
		if w != nil {
			present = true
			if r.Kind == "" {
				r.Kind = w.Kind
			}
			c.Workload = w
			c.Version = w.Version()
			c.Assessment = Assess(w, s.signals(i, w))
			if prev != nil && !sameImages(prev.Containers, w.Containers) {
				c.Drift = true
				c.DriftFrom = prev.Version()
			}
		}
		prev = w
		r.Cells[i] = c
	}
	if !present {
		delete(s.apps, app)
	}
	return r, present
}

func sameImages(a, b []Container) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// subscribe returns a channel that receives a value after each new matrix
// (changes coalesce: one value may stand for many), and a cancel func that
// closes it.
func (s *store) subscribe() (<-chan struct{}, func()) { return s.subs.Subscribe() }
