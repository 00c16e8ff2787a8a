package incident_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/integrations/alertmanager"
	"github.com/vigilops/vigil/internal/testclock"
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
	// Alertmanager's own order of storing, as its updatedAt gives it.
	s.UpdatedAt = testclock.Epoch().Add(time.Duration(m.nextID) * time.Millisecond)
	if s.ID != "" { // an update in place, as Alertmanager does for end and comment
		for i := range m.silences {
			if m.silences[i].ID == s.ID {
				s.State = m.silences[i].State
				m.silences[i] = s
				return s.ID, nil
			}
		}
		return "", fmt.Errorf("silence %s not found", s.ID)
	}
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

// lastEntry is the journal's newest entry.
func lastEntry(t testing.TB, j *audit.Journal) audit.Entry {
	t.Helper()
	es, err := j.Query(audit.Query{Limit: 1})
	if err != nil || len(es) != 1 {
		t.Fatalf("journal query: %v, %d entries", err, len(es))
	}
	return es[0]
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
	journal *audit.Journal
	clock   *clock
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	j, err := audit.Open(t.TempDir() + "/journal.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	f := &fixture{prom: &memProm{}, am: &memAM{}, journal: j, clock: &clock{t: testclock.Epoch()}}
	j.Now = f.clock.Now // one clock for the service and its journal
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
