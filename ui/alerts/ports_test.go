package alerts

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/vigilops/vigil/integrations/alertmanager"
	"github.com/vigilops/vigil/internal/testclock"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/uitest"
)

// The unit tests run the real incident service over in-memory ports and
// the real matcher parser; the lab test runs it over the real servers.

var t0 = testclock.Epoch()

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fakeProm struct {
	mu     sync.Mutex
	rules  []incident.Rule
	series []incident.Series
	err    error
	ranges []incident.Range
	alerts []incident.Alert // pending and firing, as Prometheus lists them
}

func (f *fakeProm) Alerts(context.Context) ([]incident.Alert, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]incident.Alert(nil), f.alerts...), f.err
}

func (f *fakeProm) Rules(context.Context) ([]incident.Rule, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rules, f.err
}

func (f *fakeProm) QueryRange(_ context.Context, _ string, r incident.Range) ([]incident.Series, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ranges = append(f.ranges, r)
	return f.series, f.err
}

// fakeAM is an Alertmanager in memory: silences mute the alerts they match.
type fakeAM struct {
	mu       sync.Mutex
	alerts   []incident.Alert
	silences []incident.Silence
	err      error
}

func (f *fakeAM) Alerts(context.Context) ([]incident.Alert, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	out := make([]incident.Alert, len(f.alerts))
	for i, a := range f.alerts {
		a.SilencedBy = nil
		for _, s := range f.silences {
			if s.State == "active" && incident.MatchAll(s.Matchers, a.Labels) {
				a.SilencedBy = append(a.SilencedBy, s.ID)
			}
		}
		out[i] = a
	}
	return out, nil
}

func (f *fakeAM) Silences(context.Context) ([]incident.Silence, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]incident.Silence(nil), f.silences...), f.err
}

func (f *fakeAM) CreateSilence(_ context.Context, s incident.Silence) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return "", f.err
	}
	if s.ID != "" { // an update in place, as Alertmanager does for end and comment
		for i := range f.silences {
			if f.silences[i].ID == s.ID {
				s.State = f.silences[i].State
				f.silences[i] = s
				return s.ID, nil
			}
		}
		return "", errors.New("silence " + s.ID + " not found")
	}
	s.ID, s.State = fmt.Sprintf("sil-%d", len(f.silences)+1), "active"
	f.silences = append(f.silences, s)
	return s.ID, nil
}

func (f *fakeAM) ExpireSilence(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.silences {
		if f.silences[i].ID == id {
			f.silences[i].State = "expired"
			return nil
		}
	}
	return errors.New("silence " + id + " not found")
}

func (f *fakeAM) set(as ...incident.Alert) {
	f.mu.Lock()
	f.alerts = as
	f.mu.Unlock()
}

func mkAlert(fp, name, severity string, started time.Time, kv ...string) incident.Alert {
	labels := map[string]string{"alertname": name, "severity": severity}
	for i := 0; i+1 < len(kv); i += 2 {
		labels[kv[i]] = kv[i+1]
	}
	return incident.Alert{Fingerprint: fp, State: incident.Firing, Labels: labels, StartsAt: started,
		Annotations: map[string]string{"summary": name + " summary"}}
}

type fixture struct {
	clock   *clock
	prom    *fakeProm
	am      *fakeAM
	svc     *incident.Service
	journal *audit.Journal
	ctx     *common.Context
	m       *Model
}

func newFixture(t testing.TB, role access.Role) *fixture { return newFixtureWith(t, role, nil) }

// newFixtureWith is newFixture with the service's options changed by opt.
func newFixtureWith(t testing.TB, role access.Role, opt func(*incident.Options)) *fixture {
	t.Helper()
	f := &fixture{clock: &clock{t: t0}, prom: &fakeProm{}, am: &fakeAM{}}
	j, err := audit.Open(filepath.Join(t.TempDir(), "j.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	f.journal = j
	j.Now = f.clock.Now // one clock for the service, its journal and the pane
	opts := incident.Options{Prometheus: f.prom, Alertmanager: f.am, ParseMatchers: alertmanager.ParseMatchers, Journal: j, Now: f.clock.Now}
	if opt != nil {
		opt(&opts)
	}
	f.svc, err = incident.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	th := uitest.Theme(t)
	f.ctx = &common.Context{Config: config.Default(), Actor: access.Actor{Name: "alice", Role: role, Source: "local"},
		Journal: j, Services: &common.Services{Incident: f.svc}, Base: context.Background(), Now: f.clock.Now}
	f.ctx.SetTheme(th)
	keys := NewKeyMap()
	common.Restrict(keys.Bindings(), f.ctx.MayAct())
	f.m = New(f.ctx, keys)
	f.m.SetSize(120, 30)
	return f
}

// poll refreshes the service and hands the pane its snapshot.
func (f *fixture) poll() []tea.Msg {
	f.svc.Refresh(context.Background())
	return run(f.m, f.m.Update(SnapshotMsg{Snap: f.svc.Snapshot()}))
}

// run executes cmd and what it batches, feeding messages back to m, and
// returns the messages that are the shell's (toasts, confirms, gotos,
// health). Commands still blocked after a moment (ticks, the feed) are left.
func run(m *Model, cmd tea.Cmd) []tea.Msg {
	var out []tea.Msg
	queue := []tea.Cmd{cmd}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		done := make(chan tea.Msg, 1)
		go func() { done <- c() }()
		var msg tea.Msg
		select {
		case msg = <-done:
		case <-time.After(100 * time.Millisecond):
			continue
		}
		if text, ok := uitest.ClipboardOf(msg); ok {
			out = append(out, uitest.Clipboard(text))
			continue
		}
		switch msg := msg.(type) {
		case tea.BatchMsg:
			queue = append(queue, msg...)
		case common.ToastMsg, common.ConfirmMsg, common.GotoMsg, common.HealthMsg, common.BadgeChangedMsg, common.RunCommandMsg:
			out = append(out, msg)
		case nil:
		default:
			queue = append(queue, m.Update(msg))
		}
	}
	return out
}

// keys presses each key, or types each rune of a word prefixed with "'".
func (f *fixture) keys(ks ...string) []tea.Msg {
	var out []tea.Msg
	for _, k := range ks {
		if len(k) > 1 && k[0] == '\'' {
			for _, r := range k[1:] {
				out = append(out, run(f.m, f.m.Update(uitest.Key(string(r))))...)
			}
			continue
		}
		out = append(out, run(f.m, f.m.Update(uitest.Key(k)))...)
	}
	return out
}
