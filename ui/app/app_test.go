package app

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/presence"
	"github.com/vigilops/vigil/ui/activity"
	"github.com/vigilops/vigil/ui/common"
)

func newShell(t *testing.T, cfg *config.Config, change func(*Options)) *Model {
	t.Helper()
	opts := testOptions(t, cfg)
	if change != nil {
		change(&opts)
	}
	m := New(opts)
	resize(m, 100, 30)
	drive(m, m.Init())
	return m
}

func screen(m *Model) string { return ansi.Strip(m.View().Content) }

// quits reports whether pressing k makes the shell quit.
func quits(m *Model, k string) bool {
	_, cmd := m.Update(keyMsg(k))
	return returns[tea.QuitMsg](cmd)
}

// returns reports whether cmd, or a command it batches, yields a T.
func returns[T any](cmd tea.Cmd) bool {
	if cmd == nil {
		return false
	}
	done := make(chan tea.Msg, 1)
	go func() { done <- cmd() }()
	var msg tea.Msg
	select {
	case msg = <-done:
	case <-timeAfter():
		return false // a tick
	}
	if b, ok := msg.(tea.BatchMsg); ok {
		return slices.ContainsFunc(b, returns[T])
	}
	if l, ok := msg.(landedMsg); ok { // a confirmed action's result
		msg = l.result
	}
	_, ok := msg.(T)
	return ok
}

func TestWelcomeOnlyWithoutIntegrations(t *testing.T) {
	m := newShell(t, nil, nil)
	if m.Pane().Title() != "Welcome" || !strings.Contains(screen(m), "vigil config init") ||
		!strings.Contains(screen(m), "make demo") || !strings.Contains(screen(m), "/home/alice/.config/vigil/config.yaml") {
		t.Fatalf("no welcome screen:\n%s", screen(m))
	}
	cfg := &config.Config{Identity: config.Identity{Name: "alice", Role: "operator"},
		Prometheus: &config.Prometheus{URL: "http://127.0.0.1:9090"}}
	m = newShell(t, cfg, nil)
	if m.Pane().Title() != "Activity" || strings.Contains(screen(m), "Welcome") {
		t.Fatalf("welcome shown with prometheus configured:\n%s", screen(m))
	}
}

func TestPaneSwitching(t *testing.T) {
	m := newShell(t, nil, nil)
	press(m, "tab")
	if m.Pane().Title() != "Activity" {
		t.Fatalf("tab: %s", m.Pane().Title())
	}
	press(m, "shift+tab")
	if m.Pane().Title() != "Welcome" {
		t.Fatalf("shift+tab: %s", m.Pane().Title())
	}
	press(m, "5")
	if m.Pane().Title() != "Activity" {
		t.Fatalf("5: %s", m.Pane().Title())
	}
	press(m, "2")
	if !strings.Contains(screen(m), "no pane 2") {
		t.Fatalf("2 gave no toast:\n%s", screen(m))
	}
	press(m, ":")
	typeText(m, "welcome")
	press(m, "enter")
	if m.Pane().Title() != "Welcome" {
		t.Fatalf(":welcome: %s", m.Pane().Title())
	}
}

func TestPaletteCommands(t *testing.T) {
	m := newShell(t, nil, nil)
	press(m, ":")
	typeText(m, "thme light")
	press(m, "enter")
	if s := screen(m); !strings.Contains(s, `unknown command "thme": did you mean :theme?`) {
		t.Fatalf("no toast for an unknown command:\n%s", s)
	}
	press(m, ":")
	typeText(m, "theme ")
	for _, want := range []string{"theme colorblind", "theme dark", "theme high-contrast", "theme light"} {
		if !slices.Contains(m.palette.Matches(), want) {
			t.Errorf("theme completion lacks %q: %q", want, m.palette.Matches())
		}
	}
	press(m, "esc", ":")
	typeText(m, "help")
	press(m, "enter")
	if !strings.Contains(screen(m), "Commands") {
		t.Fatal(":help did not open help")
	}
	press(m, "esc", ":")
	typeText(m, "quit")
	if !quits(m, "enter") {
		t.Fatal(":quit did not quit")
	}
}

func TestThemeSwitchBuildsStylesOnce(t *testing.T) {
	m := newShell(t, nil, nil)
	before := m.ctx.Styles
	m.View()
	m.View()
	if m.ctx.Styles != before {
		t.Fatal("drawing rebuilt the styles")
	}
	press(m, ":")
	typeText(m, "theme high-contrast")
	press(m, "enter")
	if m.ctx.Styles == before || m.ctx.Styles.Theme != "high-contrast" || m.ctx.Theme.Name != "high-contrast" {
		t.Fatalf("theme not switched: %s", m.ctx.Styles.Theme)
	}
	after := m.ctx.Styles
	m.View()
	if m.ctx.Styles != after {
		t.Fatal("drawing rebuilt the styles")
	}
	press(m, ":")
	typeText(m, "theme nosuch")
	press(m, "enter")
	if s := screen(m); !strings.Contains(s, `unknown theme "nosuch"`) || m.ctx.Styles != after {
		t.Fatalf("a bad theme must leave the theme and say why:\n%s", s)
	}
}

func TestKeyRemapping(t *testing.T) {
	cfg := &config.Config{Identity: config.Identity{Name: "alice", Role: "operator"},
		Keys: map[string][]string{"quit": {"x"}, "activity.down": {"n"}, "help": {"h"}}}
	m := newShell(t, cfg, nil)
	press(m, "5")
	if quits(m, "q") {
		t.Fatal("q still quits after quit was remapped to x")
	}
	a := m.Pane().(*activity.Model)
	press(m, "n")
	if e, _ := a.Selected(); e.Action != "silence.create" {
		t.Fatalf("n (remapped down) selected %s", e.Action)
	}
	press(m, "h")
	if s := screen(m); !strings.Contains(s, "n    older entry") && !strings.Contains(s, "n   older entry") {
		t.Fatalf("help does not show the remapped key:\n%s", s)
	}
	press(m, "esc")
	if !quits(m, "x") {
		t.Fatal("x does not quit")
	}
}

func TestUnknownBindingNames(t *testing.T) {
	keys := map[string][]string{"quit": {"x"}, "qiut": {"q"}, "activity.nope": {"z"}}
	err := ValidateKeys(keys)
	var ue *common.UnknownBindingsError
	if !errors.As(err, &ue) || !slices.Equal(ue.Unknown, []string{"activity.nope", "qiut"}) ||
		!strings.Contains(err.Error(), "use one of") || !strings.Contains(err.Error(), "activity.down") {
		t.Fatalf("ValidateKeys: %v", err)
	}
	if err := ValidateKeys(map[string][]string{"quit": {"x"}, "activity.details": {"o"}}); err != nil {
		t.Fatalf("valid keys: %v", err)
	}
	if err := ValidateKeys(nil); err != nil {
		t.Fatalf("the default bindings conflict: %v", err)
	}
	for want, keys := range map[string]map[string][]string{
		`quit and activity.down both use "j" (Activity pane (5))`: {"activity.down": {"j"}, "quit": {"j"}},
		`activity.top and activity.bottom both use "g"`:           {"activity.bottom": {"g"}},
		`palette.run and palette.complete both use "enter"`:       {"palette.complete": {"enter"}},
	} {
		if err := ValidateKeys(keys); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateKeys(%v) = %v, want %q", keys, err, want)
		}
	}
	// A key may mean one thing in the palette and another in a pane.
	if err := ValidateKeys(map[string][]string{"palette.complete": {"j"}}); err != nil {
		t.Errorf("a palette key equal to a pane key: %v", err)
	}
	m := newShell(t, &config.Config{Identity: config.Identity{Name: "alice", Role: "operator"}, Keys: keys}, nil)
	if s := screen(m); !strings.Contains(s, "unknown binding") {
		t.Fatalf("no toast for unknown binding names:\n%s", s)
	}
}

func TestBindingNames(t *testing.T) {
	names := BindingNames()
	if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
		t.Fatalf("names are not sorted and unique: %q", names)
	}
	valid := regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$`)
	for _, want := range []string{"quit", "help", "palette", "filter", "next_pane", "pane_5", "activity.details", "palette.complete", "confirm.yes"} {
		if !slices.Contains(names, want) {
			t.Errorf("BindingNames lacks %q", want)
		}
	}
	for _, s := range allKeys() {
		for _, b := range s.bindings {
			if !valid.MatchString(b.Name) || b.Help().Desc == "" || len(b.Keys()) == 0 {
				t.Errorf("binding %q: needs a name like pane.action, keys and help", b.Name)
			}
		}
	}
}

func TestDangerousBindingsFollowAccess(t *testing.T) {
	bs := []*common.Binding{
		common.NewBinding("x.destroy", "D", "destroy", "D").For(access.Action{Name: "destroy", Mutates: true, Dangerous: true}),
		common.NewBinding("x.ack", "a", "acknowledge", "a").For(access.Action{Name: "acknowledge", Mutates: true}),
		common.NewBinding("x.down", "j", "down", "j"),
	}
	for _, c := range []struct {
		name  string
		ctx   common.Context
		may   bool
		shown int
	}{
		{"operator", common.Context{Actor: access.Actor{Role: access.Operator}}, true, 3},
		{"read-only admin", common.Context{Actor: access.Actor{Role: access.Admin}, Guard: access.Guard{ReadOnly: true}}, false, 1},
		{"viewer", common.Context{Actor: access.Actor{Role: access.Viewer}}, false, 1},
	} {
		if c.ctx.MayAct() != c.may {
			t.Errorf("%s: MayAct = %v", c.name, !c.may)
		}
		common.Restrict(bs, c.ctx.MayAct())
		n := 0
		for _, b := range bs {
			if b.Enabled() {
				n++
			}
		}
		if n != c.shown {
			t.Errorf("%s: %d bindings enabled, want %d", c.name, n, c.shown)
		}
	}
}

func TestReadOnlyMarker(t *testing.T) {
	m := newShell(t, nil, func(o *Options) { o.Guard = access.Guard{ReadOnly: true} })
	if s := screen(m); !strings.Contains(strings.SplitN(s, "\n", 2)[0], "READ-ONLY") ||
		!strings.Contains(s, "alice · operator") {
		t.Fatalf("no read-only marker:\n%s", s)
	}
	m = newShell(t, nil, nil)
	if strings.Contains(screen(m), "READ-ONLY") {
		t.Fatal("read-only marker without read-only mode")
	}
}

func TestConfirmFlow(t *testing.T) {
	type doneMsg struct{}
	m := newShell(t, nil, nil)
	ask := common.ConfirmMsg{Title: "Destroy droplet web-02?", TypeName: "web-02", OnYes: func() tea.Msg { return doneMsg{} }}
	m.Update(ask)
	if !strings.Contains(screen(m), "Type web-02 to confirm") {
		t.Fatalf("no dialog:\n%s", screen(m))
	}
	if quits(m, "q") {
		t.Fatal("q quit through the dialog")
	}
	typeText(m, "eb-02") // after the q above: "qeb-02"
	_, cmd := m.Update(keyMsg("enter"))
	if returns[doneMsg](cmd) || m.confirm == nil {
		t.Fatal("a wrong name was accepted")
	}
	press(m, "esc")
	if m.confirm != nil || !strings.Contains(screen(m), "cancelled: Destroy droplet web-02?") {
		t.Fatalf("esc did not cancel:\n%s", screen(m))
	}
	m.Update(ask)
	typeText(m, "web-02")
	_, cmd = m.Update(keyMsg("enter"))
	if !returns[doneMsg](cmd) || m.confirm != nil {
		t.Fatal("the exact name did not run the action")
	}
	m.Update(common.ConfirmMsg{Title: "Roll back prod/api?", OnYes: func() tea.Msg { return doneMsg{} }})
	_, cmd = m.Update(keyMsg("y"))
	if !returns[doneMsg](cmd) {
		t.Fatal("y did not run the action")
	}
}

// TestActionInFlightUntilItLands: a confirmed action shows in the status
// bar, with its age, from the confirmation until its result arrives (a
// promotion once showed nothing for 25 s while the API server hung).
func TestActionInFlightUntilItLands(t *testing.T) {
	now := fixedNow
	m := newShell(t, nil, func(o *Options) { o.Now = func() time.Time { return now } })
	last := func() string { s := screen(m); return s[strings.LastIndex(s, "\n")+1:] }
	type doneMsg struct{}
	release := make(chan struct{})
	m.Update(common.ConfirmMsg{Title: "Roll back prod/api?", OnYes: func() tea.Msg { <-release; return doneMsg{} }})
	if strings.Contains(last(), "⟳") {
		t.Fatalf("in flight before the confirmation: %q", last())
	}
	_, cmd := m.Update(keyMsg("y"))
	if l := last(); !strings.Contains(l, "⟳ Roll back prod/api 0s") {
		t.Fatalf("status bar after y: %q", l)
	}
	landed := make(chan tea.Msg, 1)
	go func() { landed <- cmd() }()
	now = now.Add(12 * time.Second)
	m.Update(clockTickMsg{gen: m.tickGen})
	if l := last(); !strings.Contains(l, "⟳ Roll back prod/api 12s") {
		t.Fatalf("status bar 12 s later: %q", l)
	}
	close(release)
	var msg tea.Msg = <-landed
	for {
		b, ok := msg.(tea.BatchMsg)
		if !ok {
			break
		}
		msg = b[0]()
	}
	_, cmd = m.Update(msg)
	if l := last(); strings.Contains(l, "⟳") {
		t.Fatalf("still in flight after the result: %q", l)
	}
	if cmd == nil {
		t.Fatal("the result was dropped")
	}
	if _, ok := cmd().(doneMsg); !ok {
		t.Fatal("the result was not handed on")
	}
}

func TestHealthInStatusBar(t *testing.T) {
	cfg := &config.Config{Identity: config.Identity{Name: "alice", Role: "operator"},
		Prometheus:   &config.Prometheus{URL: "http://127.0.0.1:9090"},
		Alertmanager: &config.Alertmanager{URLs: []string{"http://127.0.0.1:9093"}}}
	m := newShell(t, cfg, nil)
	last := func() string { s := screen(m); return s[strings.LastIndex(s, "\n")+1:] }
	if strings.Contains(last(), "prom") {
		t.Fatal("health shown before any report")
	}
	m.Update(common.HealthMsg{Name: "prometheus", State: common.Healthy, Since: fixedNow})
	m.Update(common.HealthMsg{Name: "kubernetes", State: common.Healthy, Since: fixedNow}) // not configured
	if l := last(); !strings.Contains(l, "prom ●") || strings.Contains(l, "k8s") || !strings.Contains(l, "14:02 ") {
		t.Fatalf("status bar: %q", l)
	}
	_, cmd := m.Update(common.HealthMsg{Name: "alertmanager", State: common.Down, Since: fixedNow.Add(-3 * time.Minute), Err: errors.New("connection refused")})
	drive(m, cmd)
	if l := last(); !strings.Contains(l, "am ✗ 3m") {
		t.Fatalf("status bar: %q", l)
	}
	if !strings.Contains(screen(m), "alertmanager is down: connection refused") {
		t.Fatalf("no toast for a fall:\n%s", screen(m))
	}
}

func TestClockTicksOnlyWhileShown(t *testing.T) {
	m := New(testOptions(t, nil))
	_, cmd := m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	if !m.ticking || cmd == nil {
		t.Fatal("no clock tick with the clock shown")
	}
	m.Update(keyMsg(":"))
	m.Update(clockTickMsg{gen: m.tickGen})
	if m.ticking {
		t.Fatal("the clock ticks while the palette hides it")
	}
	m.Update(keyMsg("esc"))
	if !m.ticking {
		t.Fatal("the clock did not restart when shown again")
	}
	m.Update(clockTickMsg{gen: m.tickGen})
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 1})
	m.Update(clockTickMsg{gen: m.tickGen})
	if m.ticking {
		t.Fatal("the clock ticks with no status bar")
	}
}

// An idle console wakes once a minute (the clock shows minutes); it ticks
// each second only while an age under a minute is on screen, and a tick
// that a sooner one replaced does nothing.
func TestClockTicksEachSecondOnlyForYoungAges(t *testing.T) {
	now := fixedNow
	m := newShell(t, nil, func(o *Options) { o.Now = func() time.Time { return now } })
	if !m.ticking || m.tickSec {
		t.Fatalf("idle: ticking %v, each second %v", m.ticking, m.tickSec)
	}
	if s := screen(m); !strings.Contains(s, "14:02 ") || strings.Contains(s, "14:02:31") {
		t.Fatalf("the clock does not show minutes:\n%s", s)
	}
	minute := m.tickGen
	m.Update(common.ConfirmMsg{Title: "Roll back prod/api?", OnYes: func() tea.Msg { return nil }})
	m.Update(keyMsg("y"))
	if !m.tickSec || m.tickGen == minute {
		t.Fatal("an action in flight does not tick each second")
	}
	m.Update(clockTickMsg{gen: minute}) // the replaced minute tick
	if !m.ticking {
		t.Fatal("a replaced tick cancelled the new one")
	}
	now = now.Add(61 * time.Second) // its age now shows in minutes
	m.Update(clockTickMsg{gen: m.tickGen})
	if m.tickSec {
		t.Fatal("ticking each second for an age in minutes")
	}
}

var sgrColor = regexp.MustCompile(`\x1b\[[0-9;]*(3[0-9]|4[0-9]|9[0-7]|10[0-7])[;m]`)

func TestNoColor(t *testing.T) {
	m := newShell(t, nil, func(o *Options) { o.NoColor = true })
	press(m, "5")
	v := m.View().Content
	if loc := sgrColor.FindStringIndex(v); loc != nil {
		t.Fatalf("a colour with NO_COLOR: %q", v[max(loc[0]-20, 0):loc[1]])
	}
	if !regexp.MustCompile(`\x1b\[(1;7|7;1|7)m11-29 14:00:31 alice`).MatchString(v) {
		t.Fatalf("the selection is not in reverse video: %q", v)
	}
	m = newShell(t, nil, nil)
	press(m, "5")
	if !sgrColor.MatchString(m.View().Content) {
		t.Fatal("no colour without NO_COLOR: the check above proves nothing")
	}
}

// TestKeysDocUpToDate fails when docs/keys.md differs from what the
// KeyMaps generate; `go test ./ui/app -run TestKeysDocUpToDate -update`
// (make docs) rewrites it.
func TestKeysDocUpToDate(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "keys.md")
	want := KeysMarkdown()
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: generate it with make docs", err)
	}
	if string(got) != want {
		t.Fatal("docs/keys.md is stale: run make docs (go test ./ui/app -run TestKeysDocUpToDate -update) and commit it")
	}
}

func TestHelpScrollsWhenShort(t *testing.T) {
	m := newShell(t, nil, nil)
	press(m, "5")
	resize(m, 40, 12)
	press(m, "?")
	if s := screen(m); strings.Contains(s, ":theme") || !strings.Contains(s, "scroll") {
		t.Fatalf("help at 40x12 should scroll:\n%s", s)
	}
	for range 40 {
		press(m, "j")
	}
	if s := screen(m); !strings.Contains(s, ":theme") {
		t.Fatalf("scrolled to the end, the commands should show:\n%s", s)
	}
	press(m, "esc")
	if strings.Contains(screen(m), "Help ·") {
		t.Fatal("esc did not close help")
	}
}

func TestWelcomeFollowsRemappedKeys(t *testing.T) {
	cfg := &config.Config{Identity: config.Identity{Name: "alice", Role: "operator"}, Keys: map[string][]string{"pane_5": {"a"}}}
	m := newShell(t, cfg, nil)
	if s := screen(m); !strings.Contains(s, "press a for Activity") {
		t.Fatalf("welcome does not name the remapped key:\n%s", s)
	}
	press(m, "a")
	if m.Pane().Title() != "Activity" {
		t.Fatalf("a (remapped pane_5) focused %s", m.Pane().Title())
	}
}

// Under vigil serve, the tab bar names the other administrators, where they
// are, and what one of them is doing.
func TestPresenceInTabBar(t *testing.T) {
	m := newShell(t, nil, nil)
	first := func() string { s := screen(m); return s[:strings.Index(s, "\n")] }
	if strings.Contains(first(), "+") {
		t.Fatalf("presence shown with nobody else here: %q", first())
	}
	alice := presence.Entry{ID: 1, Actor: access.Actor{Name: "alice"}, Pane: "Activity"}
	bob := presence.Entry{ID: 2, Actor: access.Actor{Name: "bob"}, Pane: "Alerts",
		Actions: []presence.Action{{What: "rolling back api in prod", Since: fixedNow}}}
	m.Update(presence.Snapshot{Self: 1, Sessions: []presence.Entry{alice, bob}})
	if l := first(); !strings.Contains(l, "+1 bob:Alerts") || !strings.Contains(l, "bob is rolling back api in prod") || strings.Contains(l, "alice:") {
		t.Fatalf("tab bar: %q", l)
	}
	m.Update(presence.Snapshot{Self: 1, Sessions: []presence.Entry{alice}})
	if strings.Contains(first(), "bob") {
		t.Fatalf("bob still shown after leaving: %q", first())
	}
}

// The empty filter bar shows the focused pane's filter syntax.
func TestFilterBarShowsThePaneSyntax(t *testing.T) {
	m := newShell(t, nil, nil)
	m.Update(keyMsg("5"))
	m.Update(keyMsg("/"))
	if s := screen(m); !strings.Contains(s, "actor:NAME target:PATH or words") {
		t.Fatalf("filter bar without the Activity syntax:\n%s", s)
	}
}

// TestNoticeShownOnOpen: why the console is read-only is said on screen.
func TestNoticeShownOnOpen(t *testing.T) {
	m := newShell(t, nil, func(o *Options) {
		o.Guard.ReadOnly = true
		o.Notice = "read-only: journal /j.db is damaged"
	})
	if v := screen(m); !strings.Contains(v, "read-only: journal /j.db is damaged") || !strings.Contains(v, "READ-ONLY") {
		t.Fatalf("the notice is not on screen:\n%s", v)
	}
}
