package activity

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/internal/testclock"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/presence"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/uitest"
)

var t0 = testclock.Epoch()

func setup(t *testing.T, entries ...audit.Entry) (*Model, *audit.Journal) {
	t.Helper()
	j, err := audit.Open(filepath.Join(t.TempDir(), "j.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	j.Now = func() time.Time { return t0 }
	for _, e := range entries {
		if _, err := j.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	th := uitest.Theme(t)
	ctx := &common.Context{Config: config.Default(), Actor: access.Actor{Name: "alice", Role: access.Operator},
		Journal: j, Now: func() time.Time { return t0 }}
	ctx.SetTheme(th)
	m := New(ctx, NewKeyMap())
	m.SetSize(100, 10)
	return m, j
}

// load runs Init and delivers its result; it returns the feed's wait command.
func load(t *testing.T, m *Model) tea.Cmd {
	t.Helper()
	return m.Update(m.Init()())
}

// next waits for the feed's next message and delivers it.
func next(t *testing.T, m *Model, wait tea.Cmd) tea.Cmd {
	t.Helper()
	done := make(chan tea.Msg, 1)
	go func() { done <- wait() }()
	select {
	case msg := <-done:
		return m.Update(msg)
	case <-time.After(5 * time.Second):
		t.Fatal("no entry from the live feed")
		return nil
	}
}

func e(min int, actor, action, target string, r audit.Result) audit.Entry {
	return audit.Entry{Time: t0.Add(time.Duration(min) * time.Minute), Actor: actor, Action: action, Target: target, Result: r}
}

func actions(es []audit.Entry) string {
	var s []string
	for _, e := range es {
		s = append(s, e.Action)
	}
	return strings.Join(s, ",")
}

func TestTimelineNewestFirstAndLive(t *testing.T) {
	m, j := setup(t,
		e(-3, "alice", "a1", "prod/api", audit.OK),
		e(-2, "bob", "a2", "prod/web", audit.Failed),
		e(-1, "carol", "a3", "dev/api", audit.Refused))
	wait := load(t, m)
	if got := actions(m.Visible()); got != "a3,a2,a1" {
		t.Fatalf("timeline %s, want newest first", got)
	}
	m.Update(uitest.Key("j")) // select a2
	if s, _ := m.Selected(); s.Action != "a2" {
		t.Fatalf("selected %s", s.Action)
	}
	if _, err := j.Append(e(0, "dave", "a4", "prod/api", audit.OK)); err != nil {
		t.Fatal(err)
	}
	wait = next(t, m, wait)
	if got := actions(m.Visible()); got != "a4,a3,a2,a1" {
		t.Fatalf("after a live entry: %s", got)
	}
	if s, _ := m.Selected(); s.Action != "a2" {
		t.Fatalf("the selection moved to %s with the new entry", s.Action)
	}
	if wait == nil {
		t.Fatal("the feed was not re-armed")
	}
	view := ansi.Strip(m.View())
	if !strings.Contains(view, "dave") || !strings.Contains(view, "failed") || !strings.HasPrefix(view, "TIME") {
		t.Fatalf("view:\n%s", view)
	}
}

func TestFilter(t *testing.T) {
	m, j := setup(t,
		e(-4, "alice", "promote", "prod/api", audit.OK),
		e(-3, "bob", "promote", "prod/api-v2", audit.OK),
		e(-2, "bob", "rollback", "prod", audit.Failed),
		e(-1, "alice", "silence", "alerts/HostDown", audit.OK))
	wait := load(t, m)
	cases := map[string]string{
		"actor:bob":                   "rollback,promote",
		"actor:BOB target:prod/api":   "",
		"target:prod":                 "rollback,promote,promote",
		"target:prod/api":             "promote",
		"target:prod/api/":            "promote",
		"actor:alice target:prod/api": "promote",
		"failed":                      "rollback",
		"HOSTDOWN":                    "silence",
		"promote api-v2":              "promote",
		"":                            "silence,rollback,promote,promote",
	}
	for f, want := range cases {
		m.SetFilter(f)
		if got := actions(m.Visible()); got != want {
			t.Errorf("filter %q: %s, want %s", f, got, want)
		}
	}
	m.SetFilter("actor:bob")
	if !strings.Contains(m.Status(), "2 of 4") {
		t.Errorf("status %q", m.Status())
	}
	// A live entry that the filter hides stays hidden; one it lets through shows.
	j.Append(e(0, "alice", "hidden", "x", audit.OK))
	wait = next(t, m, wait)
	j.Append(e(1, "bob", "shown", "x", audit.OK))
	next(t, m, wait)
	if got := actions(m.Visible()); got != "shown,rollback,promote" {
		t.Errorf("live entries under a filter: %s", got)
	}
	m.Update(uitest.Key("esc"))
	if m.Filter() != "" || len(m.Visible()) != 6 {
		t.Errorf("esc left the filter %q, %d entries shown", m.Filter(), len(m.Visible()))
	}
	m.SetFilter("nomatch")
	if v := ansi.Strip(m.View()); !strings.Contains(v, "No entry matches the filter nomatch") {
		t.Errorf("no-match view: %q", v)
	}
}

func TestNavigationAndDetail(t *testing.T) {
	var es []audit.Entry
	for i := range 30 {
		es = append(es, e(i, "alice", "act"+string(rune('A'+i)), "prod/api", audit.OK))
	}
	es[0].Parameters = map[string]string{"version": "2.5.0", "from": "preprod"}
	es[0].Result, es[0].Error = audit.Failed, "rollout stalled: 1/3 ready after 5m"
	m, _ := setup(t, es...)
	load(t, m)
	sel := func() string { s, _ := m.Selected(); return s.Action }
	m.Update(uitest.Key("G"))
	if sel() != "actA" {
		t.Fatalf("G: %s", sel())
	}
	if v := ansi.Strip(m.View()); !strings.Contains(v, "actA") || strings.Count(v, "\n") != 9 {
		t.Fatalf("after G the last entry must be drawn in 10 lines:\n%s", v)
	}
	m.Update(uitest.Key("enter"))
	if !m.InDetail() {
		t.Fatal("enter did not open the details")
	}
	v := ansi.Strip(m.View())
	for _, want := range []string{"from = preprod", "version = 2.5.0", "rollout stalled", "failed"} {
		if !strings.Contains(v, want) {
			t.Errorf("details lack %q:\n%s", want, v)
		}
	}
	if strings.Index(v, "from =") > strings.Index(v, "version =") {
		t.Error("parameters are not sorted")
	}
	m.Update(uitest.Key("esc"))
	m.Update(uitest.Key("g"))
	if m.InDetail() || sel() != "act"+string(rune('A'+29)) {
		t.Fatalf("esc then g: detail %v, selected %s", m.InDetail(), sel())
	}
	m.Update(uitest.Key("pgdown"))
	if want := "act" + string(rune('A'+29-9)); sel() != want {
		t.Fatalf("pgdown selected %s, want %s", sel(), want)
	}
	m.Update(uitest.Key("k"))
	m.Update(uitest.Key("j"))
	m.Update(uitest.Key("j"))
	if want := "act" + string(rune('A'+29-10)); sel() != want {
		t.Fatalf("k j j selected %s, want %s", sel(), want)
	}
}

func TestEmptyJournal(t *testing.T) {
	m, _ := setup(t)
	if v := m.View(); !strings.Contains(v, "Reading the journal") {
		t.Fatalf("before load: %q", v)
	}
	load(t, m)
	if v := ansi.Strip(m.View()); !strings.Contains(v, "Nothing journaled yet") {
		t.Fatalf("empty: %q", v)
	}
}

func TestCloseEndsTheFeed(t *testing.T) {
	m, _ := setup(t)
	wait := load(t, m)
	m.Close()
	done := make(chan tea.Msg, 1)
	go func() { done <- wait() }()
	select {
	case msg := <-done:
		if _, ok := msg.(feedClosedMsg); !ok {
			t.Fatalf("after Close the feed gave %T", msg)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the feed is still open after Close")
	}
}

// Under vigil serve the pane's title names who else is connected and where.
func TestWhoIsHere(t *testing.T) {
	m, _ := setup(t, e(1, "bob", "promote", "prod/api", audit.OK))
	load(t, m)
	me := presence.Entry{ID: 1, Actor: access.Actor{Name: "alice"}, Pane: "Activity"}
	bob := presence.Entry{ID: 2, Actor: access.Actor{Name: "bob"}, Pane: "Alerts"}
	carol := presence.Entry{ID: 3, Actor: access.Actor{Name: "carol"}}
	m.Update(presence.Snapshot{Self: 1, Sessions: []presence.Entry{me, bob, carol}})
	if got := m.Status(); got != "1 entries · here: bob on Alerts, carol" {
		t.Fatalf("status %q", got)
	}
	dave := presence.Entry{ID: 1<<63 | 4, Actor: access.Actor{Name: "dave"}, Pane: "Alerts", Bastion: "bastion-b"}
	m.Update(presence.Snapshot{Self: 1, Sessions: []presence.Entry{me, dave}})
	if got := m.Status(); got != "1 entries · here: dave on Alerts via bastion-b" {
		t.Fatalf("another bastion's session: status %q", got)
	}
	m.Update(presence.Snapshot{Self: 1, Sessions: []presence.Entry{me}})
	if got := m.Status(); got != "1 entries" {
		t.Fatalf("alone: status %q", got)
	}
}

// Issue 12, point 10: a long action takes the free width; it is not cut
// while the target column has room, also when it arrives live.
func TestLongActionTakesTheFreeWidth(t *testing.T) {
	m, j := setup(t, e(-5, "bob", "promote to a protected environment", "prod/api", audit.OK))
	wait := load(t, m)
	view := ansi.Strip(m.View())
	if !strings.Contains(view, "promote to a protected environment prod/api") {
		t.Fatalf("the action is cut:\n%s", view)
	}
	if _, err := j.Append(e(-1, "alice", "unfreeze an environment and more words", "prod", audit.OK)); err != nil {
		t.Fatal(err)
	}
	next(t, m, wait)
	if view = ansi.Strip(m.View()); !strings.Contains(view, "unfreeze an environment and more words prod") {
		t.Fatalf("the live entry's action is cut:\n%s", view)
	}
}

// Narrow, the timeline keeps every entry's result and actor: the target
// gives way first, and the time drops its date.
func TestNarrowTimelineKeepsTheResult(t *testing.T) {
	m, _ := setup(t, audit.Entry{Actor: "alice", Action: "promote to a protected environment", Target: "shop/api/prod", Result: audit.Refused})
	load(t, m)
	for _, w := range []int{60, 50, 40} {
		m.SetSize(w, 10)
		v := ansi.Strip(m.View())
		row := strings.Split(v, "\n")[1]
		if !strings.Contains(row, "refused") || !strings.Contains(row, "alice") || strings.Contains(row, t0.Format("01-02 ")) {
			t.Errorf("at %d cells the row is %q", w, row)
		}
		for _, l := range strings.Split(v, "\n") {
			if ansi.StringWidth(l) > w {
				t.Errorf("at %d cells a line is %d wide: %q", w, ansi.StringWidth(l), l)
			}
		}
	}
}
