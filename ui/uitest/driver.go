package uitest

import (
	"reflect"
	"slices"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/vigilops/vigil/ui/common"
)

// Driver runs a pane's commands through its Update as the program would,
// without a program: the messages for the shell (toasts, confirmations,
// health, gotos) are kept in Msgs. A command that does not answer at once
// is a wait on a service's feed: it stays pending, and its message is
// handled when it comes.
type Driver struct {
	Update  func(tea.Msg) tea.Cmd
	Msgs    []tea.Msg
	pending []chan tea.Msg
}

// Drive runs cmd, and the commands its messages lead to, until none is
// left but pending waits that stay quiet for a moment.
func (d *Driver) Drive(cmd tea.Cmd) {
	queue := []tea.Cmd{cmd}
	for {
		for len(queue) > 0 {
			c := queue[0]
			queue = queue[1:]
			if c == nil {
				continue
			}
			done := make(chan tea.Msg, 1)
			go func() { done <- c() }()
			select {
			case msg := <-done:
				queue = append(d.handle(msg), queue...)
			case <-time.After(100 * time.Millisecond):
				d.pending = append(d.pending, done)
			}
		}
		// Give pending waits a moment: a change published by the last
		// command reaches them at once.
		deadline := time.After(30 * time.Millisecond)
	wait:
		for len(queue) == 0 {
			for i, ch := range d.pending {
				select {
				case msg := <-ch:
					d.pending = slices.Delete(d.pending, i, i+1)
					queue = append(queue, d.handle(msg)...)
					continue wait
				default:
				}
			}
			select {
			case <-deadline:
				break wait
			case <-time.After(time.Millisecond):
			}
		}
		if len(queue) == 0 {
			return
		}
	}
}

// handle delivers msg and returns the commands that follow it.
func (d *Driver) handle(msg tea.Msg) []tea.Cmd {
	switch msg := msg.(type) {
	case nil:
		return nil
	case tea.BatchMsg:
		return msg
	case common.ToastMsg, common.ConfirmMsg, common.HealthMsg, common.GotoMsg:
		d.Msgs = append(d.Msgs, msg)
		return nil
	}
	if seq, ok := sequence(msg); ok {
		return seq
	}
	if text, ok := ClipboardOf(msg); ok {
		d.Msgs = append(d.Msgs, Clipboard(text))
		return nil
	}
	return []tea.Cmd{d.Update(msg)}
}

// Clipboard is what a command asked the terminal to put on the clipboard
// (tea.SetClipboard, OSC 52).
type Clipboard string

// clipboardType is the type of tea.SetClipboard's message, unexported.
var clipboardType = reflect.TypeOf(tea.SetClipboard("")())

// ClipboardOf unpacks tea.SetClipboard's message.
func ClipboardOf(msg tea.Msg) (string, bool) {
	v := reflect.ValueOf(msg)
	if !v.IsValid() || v.Type() != clipboardType {
		return "", false
	}
	return v.String(), true
}

// sequence unpacks tea.Sequence's message, whose type is unexported.
func sequence(msg tea.Msg) ([]tea.Cmd, bool) {
	v := reflect.ValueOf(msg)
	if v.Kind() != reflect.Slice || v.Type().Elem() != reflect.TypeFor[tea.Cmd]() {
		return nil, false
	}
	out := make([]tea.Cmd, v.Len())
	for i := range out {
		out[i] = v.Index(i).Interface().(tea.Cmd)
	}
	return out, true
}

// Press presses keys one after the other, as Key names them.
func (d *Driver) Press(keys ...string) {
	for _, k := range keys {
		d.Drive(func() tea.Msg { return Key(k) })
	}
}

// Type types s, a key press a character, spaces included.
func (d *Driver) Type(s string) {
	for _, r := range s {
		d.Drive(func() tea.Msg { return tea.KeyPressMsg{Code: r, Text: string(r)} })
	}
}

// Last returns the last message of type T the pane sent outwards.
func Last[T any](d *Driver) (T, bool) {
	for i := len(d.Msgs) - 1; i >= 0; i-- {
		if m, ok := d.Msgs[i].(T); ok {
			return m, true
		}
	}
	var zero T
	return zero, false
}
