package logs

import (
	"charm.land/bubbles/v2/key"

	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
)

// KeyMap is the Logs pane's bindings. None changes anything outside the
// view: reading logs is open to viewers and in read-only mode.
type KeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom, Back *common.Binding
	Follow, Wrap, Prefix, Timestamps, Previous    *common.Binding
	Since, Errors, Save, Copy, AlertTime          *common.Binding
	Submit, Cancel                                *common.Binding // in a prompt
}

// NewKeyMap declares the pane's default bindings.
func NewKeyMap() KeyMap {
	return KeyMap{
		Up:         common.NewBinding("logs.up", "↑/k", "scroll up", "up", "k"),
		Down:       common.NewBinding("logs.down", "↓/j", "scroll down", "down", "j"),
		PageUp:     common.NewBinding("logs.page_up", "pgup", "page up", "pgup", "ctrl+u"),
		PageDown:   common.NewBinding("logs.page_down", "pgdn", "page down", "pgdown", "ctrl+d"),
		Top:        common.NewBinding("logs.top", "g", "oldest line held", "g", "home"),
		Bottom:     common.NewBinding("logs.bottom", "G", "newest line (and follow again)", "G", "end"),
		Back:       common.NewBinding("logs.back", "esc", "close the logs (back where the jump came from)", "esc"),
		Follow:     common.NewBinding("logs.follow", "f", "follow / pause", "f"),
		Wrap:       common.NewBinding("logs.wrap", "w", "wrap long lines", "w"),
		Prefix:     common.NewBinding("logs.prefix", "p", "pod name prefix", "p"),
		Timestamps: common.NewBinding("logs.timestamps", "t", "timestamps", "t"),
		Previous:   common.NewBinding("logs.previous", "P", "previous container of restarted pods", "P"),
		Since:      common.NewBinding("logs.since", "d", "since: how far back to read", "d"),
		Errors:     common.NewBinding("logs.errors", "e", "error lines only (with the filter)", "e"),
		Save:       common.NewBinding("logs.save", "s", "save the shown lines to a file", "s"),
		Copy:       common.NewBinding("logs.copy", "c", "copy the lines on screen to the clipboard (OSC 52: works over SSH)", "c"),
		AlertTime:  common.NewBinding("logs.alert_time", "a", "to the time of the alert the logs were opened from", "a"),
		Submit:     common.NewBinding("logs.submit", "enter", "accept the prompt", "enter"),
		Cancel:     common.NewBinding("logs.cancel", "esc", "close the prompt", "esc", "ctrl+c"),
	}
}

// Bindings lists every binding of the pane.
func (k KeyMap) Bindings() []*common.Binding { return append(k.PaneBindings(), k.PromptBindings()...) }

// PaneBindings are the bindings of the view, which share the keyboard
// with the shell's.
func (k KeyMap) PaneBindings() []*common.Binding {
	return []*common.Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom, k.Back,
		k.Follow, k.Wrap, k.Prefix, k.Timestamps, k.Previous, k.Since, k.Errors, k.Save, k.Copy, k.AlertTime}
}

// PromptBindings are those of an open prompt, which takes every key: they
// may reuse the pane's keys (enter, esc).
func (k KeyMap) PromptBindings() []*common.Binding { return []*common.Binding{k.Submit, k.Cancel} }

// ShortHelp implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding {
	return common.Keys(k.Follow, k.Errors, k.Wrap, k.Prefix, k.Timestamps, k.Save, k.Back)
}

// FullHelp implements help.KeyMap.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		common.Keys(k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom),
		common.Keys(k.Follow, k.Wrap, k.Prefix, k.Timestamps, k.Back),
		common.Keys(k.Previous, k.Since, k.Errors, k.Save, k.Copy, k.AlertTime),
	}
}

// Nav is the bindings that scroll.
func (k KeyMap) Nav() components.Nav {
	return components.Nav{Up: k.Up, Down: k.Down, PageUp: k.PageUp, PageDown: k.PageDown, Top: k.Top, Bottom: k.Bottom}
}
