package logs_test

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
	oplogs "github.com/vigilops/vigil/ops/logs"
	"github.com/vigilops/vigil/ui/app"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/logs"
	"github.com/vigilops/vigil/ui/uitest"
)

// script is what the golden views follow: three pods of prod/api, access
// lines with an error every fourth request, and the first pod deleted.
func script() []oplogs.Line {
	pods := []string{"api-7669c8588-bl6q8", "api-7669c8588-lr5j7", "api-7669c8588-nkjfz"}
	var out []oplogs.Line
	for _, p := range pods {
		out = append(out, logs.Added(p, "app"))
	}
	for i := range 60 {
		p := pods[i%3]
		if i%4 == 3 {
			out = append(out, logs.Text(p, "app", i, logs.Error(i)), logs.Text(p, "app", i, "\tat shop/api/store.(*Orders).Get(0x0, {0xc0001a2000, 0x24}) store.go:88"))
		}
		out = append(out, logs.Text(p, "app", i, logs.Access(i)))
		if i == 40 {
			out = append(out, logs.Gone(pods[0], "app"))
		}
	}
	return out
}

// TestGolden draws the pane in the shell at the two reference sizes:
// following, filtered to the errors with timestamps and wrap, paused with
// new lines counted, and with the API server down.
func TestGolden(t *testing.T) {
	cfg := &config.Config{Identity: config.Identity{Name: "alice", Role: "viewer"}, Kubernetes: &config.Kubernetes{}}
	th := uitest.Theme(t)
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			for _, c := range []struct {
				name, keys string
				after      []oplogs.Line
				want       string
			}{
				{"follow", "", nil, "● following"},
				{"errors", "e t w", nil, "· errors "},
				{"paused", "f", []oplogs.Line{logs.Text("api-7669c8588-nkjfz", "app", 61, logs.Access(61)), logs.Text("api-7669c8588-nkjfz", "app", 62, logs.Access(62))}, "paused · 2 new"},
				{"down", "", []oplogs.Line{logs.Failed("api-7669c8588-nkjfz", "app", "14:02:31")}, "✖ log of"},
			} {
				t.Run(c.name, func(t *testing.T) {
					src := &logs.FakeSource{}
					m := app.New(app.Options{Config: cfg, Theme: th, Services: &common.Services{Logs: logs.NewTestService(src, 1000)},
						Context: context.Background(), Now: func() time.Time { return testclock.Epoch() },
						Actor: access.Actor{Name: "alice", Role: access.Viewer, Source: "local"}})
					t.Cleanup(m.Close)
					p := &uitest.Probe{Model: m}
					tm := teatest.NewTestModel(t, p, teatest.WithInitialTermSize(size[0], size[1]),
						teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.ASCII)))
					tm.Send(common.GotoMsg{Pane: common.LogsPane, Target: "prod/api"})
					deadline := time.Now().Add(10 * time.Second)
					for len(src.Follows()) == 0 && time.Now().Before(deadline) {
						time.Sleep(5 * time.Millisecond)
					}
					f := src.Last(t)
					f.Send(script()...)
					p.WaitFor(t, 10*time.Second, "/api/orders/1059 ")
					for _, k := range strings.Fields(c.keys) {
						tm.Send(uitest.Key(k))
					}
					f.Send(c.after...)
					p.WaitFor(t, 10*time.Second, c.want)
					if err := tm.Quit(); err != nil {
						t.Fatal(err)
					}
					final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*uitest.Probe)
					screen := uitest.ASCII(t, final.View().Content)
					golden.RequireEqual(t, testclock.Unshift(screen))
				})
			}
		})
	}
}

// The pane plugs into the shell with these capabilities.
var (
	_ app.Pane       = (*logs.Model)(nil)
	_ app.Filterable = (*logs.Model)(nil)
	_ app.Closer     = (*logs.Model)(nil)
	_ app.Capturer   = (*logs.Model)(nil)
	_ app.Legender   = (*logs.Model)(nil)
)
