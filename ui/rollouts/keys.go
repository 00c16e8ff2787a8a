package rollouts

import (
	"charm.land/bubbles/v2/key"

	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
)

// KeyMap is the Rollouts pane's bindings. Every binding that changes a
// workload or an environment is dangerous: gone in read-only mode and for
// viewers.
type KeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom, Open, Back *common.Binding
	Describe, YAML                                      *common.Binding
	Rollback, Pause, Restart, Scale, Freeze, Logs       *common.Binding
	Submit, Cancel                                      *common.Binding // in a prompt
}

// NewKeyMap declares the pane's default bindings.
func NewKeyMap() KeyMap {
	return KeyMap{
		Up:       common.NewBinding("rollouts.up", "↑/k", "previous rollout or line", "up", "k"),
		Down:     common.NewBinding("rollouts.down", "↓/j", "next rollout or line", "down", "j"),
		PageUp:   common.NewBinding("rollouts.page_up", "pgup", "page up", "pgup", "ctrl+u"),
		PageDown: common.NewBinding("rollouts.page_down", "pgdn", "page down", "pgdown", "ctrl+d"),
		Top:      common.NewBinding("rollouts.top", "g", "top", "g", "home"),
		Bottom:   common.NewBinding("rollouts.bottom", "G", "bottom", "G", "end"),
		Open:     common.NewBinding("rollouts.open", "enter", "live detail; choose", "enter"),
		Back:     common.NewBinding("rollouts.back", "esc", "back", "esc"),
		Describe: common.NewBinding("rollouts.describe", "d", "describe the workload", "d"),
		YAML:     common.NewBinding("rollouts.yaml", "y", "the workload's YAML", "y"),
		Rollback: common.NewBinding("rollouts.rollback", "u", "roll back (choose a revision)", "u").For(release.ActRollback),
		Pause:    common.NewBinding("rollouts.pause", "space", "pause/resume the rollout", "space").For(release.ActPause, release.ActResume),
		Restart:  common.NewBinding("rollouts.restart", "r", "restart the pods", "r").For(release.ActRestart),
		Scale:    common.NewBinding("rollouts.scale", "s", "scale", "s").For(release.ActScale),
		Freeze:   common.NewBinding("rollouts.freeze", "f", "freeze/unfreeze the environment", "f").For(release.ActFreeze, release.ActUnfreeze),
		Logs:     common.NewBinding("rollouts.logs", "l", "logs of the workload's pods", "l"),
		Submit:   common.NewBinding("rollouts.submit", "enter", "accept the prompt", "enter"),
		Cancel:   common.NewBinding("rollouts.cancel", "esc", "close the prompt", "esc", "ctrl+c"),
	}
}

// Bindings lists every binding of the pane.
func (k KeyMap) Bindings() []*common.Binding { return append(k.PaneBindings(), k.PromptBindings()...) }

// PaneBindings are the bindings of the list and the detail, which share
// the keyboard with the shell's.
func (k KeyMap) PaneBindings() []*common.Binding {
	return []*common.Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom, k.Open, k.Back, k.Describe, k.YAML,
		k.Rollback, k.Pause, k.Restart, k.Scale, k.Freeze, k.Logs}
}

// PromptBindings are those of an open prompt, which takes every key: they
// may reuse the pane's keys (enter, esc).
func (k KeyMap) PromptBindings() []*common.Binding { return []*common.Binding{k.Submit, k.Cancel} }

// ShortHelp implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding { return common.Keys(k.Open, k.Rollback, k.Pause, k.Back) }

// FullHelp implements help.KeyMap.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		common.Keys(k.Up, k.Down, k.PageUp, k.PageDown),
		common.Keys(k.Top, k.Bottom, k.Open, k.Back, k.Describe, k.YAML, k.Logs),
		common.Keys(k.Rollback, k.Pause, k.Restart, k.Scale, k.Freeze),
	}
}

// Nav is the bindings that move the cursor and scroll.
func (k KeyMap) Nav() components.Nav {
	return components.Nav{Up: k.Up, Down: k.Down, PageUp: k.PageUp, PageDown: k.PageDown, Top: k.Top, Bottom: k.Bottom}
}
