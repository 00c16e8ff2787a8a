package incident

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/notify"
)

// DefaultInterval is how often the list is polled when the config says nothing.
const DefaultInterval = 5 * time.Second

// Options configures a Service.
type Options struct {
	// Prometheus or Alertmanager may be nil when not configured; not both.
	Prometheus    Prometheus
	Alertmanager  Alertmanager
	ParseMatchers MatcherParser
	Journal       Journal
	// Releases, when set, adds the revisions of an alert's workload to its
	// recent changes, those made outside vigil included.
	Releases Releases
	Guard    access.Guard
	// Interval between polls; DefaultInterval when zero.
	Interval time.Duration
	// Timeout bounds each request of a poll; 10 s when zero.
	Timeout time.Duration
	// ResolvedFor is how long a resolved alert stays listed; 15 min when zero.
	ResolvedFor time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// JournalAlerts journals each alert's firing and resolution
	// (FiringEntry, ResolvedEntry), from the polls and the webhook, so
	// that incidents are rebuilt from the journal alone. The process that
	// watches the alerts sets it (the console, vigil serve); a verb that
	// asks once does not.
	JournalAlerts bool
	// IncidentHistory is how far back Incidents looks; 30 days when zero.
	IncidentHistory time.Duration
}

// SourceStatus is the health of one polled system.
type SourceStatus struct {
	Configured bool
	// LastOK is when the last successful poll ended; zero if none has.
	LastOK time.Time
	// Err is the last poll's error, nil when it succeeded. While Err is
	// set the list shows the data of LastOK and polling goes on.
	Err error
}

// Age is how old the source's data is at now.
func (s SourceStatus) Age(now time.Time) time.Duration {
	if s.LastOK.IsZero() {
		return 0
	}
	return now.Sub(s.LastOK)
}

// Service is the live alert list of a process: one per process, shared by
// every pane and session. Its getters do no IO.
type Service struct {
	o Options

	mu sync.Mutex
	// Last good data of each source. amAlerts is also updated by the webhook.
	promAlerts []Alert
	rules      []Rule
	amAlerts   map[string]Alert
	silences   []Silence
	prom, am   SourceStatus
	// Poll sequence numbers: a poll's result is applied only if nothing
	// newer (a later poll, or a webhook) has been applied to that source.
	seq, promSeq, amSeq uint64

	active   map[string]*Alert
	resolved map[string]*Alert
	snap     *Snapshot
	subs     notify.Subscribers

	// Transitions detected by build, journaled by flushTransitions (under
	// jmu, which orders the flushes); the webhook's group keys and
	// resolution times, by fingerprint.
	transitions []transition
	groupKeys   map[string]string
	endsAt      map[string]time.Time
	reconciled  bool
	jmu         sync.Mutex
}

// New returns a service with an empty list; call Run to start polling.
func New(o Options) (*Service, error) {
	if o.Prometheus == nil && o.Alertmanager == nil {
		return nil, errors.New("alerts need Prometheus or Alertmanager: configure prometheus.url or alertmanager.urls")
	}
	if o.ParseMatchers == nil {
		return nil, errors.New("incident.New: Options.ParseMatchers is required")
	}
	if o.Journal == nil {
		return nil, errors.New("incident.New: Options.Journal is required: every acknowledgement is journaled")
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.ResolvedFor <= 0 {
		o.ResolvedFor = 15 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.IncidentHistory <= 0 {
		o.IncidentHistory = 30 * 24 * time.Hour
	}
	s := &Service{
		groupKeys: map[string]string{},
		endsAt:    map[string]time.Time{},
		o:         o,
		amAlerts:  map[string]Alert{},
		active:    map[string]*Alert{},
		resolved:  map[string]*Alert{},
		prom:      SourceStatus{Configured: o.Prometheus != nil},
		am:        SourceStatus{Configured: o.Alertmanager != nil},
	}
	s.snap = s.build(o.Now())
	return s, nil
}

// Interval is the polling interval in use.
func (s *Service) Interval() time.Duration { return s.o.Interval }

// Run polls at once and then every interval until ctx ends. A failing
// source keeps its last data and is retried at every poll.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.o.Interval)
	defer t.Stop()
	for {
		s.Refresh(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Refresh polls every configured source once and publishes the result.
func (s *Service) Refresh(ctx context.Context) {
	s.mu.Lock()
	s.seq++
	seq := s.seq
	s.mu.Unlock()

	var (
		wg         sync.WaitGroup
		promAlerts []Alert
		rules      []Rule
		promErr    error
		amAlerts   []Alert
		silences   []Silence
		amErr      error
	)
	if p := s.o.Prometheus; p != nil {
		wg.Go(func() {
			c, cancel := context.WithTimeout(ctx, s.o.Timeout)
			defer cancel()
			if promAlerts, promErr = p.Alerts(c); promErr == nil {
				rules, promErr = p.Rules(c)
			}
		})
	}
	if a := s.o.Alertmanager; a != nil {
		wg.Go(func() {
			c, cancel := context.WithTimeout(ctx, s.o.Timeout)
			defer cancel()
			if amAlerts, amErr = a.Alerts(c); amErr == nil {
				silences, amErr = a.Silences(c)
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return // shutting down: an aborted poll is not an outage
	}

	if s.o.Alertmanager != nil && amErr == nil {
		defer s.keepUntilResolved(ctx) // after the snapshot is published
	}
	defer s.flushTransitions(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.o.Now()
	if s.o.Prometheus != nil && seq > s.promSeq {
		s.promSeq = seq
		s.prom.Err = promErr
		if promErr == nil {
			s.promAlerts, s.rules, s.prom.LastOK = promAlerts, rules, now
		}
	}
	if s.o.Alertmanager != nil && seq > s.amSeq {
		s.amSeq = seq
		s.am.Err = amErr
		if amErr == nil {
			s.amAlerts = make(map[string]Alert, len(amAlerts))
			for _, a := range amAlerts {
				s.amAlerts[a.Fingerprint] = a
			}
			s.silences, s.am.LastOK = silences, now
		}
	}
	s.publish(now)
}

// Snapshot is the current list. It is immutable: callers must not modify it.
func (s *Service) Snapshot() *Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snap
}

// Subscribe returns a channel that receives a value after each new
// snapshot (read it with Snapshot), coalesced, and a function ending it
// that closes the channel.
func (s *Service) Subscribe() (<-chan struct{}, func()) { return s.subs.Subscribe() }

// publish rebuilds the snapshot and wakes subscribers; s.mu is held.
func (s *Service) publish(now time.Time) {
	s.snap = s.build(now)
	s.subs.Notify()
}

// build merges the sources into a new snapshot; s.mu is held.
func (s *Service) build(now time.Time) *Snapshot {
	merged := make(map[string]*Alert, len(s.amAlerts)+len(s.promAlerts))
	for fp, a := range s.amAlerts {
		a.StateSince = a.StartsAt // Alertmanager's startsAt: when it fired
		merged[fp] = &a
	}
	for _, p := range s.promAlerts {
		if a, ok := merged[p.Fingerprint]; ok {
			a.Value = p.Value
			if a.GeneratorURL == "" {
				a.GeneratorURL = p.GeneratorURL
			}
			// Prometheus's activeAt is when it was first pending.
			if !p.StartsAt.IsZero() && p.StartsAt.Before(a.StartsAt) {
				a.StartsAt = p.StartsAt
			}
			continue
		}
		// Pending alerts, and firing ones Alertmanager has not received yet.
		if p.State == Pending {
			p.StateSince = p.StartsAt
		}
		merged[p.Fingerprint] = &p
	}
	silences := make(map[string]*Silence, len(s.silences))
	for i := range s.silences {
		silences[s.silences[i].ID] = &s.silences[i]
	}
	for fp, a := range merged {
		a.FirstSeen = now
		a.correlate()
		a.Rule = s.ruleFor(a)
		s.applySilences(a, silences)
		if old, ok := s.active[fp]; ok {
			a.FirstSeen = old.FirstSeen
			if !old.StartsAt.IsZero() && old.StartsAt.Before(a.StartsAt) {
				a.StartsAt = old.StartsAt // the first pending, whichever source says it
			}
			switch {
			case old.State == a.State:
				a.StateSince = old.StateSince
			case a.StateSince.IsZero() || a.State == Acknowledged || a.State == Silenced || old.State == Acknowledged || old.State == Silenced:
				a.StateSince = now
			}
			if reflect.DeepEqual(old, a) {
				merged[fp] = old // unchanged: same pointer, a pane's cached row stays valid
			}
		}
	}

	s.detect(now, merged)
	for fp, old := range s.active {
		if _, ok := merged[fp]; ok || old.State == Pending {
			continue // a pending alert that vanishes never fired: it is not "resolved"
		}
		r := *old
		r.State, r.ResolvedAt, r.StateSince = Resolved, now, now
		s.resolved[fp] = &r
	}
	for fp, r := range s.resolved {
		if _, ok := merged[fp]; ok || now.Sub(r.ResolvedAt) > s.o.ResolvedFor {
			delete(s.resolved, fp)
		}
	}
	s.active = merged
	return newSnapshot(now, merged, s.resolved, s.silences, s.prom, s.am)
}

func (s *Service) ruleFor(a *Alert) *Rule {
	for i := range s.rules {
		if s.rules[i].covers(a.Name, a.Labels) {
			return &s.rules[i]
		}
	}
	return nil
}

// applySilences sets the state of an Alertmanager alert: acknowledged when
// a silence targets exactly this alert (what Acknowledge creates),
// silenced when a broader silence or an inhibition mutes it.
func (s *Service) applySilences(a *Alert, silences map[string]*Silence) {
	if a.State == Pending {
		return
	}
	a.Ack = nil
	a.State = Firing
	for _, id := range a.SilencedBy {
		sil, ok := silences[id]
		if !ok {
			a.State = Silenced
			continue
		}
		ack := &Ack{SilenceID: sil.ID, Owner: sil.CreatedBy, Comment: sil.Comment, EndsAt: sil.EndsAt}
		if targets(sil, a.Labels) {
			a.State, a.Ack = Acknowledged, ack
			return
		}
		a.State = Silenced
		if a.Ack == nil {
			a.Ack = ack
		}
	}
	if a.State == Firing && len(a.InhibitedBy) > 0 {
		a.State = Silenced
	}
}

// targets reports whether a silence is exactly "these labels": one equality
// matcher per label, nothing else.
func targets(sil *Silence, labels map[string]string) bool {
	if len(sil.Matchers) != len(labels) {
		return false
	}
	for _, m := range sil.Matchers {
		v, ok := labels[m.Name]
		if !ok || m.Type != MatchEqual || m.Value != v {
			return false
		}
	}
	return true
}

// PollInterval is the list's interval for a configuration: the shorter of
// Prometheus's and Alertmanager's poll_interval, DefaultInterval when
// neither is set.
func PollInterval(c *config.Config) time.Duration {
	var d time.Duration
	if c.Prometheus != nil {
		d = c.Prometheus.PollInterval
	}
	if c.Alertmanager != nil && c.Alertmanager.PollInterval > 0 && (d == 0 || c.Alertmanager.PollInterval < d) {
		d = c.Alertmanager.PollInterval
	}
	if d <= 0 {
		return DefaultInterval
	}
	return d
}
