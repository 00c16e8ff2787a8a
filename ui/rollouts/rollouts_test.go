package rollouts

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/vigilops/vigil/internal/testclock"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/uitest"
)

var fixedNow = testclock.Epoch().Add(2*time.Minute + 31*time.Second)

func testContext(t testing.TB, role access.Role) *common.Context {
	t.Helper()
	theme := uitest.Theme(t)
	ctx := &common.Context{Config: &config.Config{}, Actor: access.Actor{Name: "alice", Role: role},
		Services: &common.Services{}, Base: context.Background(), Now: func() time.Time { return fixedNow }}
	ctx.SetTheme(theme)
	return ctx
}

var envs = []string{"dev", "test", "prod"}

func workload(app, version string, updated, ready, desired int32, age time.Duration) *release.Workload {
	return &release.Workload{Kind: release.Deployment, Name: app, Settled: true,
		Containers: []release.Container{{Name: app, Image: "registry.lab.local/shop/" + app + ":" + version}},
		Desired:    desired, Current: desired, Updated: updated, Ready: ready, Available: ready, Revision: 4,
		ChangedAt: fixedNow.Add(-age), PromotedBy: "bob (operator)", PromotedFrom: "test", PromotedAt: fixedNow.Add(-age),
		Conditions: []release.Condition{
			{Type: "Available", Status: "True", Reason: "MinimumReplicasAvailable", Message: "Deployment has minimum availability.", Updated: fixedNow.Add(-age)},
			{Type: "Progressing", Status: "True", Reason: "ReplicaSetUpdated", Message: `ReplicaSet "` + app + `-7c9" is progressing.`, Updated: fixedNow.Add(-age)},
		}}
}

func testMatrix() *release.Matrix {
	m := &release.Matrix{Built: fixedNow}
	for _, e := range envs {
		m.Envs = append(m.Envs, release.EnvState{Env: release.Env{Name: e, Namespace: "shop-" + e, Protected: e == "prod"},
			Conn: release.Conn{Connected: true, LastData: fixedNow}})
	}
	m.Envs[2].Freeze = &release.Freeze{Reason: "black friday", By: "bob", Until: fixedNow.Add(2 * time.Hour)}
	add := func(app string, ws ...*release.Workload) {
		r := release.Row{App: app, Kind: release.Deployment}
		for i, w := range ws {
			c := release.Cell{Env: envs[i], Workload: w, Version: w.Version(), Assessment: release.Assess(w, release.Signals{})}
			r.Cells = append(r.Cells, c)
		}
		m.Rows = append(m.Rows, r)
	}
	rolling := workload("api", "2.5.0", 1, 2, 3, 2*time.Minute)
	rolling.OldReady, rolling.OldAvailable = 2, 2 // the 2 ready pods are the old ReplicaSet's
	add("api", workload("api", "2.5.0", 3, 3, 3, 3*time.Hour), workload("api", "2.5.0", 3, 3, 3, 2*time.Hour), rolling)
	add("web", workload("web", "1.9.0", 2, 2, 2, 5*time.Hour), workload("web", "1.9.0", 2, 2, 2, 30*time.Minute), workload("web", "1.8.3", 4, 4, 4, 48*time.Hour))
	return m
}

func testDetail() release.Detail {
	w := *workload("api", "2.5.0", 1, 2, 3, 2*time.Minute)
	w.OldReady, w.OldAvailable = 2, 2
	w.ChangeCause = "vigil: bob promoted api 2.5.0 from test"
	w.Conditions[1] = release.Condition{Type: "Progressing", Status: "False", Reason: "ProgressDeadlineExceeded",
		Message: `ReplicaSet "api-7c9" has timed out progressing.`, Updated: fixedNow.Add(-time.Minute)}
	return release.Detail{
		Workload: w,
		New:      &release.ReplicaSet{Name: "api-7c9", Revision: 4, Containers: w.Containers, Desired: 1, Ready: 0, Created: fixedNow.Add(-2 * time.Minute)},
		Old: []release.ReplicaSet{{Name: "api-5d6", Revision: 3, Containers: []release.Container{{Name: "api", Image: "registry.lab.local/shop/api:2.4.1"}},
			Desired: 2, Ready: 2, Available: 2, Created: fixedNow.Add(-48 * time.Hour)}},
		Events: []release.Event{{Type: "Normal", Reason: "ScalingReplicaSet", Object: "Deployment/api", Message: "Scaled up replica set api-7c9 from 0 to 1", Count: 1, Last: fixedNow.Add(-2 * time.Minute)},
			{Type: "Warning", Reason: "BackOff", Object: "Pod/api-7c9-x2f", Message: "Back-off restarting failed container", Count: 4, Last: fixedNow.Add(-30 * time.Second)}},
		Pods: []release.Pod{{Name: "api-7c9-x2f", Owner: "api-7c9", Phase: "Running", Restarts: 4, Reason: "CrashLoopBackOff", Created: fixedNow.Add(-2 * time.Minute),
			Node: "node-3", Unready: []string{"api"}, LastExit: "Error, exit 1", LastExitAt: fixedNow.Add(-40 * time.Second)}},
		Assessment: release.Assess(&w, release.Signals{}),
		Stall:      "progress deadline exceeded: ReplicaSet \"api-7c9\" has timed out progressing.",
	}
}

func testHistory() []release.Revision {
	return []release.Revision{
		{Number: 4, Containers: []release.Container{{Name: "api", Image: "registry.lab.local/shop/api:2.5.0"}}, ChangeCause: "vigil: bob promoted api 2.5.0 from test", Created: fixedNow.Add(-2 * time.Minute), Current: true},
		{Number: 3, Containers: []release.Container{{Name: "api", Image: "registry.lab.local/shop/api:2.4.1"}}, ChangeCause: "vigil: alice promoted api 2.4.1 from test", Created: fixedNow.Add(-48 * time.Hour)},
		{Number: 1, Containers: []release.Container{{Name: "api", Image: "registry.lab.local/shop/api:2.3.0"}}, Created: fixedNow.Add(-96 * time.Hour)},
	}
}

func newModel(t testing.TB, role access.Role, w, h int) *Model {
	t.Helper()
	m := New(testContext(t, role), nil, NewKeyMap())
	common.Restrict(m.Bindings(), m.Ctx.MayAct())
	m.SetSize(w, h)
	m.SetMatrix(testMatrix())
	return m
}

// open shows api in prod as if the live feed and the history had come.
func open(m *Model) {
	m.gen++
	m.app, m.env, m.mode = "api", "prod", detailMode
	m.Update(DetailMsg{gen: m.gen, Detail: testDetail()})
	m.Update(HistoryMsg{gen: m.gen, Revisions: testHistory()})
}

// choose presses u, which reads the history again, and delivers it.
func choose(m *Model) {
	press(m, "u")
	m.Update(HistoryMsg{gen: m.gen, Revisions: testHistory()})
}

func press(m *Model, keys ...string) tea.Cmd {
	var cmd tea.Cmd
	for _, k := range keys {
		cmd = m.Update(uitest.Key(k))
	}
	return cmd
}

func TestGolden(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {120, 40}} {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) {
			t.Run("list", func(t *testing.T) {
				golden.RequireEqual(t, testclock.Unshift(uitest.ASCII(t, newModel(t, access.Operator, sz[0], sz[1]).View())))
			})
			t.Run("detail", func(t *testing.T) {
				m := newModel(t, access.Operator, sz[0], sz[1])
				open(m)
				golden.RequireEqual(t, testclock.Unshift(uitest.ASCII(t, m.View())))
			})
			t.Run("choose", func(t *testing.T) {
				m := newModel(t, access.Operator, sz[0], sz[1])
				open(m)
				choose(m)
				golden.RequireEqual(t, testclock.Unshift(uitest.ASCII(t, m.View())))
			})
		})
	}
}

func TestListOrder(t *testing.T) {
	m := newModel(t, access.Operator, 120, 40)
	var got []string
	for _, e := range m.list.Rows() {
		got = append(got, e.env+"/"+e.app)
	}
	// The unsettled rollout first, then the newest change.
	want := "prod/api test/web test/api dev/api dev/web prod/web"
	if strings.Join(got, " ") != want {
		t.Fatalf("order %q, want %q", strings.Join(got, " "), want)
	}
	if s := m.Status(); s != "1 unsettled · 6 workloads · prod/api 2.5.0" {
		t.Fatalf("status %q", s)
	}
	m.SetFilter("web 1.9")
	if m.list.Len() != 2 {
		t.Fatalf("filter web 1.9: %d visible", m.list.Len())
	}
}

func TestDetail(t *testing.T) {
	m := newModel(t, access.Operator, 120, 60)
	open(m)
	view := ansi.Strip(m.View())
	for _, want := range []string{
		"api in prod · Deployment · revision 4 · 2.5.0 · ✗ stalled",
		"❄ prod is frozen by bob for 2h more: black friday",
		"✗ stalled: progress deadline exceeded", "u rolls back to revision 3",
		"updated    " + Bar(1, 3, 40) + " 1/3",
		"new  api-7c9  rev 4", "old  api-5d6  rev 3",
		"Progressing  False", "CrashLoopBackOff", "30s  Warning BackOff",
		"not ready: api", "node-3", "Error, exit 1, 40s ago",
		"●    4  registry.lab.local/shop/api:2.5.0  2m  vigil: bob promoted",
	} {
		if !strings.Contains(view, want) {
			t.Errorf("detail lacks %q:\n%s", want, view)
		}
	}
	// Warnings first, though the Normal event is older.
	if w, n := strings.Index(view, "Warning BackOff"), strings.Index(view, "Normal  ScalingReplicaSet"); w < 0 || n < 0 || w > n {
		t.Errorf("events: the warning should come first:\n%s", view)
	}

	// An old feed's detail is ignored.
	m.Update(DetailMsg{gen: m.gen - 1, Detail: release.Detail{Workload: release.Workload{Name: "stale"}}})
	if m.detail.Workload.Name != "api" {
		t.Fatal("a detail from an earlier feed replaced the open one")
	}
}

// l follows the logs of the selected workload in the list, and of the
// open one in the detail.
func TestLogsOfTheWorkload(t *testing.T) {
	m := newModel(t, access.Viewer, 120, 40)
	e, _ := m.Selected()
	cmd := press(m, "l")
	if cmd == nil || cmd() != (common.GotoMsg{Pane: common.LogsPane, Target: e.env + "/" + e.app}) {
		t.Fatal("l in the list does not jump to the selected workload's logs")
	}
	m.Update(common.GotoMsg{Pane: common.RolloutsPane, Target: "test/web"})
	if cmd := press(m, "l"); cmd == nil || cmd() != (common.GotoMsg{Pane: common.LogsPane, Target: "test/web"}) {
		t.Fatal("l in the detail does not jump to the open workload's logs")
	}
}

// Other panes name a workload by environment or by namespace.
func TestGoto(t *testing.T) {
	m := newModel(t, access.Operator, 120, 40)
	for _, c := range []struct{ target, env string }{{"test/web", "test"}, {"shop-prod/api", "prod"}} {
		if cmd := m.Update(common.GotoMsg{Pane: common.RolloutsPane, Target: c.target}); cmd == nil {
			t.Fatalf("%s: no command to watch the rollout", c.target)
		}
		if app, env, ok := m.Open(); !ok || env != c.env || app != strings.Split(c.target, "/")[1] {
			t.Fatalf("%s opened %s/%s (%v)", c.target, env, app, ok)
		}
	}
	cmd := m.Update(common.GotoMsg{Pane: common.RolloutsPane, Target: "kube-system/dns"})
	if toast, ok := cmd().(common.ToastMsg); !ok || !strings.Contains(toast.Text, "kube-system is no environment or namespace of the pipeline") {
		t.Fatalf("unknown namespace: %#v", toast)
	}
	press(m, "esc")
	if _, _, ok := m.Open(); ok {
		t.Fatal("esc left the detail open")
	}
}

func TestChooseRevision(t *testing.T) {
	m := newModel(t, access.Operator, 120, 40)
	open(m)
	// A history read before the new revision appeared is read again.
	m.Update(HistoryMsg{gen: m.gen, Revisions: testHistory()[:1]})
	if cmd := press(m, "u"); cmd == nil || m.mode == chooseMode {
		t.Fatal("u chose from the stale history instead of reading it again")
	}
	m.Update(HistoryMsg{gen: m.gen, Revisions: testHistory()})
	if m.mode != chooseMode || m.history[m.choice].Number != 3 {
		t.Fatalf("u: mode %d, choice %d", m.mode, m.choice)
	}
	press(m, "k")
	if cmd := press(m, "enter"); cmd == nil || m.mode != chooseMode {
		t.Fatal("enter on the current revision should say so and stay")
	}
	press(m, "j", "j")
	cmd := press(m, "enter")
	if m.mode != detailMode || cmd == nil {
		t.Fatalf("enter on revision 1: mode %d", m.mode)
	}
	req, ok := cmd().(common.ConfirmMsg)
	if !ok || req.Title != "Roll api in prod back to revision 1?" || req.TypeName != "prod" {
		t.Fatalf("confirm %#v", req)
	}
	if !strings.Contains(req.Body, "registry.lab.local/shop/api:2.3.0") {
		t.Fatalf("confirm body %q", req.Body)
	}
}

func TestPrompt(t *testing.T) {
	m := newModel(t, access.Operator, 120, 40)
	press(m, "s")
	if !m.Capturing() {
		t.Fatal("s opened no prompt")
	}
	if v := ansi.Strip(m.View()); !strings.Contains(v, "replicas of api in prod (now 3): ") {
		t.Fatalf("prompt not shown:\n%s", v)
	}
	press(m, "x")
	cmd := press(m, "enter")
	if m.Capturing() || cmd == nil {
		t.Fatal("enter did not close the prompt")
	}
	if toast, ok := cmd().(common.ToastMsg); !ok || !strings.Contains(toast.Text, `"x" is not a replica count`) {
		t.Fatalf("bad count: %#v", toast)
	}
	press(m, "s", "esc")
	if m.Capturing() {
		t.Fatal("esc left the prompt open")
	}
	for _, c := range []struct {
		in     string
		reason string
		d      time.Duration
		err    string
	}{
		{"release window 2h", "release window", 2 * time.Hour, ""},
		{"2h", "", 0, "needs a reason and a duration"},
		{"incident soon", "", 0, `"soon" is not a duration`},
	} {
		reason, d, err := parseFreeze(c.in)
		if reason != c.reason || d != c.d || (err == nil) != (c.err == "") || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("parseFreeze(%q) = %q, %s, %v", c.in, reason, d, err)
		}
	}
}

func TestViewerHasNoDangerousKeys(t *testing.T) {
	m := newModel(t, access.Viewer, 120, 40)
	for _, b := range []*common.Binding{m.keys.Rollback, m.keys.Pause, m.keys.Restart, m.keys.Scale, m.keys.Freeze} {
		if !b.Mutates || b.Enabled() {
			t.Errorf("%s: changes something %v, enabled %v for a viewer", b.Name, b.Mutates, b.Enabled())
		}
		// Dangerous as ops declares its actions: pausing is not.
		if b.Dangerous != (b != m.keys.Pause) {
			t.Errorf("%s: dangerous %v", b.Name, b.Dangerous)
		}
	}
	// Without a service, reaching ops would panic: the keys do nothing.
	for _, k := range []string{"u", "space", "r", "s", "f"} {
		if cmd := press(m, k); cmd != nil || m.Capturing() {
			t.Fatalf("viewer: %s did something", k)
		}
	}
}

func TestEverySize(t *testing.T) {
	m := newModel(t, access.Operator, 80, 24)
	for _, mode := range []string{"list", "detail", "choose", "prompt"} {
		switch mode {
		case "detail":
			open(m)
		case "choose":
			choose(m)
		case "prompt":
			press(m, "esc", "s")
		}
		for w := 0; w <= 300; w += 7 {
			for h := 0; h <= 100; h += 6 {
				m.SetSize(w, h)
				press(m, "G")
				if err := uitest.Fits(m.View(), w, h); err != nil {
					t.Fatal(mode, err)
				}
			}
		}
	}
}

// BenchmarkSetMatrix lists 500 apps × 3 environments again, as after
// every change of the matrix.
func BenchmarkSetMatrix(b *testing.B) {
	m := New(testContext(b, access.Operator), nil, NewKeyMap())
	m.SetSize(120, 40)
	mat := testMatrix()
	rows := mat.Rows
	mat.Rows = nil
	for i := range 250 {
		for _, r := range rows {
			r.App = fmt.Sprintf("%s-%03d", r.App, i)
			mat.Rows = append(mat.Rows, r)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		m.SetMatrix(mat)
		_ = m.View()
	}
}

// TestMovement walks the 6 rollouts 3 rows at a time, then scrolls the
// detail: by a row, a page and to either end, the cursor kept in view.
func TestMovement(t *testing.T) {
	m := newModel(t, access.Operator, 120, 4)
	for _, step := range []struct {
		key         string
		pos, offset int
	}{
		{"j", 1, 0}, {"j", 2, 0}, {"j", 3, 1}, {"G", 5, 3}, {"j", 5, 3},
		{"ctrl+u", 2, 2}, {"k", 1, 1}, {"ctrl+d", 4, 2}, {"g", 0, 0}, {"k", 0, 0},
	} {
		press(m, step.key)
		if c := m.list.Cursor(); c.Pos != step.pos || c.Offset != step.offset {
			t.Fatalf("list after %s: cursor %d, offset %d; want %d, %d", step.key, c.Pos, c.Offset, step.pos, step.offset)
		}
	}
	open(m)
	n := len(m.lines)
	if n <= 2*m.Height {
		t.Fatalf("the detail has %d lines, too few to scroll %d at a time", n, m.Height)
	}
	for _, step := range []struct {
		key    string
		scroll int
	}{
		{"j", 1}, {"k", 0}, {"k", 0}, {"ctrl+d", 4}, {"G", n - 4}, {"j", n - 4}, {"ctrl+u", n - 8}, {"g", 0},
	} {
		press(m, step.key)
		if m.scroll != step.scroll {
			t.Fatalf("detail after %s: scroll %d, want %d", step.key, m.scroll, step.scroll)
		}
	}
}

// Issue 12, point 1: a jump to a workload puts the list's cursor on it, esc
// goes back where the jump came from, and u after esc acts on that
// workload: the one its dialog names.
func TestJumpMovesTheListCursor(t *testing.T) {
	m := newModel(t, access.Operator, 120, 40)
	if e, _ := m.Selected(); e.env+"/"+e.app == "prod/web" {
		t.Fatal("the cursor starts on prod/web: the test proves nothing")
	}
	m.Update(common.GotoMsg{Pane: common.RolloutsPane, Target: "prod/web"})
	cmd := press(m, "esc")
	if _, _, ok := m.Open(); ok {
		t.Fatal("esc left the detail open")
	}
	if cmd == nil || cmd() != (common.BackMsg{}) {
		t.Fatal("esc after a jump does not go back to the pane the jump came from")
	}
	if e, _ := m.Selected(); e.env+"/"+e.app != "prod/web" {
		t.Fatalf("after esc the cursor is on %s/%s, not prod/web", e.env, e.app)
	}
	// The rows change order: the cursor follows the workload, not the index.
	mat := testMatrix()
	mat.Rows[1].Cells[2].Health = release.Degraded
	m.SetMatrix(mat)
	if e, _ := m.Selected(); e.env+"/"+e.app != "prod/web" {
		t.Fatalf("after a change of the rows the cursor is on %s/%s, not prod/web", e.env, e.app)
	}
	press(m, "u")
	m.Update(HistoryMsg{gen: m.gen, Revisions: testHistory()})
	if app, env, _ := m.Open(); app != "web" || env != "prod" || m.mode != chooseMode {
		t.Fatalf("u after esc chose a revision of %s/%s (mode %d)", env, app, m.mode)
	}
	if !strings.Contains(ansi.Strip(m.View()), "Roll web in prod back to") {
		t.Fatalf("the choice does not name web in prod:\n%s", ansi.Strip(m.View()))
	}
	req, ok := press(m, "enter")().(common.ConfirmMsg)
	if !ok || !strings.HasPrefix(req.Title, "Roll web in prod back to revision") {
		t.Fatalf("u after esc asks %#v", req)
	}
	// Opened from the list, esc stays in the pane.
	press(m, "esc")
	if cmd := press(m, "enter"); cmd == nil {
		t.Fatal("enter opened nothing")
	}
	if cmd := press(m, "esc"); cmd != nil {
		t.Fatal("esc from a detail opened in the pane left the pane")
	}
}

// Issue 12, point 10: a long version takes the free width of the list
// before it is cut, and the status line shows it whole.
func TestLongVersionTakesTheFreeWidth(t *testing.T) {
	m := newModel(t, access.Operator, 120, 40)
	mat := testMatrix()
	w := workload("worker", "3.1.1-broken-build", 0, 0, 1, time.Minute)
	mat.Rows = append(mat.Rows, release.Row{App: "worker", Kind: release.Deployment,
		Cells: []release.Cell{{Env: "dev", Workload: w, Version: w.Version(), Assessment: release.Assess(w, release.Signals{})}}})
	m.SetMatrix(mat)
	view := ansi.Strip(m.View())
	if !strings.Contains(view, "3.1.1-broken-build") {
		t.Fatalf("the version is cut with free width:\n%s", view)
	}
	m.selectWorkload("worker", "dev")
	if e, _ := m.Selected(); e.app != "worker" || !strings.Contains(m.Status(), "dev/worker 3.1.1-broken-build") {
		t.Fatalf("status %q", m.Status())
	}
	m.SetSize(80, 24)
	if view = ansi.Strip(m.View()); !strings.Contains(view, "3.1.1-broken-build") {
		t.Fatalf("at 80 columns the version is cut while the APP column has room:\n%s", view)
	}
}

// The detail of a workload whose promotion lock is held says who holds
// it, through which bastion, for what, since when and when it expires.
func TestDetailShowsTheLock(t *testing.T) {
	m := newModel(t, access.Operator, 160, 60)
	mat := testMatrix()
	mat.Envs[2].Locks = []*release.LockedError{{Lock: "vigil-promote-api in prod", Holder: "alice on bastion-a", Bastion: "bastion-a",
		Action: "promote from preprod", Since: fixedNow.Add(-time.Minute), Until: fixedNow.Add(9 * time.Minute)}}
	m.SetMatrix(mat)
	open(m)
	view := ansi.Strip(m.View())
	want := "🔒 api in prod locked by alice on bastion-a (promote from preprod) since " + fixedNow.Add(-time.Minute).Format("15:04:05") +
		" · expires " + fixedNow.Add(9*time.Minute).Format("15:04:05") + ", in 9m"
	if !strings.Contains(view, want) {
		t.Errorf("detail lacks %q:\n%s", want, view)
	}
	// Expired: its holder died, anyone may take it; nothing is shown.
	mat.Envs[2].Locks[0].Until = fixedNow.Add(-time.Second)
	m.SetMatrix(mat)
	if view := ansi.Strip(m.View()); strings.Contains(view, "🔒") {
		t.Errorf("an expired lock is shown:\n%s", view)
	}
}
