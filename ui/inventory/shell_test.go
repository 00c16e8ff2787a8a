package inventory_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/themes"
	"github.com/vigilops/vigil/ui/app"
	"github.com/vigilops/vigil/ui/common"
	uinv "github.com/vigilops/vigil/ui/inventory"
)

// probe keeps the last frame the shell drew, so a test can wait for text
// on screen: the program's output only carries the cells that changed.
type probe struct {
	*app.Model
	mu   sync.Mutex
	last string
}

func (p *probe) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	_, cmd := p.Model.Update(msg)
	return p, cmd
}

func (p *probe) View() tea.View {
	v := p.Model.View()
	p.mu.Lock()
	p.last = ansi.Strip(v.Content)
	p.mu.Unlock()
	return v
}

func (p *probe) screen() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

// shell is the whole console in a teatest program.
type shell struct {
	t  testing.TB
	p  *probe
	tm *teatest.TestModel
}

func newShell(t testing.TB, cfg *config.Config, svc *common.Services, j *audit.Journal, now func() time.Time, w, h int) *shell {
	t.Helper()
	th, err := themes.Load("dark", "")
	if err != nil {
		t.Fatal(err)
	}
	m := app.New(app.Options{Config: cfg, Theme: th, Services: svc, Journal: j, Now: now, Context: context.Background(),
		Actor: access.Actor{Name: "alice", Role: access.Operator, Source: "local"}})
	p := &probe{Model: m}
	tm := teatest.NewTestModel(t, p, teatest.WithInitialTermSize(w, h),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.ASCII)))
	t.Cleanup(m.Close)
	return &shell{t: t, p: p, tm: tm}
}

// keys sends space-separated keys: characters, or names as keyMsg knows them.
func (s *shell) keys(keys string) {
	for _, k := range strings.Fields(keys) {
		s.tm.Send(shellKey(k))
	}
}

func shellKey(k string) tea.KeyPressMsg {
	switch k {
	case "ctrl+u":
		return tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl}
	case "space":
		return tea.KeyPressMsg{Code: ' ', Text: " "}
	}
	return keyMsg(k)
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
	deadline := time.Now().Add(timeout)
	for {
		screen := s.p.screen()
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(screen, w)
		}
		if ok {
			return screen
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%q not on screen after %s:\n%s", want, timeout, screen)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// final quits and returns the last screen in the ASCII profile.
func (s *shell) final() string {
	s.t.Helper()
	if err := s.tm.Quit(); err != nil {
		s.t.Fatal(err)
	}
	fm := s.tm.FinalModel(s.t, teatest.WithFinalTimeout(5*time.Second)).(*probe)
	var b bytes.Buffer
	w := &colorprofile.Writer{Forward: &b, Profile: colorprofile.ASCII}
	if _, err := w.WriteString(fm.View().Content); err != nil {
		s.t.Fatal(err)
	}
	return b.String()
}

// The pane plugs into the shell with these capabilities.
var (
	_ app.Pane       = (*uinv.Model)(nil)
	_ app.Filterable = (*uinv.Model)(nil)
	_ app.Commander  = (*uinv.Model)(nil)
	_ app.Closer     = (*uinv.Model)(nil)
	_ app.Capturer   = (*uinv.Model)(nil)
)
