package playbook

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Mode is how a playbook runs.
type Mode string

const (
	Apply Mode = "apply"
	Check Mode = "check" // --check --diff: report what would change, change nothing
)

// TargetKind says what a target names.
type TargetKind string

const (
	TargetAll   TargetKind = "all"
	TargetHosts TargetKind = "hosts" // a selection of host names
	TargetTag   TargetKind = "tag"
	TargetGroup TargetKind = "group" // any inventory group: tag, region_*, size_*
)

// Target is what a run applies to.
type Target struct {
	Kind  TargetKind `json:"kind"`
	Name  string     `json:"name,omitempty"`  // tag or group
	Hosts []string   `json:"hosts,omitempty"` // TargetHosts
}

func (t Target) String() string {
	switch t.Kind {
	case TargetHosts:
		return "hosts " + joinShort(t.Hosts)
	case TargetTag, TargetGroup:
		return string(t.Kind) + " " + t.Name
	}
	return "all hosts"
}

func joinShort(hs []string) string {
	if len(hs) > 3 {
		return hs[0] + ", " + hs[1] + ", " + hs[2] + " and " + strconv.Itoa(len(hs)-3) + " more"
	}
	return strings.Join(hs, ", ")
}

// Spec is one ansible-playbook invocation, as the Runner port receives it.
type Spec struct {
	Playbook  string // absolute path
	Inventory []byte // Inventory.Static
	Limit     []string
	Check     bool // with Diff
	ExtraVars map[string]string
	// Passwords reach Ansible through pipes, never files or arguments; the
	// runner wipes them once written.
	VaultPassword  []byte
	BecomePassword []byte
}

// Runner runs playbooks. Run calls emit for each event in order, and
// returns when the process has ended. When ctx ends, it interrupts the
// process (SIGINT), waits for it to clean up, then kills what is left.
type Runner interface {
	Run(ctx context.Context, spec Spec, emit func(Event)) error
}

// ErrHostsFailed is wrapped by a Runner's error when the playbook ran but
// some hosts failed or were unreachable.
var ErrHostsFailed = errors.New("the playbook failed on some hosts")

// State is where a run is.
type State string

const (
	Running     State = "running"
	Succeeded   State = "succeeded"
	Failed      State = "failed"    // some hosts failed
	Errored     State = "error"     // Ansible could not run the playbook
	Cancelled   State = "cancelled" // interrupted on request
	Interrupted State = "interrupted"
)

// Run is one playbook run: its request, outcome and recap. Its events are in
// the history, not here.
type Run struct {
	ID        string            `json:"id"`
	Playbook  string            `json:"playbook"`
	Target    Target            `json:"target"`
	Limit     []string          `json:"limit,omitempty"` // the hosts it ran on
	Mode      Mode              `json:"mode"`
	ExtraVars map[string]string `json:"extra_vars,omitempty"`
	Actor     string            `json:"actor"`
	RerunOf   string            `json:"rerun_of,omitempty"`
	// KeysRecorded are the SSH host keys first seen by this run (trust on
	// first contact), by host.
	KeysRecorded map[string]string `json:"keys_recorded,omitempty"`
	Started      time.Time         `json:"started"`
	Ended        time.Time         `json:"ended,omitzero"`
	State        State             `json:"state"`
	Error        string            `json:"error,omitempty"`
	Recap        map[string]Recap  `json:"recap,omitempty"`
	Events       int               `json:"events"`
	Tasks        int               `json:"tasks"` // tasks started
}

// FailedHosts lists the hosts the recap shows failed or unreachable.
func (r Run) FailedHosts() []string {
	var out []string
	for h, rc := range r.Recap {
		if rc.Failed > 0 || rc.Unreachable > 0 {
			out = append(out, h)
		}
	}
	slices.Sort(out)
	return out
}

// HostProgress is one host's place in a live run.
type HostProgress struct {
	Task   string // the task it is on, or last finished
	Last   Status // its result of the last task it finished ("" before any)
	Done   int    // tasks it finished
	Failed bool
}

// Progress is a live run as a pane shows it. It is a copy, safe to keep.
type Progress struct {
	Run Run
	// TasksDone counts tasks every host has moved past; TasksTotal is the
	// task count of this playbook's last finished run (0: unknown yet).
	TasksDone, TasksTotal int
	Play, Task            string
	Hosts                 map[string]HostProgress
	// Recent holds the last RecentEvents events, oldest first, without
	// their outputs (Stdout, Stderr, Diff) and with Msg cut at
	// recentMsg bytes: read the full events with Service.Events.
	Recent []Event
}

// RecentEvents is how many events a live run keeps in memory; all of them
// are in the history.
const RecentEvents = 200

const recentMsg = 512

// tracker folds events into a run's live state, in bounded memory: per-host
// state, and a ring of recent events.
type tracker struct {
	run    Run
	total  int
	play   string
	task   string
	hosts  map[string]*HostProgress
	recent []Event
	next   int // ring position
	live   map[string]Recap
}

func newTracker(run Run, hosts []string, total int) *tracker {
	t := &tracker{run: run, total: total, hosts: map[string]*HostProgress{}, live: map[string]Recap{}}
	for _, h := range hosts {
		t.hosts[h] = &HostProgress{}
	}
	return t
}

// snapshot is the live run as a reader may keep it: its recap is a copy,
// since apply goes on writing the tracker's own (under the service's lock).
func (t *tracker) snapshot() Run {
	r := t.run
	r.Recap = maps.Clone(r.Recap)
	return r
}

func (t *tracker) apply(e Event) {
	t.run.Events++
	t.remember(e)
	switch e.Kind {
	case KindPlay:
		t.play = e.Play
	case KindTask:
		t.run.Tasks++
		t.task = e.Task
		for _, hp := range t.hosts {
			if !hp.Failed {
				hp.Task = e.Task
			}
		}
	case KindResult:
		hp := t.hosts[e.Host]
		if hp == nil {
			hp = &HostProgress{}
			t.hosts[e.Host] = hp
		}
		hp.Task, hp.Last = e.Task, e.Status
		hp.Done++
		rc := t.live[e.Host]
		switch e.Status {
		case StatusOK:
			rc.OK++
		case StatusChanged:
			rc.OK++
			rc.Changed++
		case StatusFailed:
			rc.Failed++
			hp.Failed = true
		case StatusSkipped:
			rc.Skipped++
		case StatusUnreachable:
			rc.Unreachable++
			hp.Failed = true
		}
		t.live[e.Host] = rc
	case KindStats:
		// Ansible's own recap is the truth (it knows rescued and ignored).
		t.live = maps.Clone(e.Recap)
	}
	t.run.Recap = t.live
}

// remember keeps a light copy of e in the ring of recent events.
func (t *tracker) remember(e Event) {
	e.Stdout, e.Stderr, e.Diff = "", "", ""
	if len(e.Msg) > recentMsg {
		e.Msg = strings.Clone(e.Msg[:recentMsg]) + "…"
	}
	if len(t.recent) < RecentEvents {
		t.recent = append(t.recent, e)
		return
	}
	t.recent[t.next] = e
	t.next = (t.next + 1) % RecentEvents
}

func (t *tracker) progress() Progress {
	p := Progress{Run: t.run, TasksTotal: t.total, Play: t.play, Task: t.task, Hosts: make(map[string]HostProgress, len(t.hosts))}
	p.Run.Recap = maps.Clone(t.live)
	p.TasksDone = max(t.run.Tasks-1, 0)
	if t.run.State != Running {
		p.TasksDone = t.run.Tasks
	}
	for h, hp := range t.hosts {
		p.Hosts[h] = *hp
	}
	p.Recent = make([]Event, 0, len(t.recent))
	p.Recent = append(p.Recent, t.recent[t.next:]...)
	p.Recent = append(p.Recent, t.recent[:t.next]...)
	return p
}
