package incident

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
)

// Journal entries of alert transitions. The process that polls the alerts
// (the console, vigil serve) journals each alert's firing and resolution,
// so that incidents and their timelines are rebuilt from the journal
// alone, after a restart and once Alertmanager has forgotten the alert.
// Their target is "alert/FINGERPRINT", their actor the system that said
// so (TransitionActor); their parameters are the alert's (see
// transitionParams), with "at" the instant of the transition.
const (
	FiringEntry   = "alert.firing"
	ResolvedEntry = "alert.resolved"
	// AckEntry is what Acknowledge journals.
	AckEntry = "alert.ack"
	// UnackEntry is what Unacknowledge journals.
	UnackEntry = unackEntry
)

// TransitionActor is the actor of the journaled alert transitions.
var TransitionActor = access.Actor{Name: "alertmanager"}

// reconcileWindow is how far back the first poll of a process looks for
// alerts journaled as firing that have resolved while no vigil watched.
const reconcileWindow = 14 * 24 * time.Hour

// transition is an alert's firing or resolution, seen by build and
// journaled by flushTransitions once s.mu is released.
type transition struct {
	action string
	alert  Alert
	at     time.Time
	group  string
}

// detect notes the transitions between the previous list and merged; s.mu
// is held.
func (s *Service) detect(now time.Time, merged map[string]*Alert) {
	if !s.o.JournalAlerts {
		return
	}
	for fp, a := range merged {
		if a.State == Pending {
			continue
		}
		if old, ok := s.active[fp]; ok && old.State != Pending {
			continue
		}
		// When it fired: Alertmanager's startsAt, else when this process
		// saw it change state.
		at := s.amAlerts[fp].StartsAt
		if at.IsZero() || at.After(now) {
			at = a.StateSince
		}
		if at.IsZero() || at.After(now) {
			at = now
		}
		s.transitions = append(s.transitions, transition{action: FiringEntry, alert: *a, at: at, group: s.groupKeys[fp]})
	}
	for fp, old := range s.active {
		if _, ok := merged[fp]; ok || old.State == Pending {
			continue
		}
		at := now
		if e, ok := s.endsAt[fp]; ok && !e.IsZero() && !e.After(now) {
			at = e
		}
		s.transitions = append(s.transitions, transition{action: ResolvedEntry, alert: *old, at: at, group: s.groupKeys[fp]})
		delete(s.endsAt, fp)
		delete(s.groupKeys, fp)
	}
}

// flushTransitions journals the transitions detected so far, in order,
// each once across processes and restarts: an alert whose last journaled
// transition is the same one is skipped. After the first poll that every
// configured source answered, alerts journaled as firing that are no
// longer active are journaled as resolved (they resolved while no vigil
// watched).
func (s *Service) flushTransitions(ctx context.Context) {
	if !s.o.JournalAlerts {
		return
	}
	s.jmu.Lock()
	defer s.jmu.Unlock()
	s.mu.Lock()
	ts := s.transitions
	s.transitions = nil
	reconcile := !s.reconciled && s.healthy()
	snap := s.snap
	if reconcile {
		s.reconciled = true
	}
	s.mu.Unlock()
	// What happened while no vigil watched comes first.
	if reconcile {
		s.reconcile(ctx, snap)
	}
	for _, t := range ts {
		if s.journaled(t) {
			continue
		}
		_ = s.o.Journal.Record(ctx, TransitionActor, t.action, "alert/"+t.alert.Fingerprint, s.transitionParams(t), nil)
	}
}

// healthy reports whether every configured source answered its last poll;
// s.mu is held.
func (s *Service) healthy() bool {
	if s.prom.Configured && (s.prom.Err != nil || s.prom.LastOK.IsZero()) {
		return false
	}
	if s.am.Configured && (s.am.Err != nil || s.am.LastOK.IsZero()) {
		return false
	}
	return true
}

// lastTransition is the newest firing or resolution journaled for fp
// since since, nil when none.
func (s *Service) lastTransition(fp string, since time.Time) *audit.Entry {
	es, err := s.o.Journal.Query(audit.Query{Target: "alert/" + fp, Since: since})
	if err != nil && len(es) == 0 {
		return nil
	}
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].Action == FiringEntry || es[i].Action == ResolvedEntry {
			return &es[i]
		}
	}
	return nil
}

func (s *Service) journaled(t transition) bool {
	since := t.alert.StartsAt
	if since.IsZero() || since.After(t.at) {
		since = t.at
	}
	last := s.lastTransition(t.alert.Fingerprint, since.Add(-time.Hour))
	return last != nil && last.Action == t.action
}

// reconcile journals as resolved the alerts whose last journaled
// transition is a firing and that the sources no longer list, or list as
// firing again since a later start (it resolved and fired again unseen).
func (s *Service) reconcile(ctx context.Context, snap *Snapshot) {
	now := s.o.Now()
	es, err := s.o.Journal.Query(audit.Query{Target: "alert", Since: now.Add(-reconcileWindow)})
	if err != nil && len(es) == 0 {
		return
	}
	last := map[string]audit.Entry{}
	for _, e := range es {
		if e.Action == FiringEntry || e.Action == ResolvedEntry {
			last[strings.TrimPrefix(e.Target, "alert/")] = e
		}
	}
	for _, fp := range slices.Sorted(maps.Keys(last)) {
		e := last[fp]
		if e.Action != FiringEntry {
			continue
		}
		at := now
		if a, ok := snap.Alert(fp); ok && a.Active() {
			started := paramTime(e, "startsAt")
			if started.IsZero() || a.StartsAt.IsZero() || !a.StartsAt.After(started.Add(time.Minute)) {
				continue // the same firing, still on
			}
			at = a.StartsAt // it resolved before it started again
		}
		p := maps.Clone(e.Parameters)
		p["at"] = at.UTC().Format(time.RFC3339Nano)
		p["source"] = "reconciled"
		p["note"] = "resolved while no vigil watched: the time is when vigil saw it gone"
		delete(p, "value")
		_ = s.o.Journal.Record(ctx, TransitionActor, ResolvedEntry, e.Target, p, nil)
	}
}

// transitionParams are the journaled parameters of a transition: what is
// needed to rebuild the incident and its export without the live alert.
func (s *Service) transitionParams(t transition) map[string]string {
	a := t.alert
	p := map[string]string{
		"alertname": a.Name,
		"at":        t.at.UTC().Format(time.RFC3339Nano),
	}
	set := func(k, v string) {
		if v != "" {
			p[k] = v
		}
	}
	set("severity", string(a.Severity))
	set("workload", a.Workload)
	set("host", a.Host)
	set("group", t.group)
	set("summary", a.Annotations["summary"])
	set("runbook_url", a.Annotations["runbook_url"])
	set("generatorURL", a.GeneratorURL)
	if !a.StartsAt.IsZero() {
		p["startsAt"] = a.StartsAt.UTC().Format(time.RFC3339Nano)
	}
	if t.action == FiringEntry {
		set("value", FormatValue(a.Value))
	}
	if a.Rule != nil {
		set("expr", a.Rule.Expr)
		set("valueExpr", a.Rule.ValueExpr)
	}
	for k, v := range a.Labels {
		p["label."+k] = v
	}
	if s.o.Releases != nil && a.Workload != "" {
		if app, env, ok := s.o.Releases.Locate(a.Workload); ok {
			p["rollout"] = env + "/" + app
		}
	}
	return p
}

// FormatValue shortens a sample value to 4 significant digits
// ("2.0439756020167124e-01" is "0.2044"); a value that is not a number
// is returned as is.
func FormatValue(v string) string {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		return v
	}
	return strconv.FormatFloat(f, 'g', 4, 64)
}
