package common

import (
	tea "charm.land/bubbletea/v2"

	"github.com/vigilops/vigil/ops/access"
)

// Confirm is how every pane asks before an action, from the action's
// declaration in ops/access, in one place: a dangerous action asks the
// question c names (typing c.TypeName, when set, to accept), with body
// under it; one that is not runs at once, as on the CLI. A session that
// may not act sends it straight to ops, which refuses it and journals the
// attempt.
func (c *Context) Confirm(conf access.Confirmation, body string, run tea.Cmd) tea.Cmd {
	if !conf.Needed() || !c.MayAct() {
		return run
	}
	req := ConfirmMsg{Title: conf.Title, Body: body, TypeName: conf.TypeName, OnYes: run}
	return func() tea.Msg { return req }
}
