package app

import (
	"errors"
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/vigilops/vigil/themes"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
)

// registerCommands adds the shell's built-in palette commands.
func (m *Model) registerCommands() {
	if m.ctx.Services.Incident != nil {
		m.reg.Add(components.Spec{
			Name: "notify", Args: "on|off", Help: "desktop notifications through this terminal when an alert fires (this session only)",
			Complete: func(i int) []string {
				if i > 0 {
					return nil
				}
				return []string{"on", "off"}
			},
			Run: func(args []string) (tea.Cmd, error) {
				if len(args) != 1 || (args[0] != "on" && args[0] != "off") {
					return nil, errors.New("notify takes on or off: :notify on")
				}
				m.notify.on = args[0] == "on"
				what := "off"
				if m.notify.on {
					what = "on for " + strings.Join(m.notify.severities, ", ") + " alerts, at most one a minute per alert group"
				}
				return common.ToastCmd(common.Success, "notifications "+what), nil
			},
		})
	}
	m.reg.Add(m.handoverCommand())
	m.reg.Add(components.Spec{
		Name: "theme", Args: "NAME", Help: "switch the colour theme",
		Complete: func(i int) []string {
			if i > 0 {
				return nil
			}
			return m.themeNames
		},
		Run: func(args []string) (tea.Cmd, error) {
			if len(args) != 1 {
				return nil, fmt.Errorf("theme takes one name: :theme NAME, with NAME one of %s", strings.Join(m.themeNames, ", "))
			}
			dir := m.ctx.ThemeDir
			return func() tea.Msg {
				t, err := themes.Load(args[0], dir)
				return themeLoadedMsg{theme: t, err: err}
			}, nil
		},
	})
	m.reg.Add(components.Spec{
		Name: "help", Help: "show the keys and commands",
		Run: func(args []string) (tea.Cmd, error) {
			m.openHelp()
			return nil, nil
		},
	})
	m.reg.Add(components.Spec{
		Name: "quit", Help: "quit vigil",
		Run: func(args []string) (tea.Cmd, error) { return tea.Quit, nil },
	})
	for i, s := range m.slots {
		if c, ok := s.pane.(Commander); ok {
			for _, spec := range c.Commands() {
				m.reg.Add(spec)
			}
		}
		m.reg.Add(components.Spec{
			Name: strings.ToLower(s.pane.Title()), Help: "go to the " + s.pane.Title() + " pane",
			Run: func(args []string) (tea.Cmd, error) {
				m.focus(i)
				return nil, nil
			},
		})
	}
}
