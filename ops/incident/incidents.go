package incident

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/release"
)

// NoteEntry is a note journaled on "incident/ID", its text in "text".
const NoteEntry = "incident.note"

// NoteAction adds a note to an incident: anyone may, but not in
// read-only mode (it writes to the journal).
var NoteAction = access.Action{Name: "note an incident", MinRole: access.Viewer, Mutates: true}

// MaxNote bounds a note's text.
const MaxNote = 4000

// UnknownIncidentError is returned for an id no incident has; Recent are
// the newest incidents, to choose from.
type UnknownIncidentError struct {
	ID     string
	Recent []Incident
}

func (e *UnknownIncidentError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "no incident has id %q", e.ID)
	if len(e.Recent) == 0 {
		b.WriteString(": the journal holds no incident (alert transitions are journaled by the console and vigil serve)")
		return b.String()
	}
	b.WriteString("; recent incidents:")
	for _, inc := range e.Recent {
		end := "open"
		if !inc.Open() {
			end = inc.End.UTC().Format("2006-01-02 15:04:05")
		}
		fmt.Fprintf(&b, "\n  %s  %s → %s  %s", inc.ID, inc.Start.UTC().Format("2006-01-02 15:04:05"), end, inc.Title)
	}
	return b.String()
}

// recentShown is how many incidents an UnknownIncidentError lists.
const recentShown = 10

// Incidents lists the incidents of the last Options.IncidentHistory,
// newest first, with their timelines. Open ones come first among
// equals only by time: the caller filters with Open.
func (s *Service) Incidents() ([]Incident, error) {
	return ReadIncidents(s.o.Journal, s.o.Now(), s.o.IncidentHistory)
}

// ReadIncidents is Incidents over any journal: the incidents of the last
// history before now, newest first, with their timelines. A damaged
// journal gives the incidents of what it could read, with its error.
func ReadIncidents(j Journal, now time.Time, history time.Duration) ([]Incident, error) {
	es, err := j.Query(audit.Query{Since: now.Add(-history)})
	if err != nil && len(es) == 0 {
		return nil, fmt.Errorf("reading the journal: %w", err)
	}
	incs := DeriveIncidents(es)
	for i := range incs {
		BuildTimeline(&incs[i], es, now)
	}
	return incs, err
}

// FindIncident returns the incident of incs with this id, or the one
// whose id starts with it; an *UnknownIncidentError naming the newest
// ones otherwise.
func FindIncident(incs []Incident, id string) (*Incident, error) {
	var found []*Incident
	for i := range incs {
		if incs[i].ID == id {
			return &incs[i], nil
		}
		if id != "" && strings.HasPrefix(incs[i].ID, id) {
			found = append(found, &incs[i])
		}
	}
	if len(found) != 1 {
		return nil, &UnknownIncidentError{ID: id, Recent: incs[:min(len(incs), recentShown)]}
	}
	return found[0], nil
}

// Incident returns the incident with this id (or a unique prefix of it),
// with its timeline, and the values of its alerts' expressions at firing
// and resolution read from Prometheus when the journal lacks them (a
// Prometheus that does not answer leaves them empty). An unknown id is an
// *UnknownIncidentError.
func (s *Service) Incident(ctx context.Context, id string) (*Incident, error) {
	incs, err := s.Incidents()
	if err != nil && incs == nil {
		return nil, err
	}
	inc, ferr := FindIncident(incs, id)
	if ferr != nil {
		return nil, ferr
	}
	s.fillValues(ctx, inc)
	valuesInTimeline(inc)
	s.addRevisions(inc)
	s.addSilences(ctx, inc)
	return inc, nil
}

// IncidentFor returns the newest incident that the alert with this
// fingerprint belongs to (the console's incident in focus).
func (s *Service) IncidentFor(fingerprint string) (*Incident, error) {
	incs, err := s.Incidents()
	if err != nil && incs == nil {
		return nil, err
	}
	for i := range incs {
		for _, a := range incs[i].Alerts {
			if a.Fingerprint == fingerprint {
				return &incs[i], nil
			}
		}
	}
	return nil, fmt.Errorf("alert %s belongs to no journaled incident yet: its firing is journaled by the console or vigil serve that watches it", fingerprint)
}

// Note journals a note on the incident with this id, on behalf of actor.
// The attempt is journaled, refusals included.
func (s *Service) Note(ctx context.Context, actor access.Actor, incidentID, text string) error {
	return AddNote(ctx, s.o.Journal, s.o.Guard, actor, s.o.Now(), s.o.IncidentHistory, incidentID, text)
}

// AddNote is Note over any journal (the CLI's, without alert sources):
// the incident is looked up among those of the last history before now.
func AddNote(ctx context.Context, j Journal, guard access.Guard, actor access.Actor, now time.Time, history time.Duration, incidentID, text string) error {
	text = strings.TrimSpace(text)
	err := checkNote(j, guard, actor, now, history, incidentID, text)
	params := map[string]string{"text": text}
	if jerr := j.Record(ctx, actor, NoteEntry, "incident/"+incidentID, params, err); jerr != nil {
		if err != nil {
			return fmt.Errorf("%w (and the journal failed: %v)", err, jerr)
		}
		return fmt.Errorf("the note could not be journaled: %w", jerr)
	}
	return err
}

func checkNote(j Journal, guard access.Guard, actor access.Actor, now time.Time, history time.Duration, id, text string) error {
	if err := guard.Check(actor, NoteAction); err != nil {
		return err
	}
	switch {
	case text == "":
		return errors.New("a note needs text: :note WHAT HAPPENED")
	case len(text) > MaxNote:
		return fmt.Errorf("a note of %d bytes is over %d: keep it short, link to the rest", len(text), MaxNote)
	}
	incs, err := ReadIncidents(j, now, history)
	if err != nil && incs == nil {
		return err
	}
	for _, inc := range incs {
		if inc.ID == id {
			return nil
		}
	}
	return &UnknownIncidentError{ID: id, Recent: incs[:min(len(incs), recentShown)]}
}

// fillValues reads from Prometheus the values of each alert's measured
// expression at its firing and its resolution, where the journal has none,
// and the expressions from the rules where the journal has none.
func (s *Service) fillValues(ctx context.Context, inc *Incident) {
	p := s.o.Prometheus
	if p == nil {
		return
	}
	var rules []Rule
	for i := range inc.Alerts {
		a := &inc.Alerts[i]
		if a.Expr == "" || a.ValueExpr == "" {
			if rules == nil {
				rules, _ = p.Rules(ctx)
			}
			for j := range rules {
				if rules[j].covers(a.Name, a.Labels) {
					if a.Expr == "" {
						a.Expr = rules[j].Expr
					}
					if a.ValueExpr == "" {
						a.ValueExpr = rules[j].ValueExpr
					}
					break
				}
			}
		}
		expr := a.ValueExpr
		if expr == "" {
			expr = a.Expr
		}
		if expr == "" {
			continue
		}
		value := func(t time.Time) string {
			c, cancel := context.WithTimeout(ctx, s.o.Timeout)
			defer cancel()
			series, err := p.QueryRange(c, expr, Range{Start: t, End: t, Step: time.Second})
			if err != nil {
				return ""
			}
			mine := &Alert{Labels: a.Labels}
			for _, sr := range seriesOf(mine, series) {
				if len(sr.Points) > 0 {
					return strconv.FormatFloat(sr.Points[len(sr.Points)-1].Value, 'g', 4, 64)
				}
			}
			return ""
		}
		if a.ValueAtFiring == "" && !a.FiredAt.IsZero() {
			a.ValueAtFiring = value(a.FiredAt)
		}
		if a.ValueAtResolution == "" && !a.ResolvedAt.IsZero() {
			// Just before the resolution: at it, the series may be gone.
			a.ValueAtResolution = value(a.ResolvedAt.Add(-time.Second))
		}
	}
}

// matrixReader is what addRevisions asks of Releases, when it has it,
// for the current health of a workload.
type matrixReader interface{ Matrix() *release.Matrix }

// addRevisions adds to the timeline the revisions of the incident's
// workloads that became current in its window, read from the cluster
// (Releases): what each rollout ran, who made it (or that it was made
// outside vigil), and for the current one its health now. Without
// Releases, or when the cluster does not answer, the timeline has only the
// journal's rollout entries.
func (s *Service) addRevisions(inc *Incident) {
	if s.o.Releases == nil {
		return
	}
	now := s.o.Now()
	end := inc.End
	if end.IsZero() {
		end = now
	}
	from, to := inc.Start.Add(-TimelineLead), end.Add(TimelineTail)
	added := false
	for _, r := range inc.Rollouts {
		env, app, _ := strings.Cut(r, "/")
		revs, err := s.o.Releases.History(app, env)
		if err != nil {
			continue
		}
		for _, rev := range revs {
			if rev.Since.Before(from) || rev.Since.After(to) {
				continue
			}
			te := TimelineEntry{Time: rev.Since, Kind: KindRollout, Actor: "outside vigil", Link: Link{LinkRollout, r}, Result: audit.OK}
			if rev.ByVigil() {
				te.Actor = rev.By
			}
			te.Text = fmt.Sprintf("revision %d of %s became current", rev.Number, r)
			if rev.Restored {
				te.Text += " (restored)"
			}
			var imgs []string
			for _, c := range rev.Containers {
				if !c.Init {
					imgs = append(imgs, c.Name+" "+c.Image)
				}
			}
			if len(imgs) > 0 {
				te.Text += ": " + strings.Join(imgs, ", ")
			}
			// The API's times are whole seconds: a revision shows after
			// the promotion or rollback that made it.
			for _, j := range inc.Timeline {
				if (j.Kind == KindPromote || j.Kind == KindRollback) && j.Link.ID == r && j.To != "" && j.Time.After(te.Time) &&
					j.Time.Sub(te.Time) < matchSlack && slices.ContainsFunc(rev.Containers, func(c release.Container) bool { return strings.Contains(j.To, c.Image) }) {
					te.Time = j.Time
				}
			}
			if m, ok := s.o.Releases.(matrixReader); ok && rev.Current {
				if c, ok := m.Matrix().Cell(app, env); ok && c.Workload != nil {
					te.Text += fmt.Sprintf("; now %s, %d/%d available", c.Health, c.Available, c.Desired)
					if c.Reason != "" {
						te.Text += " (" + c.Reason + ")"
					}
				}
			}
			inc.Timeline = append(inc.Timeline, te)
			added = true
		}
	}
	if added {
		slices.SortStableFunc(inc.Timeline, func(x, y TimelineEntry) int { return x.Time.Compare(y.Time) })
	}
}

// addSilences adds to the timeline the silences of Alertmanager that
// muted the incident's alerts but that vigil did not make (amtool, the
// web UI): who, why, until. Alertmanager keeps expired silences a few
// days only; an unreachable one leaves the timeline as the journal has it.
func (s *Service) addSilences(ctx context.Context, inc *Incident) {
	if s.o.Alertmanager == nil {
		return
	}
	c, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	sils, err := s.o.Alertmanager.Silences(c)
	if err != nil {
		return
	}
	known := map[string]bool{}
	for _, te := range inc.Timeline {
		if te.Kind == KindAck || te.Kind == KindUnack {
			if i := strings.LastIndex(te.Text, "silence "); i >= 0 {
				known[strings.Fields(te.Text[i+len("silence "):])[0]] = true
			}
			if te.Link.Kind == LinkSilence {
				known[te.Link.ID] = true
			}
		}
	}
	end := inc.End
	if end.IsZero() {
		end = s.o.Now()
	}
	added := false
	for _, sil := range sils {
		if known[sil.ID] || sil.StartsAt.Before(inc.Start.Add(-TimelineLead)) || sil.StartsAt.After(end) {
			continue
		}
		var muted []string
		for _, a := range inc.Alerts {
			if len(a.Labels) > 0 && MatchAll(sil.Matchers, a.Labels) {
				muted = append(muted, a.Name)
			}
		}
		if len(muted) == 0 {
			continue
		}
		if !sil.StartsAt.Before(inc.Start) {
			inc.Actions++
			if inc.Acknowledged.IsZero() || sil.StartsAt.Before(inc.Acknowledged) {
				inc.Acknowledged = sil.StartsAt
			}
		}
		inc.Timeline = append(inc.Timeline, TimelineEntry{
			Time: sil.StartsAt, Kind: KindAck, Actor: sil.CreatedBy, Result: audit.OK, Link: Link{LinkSilence, sil.ID},
			Text: fmt.Sprintf("silenced %s in Alertmanager until %s: %q · silence %s (made outside vigil)",
				strings.Join(muted, ", "), sil.EndsAt.UTC().Format("15:04 MST"), sil.Comment, sil.ID),
		})
		added = true
	}
	if added {
		slices.SortStableFunc(inc.Timeline, func(x, y TimelineEntry) int { return x.Time.Compare(y.Time) })
	}
}

// valuesInTimeline adds to the last resolution of each alert in the
// timeline its value then, when it was read from Prometheus.
func valuesInTimeline(inc *Incident) {
	for _, a := range inc.Alerts {
		if a.ValueAtResolution == "" {
			continue
		}
		for i := len(inc.Timeline) - 1; i >= 0; i-- {
			te := &inc.Timeline[i]
			if te.Kind == KindResolved && te.Link.ID == a.Fingerprint {
				if !strings.Contains(te.Text, "(value ") {
					te.Text += " (value " + a.ValueAtResolution + ")"
				}
				break
			}
		}
	}
}
