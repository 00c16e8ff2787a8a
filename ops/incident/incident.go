package incident

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/release"
)

// Incident is a group of alerts from its first firing to its last
// resolution: the alerts on one workload, else on one host, else of one
// alert name (see IncidentKey). It is derived from the journal's alert
// transitions (FiringEntry, ResolvedEntry), so that it outlives the
// process and Alertmanager's memory of the alerts.
type Incident struct {
	// ID is stable: a short hash of Key and Start.
	ID  string `json:"id"`
	Key string `json:"key"`
	// Title says what and where: "AppHighErrorRate on shop-prod/api".
	Title    string   `json:"title"`
	Severity Severity `json:"severity,omitempty"`
	Workload string   `json:"workload,omitempty"`
	Host     string   `json:"host,omitempty"`
	// Rollouts are the "ENV/APP" of the workload, as the journal names it.
	Rollouts []string `json:"rollouts,omitempty"`
	// Start is the first firing; End the last resolution, zero while open.
	Start time.Time `json:"start"`
	End   time.Time `json:"end,omitzero"`
	// Acknowledged is the first acknowledgement after Start; Mitigated the
	// first corrective action (rollback, restart, scale, promotion,
	// playbook run, pause); zero when none. Filled with the timeline.
	Acknowledged time.Time `json:"acknowledged,omitzero"`
	Mitigated    time.Time `json:"mitigated,omitzero"`
	// Actions counts what people did during the incident (the timeline's
	// entries that are neither alert transitions nor notes).
	Actions  int             `json:"actions"`
	Alerts   []IncidentAlert `json:"alerts"`
	Timeline []TimelineEntry `json:"timeline,omitempty"`
}

// Open reports whether an alert of the incident still fires.
func (i *Incident) Open() bool { return i.End.IsZero() }

// Duration is how long the incident lasted, or has lasted at now.
func (i *Incident) Duration(now time.Time) time.Duration {
	if i.Open() {
		return now.Sub(i.Start)
	}
	return i.End.Sub(i.Start)
}

// TimeToAcknowledge and TimeToMitigate are measured from Start; 0 when it
// did not happen.
func (i *Incident) TimeToAcknowledge() time.Duration { return since(i.Start, i.Acknowledged) }
func (i *Incident) TimeToMitigate() time.Duration    { return since(i.Start, i.Mitigated) }

func since(a, b time.Time) time.Duration {
	if b.IsZero() {
		return 0
	}
	return max(b.Sub(a), 0)
}

// IncidentAlert is one alert of an incident, as the journal recorded it.
type IncidentAlert struct {
	Fingerprint string            `json:"fingerprint"`
	Name        string            `json:"alertname"`
	Severity    Severity          `json:"severity,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Summary     string            `json:"summary,omitempty"`
	RunbookURL  string            `json:"runbookURL,omitempty"`
	// Expr is the rule's expression; ValueExpr the side of it that is
	// measured. From the journal, else Prometheus's rules, else the
	// generator URL.
	Expr         string    `json:"expr,omitempty"`
	ValueExpr    string    `json:"valueExpr,omitempty"`
	GeneratorURL string    `json:"generatorURL,omitempty"`
	FiredAt      time.Time `json:"firedAt"`
	ResolvedAt   time.Time `json:"resolvedAt,omitzero"`
	// ValueAtFiring and ValueAtResolution are the measured expression's
	// values then, when known.
	ValueAtFiring     string `json:"valueAtFiring,omitempty"`
	ValueAtResolution string `json:"valueAtResolution,omitempty"`
	firing            bool
}

// Kind is what a timeline entry is.
type Kind string

const (
	KindFiring   Kind = "firing"
	KindResolved Kind = "resolved"
	KindAck      Kind = "ack"
	KindUnack    Kind = "unack"
	KindPromote  Kind = "promote"
	KindRollback Kind = "rollback"
	KindScale    Kind = "scale"
	KindRestart  Kind = "restart"
	KindPause    Kind = "pause"
	KindResume   Kind = "resume"
	KindRollout  Kind = "rollout"
	KindPlaybook Kind = "playbook"
	KindCommand  Kind = "command"
	KindFreeze   Kind = "freeze"
	KindNote     Kind = "note"
)

// LinkKind says what a timeline entry's link points at.
type LinkKind string

const (
	LinkAlert    LinkKind = "alert"    // ID is the fingerprint
	LinkSilence  LinkKind = "silence"  // ID is the silence id
	LinkRollout  LinkKind = "rollout"  // ID is "ENV/APP"
	LinkRun      LinkKind = "run"      // ID is the playbook run id
	LinkEnv      LinkKind = "env"      // ID is the environment
	LinkIncident LinkKind = "incident" // ID is the incident id
	LinkHost     LinkKind = "host"     // ID is the host
)

// Link is what a timeline entry refers to: enter in the console jumps
// there.
type Link struct {
	Kind LinkKind `json:"kind"`
	ID   string   `json:"id"`
}

// TimelineEntry is one step of an incident's story.
type TimelineEntry struct {
	Time  time.Time `json:"time"`
	Kind  Kind      `json:"kind"`
	Actor string    `json:"actor"`
	// Text says what happened, in one line.
	Text   string       `json:"text"`
	Link   Link         `json:"link"`
	Result audit.Result `json:"result"`
	Error  string       `json:"error,omitempty"`
	// Seq is the journal entry's.
	Seq uint64 `json:"seq"`
	// Recap is a playbook run's per-host recap; From and To a promotion's
	// or rollback's versions.
	Recap string `json:"recap,omitempty"`
	From  string `json:"from,omitempty"`
	To    string `json:"to,omitempty"`
}

// IncidentKey is how alerts group into incidents: by the workload they
// are about, else their host, else their name.
func IncidentKey(workload, host, alertname string) string {
	switch {
	case workload != "":
		return "workload/" + workload
	case host != "":
		return "host/" + host
	}
	return "alert/" + alertname
}

// IncidentID is the stable id of the incident of key that started at
// start: 10 hex digits.
func IncidentID(key string, start time.Time) string {
	h := sha256.Sum256([]byte(key + "\x00" + start.UTC().Format(time.RFC3339Nano)))
	return hex.EncodeToString(h[:5])
}

// at is when an entry happened: its "at" parameter (an alert transition
// journaled after the fact), else its time.
func at(e audit.Entry) time.Time {
	if v := e.Parameters["at"]; v != "" {
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t
		}
	}
	return e.Time
}

func paramTime(e audit.Entry, k string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, e.Parameters[k])
	return t
}

func labelsOf(p map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range p {
		if name, ok := strings.CutPrefix(k, "label."); ok {
			out[name] = v
		}
	}
	return out
}

// DeriveIncidents rebuilds the incidents from journal entries: the alert
// transitions among them, in the order they happened. An alert that fires
// joins the open incident of its key, or opens one; an incident ends when
// its last alert resolves. A repeated transition (two processes journaling
// the same) counts once. Newest first; timelines are not filled.
func DeriveIncidents(entries []audit.Entry) []Incident {
	var ts []audit.Entry
	for _, e := range entries {
		if (e.Action == FiringEntry || e.Action == ResolvedEntry) && e.Result == audit.OK {
			ts = append(ts, e)
		}
	}
	slices.SortStableFunc(ts, func(x, y audit.Entry) int {
		if c := at(x).Compare(at(y)); c != 0 {
			return c
		}
		return cmp.Compare(x.Seq, y.Seq)
	})
	var out []*Incident
	open := map[string]*Incident{}
	for _, e := range ts {
		p := e.Parameters
		fp := strings.TrimPrefix(e.Target, "alert/")
		key := IncidentKey(p["workload"], p["host"], p["alertname"])
		when := at(e)
		inc := open[key]
		var ia *IncidentAlert
		if inc != nil {
			for i := range inc.Alerts {
				if inc.Alerts[i].Fingerprint == fp {
					ia = &inc.Alerts[i]
				}
			}
		}
		switch e.Action {
		case FiringEntry:
			if ia != nil && ia.firing {
				continue // journaled twice
			}
			if inc == nil {
				inc = &Incident{Key: key, Start: when, Workload: p["workload"], Host: p["host"]}
				inc.ID = IncidentID(key, when)
				open[key] = inc
				out = append(out, inc)
			}
			if ia == nil {
				inc.Alerts = append(inc.Alerts, IncidentAlert{Fingerprint: fp, FiredAt: when})
				ia = &inc.Alerts[len(inc.Alerts)-1]
			}
			ia.firing, ia.ResolvedAt = true, time.Time{}
			fillAlert(ia, e)
			if ia.ValueAtFiring == "" {
				ia.ValueAtFiring = FormatValue(p["value"])
			}
			if r := p["rollout"]; r != "" && !slices.Contains(inc.Rollouts, r) {
				inc.Rollouts = append(inc.Rollouts, r)
			}
		case ResolvedEntry:
			if ia == nil {
				// Resolved with no firing journaled (it fired before any
				// vigil watched): an incident of its own, from its start.
				if inc != nil {
					continue // the open incident goes on
				}
				start := paramTime(e, "startsAt")
				if start.IsZero() || start.After(when) {
					start = when
				}
				done := &Incident{Key: key, Start: start, End: when, Workload: p["workload"], Host: p["host"], ID: IncidentID(key, start)}
				done.Alerts = []IncidentAlert{{Fingerprint: fp, FiredAt: start, ResolvedAt: when}}
				fillAlert(&done.Alerts[0], e)
				if r := p["rollout"]; r != "" {
					done.Rollouts = []string{r}
				}
				out = append(out, done)
				continue
			}
			if !ia.firing {
				continue
			}
			ia.firing, ia.ResolvedAt = false, when
			fillAlert(ia, e)
			if slices.IndexFunc(inc.Alerts, func(a IncidentAlert) bool { return a.firing }) < 0 {
				inc.End = when
				delete(open, key)
			}
		}
	}
	res := make([]Incident, 0, len(out))
	for _, inc := range out {
		inc.summarise()
		res = append(res, *inc)
	}
	slices.SortStableFunc(res, func(x, y Incident) int {
		if c := y.Start.Compare(x.Start); c != 0 {
			return c
		}
		return cmp.Compare(x.ID, y.ID)
	})
	return res
}

// fillAlert completes an incident alert with what a transition says.
func fillAlert(ia *IncidentAlert, e audit.Entry) {
	p := e.Parameters
	set := func(dst *string, k string) {
		if *dst == "" {
			*dst = p[k]
		}
	}
	set(&ia.Name, "alertname")
	set(&ia.Summary, "summary")
	set(&ia.RunbookURL, "runbook_url")
	set(&ia.Expr, "expr")
	set(&ia.ValueExpr, "valueExpr")
	set(&ia.GeneratorURL, "generatorURL")
	if ia.Severity == "" {
		ia.Severity = Severity(p["severity"])
	}
	if len(ia.Labels) == 0 {
		ia.Labels = labelsOf(p)
	}
	if ia.Expr == "" {
		ia.Expr = ExprOfGeneratorURL(ia.GeneratorURL)
	}
}

// ExprOfGeneratorURL reads the expression out of a Prometheus generator
// URL (its g0.expr parameter); "" when it has none.
func ExprOfGeneratorURL(u string) string {
	if u == "" {
		return ""
	}
	pu, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return pu.Query().Get("g0.expr")
}

// summarise sets the title and severity from the alerts.
func (i *Incident) summarise() {
	names := []string{}
	for _, a := range i.Alerts {
		if a.Severity.Rank() > i.Severity.Rank() {
			i.Severity = a.Severity
		}
		if !slices.Contains(names, a.Name) {
			names = append(names, a.Name)
		}
	}
	what := strings.Join(names, ", ")
	switch where := i.Where(); {
	case where != "":
		i.Title = what + " on " + where
	default:
		i.Title = what
	}
}

// Where is the workload, else the host, the incident is about.
func (i *Incident) Where() string {
	if i.Workload != "" {
		return i.Workload
	}
	return i.Host
}

// Lead and Tail widen an incident's window for the changes on its
// workload and host: what was done shortly before the first firing (the
// promotion that caused it) and shortly after the last resolution (the
// rollout that settles).
const (
	TimelineLead = 15 * time.Minute
	TimelineTail = 5 * time.Minute
)

// BuildTimeline fills inc's timeline from the journal entries around it
// (those from inc.Start-TimelineLead to inc.End+TimelineTail, or now when
// open, and the notes on the incident whenever they were written), and the
// times to acknowledge and mitigate and the count of actions.
func BuildTimeline(inc *Incident, entries []audit.Entry, now time.Time) {
	fps := map[string]bool{}
	for _, a := range inc.Alerts {
		fps[a.Fingerprint] = true
	}
	end := inc.End
	if end.IsZero() {
		end = now
	}
	from, to := inc.Start.Add(-TimelineLead), end.Add(TimelineTail)
	within := func(t time.Time) bool { return !t.Before(from) && !t.After(to) }
	during := func(t time.Time) bool { return !t.Before(inc.Start) && !t.After(end) }
	rollouts := map[string]bool{}
	for _, r := range inc.Rollouts {
		rollouts[r] = true
	}
	envs := map[string]bool{}
	for r := range rollouts {
		env, _, _ := strings.Cut(r, "/")
		envs[env] = true
	}
	workloadTarget := func(t string) bool {
		return rollouts[t] || (inc.Workload != "" && t == inc.Workload)
	}
	silences := map[string]bool{}
	seen := map[string]bool{} // alert transitions journaled twice
	var tl []TimelineEntry
	for _, e := range entries {
		when := at(e)
		var te *TimelineEntry
		switch {
		case e.Action == FiringEntry || e.Action == ResolvedEntry:
			fp := strings.TrimPrefix(e.Target, "alert/")
			if !fps[fp] || !during(when) {
				continue
			}
			k := e.Action + fp + when.String()
			if seen[k] {
				continue
			}
			seen[k] = true
			te = alertEntry(e, fp, when)
		case e.Action == NoteEntry:
			if e.Target != "incident/"+inc.ID {
				continue
			}
			te = &TimelineEntry{Kind: KindNote, Text: e.Parameters["text"], Link: Link{LinkIncident, inc.ID}}
		case e.Action == AckEntry:
			fp, one := strings.CutPrefix(e.Target, "alert/")
			if !during(when) || (one && !fps[fp]) || (!one && !ackCovers(e.Parameters["match"], inc)) {
				continue
			}
			te = ackEntry(e, fp)
			if sil := e.Parameters["silence"]; sil != "" {
				silences[sil] = true
			}
		case e.Action == UnackEntry:
			id := strings.TrimPrefix(e.Target, "silence/")
			if !silences[id] || !within(when) {
				continue
			}
			te = &TimelineEntry{Kind: KindUnack, Text: "expired silence " + id, Link: Link{LinkSilence, id}}
		case !within(when):
			continue
		case workloadTarget(e.Target):
			te = workloadEntry(e)
		case envs[e.Target] && (e.Action == release.ActFreeze.Name || e.Action == release.ActUnfreeze.Name):
			te = &TimelineEntry{Kind: KindFreeze, Text: e.Action + " " + e.Target, Link: Link{LinkEnv, e.Target}}
			if r := e.Parameters["reason"]; r != "" {
				te.Text += ": " + r
			}
		case inc.Host != "" && strings.HasPrefix(e.Target, "playbook/"):
			te = playbookEntry(e, inc.Host)
		case inc.Host != "" && (e.Target == "host/"+inc.Host || e.Target == inc.Host):
			te = &TimelineEntry{Kind: KindCommand, Text: e.Action + " " + inc.Host, Link: Link{LinkHost, inc.Host}}
		}
		if te == nil {
			continue
		}
		te.Time, te.Actor, te.Result, te.Error, te.Seq = when, e.Actor, e.Result, e.Error, e.Seq
		tl = append(tl, *te)
	}
	slices.SortStableFunc(tl, func(x, y TimelineEntry) int {
		if c := x.Time.Compare(y.Time); c != 0 {
			return c
		}
		return cmp.Compare(x.Seq, y.Seq)
	})
	inc.Timeline = tl
	inc.Acknowledged, inc.Mitigated, inc.Actions = time.Time{}, time.Time{}, 0
	for _, te := range tl {
		switch te.Kind {
		case KindFiring, KindResolved, KindNote, KindRollout:
			continue // not an action someone took
		}
		if !during(te.Time) {
			continue
		}
		inc.Actions++
		if te.Result != audit.OK {
			continue
		}
		switch te.Kind {
		case KindAck:
			if inc.Acknowledged.IsZero() {
				inc.Acknowledged = te.Time
			}
		case KindRollback, KindRestart, KindScale, KindPromote, KindPlaybook, KindPause, KindCommand:
			if inc.Mitigated.IsZero() {
				inc.Mitigated = te.Time
			}
		}
	}
}

// ackCovers reports whether an acknowledgement by matchers names the
// incident's workload or host.
func ackCovers(match string, inc *Incident) bool {
	if match == "" {
		return false
	}
	_, name, _ := strings.Cut(inc.Workload, "/")
	for _, w := range []string{name, inc.Host} {
		if w != "" && strings.Contains(match, `"`+w+`"`) {
			return true
		}
	}
	return false
}

func alertEntry(e audit.Entry, fp string, when time.Time) *TimelineEntry {
	p := e.Parameters
	te := &TimelineEntry{Link: Link{LinkAlert, fp}}
	on := p["workload"]
	if on == "" {
		on = p["host"]
	}
	if on != "" {
		on = " on " + on
	}
	if e.Action == FiringEntry {
		te.Kind = KindFiring
		te.Text = p["alertname"] + " fired" + on
	} else {
		te.Kind = KindResolved
		te.Text = p["alertname"] + " resolved" + on
	}
	if v := p["value"]; v != "" {
		te.Text += " (value " + FormatValue(v) + ")"
	}
	if p["source"] == "reconciled" {
		te.Text += " (seen resolved after a restart)"
	}
	return te
}

func ackEntry(e audit.Entry, fp string) *TimelineEntry {
	p := e.Parameters
	te := &TimelineEntry{Kind: KindAck, Link: Link{LinkAlert, fp}}
	what := p["alertname"]
	if fp == "" {
		what = "alerts matching " + p["match"]
	}
	switch p["mode"] {
	case string(AckExtend):
		te.Text = "extended " + p["holder"] + "'s acknowledgement of " + what
	case string(AckComment):
		te.Text = "commented " + p["holder"] + "'s acknowledgement of " + what
	default:
		te.Text = "acknowledged " + what
	}
	if d, err := time.ParseDuration(p["duration"]); err == nil && p["mode"] != string(AckComment) {
		te.Text += " until " + e.Time.Add(d).UTC().Format("15:04 MST") + " (" + d.String() + ")"
	}
	if c := p["comment"]; c != "" {
		te.Text += ": " + strconv.Quote(c)
	}
	if sil := p["silence"]; sil != "" {
		te.Text += " · silence " + sil
		if fp == "" {
			te.Link = Link{LinkSilence, sil}
		}
	}
	return te
}

// workloadEntry is a change of the incident's workload: a promotion, a
// rollback, a scale, a restart, a pause or resume, a rollout's result.
func workloadEntry(e audit.Entry) *TimelineEntry {
	p := e.Parameters
	te := &TimelineEntry{Link: Link{LinkRollout, e.Target}}
	from, to := imagesOf(p)
	te.From, te.To = from, to
	versions := ""
	if from != "" || to != "" {
		versions = ": " + from + " → " + to
	}
	switch {
	case strings.HasPrefix(e.Action, release.ActPromote.Name):
		te.Kind = KindPromote
		te.Text = "promoted " + e.Target
		if f := p["from"]; f != "" {
			te.Text += " from " + f
		}
		te.Text += versions
	case e.Action == release.ActRollback.Name:
		te.Kind = KindRollback
		te.Text = "rolled back " + e.Target
		if r := p["from-revision"]; r != "" {
			te.Text += " from revision " + r
		}
		if r := p["restored"]; r != "" {
			te.Text += " to revision " + r
		}
		te.Text += versions
	case e.Action == release.ActScale.Name:
		te.Kind = KindScale
		te.Text = "scaled " + e.Target + " to " + p["replicas"] + " replicas"
	case e.Action == release.ActRestart.Name:
		te.Kind = KindRestart
		te.Text = "restarted " + e.Target
	case e.Action == release.ActPause.Name:
		te.Kind = KindPause
		te.Text = "paused the rollout of " + e.Target
	case e.Action == release.ActResume.Name:
		te.Kind = KindResume
		te.Text = "resumed the rollout of " + e.Target
	case e.Action == RolloutEntry:
		te.Kind = KindRollout
		te.Text = "rollout of " + e.Target + " " + p["health"]
		if v := p["version"]; v != "" {
			te.Text += " at " + v
		}
		if r := p["reason"]; r != "" {
			te.Text += ": " + r
		}
	default:
		return nil
	}
	return te
}

// RolloutEntry is the journal's record of a rollout's result once it
// settles (healthy or stalled), on "ENV/APP".
const RolloutEntry = "rollout.settled"

// imagesOf reads the "image.NAME": "FROM -> TO" parameters of a promotion
// or rollback: the images from and to, joined when several changed.
func imagesOf(p map[string]string) (from, to string) {
	var fs, ts []string
	for _, k := range slices.Sorted(maps.Keys(p)) {
		if _, ok := strings.CutPrefix(k, "image."); !ok {
			continue
		}
		f, t, _ := strings.Cut(p[k], " -> ")
		fs, ts = append(fs, f), append(ts, t)
	}
	return strings.Join(fs, ", "), strings.Join(ts, ", ")
}

// playbookEntry is a playbook run on the incident's host, nil when it did
// not touch it.
func playbookEntry(e audit.Entry, host string) *TimelineEntry {
	p := e.Parameters
	hosts := strings.Split(p["hosts"], ",")
	if !slices.Contains(hosts, host) && !strings.Contains(p["target"], host) && !strings.Contains(p["recap"], host+":") {
		return nil
	}
	te := &TimelineEntry{Kind: KindPlaybook, Link: Link{LinkRun, p["run"]}, Recap: p["recap"]}
	if strings.HasPrefix(e.Action, "run a command") {
		te.Kind = KindCommand
	}
	te.Text = fmt.Sprintf("%s %s on %s", e.Action, strings.TrimPrefix(e.Target, "playbook/"), orDash(p["target"]))
	if st := p["state"]; st != "" {
		te.Text += ": " + st
	}
	return te
}
