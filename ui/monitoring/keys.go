package monitoring

import (
	"charm.land/bubbles/v2/key"

	"github.com/vigilops/vigil/ops/monitoring"
	"github.com/vigilops/vigil/ops/playbook"
	"github.com/vigilops/vigil/ops/rules"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
	"github.com/vigilops/vigil/ui/ruleform"
)

// KeyMap is the Monitoring pane's bindings.
type KeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom, Open, Back *common.Binding
	Targets, Rules, Query, Window, Install, Refresh     *common.Binding
	Define, Delete                                      *common.Binding // alerting rules
	Submit, Close                                       *common.Binding // in the query prompt
	// Form is the rule form's, open over a graph.
	Form ruleform.KeyMap
}

// NewKeyMap declares the pane's default bindings.
func NewKeyMap() KeyMap {
	return KeyMap{
		Up:       common.NewBinding("monitoring.up", "↑/k", "up", "up", "k"),
		Down:     common.NewBinding("monitoring.down", "↓/j", "down", "down", "j"),
		PageUp:   common.NewBinding("monitoring.page_up", "pgup", "page up", "pgup", "ctrl+u"),
		PageDown: common.NewBinding("monitoring.page_down", "pgdn", "page down", "pgdown", "ctrl+d"),
		Top:      common.NewBinding("monitoring.top", "g", "top", "g", "home"),
		Bottom:   common.NewBinding("monitoring.bottom", "G", "bottom", "G", "end"),
		Open:     common.NewBinding("monitoring.open", "enter", "graph the rule's expression over the last hour", "enter"),
		Back:     common.NewBinding("monitoring.back", "esc", "back", "esc"),
		Targets:  common.NewBinding("monitoring.targets", "t", "targets by job, flagged hosts first", "t"),
		Rules:    common.NewBinding("monitoring.rules", "r", "rules by group", "r"),
		Query:    common.NewBinding("monitoring.query", "e", "type a PromQL query (or edit the graphed one)", "e"),
		Window:   common.NewBinding("monitoring.window", "w", "graph window: 1h, 6h, 24h, 15m", "w"),
		Install: common.NewBinding("monitoring.install", "i", "install the node exporter on the flagged host", "i").
			For(monitoring.ActInstall, playbook.ActApply),
		Refresh: common.NewBinding("monitoring.refresh", "ctrl+r", "read Prometheus again now", "ctrl+r"),
		Define: common.NewBinding("monitoring.define", "a", "define an alerting rule from the graph (edit the rule when vigil owns it)", "a").
			For(rules.ActAdd),
		Delete: common.NewBinding("monitoring.delete", "d", "delete the rule (in vigil's own rule file) under the cursor or graphed", "d").
			For(rules.ActDelete),
		Submit: common.NewBinding("monitoring.submit", "enter", "run the query", "enter"),
		Close:  common.NewBinding("monitoring.close", "esc", "close the prompt", "esc", "ctrl+c"),
		Form:   ruleform.NewKeyMap(),
	}
}

// Bindings lists every binding of the pane, the prompt's and the rule
// form's included.
func (k KeyMap) Bindings() []*common.Binding {
	return append(append(k.PaneBindings(), k.PromptBindings()...), k.Form.Bindings()...)
}

// PaneBindings are the bindings of the pane's views.
func (k KeyMap) PaneBindings() []*common.Binding {
	return []*common.Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom, k.Open, k.Back,
		k.Targets, k.Rules, k.Query, k.Window, k.Install, k.Refresh, k.Define, k.Delete}
}

// PromptBindings are those of the query prompt, which takes every key
// (tab completes metric and label names).
func (k KeyMap) PromptBindings() []*common.Binding { return []*common.Binding{k.Submit, k.Close} }

// ShortHelp implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding {
	return common.Keys(k.Targets, k.Rules, k.Open, k.Query, k.Define, k.Install)
}

// FullHelp implements help.KeyMap.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		common.Keys(k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom),
		common.Keys(k.Targets, k.Rules, k.Open, k.Back, k.Window, k.Refresh),
		common.Keys(k.Query, k.Define, k.Delete, k.Install),
	}
}

// Nav is the bindings that move the cursor and scroll.
func (k KeyMap) Nav() components.Nav {
	return components.Nav{Up: k.Up, Down: k.Down, PageUp: k.PageUp, PageDown: k.PageDown, Top: k.Top, Bottom: k.Bottom}
}
