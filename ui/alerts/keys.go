package alerts

import (
	"charm.land/bubbles/v2/key"

	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ops/rules"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
	"github.com/vigilops/vigil/ui/ruleform"
)

// KeyMap is the Alerts pane's bindings.
type KeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom *common.Binding
	Details, Back                           *common.Binding
	Ack, Unack, Silences, Incidents         *common.Binding
	Workload, Host, Group, Window, Logs     *common.Binding
	Rollback, Runbook, Rule                 *common.Binding
	// Form is the rule form's, open over the detail.
	Form ruleform.KeyMap
}

// NewKeyMap declares the pane's default bindings. Expiring a silence
// unmutes alerts: it is dangerous, and gone for viewers and in read-only mode.
func NewKeyMap() KeyMap {
	return KeyMap{
		Up:        common.NewBinding("alerts.up", "↑/k", "previous alert", "up", "k"),
		Down:      common.NewBinding("alerts.down", "↓/j", "next alert", "down", "j"),
		PageUp:    common.NewBinding("alerts.page_up", "pgup", "page up", "pgup", "ctrl+u"),
		PageDown:  common.NewBinding("alerts.page_down", "pgdn", "page down", "pgdown", "ctrl+d"),
		Top:       common.NewBinding("alerts.top", "home", "first alert", "home"),
		Bottom:    common.NewBinding("alerts.bottom", "end", "last alert", "end"),
		Details:   common.NewBinding("alerts.details", "enter", "detail", "enter"),
		Back:      common.NewBinding("alerts.back", "esc", "back: close the detail, then clear the filter", "esc"),
		Ack:       common.NewBinding("alerts.ack", "a", "acknowledge", "a").For(incident.AckAction),
		Unack:     common.NewBinding("alerts.unack", "A", "unacknowledge", "A").For(incident.UnackAction),
		Silences:  common.NewBinding("alerts.silences", "S", "silences", "S"),
		Incidents: common.NewBinding("alerts.incidents", "i", "incidents: open and recent, their timelines", "i"),
		Workload:  common.NewBinding("alerts.workload", "g", "go to workload", "g"),
		Host:      common.NewBinding("alerts.host", "h", "go to host", "h"),
		Logs:      common.NewBinding("alerts.logs", "l", "logs of the workload's pods", "l"),
		Group:     common.NewBinding("alerts.group", "t", "group by alertname / label", "t"),
		Window:    common.NewBinding("alerts.window", "w", "graph window 5m/15m/1h/6h/24h", "w"),
		Rollback:  common.NewBinding("alerts.rollback", "u", "roll back the workload's recent promotion", "u").For(release.ActRollback),
		// What a runbook may do is checked when it is chosen: its own role,
		// and the service's own for what it does.
		Runbook: common.NewBinding("alerts.runbook", "r", "runbook: the actions config declares for the alert (then 1-9, or ↑/↓ enter)", "r"),
		// a acknowledges here: the rule form is on R.
		Rule: common.NewBinding("alerts.rule", "R", "define an alerting rule from the alert's graph", "R").For(rules.ActAdd),
		Form: ruleform.NewKeyMap(),
	}
}

// Bindings lists every binding of the pane, the rule form's included.
func (k KeyMap) Bindings() []*common.Binding { return append(k.PaneBindings(), k.Form.Bindings()...) }

// PaneBindings are the bindings of the pane's views, which share the
// keyboard with the shell's; the rule form takes every key while open.
func (k KeyMap) PaneBindings() []*common.Binding {
	return []*common.Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom, k.Details, k.Back,
		k.Ack, k.Unack, k.Silences, k.Incidents, k.Workload, k.Host, k.Group, k.Window, k.Rollback, k.Runbook, k.Logs, k.Rule}
}

// ShortHelp implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding {
	return common.Keys(k.Ack, k.Rollback, k.Runbook, k.Workload, k.Host, k.Details, k.Window)
}

// FullHelp implements help.KeyMap.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		common.Keys(k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom),
		common.Keys(k.Details, k.Back, k.Group, k.Window, k.Silences, k.Incidents),
		common.Keys(k.Ack, k.Unack, k.Rollback, k.Runbook, k.Workload, k.Logs, k.Host, k.Rule),
	}
}

// Nav is the bindings that move the cursor and scroll.
func (k KeyMap) Nav() components.Nav {
	return components.Nav{Up: k.Up, Down: k.Down, PageUp: k.PageUp, PageDown: k.PageDown, Top: k.Top, Bottom: k.Bottom}
}
