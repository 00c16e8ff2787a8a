package environments

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
	ctx := &common.Context{Config: &config.Config{Kubernetes: &config.Kubernetes{AppSelector: "app.kubernetes.io/part-of"}},
		Actor: access.Actor{Name: "alice", Role: role}, Services: &common.Services{}, Base: context.Background(),
		Now: func() time.Time { return fixedNow }}
	ctx.SetTheme(theme)
	return ctx
}

var pipeline = []release.Env{
	{Name: "dev", Context: "lab", Namespace: "dev"},
	{Name: "test", Context: "lab", Namespace: "test"},
	{Name: "preprod", Context: "lab", Namespace: "preprod"},
	{Name: "prod", Context: "prod-cluster", Namespace: "prod", Protected: true},
}

func workload(name, version string, ready, desired int32) *release.Workload {
	return &release.Workload{Kind: release.Deployment, Name: name, Settled: true,
		Containers: []release.Container{{Name: name, Image: "registry.lab.local/shop/" + name + ":" + version}},
		Desired:    desired, Current: desired, Updated: desired, Ready: ready, Available: ready,
		ChangedAt: fixedNow.Add(-time.Hour)}
}

// row builds an app's row from one version per environment ("" for
// absent), with drift as the matrix computes it.
func row(app string, versions ...string) release.Row {
	r := release.Row{App: app, Kind: release.Deployment}
	var prev *release.Workload
	for i, v := range versions {
		c := release.Cell{Env: pipeline[i].Name, Assessment: release.Assessment{Health: release.Missing}}
		if v != "" {
			w := workload(app, v, 3, 3)
			c.Workload, c.Version, c.Assessment = w, v, release.Assess(w, release.Signals{})
			if prev != nil && prev.Version() != v {
				c.Drift, c.DriftFrom = true, prev.Version()
			}
		}
		prev = c.Workload
		r.Cells = append(r.Cells, c)
	}
	return r
}

// shopMatrix is the lab's shop with a rollout under way in test, a stall
// in preprod, a frozen prod and an app missing from prod.
func shopMatrix(connected bool) *release.Matrix {
	m := &release.Matrix{Built: fixedNow}
	for _, e := range pipeline {
		es := release.EnvState{Env: e, Conn: release.Conn{Context: e.Context, Connected: true, LastData: fixedNow}}
		if e.Name == "prod" {
			es.Freeze = &release.Freeze{Reason: "black friday", By: "bob", At: fixedNow.Add(-time.Hour), Until: fixedNow.Add(3 * time.Hour)}
			if !connected {
				es.Conn = release.Conn{Context: e.Context, LastData: fixedNow.Add(-2 * time.Minute), Err: "dial tcp 127.0.0.1:6443: connection refused"}
			}
		}
		m.Envs = append(m.Envs, es)
	}
	m.Rows = []release.Row{
		row("api", "2.5.0", "2.5.0", "2.5.0", "2.4.1"),
		row("db", "15.4", "15.4", "15.4", "15.4"),
		row("web", "1.9.0", "1.9.0", "1.8.3", "1.8.3"),
		row("worker", "3.1.0", "3.0.2", "3.0.2", ""),
	}
	w := m.Rows[2].Cells[1].Workload // web in test: rolling out
	w.Updated, w.Ready = 1, 2
	m.Rows[2].Cells[1].Assessment = release.Assess(w, release.Signals{})
	w = m.Rows[0].Cells[2].Workload // api in preprod: stalled
	w.Conditions = []release.Condition{{Type: "Progressing", Status: "False", Reason: "ProgressDeadlineExceeded"}}
	m.Rows[0].Cells[2].Assessment = release.Assess(w, release.Signals{})
	return m
}

// bigMatrix is apps × 4 environments, every tenth app drifting.
func bigMatrix(apps int) *release.Matrix {
	m := shopMatrix(true)
	m.Rows = m.Rows[:0]
	for i := range apps {
		v := "1.0." + fmt.Sprint(i%7)
		last := v
		if i%10 == 0 {
			last = "0.9.0"
		}
		m.Rows = append(m.Rows, row(fmt.Sprintf("app-%04d", i), v, v, v, last))
	}
	return m
}

func newModel(t testing.TB, role access.Role, mat *release.Matrix, w, h int) *Model {
	t.Helper()
	m := New(testContext(t, role), nil, NewKeyMap())
	common.Restrict(m.Bindings(), m.Ctx.MayAct())
	m.SetSize(w, h)
	m.SetMatrix(mat)
	return m
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
			t.Run("matrix", func(t *testing.T) {
				m := newModel(t, access.Operator, shopMatrix(true), sz[0], sz[1])
				press(m, "j", "j", "l")
				golden.RequireEqual(t, testclock.Unshift(uitest.ASCII(t, m.View())))
			})
			t.Run("disconnected", func(t *testing.T) {
				golden.RequireEqual(t, testclock.Unshift(uitest.ASCII(t, newModel(t, access.Operator, shopMatrix(false), sz[0], sz[1]).View())))
			})
		})
	}
}

func TestEverySize(t *testing.T) {
	m := newModel(t, access.Operator, shopMatrix(false), 80, 24)
	m.SetMatrix(bigMatrix(60))
	for w := 0; w <= 300; w += 7 {
		for h := 0; h <= 100; h += 5 {
			for _, filter := range []string{"", "app-001", "nothing"} {
				m.SetFilter(filter)
				m.SetSize(w, h)
				press(m, "G", "l", "l", "l")
				if err := uitest.Fits(m.View(), w, h); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for w := 40; w <= 300; w += 13 {
		for h := 10; h <= 100; h += 9 {
			m := newModel(t, access.Operator, shopMatrix(false), w, h)
			if err := uitest.Fits(m.View(), w, h); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestCells(t *testing.T) {
	m := newModel(t, access.Operator, shopMatrix(true), 120, 40)
	view := ansi.Strip(m.View())
	for _, want := range []string{
		"prod ⛨ ❄",                    // protected and frozen
		"❄ prod frozen by bob for 3h", // the freeze, with its reason
		"◂ 2.4.1",                     // api drifts in prod
		"2.5.0    3/3 ✗",              // stalled in preprod
		"1.9.0    1/3 ↻",              // rolling out in test: 1 new pod ready
	} {
		if !strings.Contains(view, want) {
			t.Errorf("view lacks %q:\n%s", want, view)
		}
	}
	if got := m.Status(); got != "4 apps · 4 environments · 3 drift · dev/api 2.5.0 3/3 ✓" {
		t.Errorf("status %q", got)
	}
}

func TestCursorFollowsApp(t *testing.T) {
	m := newModel(t, access.Operator, shopMatrix(true), 120, 40)
	press(m, "j", "j", "l")
	if app, env, _ := m.Cell(); app != "web" || env != "test" {
		t.Fatalf("cursor on %s/%s, want test/web", env, app)
	}
	mat := shopMatrix(true)
	mat.Rows = append([]release.Row{row("aaa", "1", "1", "1", "1")}, mat.Rows...)
	m.SetMatrix(mat)
	if app, env, _ := m.Cell(); app != "web" || env != "test" {
		t.Fatalf("after a new app, cursor on %s/%s, want test/web", env, app)
	}
	m.SetFilter("3.0")
	if app, _, _ := m.Cell(); app != "worker" || len(m.visible) != 1 {
		t.Fatalf("filter 3.0: cursor on %s, %d visible", app, len(m.visible))
	}
	press(m, "esc")
	if m.Filter() != "" || len(m.visible) != 5 {
		t.Fatalf("esc left filter %q, %d visible", m.Filter(), len(m.visible))
	}
}

func TestEnterOpensTheRollout(t *testing.T) {
	m := newModel(t, access.Operator, shopMatrix(true), 120, 40)
	cmd := press(m, "j", "l", "l", "l", "enter")
	if cmd == nil {
		t.Fatal("enter returned no command")
	}
	if got, ok := cmd().(common.GotoMsg); !ok || got != (common.GotoMsg{Pane: common.RolloutsPane, Target: "prod/db"}) {
		t.Fatalf("enter sent %#v", got)
	}
}

// L follows the logs of the cell under the cursor (l moves right).
func TestLogsOfTheCell(t *testing.T) {
	m := newModel(t, access.Viewer, shopMatrix(true), 120, 40)
	cmd := press(m, "j", "l", "l", "l", "L")
	if cmd == nil {
		t.Fatal("L returned no command")
	}
	if got, ok := cmd().(common.GotoMsg); !ok || got != (common.GotoMsg{Pane: common.LogsPane, Target: "prod/db"}) {
		t.Fatalf("L sent %#v", got)
	}
}

// A viewer has no promote key: p does nothing (the pane has no service
// here, so reaching for it would panic).
func TestViewerHasNoPromoteKey(t *testing.T) {
	for _, role := range []access.Role{access.Viewer, access.Operator} {
		m := newModel(t, role, shopMatrix(true), 120, 40)
		if enabled := m.keys.Promote.Enabled(); enabled != (role == access.Operator) {
			t.Fatalf("%s: promote enabled = %v", role, enabled)
		}
		if role == access.Viewer {
			if cmd := press(m, "p"); cmd != nil {
				t.Fatalf("viewer: p returned a command")
			}
		}
	}
}

func TestHealth(t *testing.T) {
	m := New(testContext(t, access.Operator), nil, NewKeyMap())
	m.SetSize(80, 24)
	health := func(mat *release.Matrix) *common.HealthMsg {
		cmd := m.SetMatrix(mat)
		if cmd == nil {
			return nil
		}
		h := cmd().(common.HealthMsg)
		return &h
	}
	if h := health(shopMatrix(true)); h == nil || h.State != common.Healthy || h.Name != "kubernetes" {
		t.Fatalf("connected: %+v", h)
	}
	if h := health(shopMatrix(true)); h != nil {
		t.Fatalf("no change, yet %+v", h)
	}
	h := health(shopMatrix(false))
	if h == nil || h.State != common.Degraded || !h.Since.Equal(fixedNow.Add(-2*time.Minute)) ||
		!strings.Contains(h.Err.Error(), "prod-cluster disconnected, last data 2m ago: dial tcp") {
		t.Fatalf("one of two contexts down: %+v", h)
	}
	all := shopMatrix(false)
	for i := range all.Envs {
		all.Envs[i].Conn.Connected = false
	}
	if h := health(all); h == nil || h.State != common.Down {
		t.Fatalf("every context down: %+v", h)
	}
	if h := health(shopMatrix(true)); h == nil || h.State != common.Healthy {
		t.Fatalf("back: %+v", h)
	}
}

func TestPreview(t *testing.T) {
	plan := release.PromotePlan{App: "api", From: pipeline[2], To: pipeline[3], Hook: "migrate",
		Images: []release.ImageChange{
			{Container: "api", From: "r/api:2.4.1", To: "r/api:2.5.0"},
			{Container: "init-db", Init: true, From: "r/init:1", To: "r/init:1"},
		},
		Annotations: map[string]string{release.AnnotationPromotedBy: "alice (operator)"}}
	want := "container api: r/api:2.4.1 → r/api:2.5.0\n" +
		"init container init-db: r/init:1 (unchanged)\n" +
		"first, job template migrate runs in prod and must succeed\n" +
		"annotations: vigil.dev/promoted-from=preprod, vigil.dev/promoted-by=alice (operator)\n" +
		"prod is protected."
	if got := Preview(plan); got != want {
		t.Fatalf("preview:\n%s\nwant:\n%s", got, want)
	}
}

// BenchmarkView draws a 500 apps × 4 environments matrix at 120×40, the
// cursor moving every frame, as a user scrolling does.
func BenchmarkView(b *testing.B) {
	m := New(testContext(b, access.Operator), nil, NewKeyMap())
	m.SetSize(120, 40)
	m.SetMatrix(bigMatrix(500))
	down := tea.KeyPressMsg{Code: 'j', Text: "j"}
	b.ReportAllocs()
	for b.Loop() {
		m.Update(down)
		_ = m.View()
	}
}

// BenchmarkSetMatrix takes a new 500 × 4 matrix, as after every change.
func BenchmarkSetMatrix(b *testing.B) {
	m := New(testContext(b, access.Operator), nil, NewKeyMap())
	m.SetSize(120, 40)
	mat := bigMatrix(500)
	b.ReportAllocs()
	for b.Loop() {
		m.SetMatrix(mat)
		_ = m.View()
	}
}

func TestCommands(t *testing.T) {
	m := newModel(t, access.Operator, shopMatrix(true), 120, 40)
	specs := map[string]func([]string) (tea.Cmd, error){}
	for _, s := range m.Commands() {
		specs[s.Name] = s.Run
	}
	for _, c := range []struct {
		name string
		args []string
		err  string
	}{
		{"promote", []string{"api"}, "promote takes an app, an environment and maybe a revision"},
		{"promote", []string{"api", "prod", "latest"}, `"latest" is not a revision number`},
		{"freeze", []string{"prod", "release"}, "freeze takes an environment, a reason and a duration"},
		{"freeze", []string{"prod", "release", "soon"}, `"soon" is not a duration`},
		{"freeze", []string{"prod", "release", "-1h"}, `"-1h" is not a duration`},
		{"unfreeze", nil, "unfreeze takes an environment"},
	} {
		if _, err := specs[c.name](c.args); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf(":%s %q: error %v, want %q", c.name, c.args, err, c.err)
		}
	}
	cmd, err := specs["freeze"]([]string{"prod", "release window", "2h"})
	if err != nil {
		t.Fatal(err)
	}
	req, ok := cmd().(common.ConfirmMsg)
	if !ok || req.Title != "Freeze prod for 2h0m0s?" || !strings.Contains(req.Body, "Reason: release window") || req.OnYes == nil {
		t.Fatalf(":freeze asks %#v", req)
	}
}

// Close ends the wait on the matrix, so that an ended session of vigil
// serve leaves no goroutine behind.
func TestCloseEndsTheWait(t *testing.T) {
	m := New(testContext(t, access.Operator), nil, NewKeyMap())
	cmd := m.Wait()
	got := make(chan tea.Msg, 1)
	go func() { got <- cmd() }()
	m.Close()
	m.Close() // twice is harmless
	select {
	case msg := <-got:
		if msg != nil {
			t.Fatalf("the ended wait sent %#v", msg)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the wait outlived Close")
	}
	cancelled := false
	m.Subscribe(nil, func() { cancelled = true }, nil)
	if !cancelled {
		t.Fatal("a subscription that came after Close was kept")
	}
}

// TestMovement walks 20 apps 4 rows at a time: by a row, a page and to
// either end, the cursor kept in view and on its environment.
func TestMovement(t *testing.T) {
	m := newModel(t, access.Operator, bigMatrix(20), 120, 6)
	if h := m.listHeight(); h != 4 {
		t.Fatalf("list height %d, want 4", h)
	}
	press(m, "l")
	for _, step := range []struct {
		key         string
		pos, offset int
	}{
		{"j", 1, 0}, {"k", 0, 0}, {"k", 0, 0}, {"ctrl+d", 4, 1}, {"G", 19, 16}, {"j", 19, 16},
		{"ctrl+u", 15, 15}, {"k", 14, 14}, {"g", 0, 0},
	} {
		press(m, step.key)
		if m.list.Pos != step.pos || m.list.Offset != step.offset || m.col != 1 {
			t.Fatalf("after %s: cursor %d, offset %d, column %d; want %d, %d, 1", step.key, m.list.Pos, m.list.Offset, m.col, step.pos, step.offset)
		}
	}
}

// Issue 12, point 10: with free width a long version shows whole; when
// the width runs out the counts go before the version is cut; the status
// line shows the selected cell whole.
func TestLongVersionsTakeTheFreeWidth(t *testing.T) {
	mat := shopMatrix(true)
	mat.Rows[0] = row("api", "2.5.0", "2.5.0", "2.5.1-bad", "2.5.1-bad-hotfix")
	m := newModel(t, access.Operator, mat, 160, 30)
	view := ansi.Strip(m.View())
	for _, want := range []string{"◂ 2.5.1-bad 3/3 ✓", "2.5.1-bad-hotfix 3/3 ✓"} {
		if !strings.Contains(view, want) {
			t.Errorf("at 160 columns the view lacks %q:\n%s", want, view)
		}
	}
	if strings.Contains(view, "…") {
		t.Errorf("text is cut with free width:\n%s", view)
	}
	m.SetSize(80, 30)
	view = ansi.Strip(m.View())
	if !strings.Contains(view, "◂ 2.5.1-bad 3/3 ✓") || !strings.Contains(view, "◂ 2.5.1-bad-ho… ✓") {
		t.Errorf("at 80 columns the counts should go before the version is cut:\n%s", view)
	}
	press(m, "l", "l", "l")
	if got := m.Status(); !strings.Contains(got, "prod/api 2.5.1-bad-hotfix 3/3 ✓ ◂ drift from 2.5.1-bad") {
		t.Errorf("status %q", got)
	}
}

// Issue 12, point 10: a one-line hint of the glyphs under the matrix.
func TestFooterHint(t *testing.T) {
	m := newModel(t, access.Operator, shopMatrix(true), 120, 20)
	lines := strings.Split(ansi.Strip(m.View()), "\n")
	if len(lines) != 20 || !strings.Contains(lines[19], "◂ drift") || !strings.Contains(lines[19], "⛨ protected") {
		t.Fatalf("the last of %d lines is %q", len(lines), lines[len(lines)-1])
	}
}

// A lock held in an environment is a notice naming what it covers, its
// holder, bastion and action, since when and when it expires; one that
// ran out is not shown.
func TestLockNotice(t *testing.T) {
	mat := shopMatrix(true)
	mat.Envs[1].Locks = []*release.LockedError{
		{Lock: "vigil-promote-web in shop-test", Holder: "alice on bastion-a", Bastion: "bastion-a", Action: "promote from dev",
			Since: fixedNow.Add(-time.Minute), Until: fixedNow.Add(9 * time.Minute)},
		{Lock: "vigil-promote-api in shop-test", Holder: "bob on bastion-b", Bastion: "bastion-b", Until: fixedNow.Add(-time.Second)},
	}
	m := newModel(t, access.Operator, mat, 160, 40)
	view := ansi.Strip(m.View())
	since, until := fixedNow.Add(-time.Minute).Format("15:04:05"), fixedNow.Add(9*time.Minute).Format("15:04:05")
	want := "🔒 web in test locked by alice on bastion-a (promote from dev) since " + since + " · expires " + until + ", in 9m"
	if !strings.Contains(view, want) {
		t.Errorf("view lacks %q:\n%s", want, view)
	}
	if strings.Contains(view, "bob on bastion-b") {
		t.Errorf("an expired lock is shown:\n%s", view)
	}
}

// A promotion refused by another bastion's lock says, in its toast, who
// holds it, through which bastion, for what, since and until when.
func TestPromotionRefusedByALockToast(t *testing.T) {
	err := &release.LockedError{Lock: "vigil-promote-web in shop-test", Holder: "alice on bastion-a", Bastion: "bastion-a", Action: "promote from dev",
		Since: fixedNow.Add(-time.Minute), Until: fixedNow.Add(9 * time.Minute)}
	toast, ok := promotedToast(PromotedMsg{Plan: release.PromotePlan{App: "web"}, Err: err})().(common.ToastMsg)
	if !ok || toast.Level != common.Error || !strings.HasPrefix(toast.Text, "refused: vigil-promote-web in shop-test is locked by alice on bastion-a (promote from dev) since ") ||
		!strings.Contains(toast.Text, " until ") {
		t.Fatalf("toast %+v", toast)
	}
}
