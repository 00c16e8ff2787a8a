package playbook

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ops/notify"
	"github.com/vigilops/vigil/ops/presence"
)

// Guarded actions. Applying a playbook changes servers; a check run does not.
var (
	ActApply  = access.Action{Name: "run playbook", MinRole: access.Operator, Mutates: true, Dangerous: true}
	ActCheck  = access.Action{Name: "check playbook", MinRole: access.Operator}
	ActCancel = access.Action{Name: "cancel playbook run", MinRole: access.Operator, Mutates: true}
)

// Journal is the audit journal as runs use it.
type Journal interface {
	Record(ctx context.Context, actor access.Actor, action, target string, params map[string]string, err error) error
}

var _ Journal = (*audit.Journal)(nil)

// Options configure a Service.
type Options struct {
	Guard       access.Guard
	PlaybookDir string
	Inventory   InventoryOptions
	// Hosts returns the hosts runs can target, without IO (the inventory
	// service's cache).
	Hosts func() []inventory.Host
	// RecentRuns is how many finished runs stay in memory; default 100.
	RecentRuns int
	// Now stamps runs (their id, start and end); time.Now when nil.
	Now func() time.Time
	// HostKeys checks each host's SSH key before a run (the runner then
	// checks strictly against the same file).
	HostKeys inventory.HostKeys
	// HostLocks, when set, holds an applying run's hosts across every
	// vigil sharing them; without it, only within this process.
	HostLocks HostLocks
	// HostLockTTL is how long a host lock outlives a vigil that vanished
	// mid-run; a run renews it at a third of that. Default 2m.
	HostLockTTL time.Duration
	// Bastion names this vigil in a lock's holder (the machine's name).
	Bastion string
}

// Request asks for a run.
type Request struct {
	Playbook  string // file name in the playbook directory
	Target    Target
	Mode      Mode
	ExtraVars map[string]string
	// Passwords typed into a masked prompt; the caller may wipe them once
	// Start returned. They are never journaled nor stored.
	VaultPassword  []byte
	BecomePassword []byte
	// Anyway names the hosts to run on though another run holds them
	// (ActRunAnyway, admins): each one confirmed by name, never more.
	Anyway []string
}

// Service runs playbooks, follows them live and keeps their history.
type Service struct {
	runner  Runner
	journal Journal
	history *History
	opt     Options

	mu     sync.Mutex
	live   map[string]*liveRun
	recent []Run // finished runs, newest first
	subs   notify.Subscribers
	lastID string
	claims map[string]string // host → holder of this vigil's applying runs
	execs  []Exec            // ad-hoc commands, newest first (RecentExecs at most)
}

type liveRun struct {
	t         *tracker
	cancel    context.CancelFunc
	done      chan struct{}
	cancelled bool
}

// New builds the service and loads the recent runs from history.
func New(runner Runner, journal Journal, history *History, opt Options) (*Service, error) {
	if opt.RecentRuns <= 0 {
		opt.RecentRuns = 100
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.HostLockTTL <= 0 {
		opt.HostLockTTL = 2 * time.Minute
	}
	if opt.Bastion == "" {
		opt.Bastion, _ = os.Hostname()
	}
	if opt.Hosts == nil {
		return nil, errors.New("playbook service needs a host source")
	}
	recent, err := history.Runs(opt.RecentRuns)
	if err != nil {
		return nil, err
	}
	return &Service{
		runner: runner, journal: journal, history: history, opt: opt,
		live: map[string]*liveRun{}, recent: recent, claims: map[string]string{},
	}, nil
}

// Subscribe returns a channel that receives a value after changes to any
// run (coalesced), and a function ending it.
func (s *Service) Subscribe() (<-chan struct{}, func()) { return s.subs.Subscribe() }

// Runs lists the live runs, then the recent finished ones, newest first.
func (s *Service) Runs() []Run {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Run, 0, len(s.live)+len(s.recent))
	for _, lr := range s.live {
		out = append(out, lr.t.snapshot())
	}
	slices.SortFunc(out, func(a, b Run) int { return strings.Compare(b.ID, a.ID) })
	return append(out, s.recent...)
}

// Progress returns a live run's progress; false when it is not running.
func (s *Service) Progress(id string) (Progress, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lr, ok := s.live[id]
	if !ok {
		return Progress{}, false
	}
	return lr.t.progress(), true
}

// Done returns a channel closed when the run has ended (closed already for
// a run that is not live).
func (s *Service) Done(id string) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if lr, ok := s.live[id]; ok {
		return lr.done
	}
	ch := make(chan struct{})
	close(ch)
	return ch
}

// Run returns a run's record, from memory or the history.
func (s *Service) Run(id string) (Run, error) {
	s.mu.Lock()
	if lr, ok := s.live[id]; ok {
		r := lr.t.snapshot()
		s.mu.Unlock()
		return r, nil
	}
	i := slices.IndexFunc(s.recent, func(r Run) bool { return r.ID == id })
	if i >= 0 {
		r := s.recent[i]
		s.mu.Unlock()
		return r, nil
	}
	s.mu.Unlock()
	return s.history.Get(id)
}

// Events reads a run's events from the history for drill-down: see Filter.
func (s *Service) Events(id string, f Filter, from, limit int) ([]Event, error) {
	return s.history.Events(id, f, from, limit)
}

// Playbooks lists the playbooks in the playbook directory.
func (s *Service) Playbooks() ([]string, error) {
	ents, err := os.ReadDir(s.opt.PlaybookDir)
	if err != nil {
		return nil, fmt.Errorf("read ansible.playbook_dir: %w", err)
	}
	var out []string
	for _, e := range ents {
		if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".yml" || ext == ".yaml") {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// Inventory is the inventory runs use now.
func (s *Service) Inventory() *Inventory {
	return BuildInventory(s.opt.Hosts(), s.opt.Inventory)
}

func (s *Service) playbookPath(name string) (string, error) {
	if name == "" || name != filepath.Base(name) || strings.HasPrefix(name, ".") {
		return "", fmt.Errorf("playbook %q: give a file name from the playbook directory", name)
	}
	p := filepath.Join(s.opt.PlaybookDir, name)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("playbook %s: %w: see ansible.playbook_dir in the config", name, errors.Unwrap(err))
	}
	return p, nil
}

// resolve turns a target into the host names it covers now.
func resolve(inv *Inventory, t Target) ([]string, error) {
	var hosts []string
	switch t.Kind {
	case TargetAll, "":
		hosts = inv.Hosts()
	case TargetHosts:
		for _, h := range t.Hosts {
			if _, ok := inv.HostVars[h]; !ok {
				return nil, fmt.Errorf("host %s is not in the inventory (gone, or without an address yet)", h)
			}
		}
		hosts = slices.Clone(t.Hosts)
	case TargetTag:
		hosts = inv.Groups[GroupName(t.Name)]
	case TargetGroup:
		hosts = inv.Groups[t.Name]
	default:
		return nil, fmt.Errorf("unknown target kind %q", t.Kind)
	}
	if len(hosts) == 0 {
		return nil, fmt.Errorf("%s matches no host", t)
	}
	return hosts, nil
}

func (r Run) params() map[string]string {
	p := map[string]string{"playbook": r.Playbook, "target": r.Target.String(), "mode": string(r.Mode), "run": r.ID}
	if len(r.Limit) > 0 {
		p["hosts"] = strings.Join(r.Limit, ",")
	}
	for k, v := range r.ExtraVars {
		p["var."+k] = v
	}
	if r.RerunOf != "" {
		p["rerun_of"] = r.RerunOf
	}
	for h, fp := range r.KeysRecorded {
		p["key_recorded."+h] = fp
	}
	return p
}

func action(m Mode) access.Action {
	if m == Check {
		return ActCheck
	}
	return ActApply
}

// Start starts a run and returns its id; it goes on after ctx ends. Follow
// it with Progress and Subscribe, stop it with Cancel.
func (s *Service) Start(ctx context.Context, actor access.Actor, req Request) (string, error) {
	return s.start(ctx, actor, req, "")
}

// RerunFailed runs a finished run's playbook again, with the same mode and
// variables, on the hosts that failed or were unreachable in it.
func (s *Service) RerunFailed(ctx context.Context, actor access.Actor, runID string, vault, become []byte) (string, error) {
	prev, err := s.Run(runID)
	if err != nil {
		return "", err
	}
	if prev.State == Running {
		return "", fmt.Errorf("run %s is still running: wait for it or cancel it first", runID)
	}
	failed := prev.FailedHosts()
	if len(failed) == 0 {
		return "", fmt.Errorf("run %s has no failed host to rerun", runID)
	}
	return s.start(ctx, actor, Request{
		Playbook: prev.Playbook, Target: Target{Kind: TargetHosts, Hosts: failed}, Mode: prev.Mode,
		ExtraVars: prev.ExtraVars, VaultPassword: vault, BecomePassword: become,
	}, runID)
}

func (s *Service) start(ctx context.Context, actor access.Actor, req Request, rerunOf string) (string, error) {
	if req.Mode == "" {
		req.Mode = Apply
	}
	run := Run{
		ID: s.newID(), Playbook: req.Playbook, Target: req.Target, Mode: req.Mode, ExtraVars: req.ExtraVars,
		Actor: actor.String(), RerunOf: rerunOf, Started: s.opt.Now(), State: Running,
	}
	act := action(req.Mode)
	target := "playbook/" + req.Playbook
	if err := s.opt.Guard.Check(actor, act); err != nil {
		return "", errors.Join(err, s.journal.Record(ctx, actor, act.Name, target, run.params(), err))
	}
	path, err := s.playbookPath(req.Playbook)
	if err != nil {
		return "", err
	}
	inv := s.Inventory()
	hosts, err := resolve(inv, req.Target)
	if err != nil {
		return "", err
	}
	if req.Target.Kind != TargetAll && req.Target.Kind != "" {
		run.Limit = hosts
	}
	static, err := inv.Static()
	if err != nil {
		return "", err
	}
	if run.KeysRecorded, err = s.checkHostKeys(ctx, inv, hosts); err != nil {
		return "", errors.Join(err, s.journal.Record(ctx, actor, act.Name, target, run.params(), err))
	}
	// An applying run holds its hosts; a check run changes nothing and
	// holds none.
	var held []string
	holder := s.holderName(actor, run.ID)
	if req.Mode == Apply {
		if len(req.Anyway) > 0 {
			if err := s.opt.Guard.Check(actor, ActRunAnyway); err != nil {
				return "", errors.Join(err, s.journal.Record(ctx, actor, ActRunAnyway.Name, target, run.params(), err))
			}
		}
		var overridden []string
		if held, overridden, err = s.lockHosts(ctx, hosts, holder, req.Anyway); err != nil {
			return "", errors.Join(err, s.journal.Record(ctx, actor, act.Name, target, run.params(), err))
		}
		if len(overridden) > 0 {
			params := run.params()
			params["overrode"] = strings.Join(overridden, ", ")
			if err := s.journal.Record(ctx, actor, ActRunAnyway.Name, target, params, nil); err != nil {
				s.unlockHosts(ctx, held, holder)
				return "", err
			}
		}
	}
	if err := s.history.Put(run); err != nil {
		s.unlockHosts(ctx, held, holder)
		return "", err
	}
	spec := Spec{
		Playbook: path, Inventory: static, Limit: run.Limit, Check: req.Mode == Check, ExtraVars: req.ExtraVars,
		VaultPassword: slices.Clone(req.VaultPassword), BecomePassword: slices.Clone(req.BecomePassword),
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	lr := &liveRun{t: newTracker(run, hosts, s.expectedTasks(req.Playbook, req.Mode)), cancel: cancel, done: make(chan struct{})}
	s.mu.Lock()
	s.live[run.ID] = lr
	s.subs.Notify()
	s.mu.Unlock()
	// The run shows to every session until it is journaled, and holds its
	// hosts as long.
	shown := presence.Begin(ctx, running(run, hosts))
	release := make(chan struct{})
	kept := make(chan struct{})
	go func() { defer close(kept); s.keepHosts(runCtx, held, holder, release) }()
	end := func() { close(release); <-kept; shown() }
	go s.execute(runCtx, actor, lr, spec, end)
	return run.ID, nil
}

// running says what a run does, for the other sessions: "running site.yml
// on web-1 and web-2", "rerunning site.yml in check mode on 5 hosts".
func running(r Run, hosts []string) string {
	verb := "running "
	if r.RerunOf != "" {
		verb = "rerunning "
	}
	mode := ""
	if r.Mode == Check {
		mode = " in check mode"
	}
	var on string
	switch n := len(hosts); {
	case n == 1:
		on = hosts[0]
	case n <= 3:
		on = strings.Join(hosts[:n-1], ", ") + " and " + hosts[n-1]
	default:
		on = strconv.Itoa(n) + " hosts"
	}
	return verb + r.Playbook + mode + " on " + on
}

// newID makes a run id that sorts by start time.
func (s *Service) newID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.opt.Now().UTC().Format("20060102T150405.000000000")
	if id <= s.lastID {
		id = s.lastID + "1"
	}
	s.lastID = id
	return id
}

// expectedTasks is the task count of the last finished run of the same
// playbook in the same mode: Ansible's event stream does not announce it.
func (s *Service) expectedTasks(playbook string, mode Mode) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.recent {
		if r.Playbook == playbook && r.Mode == mode && (r.State == Succeeded || r.State == Failed) && r.Limit == nil {
			return r.Tasks
		}
	}
	return 0
}

// Event batches go to disk at this size or age, whichever comes first.
const (
	flushEvents = 64
	flushAge    = 250 * time.Millisecond
)

// execute runs lr to its end, records it, then calls end.
func (s *Service) execute(ctx context.Context, actor access.Actor, lr *liveRun, spec Spec, end func()) {
	id := lr.t.run.ID
	var pending []Event
	var herr error
	lastFlush := time.Now() // the batching of writes goes by the real clock
	flush := func() {
		if err := s.history.Append(id, pending); err != nil && herr == nil {
			herr = err
		}
		pending, lastFlush = pending[:0], time.Now()
	}
	seq := 0
	emit := func(e Event) {
		seq++
		e.Seq = seq
		s.mu.Lock()
		lr.t.apply(e)
		s.subs.Notify()
		s.mu.Unlock()
		pending = append(pending, e)
		if len(pending) >= flushEvents || time.Since(lastFlush) >= flushAge {
			flush()
		}
	}
	err := s.runner.Run(ctx, spec, emit)
	flush()

	s.mu.Lock()
	run := lr.t.run
	switch {
	case lr.cancelled || (err != nil && ctx.Err() != nil):
		run.State = Cancelled
		err = fmt.Errorf("run cancelled: %w", context.Canceled)
	case err == nil:
		run.State = Succeeded
	case errors.Is(err, ErrHostsFailed):
		run.State = Failed
	default:
		run.State = Errored
	}
	if err != nil {
		run.Error = err.Error()
	}
	if herr != nil {
		run.Error = strings.TrimPrefix(run.Error+"; ", "; ") + "some events were not saved: " + herr.Error()
	}
	run.Ended = s.opt.Now()
	lr.t.run = run
	s.mu.Unlock()

	perr := s.history.Put(run)
	params := run.params()
	params["state"] = string(run.State)
	params["recap"] = recapSummary(run.Recap)
	// How long the run took, for vigil serve's metrics (as release's).
	params["duration"] = run.Ended.Sub(run.Started).String()
	jerr := s.journal.Record(ctx, actor, action(run.Mode).Name, "playbook/"+run.Playbook, params, err)
	if perr != nil || jerr != nil {
		run.Error = strings.TrimPrefix(run.Error+"; ", "; ") + errors.Join(perr, jerr).Error()
	}
	end()

	s.mu.Lock()
	delete(s.live, id)
	s.recent = append([]Run{run}, s.recent...)
	if len(s.recent) > s.opt.RecentRuns {
		s.recent = s.recent[:s.opt.RecentRuns]
	}
	close(lr.done)
	s.subs.Notify()
	s.mu.Unlock()
	lr.cancel()
}

// recapSummary is the recap in one line for the journal.
func recapSummary(recap map[string]Recap) string {
	hosts := make([]string, 0, len(recap))
	for h := range recap {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	var b strings.Builder
	for i, h := range hosts {
		r := recap[h]
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s ok=%d changed=%d unreachable=%d failed=%d skipped=%d rescued=%d ignored=%d",
			h, r.OK, r.Changed, r.Unreachable, r.Failed, r.Skipped, r.Rescued, r.Ignored)
	}
	return b.String()
}

// Cancel interrupts a live run: Ansible gets SIGINT and time to clean up,
// then the run is recorded as cancelled. It returns without waiting; wait
// on Done.
func (s *Service) Cancel(ctx context.Context, actor access.Actor, id string) error {
	s.mu.Lock()
	lr, ok := s.live[id]
	var run Run
	if ok {
		run = lr.t.snapshot()
	}
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("run %s is not running", id)
	}
	target := "playbook/" + run.Playbook
	err := s.opt.Guard.Check(actor, ActCancel)
	if err == nil {
		s.mu.Lock()
		lr.cancelled = true
		s.mu.Unlock()
		lr.cancel()
	}
	return errors.Join(err, s.journal.Record(ctx, actor, ActCancel.Name, target, map[string]string{"run": id}, err))
}
