package alerts

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
)

// Commands are the pane's palette commands.
func (m *Model) Commands() []components.Spec {
	durations := make([]string, len(incident.AckDurations))
	for i, d := range incident.AckDurations {
		durations[i] = durationLabel(d)
	}
	return append([]components.Spec{
		{
			Name: "ack", Args: "[DURATION COMMENT…]",
			Help: "acknowledge the selected alert: without arguments through the dialog",
			Complete: func(i int) []string {
				if i == 0 {
					return durations
				}
				return nil
			},
			Run: m.runAck,
		},
		{
			Name: "unack", Args: "SILENCE",
			Help: "expire a silence (the selected alert's without argument)",
			Complete: func(i int) []string {
				if i > 0 {
					return nil
				}
				var ids []string
				for _, s := range m.silences.items {
					if s.State != "expired" {
						ids = append(ids, s.ID)
					}
				}
				return ids
			},
			Run: m.runUnack,
		},
		{
			Name: "silences", Help: "list Alertmanager's silences",
			Run: func([]string) (tea.Cmd, error) {
				m.mode = silencesMode
				m.silences.clamp(m.Height)
				return gotoAlerts(""), nil
			},
		},
		{
			Name: "group", Args: "LABEL", Help: "group the alerts by a label (alertname by default)",
			Complete: func(i int) []string {
				if i > 0 {
					return nil
				}
				return m.labelNames()
			},
			Run: func(args []string) (tea.Cmd, error) {
				if len(args) != 1 {
					return nil, errors.New("group takes one label: :group namespace, or :group alertname")
				}
				m.SetGroupBy(args[0])
				return gotoAlerts(""), nil
			},
		},
	}, m.incidentCommands()...)
}

// gotoAlerts focuses the Alerts pane, on the alert fp when it is not "".
func gotoAlerts(fp string) tea.Cmd {
	return func() tea.Msg { return common.GotoMsg{Pane: common.AlertsPane, Target: fp} }
}

func (m *Model) runAck(args []string) (tea.Cmd, error) {
	a := m.current()
	if a == nil {
		return nil, errors.New("no alert selected: choose one in the Alerts pane (4), or use `vigil ack --match`")
	}
	if len(args) == 0 {
		if err := m.Ctx.Guard.Check(m.Ctx.Actor, incident.AckAction); err != nil {
			return nil, err
		}
		m.pendingAck = a
		return gotoAlerts(a.Fingerprint), nil
	}
	d, err := time.ParseDuration(args[0])
	if err != nil {
		return nil, fmt.Errorf("ack %s: the first argument is a duration such as 30m, 1h or 4h", args[0])
	}
	comment := strings.Join(args[1:], " ")
	if comment == "" {
		comment = incident.DefaultComment(a)
	}
	return m.ackCmd(incident.AckRequest{Fingerprint: a.Fingerprint, Duration: d, Comment: comment}, a.Name), nil
}

func (m *Model) runUnack(args []string) (tea.Cmd, error) {
	switch len(args) {
	case 0:
		a := m.current()
		if a == nil {
			return nil, errors.New("unack takes a silence id: :unack ID (S lists the silences)")
		}
		return m.confirmUnack(a), nil
	case 1:
		return m.confirmExpire(args[0], "The alerts it mutes will notify again."), nil
	}
	return nil, errors.New("unack takes one silence id: :unack ID")
}

// labelNames are the label names of the listed alerts, for :group.
func (m *Model) labelNames() []string {
	names := map[string]bool{}
	for _, a := range m.snap.Alerts {
		for k := range a.Labels {
			names[k] = true
		}
	}
	return slices.Sorted(maps.Keys(names))
}
