package runs_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/vigilops/vigil/internal/testclock"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ui/app"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/runs"
	"github.com/vigilops/vigil/ui/uitest"
)

// TestGolden draws the pane in the shell at the two reference sizes, after
// a run of flaky.yml in check mode where flaky-01 fails.
func TestGolden(t *testing.T) {
	cfg := &config.Config{Identity: config.Identity{Name: "alice", Role: "operator"}, Ansible: &config.Ansible{}}
	th := uitest.Theme(t)
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
						Context: context.Background(), Now: func() time.Time { return testclock.Epoch() },
						Actor: access.Actor{Name: "alice", Role: access.Operator, Source: "local"}})
					t.Cleanup(m.Close)
					p := &uitest.Probe{Model: m}
					tm := teatest.NewTestModel(t, p, teatest.WithInitialTermSize(size[0], size[1]),
						teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.ASCII)))
					tm.Send(uitest.Key("6"))
					tm.Send(uitest.Key("n"))
					p.WaitFor(t, 10*time.Second, "Run: PLAYBOOK") // the prompt opens once the playbooks are listed
					tm.Send(uitest.Key("ctrl+u"))
					for _, r := range "flaky.yml all check" {
						tm.Send(uitest.Key(string(r)))
					}
					tm.Send(uitest.Key("enter"))
					p.WaitFor(t, 10*time.Second, "3 tasks")
					for _, k := range strings.Fields(c.keys) {
						tm.Send(uitest.Key(k))
					}
					p.WaitFor(t, 10*time.Second, c.want)
					if c.name == "result" {
						tm.Send(uitest.Key("enter"))
						p.WaitFor(t, 10*time.Second, "exit 1 on flaky-01")
					}
					if err := tm.Quit(); err != nil {
						t.Fatal(err)
					}
					final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*uitest.Probe)
					screen := uitest.ASCII(t, final.View().Content)
					if strings.Contains(screen, "secret") {
						t.Fatal("the vault password is on screen")
					}
					golden.RequireEqual(t, testclock.Unshift(screen))
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
