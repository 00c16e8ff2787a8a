package uitest

import (
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/vigilops/vigil/ui/common"
)

type tickMsg int

// pane counts key presses; each press after the first toasts, through a
// batch and a sequence; ticks come from a feed the test publishes on.
type pane struct {
	keys, ticks int
	feed        chan tickMsg
}

func (p *pane) wait() tea.Cmd { return func() tea.Msg { return <-p.feed } }

func (p *pane) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		p.keys++
		if p.keys == 1 {
			return nil
		}
		return tea.Batch(tea.Sequence(common.ToastCmd(common.Info, msg.String()), nil), nil)
	case tickMsg:
		p.ticks += int(msg)
		return p.wait()
	}
	return nil
}

func TestDriver(t *testing.T) {
	p := &pane{feed: make(chan tickMsg, 1)}
	d := &Driver{Update: p.update}
	d.Drive(p.wait()) // stays pending: nothing is published yet
	d.Press("a", "enter")
	d.Type("b c")
	if p.keys != 5 {
		t.Fatalf("%d key presses reached the pane, want 5", p.keys)
	}
	if len(d.Msgs) != 4 {
		t.Fatalf("messages outwards %v, want 4 toasts", d.Msgs)
	}
	if m, ok := Last[common.ToastMsg](d); !ok || m.Text != "c" {
		t.Errorf("last toast %+v, %v; want c", m, ok)
	}
	if _, ok := Last[common.GotoMsg](d); ok {
		t.Error("a goto that was never sent")
	}
	p.feed <- 2
	deadline := time.Now().Add(5 * time.Second)
	for p.ticks != 2 && time.Now().Before(deadline) {
		d.Drive(nil)
	}
	if p.ticks != 2 {
		t.Fatalf("the pending wait's tick did not reach the pane: %d", p.ticks)
	}
}
