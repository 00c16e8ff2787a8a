package common

import (
	"time"

	tea "charm.land/bubbletea/v2"
)

// HealthState is an integration's connection state.
type HealthState string

const (
	Healthy  HealthState = "ok"
	Degraded HealthState = "degraded"
	Down     HealthState = "down"
)

// HealthMsg reports an integration's connection health to the status bar.
type HealthMsg struct {
	Name  string // as in config.Integrations, e.g. "prometheus"
	State HealthState
	Since time.Time // when it entered State
	Err   error     // why, when not Healthy
}

// ThemeChangedMsg tells panes that ctx.Styles changed, so cached renders are stale.
type ThemeChangedMsg struct{}

// ToastLevel says how a toast is shown and how long it stays.
type ToastLevel int

const (
	Info    ToastLevel = iota // a notice
	Success                   // an action's result
	Error
)

// ToastMsg asks the shell to show a short message.
type ToastMsg struct {
	Level ToastLevel
	Text  string
}

// ToastCmd returns a command that shows text as a toast.
func ToastCmd(level ToastLevel, text string) tea.Cmd {
	return func() tea.Msg { return ToastMsg{Level: level, Text: text} }
}

// ConfirmMsg asks the shell to confirm a dangerous action before running
// OnYes. With TypeName set, the user must type that name to accept. With
// Then set, accepting asks that second confirmation, whose OnYes runs.
type ConfirmMsg struct {
	Title    string
	Body     string
	TypeName string
	OnYes    tea.Cmd
	Then     *ConfirmMsg
}

// Pane numbers, fixed per pane whichever panes a session has.
const (
	InventoryPane    = 1
	EnvironmentsPane = 2
	RolloutsPane     = 3
	AlertsPane       = 4
	ActivityPane     = 5
	RunsPane         = 6
	LogsPane         = 7
	MonitoringPane   = 8
)

// HandoverTarget is the GotoMsg target of the Activity pane that opens
// the newest hand-over in full.
const HandoverTarget = "handover"

// BadgeChangedMsg tells the shell that a pane's badge (app.Badged)
// changed, so the tab bar is drawn again.
type BadgeChangedMsg struct{}

// KeysChangedMsg tells the shell that a pane's help (its KeyMap) changed,
// a view with keys of its own opened or closed, so the status bar's keys
// are drawn again.
type KeysChangedMsg struct{}

// GotoMsg asks the shell to focus the pane on number key Pane and hand it
// this message, so that it opens Target: "namespace/name" of a workload for
// the Rollouts pane, a host's name for the Inventory pane, "ENV/APP" (or
// "NAMESPACE/APP", then "/POD" and "/CONTAINER" optionally) for the Logs
// pane. When the session
// has no such pane, a toast says so.
type GotoMsg struct {
	Pane   int
	Target string
}

// BackMsg tells the shell that the focused pane closed what a GotoMsg
// opened in it, so that the shell focuses the pane the jump came from,
// whose selection is unchanged. With no jump to return from, it does
// nothing.
type BackMsg struct{}

// Back is a command that yields a BackMsg.
func Back() tea.Msg { return BackMsg{} }

// RunCommandMsg asks the shell to run a palette command, as if typed
// after ':': Args[0] is its name, the rest its arguments, each one word as
// given (the line is not parsed again, so a value holding blanks or quotes
// stays one argument). A pane sends it to run a configured command line.
type RunCommandMsg struct{ Args []string }
