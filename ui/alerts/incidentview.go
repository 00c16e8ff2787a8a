package alerts

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
	"github.com/vigilops/vigil/ui/styles"
)

// incidentsEvery bounds how often the open list reads the journal again as
// alerts change.
const incidentsEvery = 10 * time.Second

// incidentsMsg carries the incidents read from the journal.
type incidentsMsg struct {
	list []incident.Incident
	err  error
}

// incidentView lists the incidents, open ones first, then the newest; enter
// opens one's timeline, whose entries jump to what they name.
type incidentView struct {
	table   *components.Table[incident.Incident]
	err     error
	loading bool
	read    time.Time // when the list was last asked for
	open    *incident.Incident
	entries components.Cursor // over open.Timeline
}

func (m *Model) newIncidentTable() *components.Table[incident.Incident] {
	now := m.Ctx.Now
	dur := func(d time.Duration) string {
		if d <= 0 {
			return "-"
		}
		return components.Age(d)
	}
	return &components.Table[incident.Incident]{
		Columns: []components.Column[incident.Incident]{
			{Title: "STATE", Value: incidentState, Min: 8, Max: 8,
				Style: func(i incident.Incident, st *styles.Styles) lipgloss.Style {
					if i.Open() {
						return st.StatusCrit
					}
					return st.Muted
				}},
			{Title: "ID", Value: func(i incident.Incident) string { return i.ID }, Min: 10, Max: 10},
			{Title: "TITLE", Value: func(i incident.Incident) string { return i.Title }, Min: 16, Flex: 1},
			{Title: "STARTED", Value: func(i incident.Incident) string { return components.Age(now().Sub(i.Start)) + " ago" }, Min: 8, Max: 9, Right: true},
			{Title: "LASTED", Value: func(i incident.Incident) string { return dur(i.Duration(now())) }, Min: 6, Max: 6, Right: true},
			{Title: "TO ACK", Value: func(i incident.Incident) string { return dur(i.TimeToAcknowledge()) }, Min: 6, Max: 6, Right: true, Prio: -1},
			{Title: "ACTIONS", Value: func(i incident.Incident) string { return fmt.Sprint(i.Actions) }, Min: 7, Max: 7, Right: true},
		},
		Key: func(i incident.Incident) string { return i.ID },
	}
}

func incidentState(i incident.Incident) string {
	if i.Open() {
		return "open"
	}
	return "resolved"
}

// showIncidents opens the incident list and reads it.
func (m *Model) showIncidents() tea.Cmd {
	m.mode, m.incidents.open = incidentsMode, nil
	return m.readIncidents()
}

// readIncidents reads the incidents from the journal, in a command: a
// month of entries is more than a frame may wait for.
func (m *Model) readIncidents() tea.Cmd {
	v := &m.incidents
	v.loading, v.read = true, m.Ctx.Now()
	svc := m.svc
	return func() tea.Msg {
		list, err := svc.Incidents()
		return incidentsMsg{list: list, err: err}
	}
}

func (m *Model) gotIncidents(msg incidentsMsg) {
	v := &m.incidents
	v.loading, v.err = false, msg.err
	if msg.err != nil {
		return
	}
	open, done := []incident.Incident{}, []incident.Incident{}
	for _, i := range msg.list { // newest first
		if i.Open() {
			open = append(open, i)
		} else {
			done = append(done, i)
		}
	}
	v.table.SetRows(append(open, done...))
	if v.open != nil { // the timeline shown, as read now
		for _, i := range msg.list {
			if i.ID == v.open.ID {
				v.open = &i
				break
			}
		}
	}
}

func (m *Model) incidentsKey(k tea.KeyPressMsg) tea.Cmd {
	v := &m.incidents
	if v.open != nil {
		return m.timelineKey(k)
	}
	if v.table.KeyPress(k, m.keys.Nav()) {
		return nil
	}
	switch {
	case key.Matches(k, m.keys.Back.Binding), key.Matches(k, m.keys.Incidents.Binding):
		m.mode = listMode
	case key.Matches(k, m.keys.Details.Binding):
		if i, ok := v.table.Selected(); ok {
			v.open, v.entries = &i, components.Cursor{}
		}
	}
	return nil
}

func (m *Model) timelineKey(k tea.KeyPressMsg) tea.Cmd {
	v := &m.incidents
	h := m.Height - len(m.timelineHead())
	if v.entries.Key(k, m.keys.Nav(), len(v.open.Timeline), h) {
		return nil
	}
	switch {
	case key.Matches(k, m.keys.Back.Binding):
		v.open = nil
	case key.Matches(k, m.keys.Details.Binding) && len(v.open.Timeline) > 0:
		return m.follow(v.open.Timeline[v.entries.Pos].Link)
	}
	return nil
}

// follow jumps to what a timeline entry names.
func (m *Model) follow(l incident.Link) tea.Cmd {
	var g common.GotoMsg
	switch l.Kind {
	case incident.LinkAlert:
		m.mode = listMode
		return gotoAlerts(l.ID)
	case incident.LinkRollout:
		g = common.GotoMsg{Pane: common.RolloutsPane, Target: l.ID}
	case incident.LinkHost:
		g = common.GotoMsg{Pane: common.InventoryPane, Target: l.ID}
	case incident.LinkSilence:
		m.mode = silencesMode
		return nil
	case incident.LinkRun:
		return common.ToastCmd(common.Info, "run "+l.ID+": the Runs pane (6) lists it")
	default:
		return nil
	}
	return func() tea.Msg { return g }
}

// timelineHead is the open incident's summary above its timeline.
func (m *Model) timelineHead() []string {
	i := m.incidents.open
	st := m.Ctx.Styles
	now := m.Ctx.Now()
	end := "open, " + components.Age(i.Duration(now)) + " so far"
	if !i.Open() {
		end = "resolved after " + components.Age(i.Duration(now))
	}
	facts := []string{"started " + i.Start.In(m.loc).Format("01-02 15:04:05"), end}
	if d := i.TimeToAcknowledge(); d > 0 {
		facts = append(facts, "acknowledged after "+components.Age(d))
	}
	if d := i.TimeToMitigate(); d > 0 {
		facts = append(facts, "mitigated after "+components.Age(d))
	}
	return []string{
		ansi.Truncate(st.Title.Render(i.Title)+st.Muted.Render(" · "+i.ID+" · esc: incidents · enter: go to the entry's object"), m.Width, "…"),
		ansi.Truncate(strings.Join(facts, " · "), m.Width, "…"),
		st.TableHeader.Render(ansi.Truncate(fmt.Sprintf("%-8s %-12s %-9s %s", "TIME", "WHO", "WHAT", "DETAIL"), m.Width, "")),
	}
}

func (m *Model) incidentsView() string {
	v := &m.incidents
	st := m.Ctx.Styles
	switch {
	case v.err != nil:
		return st.StatusCrit.Render(lipgloss.Wrap("incidents could not be read: "+v.err.Error(), m.Width, " "))
	case v.open != nil:
		lines := m.timelineHead()
		h := max(m.Height-len(lines), 1)
		v.entries.Clamp(len(v.open.Timeline), h)
		end := min(v.entries.Offset+h, len(v.open.Timeline))
		for n := v.entries.Offset; n < end; n++ {
			e := v.open.Timeline[n]
			text := ansi.Truncate(fmt.Sprintf("%-8s %-12s %-9s %s", e.Time.In(m.loc).Format("15:04:05"),
				ansi.Truncate(e.Actor, 12, "…"), e.Kind, e.Text), m.Width, "…")
			switch {
			case n == v.entries.Pos:
				text = st.TableSelected.Render(text)
			case e.Kind == incident.KindFiring:
				text = st.StatusCrit.Render(text)
			case e.Kind == incident.KindResolved:
				text = st.StatusOK.Render(text)
			}
			lines = append(lines, text)
		}
		return strings.Join(lines, "\n")
	case v.table.Len() == 0 && v.loading:
		return st.Muted.Render("Reading the incidents from the journal…")
	case v.table.Len() == 0:
		return st.Muted.Render(lipgloss.Wrap("No incident in the last 30 days: an incident opens when an alert fires. esc goes back to the alerts.", m.Width, " "))
	}
	v.table.SetSize(m.Width, m.Height)
	return v.table.View(st)
}
