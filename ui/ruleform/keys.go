package ruleform

import (
	"charm.land/bubbles/v2/key"

	"github.com/vigilops/vigil/ops/rules"
	"github.com/vigilops/vigil/ui/common"
)

// KeyMap is the rule form's bindings. The form takes every key while it
// is open (its fields are text), so they may reuse a pane's keys.
type KeyMap struct {
	Next, Prev, Left, Right, Save, Delete, Cancel *common.Binding
}

// NewKeyMap declares the form's default bindings. Saving writes a rule
// file and reloads Prometheus; deleting is dangerous, and asks first.
func NewKeyMap() KeyMap {
	return KeyMap{
		Next:   common.NewBinding("ruleform.next", "tab/↓", "next field", "tab", "down"),
		Prev:   common.NewBinding("ruleform.prev", "shift+tab/↑", "previous field", "shift+tab", "up"),
		Left:   common.NewBinding("ruleform.left", "←", "previous comparison (on the comparison)", "left"),
		Right:  common.NewBinding("ruleform.right", "→", "next comparison (on the comparison)", "right"),
		Save:   common.NewBinding("ruleform.save", "enter/ctrl+s", "save the rule and reload Prometheus", "enter", "ctrl+s").For(rules.ActAdd, rules.ActEdit),
		Delete: common.NewBinding("ruleform.delete", "ctrl+d", "delete the rule being edited", "ctrl+d").For(rules.ActDelete),
		Cancel: common.NewBinding("ruleform.cancel", "esc", "close the form, writing nothing", "esc", "ctrl+c"),
	}
}

// Bindings lists every binding of the form.
func (k KeyMap) Bindings() []*common.Binding {
	return []*common.Binding{k.Next, k.Prev, k.Left, k.Right, k.Save, k.Delete, k.Cancel}
}

// ShortHelp implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding { return common.Keys(k.Save, k.Next, k.Cancel) }

// FullHelp implements help.KeyMap.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{common.Keys(k.Next, k.Prev, k.Left, k.Right), common.Keys(k.Save, k.Delete, k.Cancel)}
}
