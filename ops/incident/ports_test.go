package incident_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/integrations/alertmanager"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/incident"
)

// The unit tests drive the service through its ports with in-memory
// systems; the same service against the lab's real Prometheus and
// Alertmanager is tested in integrations/alertmanager.

type memProm struct {
	mu     sync.Mutex
	alerts []incident.Alert
	rules  []incident.Rule
	err    error
	series []incident.Series
}

func (p *memProm) set(alerts []incident.Alert, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.alerts, p.err = alerts, err
}

func (p *memProm) Alerts(context.Context) ([]incident.Alert, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.alerts, p.err
}

func (p *memProm) Rules(context.Context) ([]incident.Rule, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rules, p.err
}

func (p *memProm) Query(context.Context, string, time.Time) ([]incident.Sample, error) {
	return nil, fmt.Errorf("not used")
}

func (p *memProm) QueryRange(_ context.Context, _ string, _ incident.Range) ([]incident.Series, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.series, p.err
}

type memAM struct {
	mu       sync.Mutex
	alerts   []incident.Alert
	silences []incident.Silence
	err      error
	nextID   int
}

func (m *memAM) set(alerts []incident.Alert, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.alerts, m.err = alerts, err
}

func (m *memAM) Alerts(context.Context) ([]incident.Alert, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return nil, m.err
	}
	// Silence the alerts as Alertmanager does.
	out := make([]incident.Alert, len(m.alerts))
	for i, a := range m.alerts {
		a.SilencedBy = nil
		for _, s := range m.silences {
			if s.State == "active" && incident.MatchAll(s.Matchers, a.Labels) {
				a.SilencedBy = append(a.SilencedBy, s.ID)
			}
		}
		out[i] = a
	}
	return out, nil
}

func (m *memAM) Groups(context.Context) ([]incident.Group, error) { return nil, fmt.Errorf("not used") }

func (m *memAM) Silences(context.Context) ([]incident.Silence, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]incident.Silence(nil), m.silences...), m.err
}

func (m *memAM) CreateSilence(_ context.Context, s incident.Silence) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return "", m.err
	}
	m.nextID++
	s.ID, s.State = fmt.Sprintf("sil-%d", m.nextID), "active"
	m.silences = append(m.silences, s)
	return s.ID, nil
}

func (m *memAM) ExpireSilence(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.silences {
		if m.silences[i].ID == id {
			m.silences[i].State = "expired"
			return nil
		}
	}
	return fmt.Errorf("silence %s not found", id)
}

// memJournal is the journal port in memory: Record classifies results as
// the audit journal does.
type memJournal struct {
	mu      sync.Mutex
	entries []audit.Entry
}

func (j *memJournal) Record(_ context.Context, actor access.Actor, action, target string, params map[string]string, err error) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	e := audit.Entry{Seq: uint64(len(j.entries) + 1), Time: time.Now(), Actor: actor.Name, Role: string(actor.Role),
		Action: action, Target: target, Parameters: params, Result: audit.OK}
	if err != nil {
		e.Result, e.Error = audit.Failed, err.Error()
		if strings.Contains(err.Error(), "may not") || err == access.ErrReadOnly {
			e.Result = audit.Refused
		}
	}
	j.entries = append(j.entries, e)
	return nil
}

func (j *memJournal) Query(q audit.Query) ([]audit.Entry, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []audit.Entry
	for _, e := range j.entries {
		if (q.Target == "" || e.Target == q.Target || strings.HasPrefix(e.Target, q.Target+"/")) &&
			(q.Since.IsZero() || !e.Time.Before(q.Since)) && (q.Until.IsZero() || !e.Time.After(q.Until)) {
			out = append(out, e)
		}
	}
	return out, nil
}

func (j *memJournal) last() audit.Entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.entries[len(j.entries)-1]
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	svc     *incident.Service
	prom    *memProm
	am      *memAM
	journal *memJournal
	clock   *clock
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{prom: &memProm{}, am: &memAM{}, journal: &memJournal{},
		clock: &clock{t: time.Date(2026, 11, 29, 14, 0, 0, 0, time.UTC)}}
	svc, err := incident.New(incident.Options{
		Prometheus:    f.prom,
		Alertmanager:  f.am,
		ParseMatchers: alertmanager.ParseMatchers,
		Journal:       f.journal,
		Now:           f.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

// mkAlert builds an alert as the integrations return it.
func mkAlert(fp, name, severity string, started time.Time, kv ...string) incident.Alert {
	labels := map[string]string{"alertname": name, "severity": severity}
	for i := 0; i+1 < len(kv); i += 2 {
		labels[kv[i]] = kv[i+1]
	}
	return incident.Alert{Fingerprint: fp, State: incident.Firing, Labels: labels, StartsAt: started,
		Annotations: map[string]string{"summary": name + " summary"}}
}

var (
	alice = access.Actor{Name: "alice", Role: access.Operator, Source: "local"}
	vic   = access.Actor{Name: "vic", Role: access.Viewer, Source: "local"}
)
