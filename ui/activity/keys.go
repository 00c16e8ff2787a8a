package activity

import (
	"charm.land/bubbles/v2/key"

	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
)

// KeyMap is the Activity pane's bindings.
type KeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom, Details, Back *common.Binding
}

// NewKeyMap declares the pane's default bindings.
func NewKeyMap() KeyMap {
	return KeyMap{
		Up:       common.NewBinding("activity.up", "↑/k", "newer entry", "up", "k"),
		Down:     common.NewBinding("activity.down", "↓/j", "older entry", "down", "j"),
		PageUp:   common.NewBinding("activity.page_up", "pgup", "page up", "pgup", "ctrl+u"),
		PageDown: common.NewBinding("activity.page_down", "pgdn", "page down", "pgdown", "ctrl+d"),
		Top:      common.NewBinding("activity.top", "g", "newest entry", "g", "home"),
		Bottom:   common.NewBinding("activity.bottom", "G", "oldest entry", "G", "end"),
		Details:  common.NewBinding("activity.details", "enter", "parameters and error", "enter"),
		Back:     common.NewBinding("activity.back", "esc", "back: close details, then clear the filter", "esc"),
	}
}

// Bindings lists every binding of the pane.
func (k KeyMap) Bindings() []*common.Binding {
	return []*common.Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom, k.Details, k.Back}
}

// ShortHelp implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding { return common.Keys(k.Down, k.Up, k.Details) }

// FullHelp implements help.KeyMap.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		common.Keys(k.Up, k.Down, k.PageUp, k.PageDown),
		common.Keys(k.Top, k.Bottom, k.Details, k.Back),
	}
}

// Nav is the bindings that move the cursor and scroll.
func (k KeyMap) Nav() components.Nav {
	return components.Nav{Up: k.Up, Down: k.Down, PageUp: k.PageUp, PageDown: k.PageDown, Top: k.Top, Bottom: k.Bottom}
}
