package runs

import (
	"charm.land/bubbles/v2/key"

	"github.com/vigilops/vigil/ops/playbook"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
)

// KeyMap is the Runs pane's bindings.
type KeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom, Open, Back *common.Binding
	Run, Cancel, RerunFailed, Filter, Reload            *common.Binding
	VaultPassword, BecomePassword, Execs                *common.Binding
	Submit, Close                                       *common.Binding // in a prompt
}

// NewKeyMap declares the pane's default bindings.
func NewKeyMap() KeyMap {
	return KeyMap{
		Up:             common.NewBinding("runs.up", "↑/k", "up", "up", "k"),
		Down:           common.NewBinding("runs.down", "↓/j", "down", "down", "j"),
		PageUp:         common.NewBinding("runs.page_up", "pgup", "page up", "pgup", "ctrl+u"),
		PageDown:       common.NewBinding("runs.page_down", "pgdn", "page down", "pgdown", "ctrl+d"),
		Top:            common.NewBinding("runs.top", "g", "top", "g", "home"),
		Bottom:         common.NewBinding("runs.bottom", "G", "bottom", "G", "end"),
		Open:           common.NewBinding("runs.open", "enter", "open: run, its task results, one result", "enter"),
		Back:           common.NewBinding("runs.back", "esc", "back", "esc"),
		Run:            common.NewBinding("runs.run", "n", "run a playbook", "n").For(playbook.ActCheck, playbook.ActApply),
		Cancel:         common.NewBinding("runs.cancel", "c", "cancel the run", "c").For(playbook.ActCancel),
		RerunFailed:    common.NewBinding("runs.rerun_failed", "r", "rerun on the failed hosts only", "r").For(playbook.ActApply),
		Filter:         common.NewBinding("runs.filter_results", "f", "results: all, changed, failed", "f"),
		Reload:         common.NewBinding("runs.reload", "ctrl+r", "read the results again", "ctrl+r"),
		VaultPassword:  common.NewBinding("runs.vault_password", "v", "type the vault password", "v"),
		BecomePassword: common.NewBinding("runs.become_password", "B", "type the become password", "B"),
		Execs:          common.NewBinding("runs.execs", "a", "ad-hoc commands (:exec): each host's rc and output", "a"),
		Submit:         common.NewBinding("runs.submit", "enter", "accept the prompt", "enter"),
		Close:          common.NewBinding("runs.close", "esc", "close the prompt", "esc", "ctrl+c"),
	}
}

// Bindings lists every binding of the pane.
func (k KeyMap) Bindings() []*common.Binding { return append(k.PaneBindings(), k.PromptBindings()...) }

// PaneBindings are the bindings of the pane's views, which share the
// keyboard with the shell's.
func (k KeyMap) PaneBindings() []*common.Binding {
	return []*common.Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom, k.Open, k.Back, k.Run,
		k.Cancel, k.RerunFailed, k.Filter, k.Reload, k.VaultPassword, k.BecomePassword, k.Execs}
}

// PromptBindings are those of an open prompt, which takes every key: they
// may reuse the pane's keys (enter, esc).
func (k KeyMap) PromptBindings() []*common.Binding { return []*common.Binding{k.Submit, k.Close} }

// ShortHelp implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding {
	return common.Keys(k.Open, k.Run, k.Cancel, k.RerunFailed, k.Filter)
}

// FullHelp implements help.KeyMap.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		common.Keys(k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom),
		common.Keys(k.Open, k.Back, k.Filter, k.Reload, k.Execs),
		common.Keys(k.Run, k.Cancel, k.RerunFailed, k.VaultPassword, k.BecomePassword),
	}
}

// Nav is the bindings that move the cursor and scroll.
func (k KeyMap) Nav() components.Nav {
	return components.Nav{Up: k.Up, Down: k.Down, PageUp: k.PageUp, PageDown: k.PageDown, Top: k.Top, Bottom: k.Bottom}
}
