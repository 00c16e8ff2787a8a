package incident

import (
	"context"
	"errors"
	"fmt"
	"maps"
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
