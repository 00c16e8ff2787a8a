package incident

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/presence"
)

// Actions on alerts, with the role they need. Expiring a silence unmutes
// alerts, so it is confirmed.
var (
	AckAction   = access.Action{Name: "acknowledge alerts", MinRole: access.Operator, Mutates: true}
	UnackAction = access.Action{Name: "expire a silence", MinRole: access.Operator, Mutates: true, Dangerous: true}
)

// AckDurations are the durations an acknowledgement offers; any other
// positive duration up to MaxAckDuration is accepted as custom.
var AckDurations = []time.Duration{30 * time.Minute, time.Hour, 4 * time.Hour}

// MaxAckDuration bounds an acknowledgement: longer is a maintenance
// window, to be made as a silence in Alertmanager itself.
const MaxAckDuration = 7 * 24 * time.Hour

// AckRequest says what to acknowledge: one alert by Fingerprint, or every
// alert matching Match (Alertmanager matcher syntax).
type AckRequest struct {
	Fingerprint string
	Match       string
	Duration    time.Duration
	Comment     string
	// Existing says what to do when the alert already has an
	// acknowledgement (a silence of exactly its labels): by default the
	// request is refused with an *AckedError naming it.
	Existing AckMode
	// UntilResolved holds the acknowledgement while the alert fires and
	// ends it when it resolves, instead of Duration (UntilResolvedMark).
	UntilResolved bool
}

// AckMode is what an acknowledgement of an alert that already has one does.
type AckMode string

const (
	// AckRefuse refuses, naming the existing acknowledgement.
	AckRefuse AckMode = ""
	// AckExtend makes the existing silence last until now + Duration (it
	// never shortens it) and adds the comment to it.
	AckExtend AckMode = "extend"
	// AckComment adds the comment to the existing silence.
	AckComment AckMode = "comment"
)

// AckedError refuses a second acknowledgement of an alert: Silence is the
// one that holds it. Extend it or add a comment instead (AckRequest.Existing).
type AckedError struct {
	Alert   string
	Silence Silence
}

// Refused marks an existing acknowledgement as a refusal (access.Refusal):
// exit 3, journaled as refused.
func (e *AckedError) Refused() bool { return true }

func (e *AckedError) Error() string {
	return fmt.Sprintf("%s is already acknowledged by %s until %s (silence %s: %q): extend it or add a comment rather than a second silence",
		e.Alert, e.Silence.CreatedBy, e.Silence.EndsAt.UTC().Format("2006-01-02 15:04 MST"), e.Silence.ID, e.Silence.Comment)
}

// DefaultComment is the comment an acknowledgement dialog offers.
func DefaultComment(a *Alert) string {
	on := a.Workload
	if on == "" {
		on = a.Host
	}
	if on == "" {
		return "Investigating " + a.Name
	}
	return "Investigating " + a.Name + " on " + on
}

// ParseFilter parses a filter in Alertmanager matcher syntax; an empty
// filter matches everything. The error is the parser's, fit for display.
func (s *Service) ParseFilter(text string) ([]Matcher, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	return s.o.ParseMatchers(text)
}

// Acknowledge creates an Alertmanager silence on behalf of actor and
// returns it. For one alert the silence matches exactly that alert's
// labels. The attempt is journaled, refusals included.
func (s *Service) Acknowledge(ctx context.Context, actor access.Actor, req AckRequest) (Silence, error) {
	target := "alert/" + req.Fingerprint
	if req.Fingerprint == "" {
		target = "alerts/" + req.Match
	}
	params := map[string]string{"duration": req.Duration.String(), "comment": req.Comment}
	if s.o.Guard.Check(actor, AckAction) == nil {
		defer presence.Begin(ctx, s.ackWhat(req))()
	}
	sil, err := s.acknowledge(ctx, actor, req, params)
	if jerr := s.record(ctx, actor, "alert.ack", target, params, err); jerr != nil && err == nil {
		// The silence exists but its trace does not: say so rather than hide it.
		return sil, fmt.Errorf("silence %s created, but the journal failed: %w", sil.ID, jerr)
	}
	return sil, err
}

// ackWhat says what an acknowledgement does, for the other sessions:
// "acknowledging HostDown on web-02".
func (s *Service) ackWhat(req AckRequest) string {
	if req.Fingerprint == "" {
		return "acknowledging alerts matching " + req.Match
	}
	a, ok := s.Snapshot().Alert(req.Fingerprint)
	if !ok {
		return "acknowledging alert " + req.Fingerprint
	}
	on := a.Workload
	if on == "" {
		on = a.Host
	}
	if on == "" {
		return "acknowledging " + a.Name
	}
	return "acknowledging " + a.Name + " on " + on
}

func (s *Service) acknowledge(ctx context.Context, actor access.Actor, req AckRequest, params map[string]string) (Silence, error) {
	if err := s.o.Guard.Check(actor, AckAction); err != nil {
		return Silence{}, err
	}
	if s.o.Alertmanager == nil {
		return Silence{}, errors.New("acknowledging needs Alertmanager: configure alertmanager.urls")
	}
	if strings.TrimSpace(req.Comment) == "" {
		return Silence{}, errors.New("an acknowledgement needs a comment: say what you are doing about it")
	}
	if req.UntilResolved {
		req.Duration = UntilResolvedStep
		if !strings.Contains(req.Comment, UntilResolvedMark) {
			req.Comment = strings.TrimSpace(req.Comment) + " " + UntilResolvedMark
		}
		params["duration"] = "until resolved"
	}
	if req.Duration < time.Minute || req.Duration > MaxAckDuration {
		return Silence{}, fmt.Errorf("acknowledgement duration %s: choose one between 1m and %s (30m, 1h, 4h…)", req.Duration, MaxAckDuration)
	}
	var matchers []Matcher
	switch {
	case req.Fingerprint != "" && req.Match != "":
		return Silence{}, errors.New("acknowledge either one alert by fingerprint or alerts by matchers, not both")
	case req.Fingerprint != "":
		a, ok := s.Snapshot().Alert(req.Fingerprint)
		if !ok {
			s.Refresh(ctx) // a fresh process (the CLI) has not polled yet
			a, ok = s.Snapshot().Alert(req.Fingerprint)
		}
		if !ok || !a.Active() {
			return Silence{}, notFound(s.Snapshot(), req.Fingerprint)
		}
		if a.State == Pending {
			return Silence{}, fmt.Errorf("alert %s is pending: Alertmanager knows it only once it fires", a.Name)
		}
		params["alertname"] = a.Name
		if a.Workload != "" {
			params["workload"] = a.Workload
		}
		for _, name := range slices.Sorted(maps.Keys(a.Labels)) {
			m, err := NewMatcher(MatchEqual, name, a.Labels[name])
			if err != nil {
				return Silence{}, err
			}
			matchers = append(matchers, m)
		}
		return s.ackOne(ctx, actor, req, a, matchers, params)
	case strings.TrimSpace(req.Match) != "":
		ms, err := s.o.ParseMatchers(req.Match)
		if err != nil {
			return Silence{}, fmt.Errorf("bad matchers %q: %w", req.Match, err)
		}
		if len(ms) == 0 {
			return Silence{}, fmt.Errorf("matchers %q select nothing: give at least one label matcher", req.Match)
		}
		params["match"] = req.Match
		matchers = ms
	default:
		return Silence{}, errors.New("say what to acknowledge: an alert's fingerprint or --match matchers")
	}
	now := s.o.Now()
	sil := Silence{
		Matchers:  matchers,
		StartsAt:  now,
		EndsAt:    now.Add(req.Duration),
		CreatedBy: actor.Name,
		Comment:   req.Comment,
	}
	id, err := s.o.Alertmanager.CreateSilence(ctx, sil)
	if err != nil {
		return Silence{}, fmt.Errorf("creating the silence in Alertmanager: %w", err)
	}
	sil.ID, sil.State = id, "active"
	params["silence"] = id
	s.Refresh(ctx) // show the acknowledgement now, not at the next poll
	return sil, nil
}

// ackRetries bounds the attempts of an acknowledgement that lost a race
// in which every side stepped back.
const ackRetries = 3

// ackOne acknowledges one alert: with no acknowledgement yet, it creates a
// silence of exactly its labels; with one, it refuses or amends it as
// req.Existing says. Alertmanager has no "create unless one exists", so
// two acknowledgements at once may both create one: each then reads the
// silences back, and the one Alertmanager stored last (on a tie, both)
// expires its own and is refused, naming the other. When both stepped
// back, it tries again.
func (s *Service) ackOne(ctx context.Context, actor access.Actor, req AckRequest, a *Alert, matchers []Matcher, params map[string]string) (Silence, error) {
	for attempt := 0; ; attempt++ {
		held, err := s.ackOf(ctx, a.Labels, "")
		if err != nil {
			return Silence{}, err
		}
		if held != nil {
			params["holder"], params["holder-silence"] = held.CreatedBy, held.ID
			if req.Existing == AckRefuse {
				return Silence{}, &AckedError{Alert: a.Name, Silence: *held}
			}
			return s.amend(ctx, actor, req, *held, params)
		}
		now := s.o.Now()
		mine := Silence{Matchers: matchers, StartsAt: now, EndsAt: now.Add(req.Duration), CreatedBy: actor.Name, Comment: req.Comment}
		id, err := s.o.Alertmanager.CreateSilence(ctx, mine)
		if err != nil {
			return Silence{}, fmt.Errorf("creating the silence in Alertmanager: %w", err)
		}
		mine.ID, mine.State = id, "active"
		other, err := s.ackOf(ctx, a.Labels, id)
		if err != nil {
			return mine, fmt.Errorf("silence %s created, but checking for another acknowledgement failed: %w", id, err)
		}
		if other == nil {
			params["silence"] = id
			s.Refresh(ctx) // show the acknowledgement now, not at the next poll
			return mine, nil
		}
		// Another acknowledgement was stored before ours, or at the same
		// instant: ours steps back.
		if err := s.o.Alertmanager.ExpireSilence(ctx, id); err != nil {
			return mine, fmt.Errorf("silence %s duplicates %s's (silence %s), and expiring it failed: %w", id, other.CreatedBy, other.ID, err)
		}
		params["expired-duplicate"] = id
		held, err = s.ackOf(ctx, a.Labels, "")
		if err != nil {
			return Silence{}, err
		}
		if held != nil {
			params["holder"], params["holder-silence"] = held.CreatedBy, held.ID
			return Silence{}, &AckedError{Alert: a.Name, Silence: *held}
		}
		if attempt+1 >= ackRetries {
			return Silence{}, fmt.Errorf("acknowledging %s raced with another acknowledgement %d times and neither kept its silence: try again", a.Name, ackRetries)
		}
		// Both stepped back: the next attempt finds the other's, or makes one.
		select {
		case <-ctx.Done():
			return Silence{}, ctx.Err()
		case <-time.After(time.Duration(10+rand.IntN(90)) * time.Millisecond):
		}
	}
}

// ackOf reads, from Alertmanager itself, the acknowledgement that holds an
// alert with these labels: the active (or pending) silence of exactly these
// labels stored first, ignoring the one with id except. With except set,
// a silence stored at the same instant as except counts as first.
func (s *Service) ackOf(ctx context.Context, labels map[string]string, except string) (*Silence, error) {
	all, err := s.o.Alertmanager.Silences(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the silences from Alertmanager: %w", err)
	}
	var mine *Silence
	var held []Silence
	for i := range all {
		sil := &all[i]
		if sil.State == "expired" || !targets(sil, labels) {
			continue
		}
		if sil.ID == except {
			mine = sil
			continue
		}
		held = append(held, *sil)
	}
	slices.SortFunc(held, func(x, y Silence) int {
		if c := x.UpdatedAt.Compare(y.UpdatedAt); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	if len(held) == 0 {
		return nil, nil
	}
	first := held[0]
	if mine != nil && mine.UpdatedAt.Before(first.UpdatedAt) {
		return nil, nil // ours came first: the other steps back
	}
	return &first, nil
}

// amend extends the silence that holds an alert, or adds a comment to it,
// as req.Existing says. Its author stays; the comment says who added what.
func (s *Service) amend(ctx context.Context, actor access.Actor, req AckRequest, held Silence, params map[string]string) (Silence, error) {
	params["mode"] = string(req.Existing)
	upd := held
	upd.Comment = held.Comment + " · " + actor.Name + ": " + req.Comment
	switch req.Existing {
	case AckExtend:
		if until := s.o.Now().Add(req.Duration); until.After(held.EndsAt) {
			upd.EndsAt = until
		}
	case AckComment:
	default:
		return Silence{}, fmt.Errorf("unknown acknowledgement mode %q: extend or comment", req.Existing)
	}
	id, err := s.o.Alertmanager.CreateSilence(ctx, upd)
	if err != nil {
		return Silence{}, fmt.Errorf("updating %s's silence %s in Alertmanager: %w", held.CreatedBy, held.ID, err)
	}
	upd.ID = id
	params["silence"] = id
	s.Refresh(ctx)
	return upd, nil
}

// notFound says why no active alert has fingerprint fp, and whether the
// sources that would know it were reachable: an unreachable Alertmanager
// is the answer, not a missing alert.
func notFound(snap *Snapshot, fp string) error {
	if am := snap.Alertmanager; am.Err != nil {
		return fmt.Errorf("alert %s cannot be looked up: Alertmanager is unreachable: %w", fp, am.Err)
	}
	if p := snap.Prometheus; p.Configured && p.Err != nil {
		return fmt.Errorf("no active alert has fingerprint %s in Alertmanager (reachable); Prometheus is unreachable: %w", fp, p.Err)
	}
	return fmt.Errorf("no active alert has fingerprint %s (Alertmanager answered): list them with `vigil alerts`", fp)
}

// UnackConfirmation is what expiring silence id asks first.
func UnackConfirmation(id string) access.Confirmation {
	return access.Confirmation{Action: UnackAction, Entry: unackEntry, Target: "silence/" + id, Title: "Expire silence " + id + "?"}
}

// unackEntry names an expired silence in the journal.
const unackEntry = "alert.unack"

// Unacknowledge expires the silence with this id. The attempt is
// journaled, refusals included.
func (s *Service) Unacknowledge(ctx context.Context, actor access.Actor, silenceID string) error {
	if s.o.Guard.Check(actor, UnackAction) == nil {
		defer presence.Begin(ctx, s.unackWhat(silenceID))()
	}
	err := s.unacknowledge(ctx, actor, silenceID)
	if jerr := s.record(ctx, actor, unackEntry, "silence/"+silenceID, map[string]string{"silence": silenceID}, err); jerr != nil && err == nil {
		return fmt.Errorf("silence %s expired, but the journal failed: %w", silenceID, jerr)
	}
	return err
}

// unackWhat says what expiring a silence does, for the other sessions:
// "expiring the silence of AppHighErrorRate" when it silences one alert name.
func (s *Service) unackWhat(id string) string {
	for _, sil := range s.Snapshot().Silences {
		if sil.ID != id {
			continue
		}
		for _, m := range sil.Matchers {
			if m.Name == "alertname" && m.Type == MatchEqual {
				return "expiring the silence of " + m.Value
			}
		}
	}
	return "expiring silence " + id
}

func (s *Service) unacknowledge(ctx context.Context, actor access.Actor, silenceID string) error {
	if err := s.o.Guard.Check(actor, UnackAction); err != nil {
		return err
	}
	if s.o.Alertmanager == nil {
		return errors.New("unacknowledging needs Alertmanager: configure alertmanager.urls")
	}
	if strings.TrimSpace(silenceID) == "" {
		return errors.New("say which silence to expire: its id is in `vigil alerts` and the silences list")
	}
	if err := s.o.Alertmanager.ExpireSilence(ctx, silenceID); err != nil {
		return fmt.Errorf("expiring silence %s: %w", silenceID, err)
	}
	s.Refresh(ctx)
	return nil
}

func (s *Service) record(ctx context.Context, actor access.Actor, action, target string, params map[string]string, err error) error {
	return s.o.Journal.Record(ctx, actor, action, target, params, err)
}
