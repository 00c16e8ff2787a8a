// Package handover is the shift hand-over: a summary of what is still
// open (firing alerts, acknowledgements, incidents, rollouts in flight,
// frozen environments, playbook runs in progress) and a free text, written
// to the journal by the person leaving, read by the next one.
package handover

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ops/playbook"
	"github.com/vigilops/vigil/ops/release"
)

// Entry is the journal action of a hand-over, on Target; its parameters
// are "text" (the free text), "summary" (one line of counts) and "json"
// (the Handover).
const (
	Entry  = "handover"
	Target = "handover"
)

// Action writes a hand-over: anyone may, but not in read-only mode.
var Action = access.Action{Name: "write a hand-over", MinRole: access.Viewer, Mutates: true}

// MaxText bounds the free text.
const MaxText = 8000

// Journal is the audit journal as the hand-over uses it.
type Journal interface {
	Record(ctx context.Context, actor access.Actor, action, target string, params map[string]string, err error) error
	Query(q audit.Query) ([]audit.Entry, error)
}

// Alerts is where the firing alerts and open incidents come from;
// *incident.Service is one.
type Alerts interface {
	Snapshot() *incident.Snapshot
	Incidents() ([]incident.Incident, error)
}

// Releases gives the release matrix; *release.Service is one.
type Releases interface{ Matrix() *release.Matrix }

// Runs gives the playbook runs of this process; *playbook.Service is one.
type Runs interface{ Runs() []playbook.Run }

// Sources are what a hand-over summarises; nil ones are said unknown.
type Sources struct {
	Alerts   Alerts
	Releases Releases
	Runs     Runs
	// Incidents, when Alerts is nil, reads the incidents from the journal.
	Incidents func() ([]incident.Incident, error)
	// ReleasesErr says why Releases is nil when Kubernetes is configured
	// but did not answer.
	ReleasesErr error
}

// SourcesOf builds Sources from the process's services, any of them nil
// when not configured (a nil service never becomes a non-nil interface).
func SourcesOf(alerts *incident.Service, releases *release.Service, runs *playbook.Service) Sources {
	var s Sources
	if alerts != nil {
		s.Alerts = alerts
	}
	if releases != nil {
		s.Releases = releases
	}
	if runs != nil {
		s.Runs = runs
	}
	return s
}

// Handover is one hand-over.
type Handover struct {
	Time      time.Time  `json:"time"`
	By        string     `json:"by"`
	Text      string     `json:"text,omitempty"`
	Firing    []Alert    `json:"firing"`
	Acks      []Ack      `json:"acks"`
	Incidents []Incident `json:"incidents"`
	Rollouts  []Rollout  `json:"rollouts"`
	Frozen    []Frozen   `json:"frozen"`
	Runs      []Run      `json:"runs"`
	// Unknown names what could not be read (a source not configured or
	// unreachable), so that an empty list is not taken for "nothing".
	Unknown []string `json:"unknown,omitempty"`
}

// Alert is a firing alert.
type Alert struct {
	Name        string    `json:"alertname"`
	Severity    string    `json:"severity,omitempty"`
	Where       string    `json:"where,omitempty"`
	State       string    `json:"state"`
	Since       time.Time `json:"since"`
	Fingerprint string    `json:"fingerprint"`
}

// Ack is an acknowledgement held on a firing alert.
type Ack struct {
	Alert     string    `json:"alert"`
	Where     string    `json:"where,omitempty"`
	Owner     string    `json:"owner"`
	Comment   string    `json:"comment"`
	Until     time.Time `json:"until"`
	SilenceID string    `json:"silence"`
}

// Incident is an open incident.
type Incident struct {
	ID      string    `json:"id"`
	Title   string    `json:"title"`
	Start   time.Time `json:"start"`
	Actions int       `json:"actions"`
}

// Rollout is a rollout in flight: a workload not yet rolled out, or not
// healthy.
type Rollout struct {
	App     string `json:"app"`
	Env     string `json:"env"`
	Version string `json:"version"`
	Health  string `json:"health"`
	Ready   string `json:"ready"` // "available/desired"
	Reason  string `json:"reason,omitempty"`
}

// Frozen is a frozen environment.
type Frozen struct {
	Env    string    `json:"env"`
	Reason string    `json:"reason"`
	By     string    `json:"by"`
	Until  time.Time `json:"until"`
}

// Run is a playbook run in progress.
type Run struct {
	ID       string    `json:"id"`
	Playbook string    `json:"playbook"`
	Target   string    `json:"target"`
	Actor    string    `json:"actor"`
	Started  time.Time `json:"started"`
}

// Collect reads the sources at now.
func Collect(src Sources, now time.Time) Handover {
	h := Handover{Time: now, Firing: []Alert{}, Acks: []Ack{}, Incidents: []Incident{}, Rollouts: []Rollout{}, Frozen: []Frozen{}, Runs: []Run{}}
	if src.Alerts != nil {
		snap := src.Alerts.Snapshot()
		for _, p := range snap.Problems(now) {
			h.Unknown = append(h.Unknown, p)
		}
		for _, a := range snap.Alerts {
			if !a.Active() || a.State == incident.Pending {
				continue
			}
			where := a.Workload
			if where == "" {
				where = a.Host
			}
			since := a.StateSince
			if since.IsZero() {
				since = a.StartsAt
			}
			h.Firing = append(h.Firing, Alert{Name: a.Name, Severity: string(a.Severity), Where: where, State: string(a.State), Since: since, Fingerprint: a.Fingerprint})
			if a.Ack != nil {
				h.Acks = append(h.Acks, Ack{Alert: a.Name, Where: where, Owner: a.Ack.Owner, Comment: a.Ack.Comment, Until: a.Ack.EndsAt, SilenceID: a.Ack.SilenceID})
			}
		}
	} else {
		h.Unknown = append(h.Unknown, "firing alerts and acknowledgements: Prometheus and Alertmanager are not configured")
	}
	incs := src.Incidents
	if src.Alerts != nil {
		incs = src.Alerts.Incidents
	}
	if incs != nil {
		all, err := incs()
		if err != nil {
			h.Unknown = append(h.Unknown, "incidents: "+err.Error())
		}
		for _, inc := range all {
			if inc.Open() {
				h.Incidents = append(h.Incidents, Incident{ID: inc.ID, Title: inc.Title, Start: inc.Start, Actions: inc.Actions})
			}
		}
	}
	if src.Releases != nil {
		m := src.Releases.Matrix()
		for _, e := range m.Envs {
			if e.Freeze.Active(now) {
				h.Frozen = append(h.Frozen, Frozen{Env: e.Name, Reason: e.Freeze.Reason, By: e.Freeze.By, Until: e.Freeze.Until})
			}
		}
		for _, r := range m.Rows {
			for _, c := range r.Cells {
				if c.Workload == nil || (c.RolledOut && c.Health == release.Healthy) {
					continue
				}
				h.Rollouts = append(h.Rollouts, Rollout{App: r.App, Env: c.Env, Version: c.Version, Health: string(c.Health),
					Ready: fmt.Sprintf("%d/%d", c.Available, c.Desired), Reason: c.Reason})
			}
		}
	} else if src.ReleasesErr != nil {
		h.Unknown = append(h.Unknown, "rollouts and freezes: "+src.ReleasesErr.Error())
	} else {
		h.Unknown = append(h.Unknown, "rollouts and freezes: Kubernetes is not configured")
	}
	if src.Runs != nil {
		for _, r := range src.Runs.Runs() {
			if r.Ended.IsZero() {
				h.Runs = append(h.Runs, Run{ID: r.ID, Playbook: r.Playbook, Target: r.Target.String(), Actor: r.Actor, Started: r.Started})
			}
		}
		slices.SortFunc(h.Runs, func(a, b Run) int { return a.Started.Compare(b.Started) })
	} else {
		h.Unknown = append(h.Unknown, "playbook runs in progress: only the console that runs them knows them")
	}
	slices.SortStableFunc(h.Firing, func(a, b Alert) int {
		if c := cmp.Compare(incident.Severity(b.Severity).Rank(), incident.Severity(a.Severity).Rank()); c != 0 {
			return c
		}
		return a.Since.Compare(b.Since)
	})
	return h
}

// Write journals h as written by actor with the free text text, and
// returns it as journaled. The attempt is journaled, refusals included.
func Write(ctx context.Context, actor access.Actor, guard access.Guard, j Journal, h Handover, text string) (Handover, error) {
	h.By, h.Text = actor.Name, strings.TrimSpace(text)
	err := guard.Check(actor, Action)
	if err == nil && len(h.Text) > MaxText {
		err = fmt.Errorf("a hand-over text of %d bytes is over %d: keep it short, link to the rest", len(h.Text), MaxText)
	}
	params := map[string]string{"text": h.Text, "summary": Summary(h)}
	if err == nil {
		b, merr := json.Marshal(h)
		if merr != nil {
			err = merr
		} else {
			params["json"] = string(b)
		}
	}
	if jerr := j.Record(ctx, actor, Entry, Target, params, err); jerr != nil {
		if err != nil {
			return h, fmt.Errorf("%w (and the journal failed: %v)", err, jerr)
		}
		return h, fmt.Errorf("the hand-over could not be journaled: %w", jerr)
	}
	return h, err
}

// ErrNoHandover is what Latest returns when no hand-over was written.
var ErrNoHandover = errors.New("no hand-over has been written yet: vigil handover --text '…' writes one")

// Latest returns the newest hand-over in the journal, and the time it was
// journaled.
func Latest(j Journal) (Handover, error) {
	es, err := j.Query(audit.Query{Target: Target})
	if err != nil && len(es) == 0 {
		return Handover{}, fmt.Errorf("reading the journal: %w", err)
	}
	for i := len(es) - 1; i >= 0; i-- {
		e := es[i]
		if e.Action != Entry || e.Result != audit.OK {
			continue
		}
		return FromEntry(e)
	}
	return Handover{}, ErrNoHandover
}

// FromEntry reads the hand-over a journal entry of action Entry holds.
func FromEntry(e audit.Entry) (Handover, error) {
	var h Handover
	if err := json.Unmarshal([]byte(e.Parameters["json"]), &h); err != nil {
		return Handover{}, fmt.Errorf("the hand-over of %s at %s cannot be read: %w", e.Actor, e.Time.Format(time.RFC3339), err)
	}
	h.Time, h.By = e.Time, e.Actor
	return h, nil
}

// Summary is one line of counts: "2 firing, 1 acknowledged, 1 open
// incident, 1 rollout in flight, 0 frozen, 0 runs".
func Summary(h Handover) string {
	n := func(k int, one, many string) string {
		if k == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %s", k, many)
	}
	return strings.Join([]string{
		n(len(h.Firing), "alert firing", "alerts firing"),
		n(len(h.Acks), "acknowledged", "acknowledged"),
		n(len(h.Incidents), "open incident", "open incidents"),
		n(len(h.Rollouts), "rollout in flight", "rollouts in flight"),
		n(len(h.Frozen), "frozen environment", "frozen environments"),
		n(len(h.Runs), "run in progress", "runs in progress"),
	}, ", ")
}

// SeenEntry is journaled when a hand-over was shown to someone as they
// opened vigil, so that each person sees each hand-over once.
const SeenEntry = "handover.seen"

// Unseen returns the latest hand-over when reader has not seen it yet: not
// written by them, and not shown to them since it was written. ok is false
// when there is none to show.
func Unseen(j Journal, reader string) (h Handover, ok bool, err error) {
	h, err = Latest(j)
	if errors.Is(err, ErrNoHandover) {
		return Handover{}, false, nil
	}
	if err != nil || h.By == reader {
		return Handover{}, false, err
	}
	seen, err := j.Query(audit.Query{Actor: reader, Target: Target, Since: h.Time})
	if err != nil {
		return Handover{}, false, fmt.Errorf("reading the journal: %w", err)
	}
	for _, e := range seen {
		if e.Action == SeenEntry {
			return Handover{}, false, nil
		}
	}
	return h, true, nil
}

// MarkSeen journals that reader was shown the latest hand-over.
func MarkSeen(ctx context.Context, j Journal, reader access.Actor) error {
	return j.Record(ctx, reader, SeenEntry, Target, nil, nil)
}
