package inventory_test

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ui/app"
	"github.com/vigilops/vigil/ui/common"
	uinv "github.com/vigilops/vigil/ui/inventory"
	"github.com/vigilops/vigil/ui/uitest"
)

// shell is the whole console in a teatest program.
type shell struct {
	t  testing.TB
	p  *uitest.Probe
	tm *teatest.TestModel
}

func newShell(t testing.TB, cfg *config.Config, svc *common.Services, j *audit.Journal, now func() time.Time, w, h int, change ...func(*app.Options)) *shell {
	t.Helper()
	th := uitest.Theme(t)
	opts := app.Options{Config: cfg, Theme: th, Services: svc, Journal: j, Now: now, Context: context.Background(),
		Actor: access.Actor{Name: "alice", Role: access.Operator, Source: "local"}}
	for _, c := range change {
		c(&opts)
	}
	m := app.New(opts)
	p := &uitest.Probe{Model: m}
	tm := teatest.NewTestModel(t, p, teatest.WithInitialTermSize(w, h),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.ASCII)))
	t.Cleanup(m.Close)
	return &shell{t: t, p: p, tm: tm}
}

// keys sends space-separated keys: characters, or names as uitest.Key knows them.
func (s *shell) keys(keys string) {
	for _, k := range strings.Fields(keys) {
		s.tm.Send(uitest.Key(k))
	}
}

// text types s, spaces included.
func (s *shell) text(str string) {
	for _, r := range str {
		s.tm.Send(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

// waitFor waits until every one of want is on screen.
func (s *shell) waitFor(timeout time.Duration, want ...string) string {
	s.t.Helper()
	return s.p.WaitFor(s.t, timeout, want...)
}

// final quits and returns the last screen in the ASCII profile.
func (s *shell) final() string {
	s.t.Helper()
	if err := s.tm.Quit(); err != nil {
		s.t.Fatal(err)
	}
	fm := s.tm.FinalModel(s.t, teatest.WithFinalTimeout(5*time.Second)).(*uitest.Probe)
	return uitest.ASCII(s.t, fm.View().Content)
}

// The pane plugs into the shell with these capabilities.
var (
	_ app.Pane       = (*uinv.Model)(nil)
	_ app.Filterable = (*uinv.Model)(nil)
	_ app.Commander  = (*uinv.Model)(nil)
	_ app.Closer     = (*uinv.Model)(nil)
	_ app.Capturer   = (*uinv.Model)(nil)
)
