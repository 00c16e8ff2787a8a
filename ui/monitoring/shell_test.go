package monitoring_test

import (
	"context"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/config"
	mon "github.com/vigilops/vigil/ops/monitoring"
	"github.com/vigilops/vigil/ui/app"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/monitoring"
	"github.com/vigilops/vigil/ui/uitest"
)

// The pane plugs into the shell with these capabilities.
var (
	_ app.Pane      = (*monitoring.Model)(nil)
	_ app.Commander = (*monitoring.Model)(nil)
	_ app.Capturer  = (*monitoring.Model)(nil)
	_ app.Closer    = (*monitoring.Model)(nil)
)

// TestInShell: key 8 focuses the pane, and :query typed in the shell's
// palette, quotes and all, reaches it from another pane.
func TestInShell(t *testing.T) {
	p := &prom{}
	svc, err := mon.New(mon.Options{Prometheus: p, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Identity: config.Identity{Name: "alice", Role: "operator"}, Prometheus: &config.Prometheus{URL: "http://127.0.0.1:9090"}}
	m := app.New(app.Options{Config: cfg, Theme: uitest.Theme(t), Services: &common.Services{Monitoring: svc},
		Context: context.Background(), Now: func() time.Time { return t0 },
		Actor: access.Actor{Name: "alice", Role: access.Operator, Source: "local"}})
	t.Cleanup(m.Close)
	probe := &uitest.Probe{Model: m}
	tm := teatest.NewTestModel(t, probe, teatest.WithInitialTermSize(120, 30),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.ASCII)))
	tm.Send(uitest.Key("8"))
	probe.WaitFor(t, 10*time.Second, "Monitoring", "4 targets · 2 up", "10.0.0.1:9100")
	tm.Send(uitest.Key(":"))
	for _, r := range `query up{job="droplets"}` {
		tm.Send(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	tm.Send(uitest.Key("enter"))
	probe.WaitFor(t, 10*time.Second, `up{instance="10.0.0.2:9100", job="droplets"}`, "instant vector · 2 series")
	p.mu.Lock()
	q := p.queries[len(p.queries)-1]
	p.mu.Unlock()
	if q != `up{job="droplets"}` {
		t.Fatalf("the palette passed %q", q)
	}
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
}
