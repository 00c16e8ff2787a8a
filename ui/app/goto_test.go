package app

import (
	"strings"
	"testing"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/vigilops/vigil/ui/common"
)

// capturePane records what it is handed; while capturing it takes every key.
type capturePane struct {
	capturing bool
	badge     string
	got       []tea.Msg
}

func (p *capturePane) Badge() string { return p.badge }

func (p *capturePane) Init() tea.Cmd               { return nil }
func (p *capturePane) Update(msg tea.Msg) tea.Cmd  { p.got = append(p.got, msg); return nil }
func (p *capturePane) View() string                { return "" }
func (p *capturePane) SetSize(int, int)            {}
func (p *capturePane) Title() string               { return "Rollouts" }
func (p *capturePane) Status() string              { return "" }
func (p *capturePane) KeyMap() help.KeyMap         { return noKeys{} }
func (p *capturePane) Bindings() []*common.Binding { return nil }
func (p *capturePane) Capturing() bool             { return p.capturing }

type noKeys struct{}

func (noKeys) ShortHelp() []key.Binding  { return nil }
func (noKeys) FullHelp() [][]key.Binding { return nil }

func TestGotoFocusesThePaneOrSaysItIsMissing(t *testing.T) {
	m := newShell(t, nil, nil)
	p := &capturePane{}
	m.slots = append(m.slots, slot{key: common.RolloutsPane, pane: p})
	_, cmd := m.Update(common.GotoMsg{Pane: common.RolloutsPane, Target: "prod/api"})
	drive(m, cmd)
	if m.Pane() != Pane(p) || len(p.got) == 0 || p.got[len(p.got)-1] != (common.GotoMsg{Pane: 3, Target: "prod/api"}) {
		t.Fatalf("goto: focused %s, pane got %v", m.Pane().Title(), p.got)
	}
	_, cmd = m.Update(common.GotoMsg{Pane: common.InventoryPane, Target: "web-02"})
	drive(m, cmd)
	if m.Pane() != Pane(p) || !strings.Contains(strings.Join(m.toasts.Texts(), "\n"), "cannot show web-02: no pane 1") {
		t.Fatalf("goto a missing pane: focused %s, toasts %q", m.Pane().Title(), m.toasts.Texts())
	}

	p.capturing = true
	for _, k := range []string{"q", "1", ":", "/", "?"} {
		if quits(m, k) {
			t.Fatalf("%s quit while the pane captures keys", k)
		}
	}
	if m.Pane() != Pane(p) || m.palette.Active() || m.filter.Active() || m.showHelp {
		t.Fatal("a shell key acted while the pane captures keys")
	}
	if n := len(p.got); n < 5 {
		t.Fatalf("the capturing pane got %d messages", n)
	}
	p.capturing = false
	if !quits(m, "q") {
		t.Fatal("q does not quit once the pane stops capturing")
	}
}

func TestBadgeInTheTabBar(t *testing.T) {
	m := newShell(t, nil, nil)
	p := &capturePane{}
	m.slots = append(m.slots, slot{key: common.RolloutsPane, pane: p})
	m.layout()
	if !strings.Contains(screen(m), " 3 Rollouts ") {
		t.Fatalf("no tab for the pane:\n%s", screen(m))
	}
	p.badge = "●2 ▲1 5"
	_, cmd := m.Update(common.BadgeChangedMsg{})
	drive(m, cmd)
	if !strings.Contains(strings.Split(screen(m), "\n")[0], " 3 Rollouts ●2 ▲1 5 ") {
		t.Fatalf("the badge is not in the tab bar:\n%s", screen(m))
	}
}

// Issue 12: after a jump, the pane's BackMsg returns to the pane it came
// from; choosing a pane by key forgets the jump.
func TestBackReturnsWhereTheJumpCameFrom(t *testing.T) {
	m := newShell(t, nil, nil)
	p := &capturePane{}
	m.slots = append(m.slots, slot{key: common.RolloutsPane, pane: p})
	from := m.Pane()
	_, cmd := m.Update(common.GotoMsg{Pane: common.RolloutsPane, Target: "prod/web"})
	drive(m, cmd)
	if m.Pane() != Pane(p) {
		t.Fatal("the jump did not focus the pane")
	}
	_, cmd = m.Update(common.BackMsg{})
	drive(m, cmd)
	if m.Pane() != from {
		t.Fatalf("back focused %s, not %s", m.Pane().Title(), from.Title())
	}
	_, cmd = m.Update(common.GotoMsg{Pane: common.RolloutsPane, Target: "prod/web"})
	drive(m, cmd)
	m.Update(keyMsg("tab"))
	m.Update(keyMsg("shift+tab"))
	_, cmd = m.Update(common.BackMsg{})
	drive(m, cmd)
	if m.Pane() != Pane(p) {
		t.Fatalf("back after choosing a pane by key focused %s", m.Pane().Title())
	}
}
