package alerts

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/vigilops/vigil/internal/testclock"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
	"github.com/vigilops/vigil/ui/uitest"
)

// runbookCluster is prod/api and dev/web, recording restarts and scales.
type runbookCluster struct {
	rollbackCluster
	restarted []release.Ref
	scaled    map[string]int32
}

func (c *runbookCluster) Watch(ctx context.Context, envs []release.Env, sel string, sink release.Sink) error {
	sink.Workload("dev", release.Workload{Kind: release.Deployment, Name: "web", Revision: 1, Desired: 1, Ready: 1, Available: 1, Updated: 1,
		Containers: []release.Container{{Name: "web", Image: "web:1"}}, ChangedAt: c.now.Add(-time.Hour)})
	return c.rollbackCluster.Watch(ctx, envs, sel, sink)
}

func (c *runbookCluster) Restart(_ context.Context, ref release.Ref, _ time.Time) error {
	c.restarted = append(c.restarted, ref)
	return nil
}

func (c *runbookCluster) Scale(_ context.Context, ref release.Ref, n int32) error {
	c.scaled[ref.Target.Namespace+"/"+ref.Name] = n
	return nil
}

func intp(n int) *int { return &n }

var testRunbooks = []config.Runbook{
	{Name: "restart-api", Alert: "AppHighErrorRate", Labels: map[string]string{"namespace": "prod|preprod"}, Kind: "restart", Role: "operator"},
	{Name: "look", Alert: "AppHighErrorRate", Kind: "command", Command: "rollout {env}/{app}", Role: "viewer"},
	{Name: "page-team", Alert: "AppHighErrorRate", Kind: "command", Command: "note paging {label:team}", Role: "operator", Confirm: true},
	{Name: "scale-web", Labels: map[string]string{"deployment": "web"}, Kind: "scale", Replicas: intp(5), Role: "operator"},
	{Name: "drain", Alert: "HostDown", Kind: "playbook", Playbook: "drain.yml", Role: "admin"},
}

// runbookFixture is the Alerts pane of a session of role over a dev → prod
// pipeline, with testRunbooks configured: AppHighErrorRate on prod/api
// (a2, selected), HostDown on web-02 (a1), AppHighLatency on dev/web (a3).
func runbookFixture(t *testing.T, role access.Role, team string) (*fixture, *runbookCluster) {
	t.Helper()
	f := newFixture(t, role)
	now := f.clock.Now()
	c := &runbookCluster{rollbackCluster: rollbackCluster{now: now}, scaled: map[string]int32{}}
	envs := []release.Env{{Name: "dev", Namespace: "dev"}, {Name: "prod", Namespace: "prod", Protected: true}}
	svc := release.New(envs, c, f.journal, release.Options{Now: f.clock.Now})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	f.ctx.Services.Release = svc
	f.ctx.Config.Runbooks = testRunbooks
	keys := NewKeyMap()
	common.Restrict(keys.Bindings(), f.ctx.MayAct())
	f.m = New(f.ctx, keys)
	f.m.SetSize(120, 30)
	f.am.set(
		mkAlert("a1", "HostDown", "critical", now.Add(-10*time.Minute), "droplet", "web-02", "instance", "web-02"),
		mkAlert("a2", "AppHighErrorRate", "critical", now.Add(-time.Minute), "namespace", "prod", "deployment", "api", "team", team),
		mkAlert("a3", "AppHighLatency", "warning", now.Add(-30*time.Second), "namespace", "dev", "deployment", "web"),
	)
	f.poll()
	if a := f.m.Selected(); a == nil || a.Fingerprint != "a2" {
		t.Fatalf("the pane opened on %v, not a2", a)
	}
	return f, c
}

func confirmOf(msgs []tea.Msg) (common.ConfirmMsg, bool) {
	for _, m := range msgs {
		if c, ok := m.(common.ConfirmMsg); ok {
			return c, true
		}
	}
	return common.ConfirmMsg{}, false
}

func toasts(msgs []tea.Msg) []string {
	var out []string
	for _, m := range msgs {
		if t, ok := m.(common.ToastMsg); ok {
			out = append(out, t.Text)
		}
	}
	return out
}

func journaled(t *testing.T, j *audit.Journal) []string {
	t.Helper()
	es, err := j.Query(audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Actor+" "+e.Action+" "+e.Target+" "+string(e.Result))
	}
	return out
}

// The sequence a person follows: the alert's detail lists its runbooks
// first, r opens them, 1 asks to restart exactly prod/api, y restarts it,
// through ops/release, which journals it.
func TestRunbookRestartFromDetail(t *testing.T) {
	f, c := runbookFixture(t, access.Operator, "payments")
	f.keys("enter")
	view := ansi.Strip(f.m.View())
	lines := strings.Split(view, "\n")
	if !strings.HasPrefix(lines[1], "runbook (r, then its number)") {
		t.Fatalf("the runbook section is not first in the detail:\n%s", view)
	}
	for i, want := range []string{
		"  1 restart-api  restart api in prod (prod/api)  asks first",
		"  2 look  :rollout prod/api",
		"  3 page-team  :note paging payments  asks first",
	} {
		if lines[2+i] != want {
			t.Errorf("runbook line %d is %q, want %q", i+1, lines[2+i], want)
		}
	}
	if strings.Contains(view, "scale-web") || strings.Contains(view, "drain") {
		t.Errorf("runbooks of other alerts are offered:\n%s", view)
	}

	if msgs := f.keys("r"); len(msgs) != 0 || !f.m.Capturing() {
		t.Fatalf("x: %v, capturing %v", msgs, f.m.Capturing())
	}
	if v := ansi.Strip(f.m.View()); !strings.Contains(v, "Runbook for AppHighErrorRate on prod/api") || !strings.Contains(v, "esc cancel") {
		t.Fatalf("the chooser is not shown:\n%s", v)
	}
	req, ok := confirmOf(f.keys("1"))
	if !ok {
		t.Fatal("1 on a restart runbook does not ask")
	}
	if want := "Runbook restart-api: restart api in prod (prod/api)?"; req.Title != want {
		t.Errorf("title %q, want %q", req.Title, want)
	}
	if !strings.Contains(req.Body, "workload prod/api in prod only, for the alert AppHighErrorRate (a2)") {
		t.Errorf("body %q does not name the target", req.Body)
	}
	if f.m.Capturing() || len(c.restarted) != 0 {
		t.Fatalf("before the answer: chooser open %v, restarted %v", f.m.Capturing(), c.restarted)
	}

	// Meanwhile the cursor moves: the answer still acts on what the
	// dialog named.
	f.keys("esc", "end")
	dlg, _ := components.NewConfirm(req, components.NewConfirmKeys(), f.ctx.Styles)
	if d, _ := dlg.Update(uitest.Key("y")); d != components.Accepted {
		t.Fatalf("y did not confirm: %v", d)
	}
	msgs := run(f.m, req.OnYes)
	if len(c.restarted) != 1 || c.restarted[0].Name != "api" || c.restarted[0].Target.Namespace != "prod" {
		t.Fatalf("restarted %v, want prod/api only", c.restarted)
	}
	if got := toasts(msgs); !slices.Contains(got, "done: runbook restart-api: restart api in prod (prod/api)") {
		t.Errorf("toasts %q", got)
	}
	if got, want := journaled(t, f.journal), "alice restart prod/api ok"; !slices.Contains(got, want) {
		t.Errorf("journal %q lacks %q", got, want)
	}
}

// esc closes the chooser and does nothing; a number past the list does
// nothing either.
func TestRunbookChooserEsc(t *testing.T) {
	f, c := runbookFixture(t, access.Operator, "payments")
	before := journaled(t, f.journal)
	for _, k := range [][]string{{"r", "esc"}, {"enter", "r", "esc"}, {"r", "9", "esc"}} {
		if msgs := f.keys(k...); len(msgs) != 0 {
			t.Errorf("%v: %v", k, msgs)
		}
		if f.m.Capturing() {
			t.Errorf("%v: the chooser is still open", k)
		}
	}
	if f.m.Mode() != "detail" {
		t.Errorf("esc from the chooser left the detail: %s", f.m.Mode())
	}
	if len(c.restarted) != 0 || !slices.Equal(journaled(t, f.journal), before) {
		t.Errorf("something ran: restarted %v, journal %q", c.restarted, journaled(t, f.journal))
	}
}

// A viewer sees the runbooks, and is refused the operator's with the
// reason; the refusal is journaled; the viewer's own one runs.
func TestRunbookRefusedForViewer(t *testing.T) {
	f, c := runbookFixture(t, access.Viewer, "payments")
	f.keys("enter")
	if v := ansi.Strip(f.m.View()); !strings.Contains(v, "restart-api  restart api in prod (prod/api)  (needs the operator role)") {
		t.Fatalf("the detail does not say who may:\n%s", v)
	}
	msgs := f.keys("r", "1")
	if _, asked := confirmOf(msgs); asked || len(c.restarted) != 0 {
		t.Fatalf("a viewer was asked or restarted: %v %v", msgs, c.restarted)
	}
	got := toasts(msgs)
	if len(got) != 1 || !strings.Contains(got[0], "refused: runbook restart-api (restart api in prod (prod/api)): alice is a viewer and may not runbook restart-api: it needs the operator role") {
		t.Fatalf("toasts %q", got)
	}
	if j := journaled(t, f.journal); !slices.Contains(j, "alice runbook restart-api alert/a2 refused") {
		t.Errorf("the refusal is not journaled: %q", j)
	}
	var cmd common.RunCommandMsg
	for _, m := range f.keys("r", "2") {
		if r, ok := m.(common.RunCommandMsg); ok {
			cmd = r
		}
	}
	if !slices.Equal(cmd.Args, []string{"rollout", "prod/api"}) {
		t.Errorf("the viewer's runbook asked the shell for %q", cmd.Args)
	}
}

// A command runbook fills the alert's values as arguments; a label value
// that would add arguments is refused before anything runs.
func TestRunbookCommandInjectionRefused(t *testing.T) {
	f, _ := runbookFixture(t, access.Operator, "payments --all")
	f.keys("enter")
	if v := ansi.Strip(f.m.View()); !strings.Contains(v, "3 page-team  :note paging {label:team}  (cannot: runbook page-team: {label:team} is \"payments --all\", which is not a") {
		t.Fatalf("the detail does not say why page-team cannot run:\n%s", v)
	}
	msgs := f.keys("r", "3")
	for _, m := range msgs {
		if _, ok := m.(common.RunCommandMsg); ok {
			t.Fatalf("the command ran: %v", m)
		}
	}
	if got := toasts(msgs); len(got) != 1 || !strings.Contains(got[0], "refused, so that an alert cannot add arguments") {
		t.Fatalf("toasts %q", got)
	}
}

// A confirm runbook that is not dangerous asks too; its answer sends the
// filled command line to the shell as words.
func TestRunbookCommandConfirmed(t *testing.T) {
	f, _ := runbookFixture(t, access.Operator, "payments")
	req, ok := confirmOf(f.keys("r", "down", "down", "enter"))
	if !ok || req.Title != "Runbook page-team: :note paging payments?" {
		t.Fatalf("asked %q (%v)", req.Title, ok)
	}
	var cmd common.RunCommandMsg
	for _, m := range run(f.m, req.OnYes) {
		if r, ok := m.(common.RunCommandMsg); ok {
			cmd = r
		}
	}
	if !slices.Equal(cmd.Args, []string{"note", "paging", "payments"}) {
		t.Errorf("ran %q", cmd.Args)
	}
}

// From the list, r acts on the alert under the cursor: scale-web scales
// dev/web, the workload of AppHighLatency, to 5.
func TestRunbookScaleFromList(t *testing.T) {
	f, c := runbookFixture(t, access.Operator, "payments")
	for f.m.Selected().Fingerprint != "a3" {
		f.keys("down")
	}
	req, ok := confirmOf(f.keys("r", "1"))
	if !ok || req.Title != "Runbook scale-web: scale web in dev (dev/web) to 5 replicas?" {
		t.Fatalf("asked %q (%v)", req.Title, ok)
	}
	run(f.m, req.OnYes)
	if c.scaled["dev/web"] != 5 || len(c.scaled) != 1 {
		t.Errorf("scaled %v", c.scaled)
	}
	if got := journaled(t, f.journal); !slices.Contains(got, "alice scale dev/web ok") {
		t.Errorf("journal %q", got)
	}
	// An alert no runbook matches says where they come from.
	f.keys("home")
	for f.m.Selected().Name == "AppHighErrorRate" {
		f.keys("down")
	}
	if a := f.m.Selected(); a.Name == "HostDown" {
		got := toasts(f.keys("r", "1"))
		if len(got) != 1 || !strings.Contains(got[0], "needs the admin role") && !strings.Contains(got[0], "refused") {
			t.Errorf("an operator runs the admin's drain: %q", got)
		}
	}
}

// A runbook_url that is not a plain http(s) URL is text, not a link, and
// its control characters are replaced.
func TestRunbookURLNotALink(t *testing.T) {
	f, _ := runbookFixture(t, access.Operator, "payments")
	for _, a := range f.am.alerts {
		if a.Fingerprint == "a2" {
			a.Annotations["runbook_url"] = "javascript:x\x1b]8;;https://evil/\a"
		}
	}
	f.poll()
	f.keys("enter")
	v := f.m.View()
	if strings.Contains(v, "\x1b]8;;") || strings.Contains(v, "\a") {
		t.Fatalf("a hostile runbook_url made a link or an escape: %q", v)
	}
	if !strings.Contains(ansi.Strip(v), "javascript:x?]8;;https://evil/?") {
		t.Errorf("the runbook_url is not shown as text:\n%s", ansi.Strip(v))
	}
}

// The detail's runbook section and the chooser fit every size.
func TestRunbookFits(t *testing.T) {
	f, _ := runbookFixture(t, access.Operator, "payments")
	for _, keys := range [][]string{{"enter"}, {"r"}} {
		f.keys(keys...)
		for w := 30; w <= 200; w += 3 {
			for h := 6; h <= 60; h += 5 {
				f.m.SetSize(w, h)
				if err := uitest.Fits(f.m.View(), w, h); err != nil {
					t.Fatal(keys, err)
				}
			}
		}
	}
}

// ? lists the runbooks of the alert in focus.
func TestRunbookHelpSection(t *testing.T) {
	f, _ := runbookFixture(t, access.Operator, "payments")
	title, lines := f.m.HelpSection()
	if title != "Runbooks of AppHighErrorRate (r, then the number)" || len(lines) != 3 || !strings.Contains(ansi.Strip(lines[0]), "1 restart-api  restart api in prod (prod/api)") {
		t.Errorf("help section %q %q", title, lines)
	}
	g := newFixture(t, access.Operator) // no runbooks configured
	demo(t, g)
	if title, _ := g.m.HelpSection(); title != "" {
		t.Errorf("an alert without runbooks has a help section %q", title)
	}
}

// The runbook_url of the detail is a link on every line it wraps or is
// cut to, each closed on its line, at every width.
func TestRunbookURLLinkClosedOnEveryLine(t *testing.T) {
	f := newFixture(t, access.Operator)
	demo(t, f)
	f.keys("home", "enter")
	const u = "https://runbooks.example/app-high-error-rate"
	for w := 8; w <= 90; w++ {
		f.m.SetSize(w, 40)
		links := 0
		for _, l := range strings.Split(f.m.View(), "\n") {
			open, end := strings.Index(l, ansi.SetHyperlink(u)), strings.LastIndex(l, ansi.ResetHyperlink())
			if open < 0 {
				continue
			}
			links++
			if end < open || strings.Count(l, "\x1b]8;") != 2 {
				t.Fatalf("width %d: the link is not closed on its line: %q", w, l)
			}
		}
		if links == 0 {
			t.Fatalf("width %d: no line links to the runbook", w)
		}
	}
}

// The detail's runbook section and the chooser over it, as drawn.
func TestRunbookGolden(t *testing.T) {
	for _, view := range []struct {
		name string
		keys []string
	}{{"detail", []string{"enter"}}, {"chooser", []string{"enter", "r", "down"}}} {
		t.Run(view.name, func(t *testing.T) {
			f, _ := runbookFixture(t, access.Operator, "payments")
			f.m.SetSize(100, 16)
			f.keys(view.keys...)
			golden.RequireEqual(t, testclock.Unshift(uitest.ASCII(t, f.m.View())))
		})
	}
}
