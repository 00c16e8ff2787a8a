package runs_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/themes"
	"github.com/vigilops/vigil/ui/app"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/runs"
)

// probe keeps the last frame the shell drew.
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

func (p *probe) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p.mu.Lock()
		screen := p.last
		p.mu.Unlock()
		if strings.Contains(screen, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q not on screen after 10s:\n%s", want, screen)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func key(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "ctrl+u":
		return tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl}
	case "space":
		return tea.KeyPressMsg{Code: ' ', Text: " "}
	}
	return tea.KeyPressMsg{Code: []rune(k)[0], Text: k}
}

// TestGolden draws the pane in the shell at the two reference sizes, after
// a run of flaky.yml in check mode where flaky-01 fails.
func TestGolden(t *testing.T) {
	cfg := &config.Config{Identity: config.Identity{Name: "alice", Role: "operator"}, Ansible: &config.Ansible{}}
	th, err := themes.Load("dark", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			for _, c := range []struct {
				name, keys, want string
			}{
				{"recap", "", "3 tasks"},
				{"failed", "f f", "failed · 1"},
				{"result", "f f", "failed · 1"},
				{"prompt", "n", "TARGET: all"},
				{"vault", "v s e c r e t", "Vault password"},
			} {
				t.Run(c.name, func(t *testing.T) {
					svc, j := runs.NewTestService(t, runs.NewScriptedRunner(3), runs.HostsNamed("flaky-01", "web-01", "web-02"))
					m := app.New(app.Options{Config: cfg, Theme: th, Services: &common.Services{Playbook: svc}, Journal: j,
						Context: context.Background(), Now: func() time.Time { return time.Date(2026, 11, 29, 14, 0, 0, 0, time.UTC) },
						Actor: access.Actor{Name: "alice", Role: access.Operator, Source: "local"}})
					t.Cleanup(m.Close)
					p := &probe{Model: m}
					tm := teatest.NewTestModel(t, p, teatest.WithInitialTermSize(size[0], size[1]),
						teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.ASCII)))
					tm.Send(key("6"))
					tm.Send(key("n"))
					p.waitFor(t, "Run: PLAYBOOK") // the prompt opens once the playbooks are listed
					tm.Send(key("ctrl+u"))
					for _, r := range "flaky.yml all check" {
						tm.Send(key(string(r)))
					}
					tm.Send(key("enter"))
					p.waitFor(t, "3 tasks")
					for _, k := range strings.Fields(c.keys) {
						tm.Send(key(k))
					}
					p.waitFor(t, c.want)
					if c.name == "result" {
						tm.Send(key("enter"))
						p.waitFor(t, "exit 1 on flaky-01")
					}
					if err := tm.Quit(); err != nil {
						t.Fatal(err)
					}
					final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*probe)
					var b bytes.Buffer
					w := &colorprofile.Writer{Forward: &b, Profile: colorprofile.ASCII}
					if _, err := w.WriteString(final.View().Content); err != nil {
						t.Fatal(err)
					}
					if strings.Contains(b.String(), "secret") {
						t.Fatal("the vault password is on screen")
					}
					golden.RequireEqual(t, b.String())
				})
			}
		})
	}
}

// The pane plugs into the shell with these capabilities.
var (
	_ app.Pane      = (*runs.Model)(nil)
	_ app.Commander = (*runs.Model)(nil)
	_ app.Closer    = (*runs.Model)(nil)
	_ app.Capturer  = (*runs.Model)(nil)
)
