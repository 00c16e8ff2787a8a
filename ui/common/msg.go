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
// OnYes. With TypeName set, the user must type that name to accept.
type ConfirmMsg struct {
	Title    string
	Body     string
	TypeName string
	OnYes    tea.Cmd
}
