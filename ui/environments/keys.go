package environments

import (
	"charm.land/bubbles/v2/key"

	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
)

// KeyMap is the Environments pane's bindings.
type KeyMap struct {
	Up, Down, Left, Right, PageUp, PageDown, Top, Bottom *common.Binding
	Detail, Promote, Prepare, Back, Logs                 *common.Binding
	Claims                                               *common.Binding
}

// NewKeyMap declares the pane's default bindings. Promote and Prepare are
// dangerous: they are gone in read-only mode and for viewers.
func NewKeyMap() KeyMap {
	return KeyMap{
		Up:       common.NewBinding("environments.up", "↑/k", "previous app", "up", "k"),
		Down:     common.NewBinding("environments.down", "↓/j", "next app", "down", "j"),
		Left:     common.NewBinding("environments.left", "←/h", "previous environment", "left", "h"),
		Right:    common.NewBinding("environments.right", "→/l", "next environment", "right", "l"),
		PageUp:   common.NewBinding("environments.page_up", "pgup", "page up", "pgup", "ctrl+u"),
		PageDown: common.NewBinding("environments.page_down", "pgdn", "page down", "pgdown", "ctrl+d"),
		Top:      common.NewBinding("environments.top", "g", "first app", "g", "home"),
		Bottom:   common.NewBinding("environments.bottom", "G", "last app", "G", "end"),
		Detail:   common.NewBinding("environments.detail", "enter", "rollout detail", "enter"),
		Promote:  common.NewBinding("environments.promote", "p", "promote to the next environment", "p").For(release.ActPromote, release.ActPromoteProtected),
		Prepare:  common.NewBinding("environments.prepare", "P", "prepare the environment from the one before it", "P").For(release.ActPrepare),
		Back:     common.NewBinding("environments.back", "esc", "clear the filter", "esc"),
		// l moves right (h/l): the logs take L.
		Logs:   common.NewBinding("environments.logs", "L", "logs of the cell's pods", "L"),
		Claims: common.NewBinding("environments.claims", "v", "volumes: each environment's StatefulSets and their claims", "v"),
	}
}

// Bindings lists every binding of the pane.
func (k KeyMap) Bindings() []*common.Binding {
	return []*common.Binding{k.Up, k.Down, k.Left, k.Right, k.PageUp, k.PageDown, k.Top, k.Bottom, k.Detail, k.Promote, k.Prepare, k.Back, k.Logs, k.Claims}
}

// ShortHelp implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding { return common.Keys(k.Promote, k.Detail, k.Right) }

// FullHelp implements help.KeyMap.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		common.Keys(k.Up, k.Down, k.Left, k.Right),
		common.Keys(k.PageUp, k.PageDown, k.Top, k.Bottom),
		common.Keys(k.Detail, k.Promote, k.Prepare, k.Back, k.Logs, k.Claims),
	}
}

// Nav is the bindings that move the cursor and scroll.
func (k KeyMap) Nav() components.Nav {
	return components.Nav{Up: k.Up, Down: k.Down, PageUp: k.PageUp, PageDown: k.PageDown, Top: k.Top, Bottom: k.Bottom}
}
