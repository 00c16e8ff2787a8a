package components

import (
	"strings"
	"testing"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/uitest"
)

type testKeys struct{ submit, cancel *common.Binding }

func (k testKeys) ShortHelp() []key.Binding    { return common.Keys(k.submit) }
func (k testKeys) FullHelp() [][]key.Binding   { return [][]key.Binding{k.ShortHelp()} }
func (k testKeys) Bindings() []*common.Binding { return []*common.Binding{k.submit, k.cancel} }

func newBase(t *testing.T) (*Base, testKeys) {
	k := testKeys{
		submit: common.NewBinding("t.submit", "enter", "accept", "enter"),
		cancel: common.NewBinding("t.close", "esc", "close", "esc"),
	}
	b := NewBase(&common.Context{Styles: testStyles(t)}, "Test", k)
	return &b, k
}

// The base delivers the service's state at once, then after each change,
// and nothing once closed.
func TestBaseSubscription(t *testing.T) {
	b, _ := newBase(t)
	changes := make(chan struct{}, 1)
	n := 0
	first := b.Subscribe(changes, func() {}, func() tea.Msg { n++; return n })()
	cmds, ok := first.(tea.BatchMsg)
	if !ok || len(cmds) != 2 {
		t.Fatalf("Subscribe gave %#v, want the first state and the wait", first)
	}
	if got := cmds[0](); got != 1 {
		t.Fatalf("the first state is %v", got)
	}
	changes <- struct{}{}
	if got := cmds[1](); got != 2 {
		t.Fatalf("after a change the wait gave %v", got)
	}
	wait := b.Wait()
	b.Close()
	done := make(chan tea.Msg, 1)
	go func() { done <- wait() }()
	select {
	case msg := <-done:
		if msg != nil {
			t.Fatalf("a closed base's wait gave %v", msg)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the wait")
	}
	cancelled := false
	if b.Subscribe(changes, func() { cancelled = true }, nil) != nil || !cancelled {
		t.Fatal("a subscription after Close was kept")
	}
}

// A prompt takes every key until submitted; a submit that asks again keeps
// the new prompt open; the prompt is drawn within the pane's height.
func TestBasePrompt(t *testing.T) {
	b, k := newBase(t)
	b.Resize(40, 3)
	if ok, _ := b.PromptKey(uitest.Key("x"), k.submit, k.cancel); ok || b.Capturing() {
		t.Fatal("with no prompt open, keys are the pane's")
	}
	var got []string
	b.Ask("Name?", "", "", false, func(s string) tea.Cmd {
		got = append(got, s)
		b.Ask("Again?", "", "", false, func(s string) tea.Cmd { got = append(got, s); return nil })
		return nil
	})
	for _, key := range []string{"a", "b", "enter"} {
		if ok, _ := b.PromptKey(uitest.Key(key), k.submit, k.cancel); !ok {
			t.Fatalf("%s went past the open prompt", key)
		}
	}
	if !b.Capturing() || b.Prompt.Label != "Again?" {
		t.Fatal("the prompt the submit opened was closed")
	}
	lines := b.WithPrompt([]string{"1", "2", "3", "4"})
	if len(lines) != 3 || lines[0] != "1" || !strings.Contains(lines[1], "Again?") {
		t.Fatalf("the prompt over 4 lines in 3: %q", lines)
	}
	b.PromptKey(uitest.Key("c"), k.submit, k.cancel)
	b.PromptKey(uitest.Key("enter"), k.submit, k.cancel)
	if b.Capturing() || strings.Join(got, ",") != "ab,c" {
		t.Fatalf("answers %q, capturing %v", got, b.Capturing())
	}
	if b.Title() != "Test" || len(b.Bindings()) != 2 {
		t.Fatal("the base lost the pane's title or bindings")
	}
}
