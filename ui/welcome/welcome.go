// Package welcome is the screen vigil opens on when no integration is
// configured: how to configure it, and how to try it on the demo lab.
package welcome

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
)

// KeyMap is empty: the welcome screen is read, not driven.
type KeyMap struct{}

// ShortHelp implements help.KeyMap.
func (KeyMap) ShortHelp() []key.Binding { return nil }

// FullHelp implements help.KeyMap.
func (KeyMap) FullHelp() [][]key.Binding { return nil }

// Bindings lists no bindings.
func (KeyMap) Bindings() []*common.Binding { return nil }

// Model is the welcome screen.
type Model struct {
	components.Base
	configPath string
	activity   *common.Binding // the key to the Activity pane; nil without one
	text       string          // rendered for the current width and theme
}

// New returns the welcome screen. activity is the binding that opens the
// Activity pane, nil when there is none.
func New(ctx *common.Context, activity *common.Binding) *Model {
	path := ctx.Config.Path
	if path == "" {
		path = config.Resolve("") // where `vigil config init` writes
	}
	return &Model{Base: components.NewBase(ctx, "Welcome", KeyMap{}), configPath: path, activity: activity}
}

// Status is shown in the frame title.
func (m *Model) Status() string { return "no integration configured" }

// Init does nothing: the screen is static.
func (m *Model) Init() tea.Cmd { return nil }

// Update re-renders after a theme change.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	if _, ok := msg.(common.ThemeChangedMsg); ok {
		m.render()
	}
	return nil
}

// SetSize re-renders the text for the new size.
func (m *Model) SetSize(width, height int) {
	m.Resize(width, height)
	m.render()
}

func (m *Model) render() {
	if m.Width <= 0 {
		m.text = ""
		return
	}
	st := m.Ctx.Styles
	wrap := func(s string) string { return lipgloss.Wrap(s, m.Width, " ") }
	// A command on its line, what it does indented below it.
	cmd := func(c, what string) string {
		desc := lipgloss.Wrap(what, max(m.Width-6, 10), " ")
		return "  " + st.HelpKey.Render(c) + "\n" + st.HelpDesc.Render("      "+strings.ReplaceAll(desc, "\n", "\n      "))
	}
	intro := "No integration is configured, so there is nothing to supervise yet."
	if m.activity != nil {
		intro += " The audit journal is already open: press " + m.activity.Help().Key + " for Activity."
	}
	parts := []string{
		st.DialogTitle.Render(wrap("Welcome to vigil")),
		"",
		wrap(intro),
		"",
		st.TableHeader.Render("Configure vigil"),
		cmd("vigil config init", "writes a commented example config to "+m.configPath),
		cmd("$EDITOR "+m.configPath, "fill in digitalocean, kubernetes, prometheus, alertmanager, ansible"),
		cmd("vigil config validate", "checks it, naming the file, line and key of any mistake"),
		"",
		st.TableHeader.Render("Or try it on the local lab"),
		cmd("make demo", "starts the lab (Kubernetes, Prometheus, Alertmanager, droplets) and opens vigil on it"),
		"",
		st.Muted.Render(wrap("? lists the keys, : opens the command palette, q quits.")),
	}
	lines := strings.Split(strings.Join(parts, "\n"), "\n")
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, m.Width, "…")
	}
	m.text = strings.Join(lines, "\n")
}

// View returns the text rendered for the current size.
func (m *Model) View() string { return m.text }
