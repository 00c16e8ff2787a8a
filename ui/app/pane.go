package app

import (
	"charm.land/bubbles/v2/help"
	tea "charm.land/bubbletea/v2"

	"github.com/vigilops/vigil/ui/activity"
	"github.com/vigilops/vigil/ui/alerts"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
	"github.com/vigilops/vigil/ui/monitoring"
	"github.com/vigilops/vigil/ui/welcome"
)

// Pane is one screen of the console. Each lives in its own package, holds
// the session context, and draws in the cells SetSize gives it.
type Pane interface {
	Init() tea.Cmd
	// Update handles messages: keys only while the pane has focus, every
	// other message always (data arrives for panes in the background).
	Update(tea.Msg) tea.Cmd
	View() string
	SetSize(width, height int)
	Title() string
	// Status is a short summary shown in the pane's frame, e.g. a count.
	Status() string
	KeyMap() help.KeyMap
	Bindings() []*common.Binding
}

// Filterable panes receive the filter bar's text.
type Filterable interface {
	SetFilter(string)
	Filter() string
	// FilterHint shows the filter's syntax in the empty filter bar.
	FilterHint() string
}

// Commander panes add palette commands of their own.
type Commander interface {
	Commands() []components.Spec
}

// Badged panes show a short summary after their title in the tab bar,
// such as counts of alerts; they send common.BadgeChangedMsg when it changes.
type Badged interface {
	Badge() string
}

// Capturer panes take every key while Capturing, even the shell's own
// (q, digits, :, /): a pane's dialog with a text input needs them.
type Capturer interface {
	Capturing() bool
}

// Closer panes hold resources, such as a journal subscription, that must
// be released when the session ends.
type Closer interface {
	Close()
}

var (
	_ Pane       = (*activity.Model)(nil)
	_ Filterable = (*activity.Model)(nil)
	_ Closer     = (*activity.Model)(nil)
	_ Pane       = (*welcome.Model)(nil)
	_ Pane       = (*alerts.Model)(nil)
	_ Filterable = (*alerts.Model)(nil)
	_ Commander  = (*alerts.Model)(nil)
	_ Closer     = (*alerts.Model)(nil)
	_ Capturer   = (*alerts.Model)(nil)
	_ Badged     = (*alerts.Model)(nil)
	_ Pane       = (*monitoring.Model)(nil)
	_ Filterable = (*monitoring.Model)(nil)
	_ Commander  = (*monitoring.Model)(nil)
	_ Capturer   = (*monitoring.Model)(nil)
	_ Closer     = (*monitoring.Model)(nil)
)

// slot is a pane and the number key that focuses it (0 for none). Numbers
// are fixed per pane, so muscle memory holds whichever panes exist.
type slot struct {
	key  int
	pane Pane
}

// Legender panes explain the glyphs they draw; help shows the legend.
type Legender interface {
	Legend() []string
}

// HelpSectioner panes add a section of their own to help, for what
// depends on their data: the Alerts pane lists the runbooks of the alert
// in focus. An empty title adds nothing.
type HelpSectioner interface {
	HelpSection() (title string, lines []string)
}
