// Package alerts is the Alerts pane: the live alert list of ops/incident,
// grouped and filtered, an alert's detail with its graph and recent
// changes, acknowledgement, silences, and jumps to the workload or host.
package alerts

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ops/runbook"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
	"github.com/vigilops/vigil/ui/ruleform"
)

// HighlightFor is how long a newly arrived alert stays highlighted.
const HighlightFor = 5 * time.Second

// actionTimeout bounds an acknowledgement, an expiry or a graph query.
const actionTimeout = 15 * time.Second

// SnapshotMsg is a new alert list from the service.
type SnapshotMsg struct{ Snap *incident.Snapshot }

// highlightEndMsg redraws once the newest highlight has faded.
type highlightEndMsg struct{}

type mode int

const (
	listMode mode = iota
	detailMode
	silencesMode
	incidentsMode
)

// line is one line of the list: a group's header, or an alert.
type line struct {
	group *incident.AlertGroup
	alert *incident.Alert
}

// row is an alert's rendered line, valid while dyn (its age and ack time
// left) and hi (highlighted) do not change, for one width and theme.
type row struct {
	dyn    string
	hi     bool
	plain  string
	styled string
}

// Model is the Alerts pane.
type Model struct {
	components.Base
	svc  *incident.Service
	keys KeyMap
	loc  *time.Location

	snap     *incident.Snapshot
	baseline time.Time // the first poll's time: alerts seen later are new
	health   map[string]common.HealthState

	filterText string
	filter     []incident.Matcher
	filterErr  error
	groupBy    string // "alertname", or altGroup
	altGroup   string // the label `t` groups by

	view   incident.View
	lines  []line
	cursor int // index into lines, always on an alert when there is one
	offset int
	rows   map[*incident.Alert]row
	banner []string // rendered problems above the list
	hiTick bool

	badge string // the tab bar's counts, as last announced

	mode      mode
	detail    *detail
	silences  silenceList
	incidents incidentView
	dialog    *ackDialog
	chooser   *runbookChooser
	book      *runbook.Book // the config's runbooks
	// form is the rule form, open over the detail's graph.
	form *ruleform.Model
	// pendingAck is the alert :ack opens the dialog for once the shell
	// has focused this pane.
	pendingAck *incident.Alert
}

// New returns the pane over the session's incident service.
func New(ctx *common.Context, keys KeyMap) *Model {
	m := &Model{
		Base: components.NewBase(ctx, "Alerts", keys), svc: ctx.Services.Incident, keys: keys,
		loc: ctx.Now().Location(), health: map[string]common.HealthState{},
		groupBy: "alertname", altGroup: "namespace", rows: map[*incident.Alert]row{},
	}
	if ctx.Config != nil {
		// Config validation refused what New would: no error is left here.
		m.book, _ = runbook.New(ctx.Config.Runbooks)
	}
	m.setSnapshot(m.svc.Snapshot())
	m.incidents.table = m.newIncidentTable()
	m.bind()
	return m
}

// Init subscribes to the alert list; a poll may have ended since New.
func (m *Model) Init() tea.Cmd {
	svc := m.svc
	changes, cancel := svc.Subscribe()
	return m.Subscribe(changes, cancel, func() tea.Msg { return SnapshotMsg{Snap: svc.Snapshot()} })
}

// Capturing reports whether a dialog with a text input is open: it takes
// every key, the shell's included.
func (m *Model) Capturing() bool { return m.dialog != nil || m.chooser != nil || m.form != nil }

// Update handles the service's messages and the pane's keys.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	if cmd, ok := m.formUpdate(msg); ok {
		return cmd
	}
	switch msg := msg.(type) {
	case SnapshotMsg:
		var read tea.Cmd
		if m.mode == incidentsMode && !m.incidents.loading && m.Ctx.Now().Sub(m.incidents.read) >= incidentsEvery {
			read = m.readIncidents() // alerts fired or resolved: incidents too
		}
		return tea.Batch(m.snapshot(msg.Snap), m.Wait(), read)
	case incidentsMsg:
		m.gotIncidents(msg)
	case highlightEndMsg:
		m.hiTick = false
		return m.armHighlight()
	case graphMsg:
		m.gotGraph(msg)
	case actionDoneMsg:
		return m.onActionDone(msg)
	case rollbackOfferMsg:
		return m.onRollbackOffer(msg)
	case common.ThemeChangedMsg:
		clear(m.rows)
		m.rebuildBanner()
		m.rebuildDetail()
		m.dialog.setStyles(m.Ctx.Styles)
	case common.GotoMsg:
		return m.goTo(msg)
	case tea.KeyPressMsg:
		return m.key(msg)
	}
	if m.dialog != nil {
		return m.dialog.update(msg)
	}
	return nil
}

// snapshot applies a new list, and reports the sources' health and the
// badge when they change (the first call reports them as they are).
func (m *Model) snapshot(s *incident.Snapshot) tea.Cmd {
	if s == nil {
		return nil
	}
	if s != m.snap {
		m.setSnapshot(s)
	}
	var cmds []tea.Cmd
	for _, src := range []struct {
		name string
		st   incident.SourceStatus
	}{{"prometheus", s.Prometheus}, {"alertmanager", s.Alertmanager}} {
		if !src.st.Configured || (src.st.Err == nil && src.st.LastOK.IsZero()) {
			continue // not polled yet
		}
		// Down since its data's age, as the banner says: one age on screen.
		h := common.HealthMsg{Name: src.name, State: common.Healthy, Since: src.st.LastOK}
		if src.st.Err != nil {
			h.State, h.Err = common.Down, src.st.Err
			if h.Since.IsZero() {
				h.Since = s.Time
			}
		}
		if m.health[src.name] != h.State {
			m.health[src.name] = h.State
			cmds = append(cmds, func() tea.Msg { return h })
		}
	}
	if b := m.Badge(); b != m.badge {
		m.badge = b
		cmds = append(cmds, func() tea.Msg { return common.BadgeChangedMsg{} })
	}
	if m.mode == detailMode {
		cmds = append(cmds, m.refreshDetail())
	}
	return tea.Batch(append(cmds, m.armHighlight())...)
}

func (m *Model) setSnapshot(s *incident.Snapshot) {
	m.snap = s
	m.rebuildBanner()
	if m.baseline.IsZero() && (!s.Prometheus.LastOK.IsZero() || !s.Alertmanager.LastOK.IsZero()) {
		m.baseline = s.Time
	}
	m.regroup()
	m.silences.set(s.Silences)
}

// regroup filters and groups the snapshot, keeping the cursor on the
// alert it was on. It runs when the data, filter or grouping change.
func (m *Model) regroup() {
	sel := m.Selected()
	m.view = m.snap.View(m.filter, m.groupBy)
	m.lines = m.lines[:0]
	live := make(map[*incident.Alert]bool, len(m.view.Alerts))
	for i := range m.view.Groups {
		g := &m.view.Groups[i]
		m.lines = append(m.lines, line{group: g})
		for _, a := range g.Alerts {
			m.lines = append(m.lines, line{alert: a})
			live[a] = true
		}
	}
	for a := range m.rows {
		if !live[a] {
			delete(m.rows, a)
		}
	}
	m.cursor = -1
	if sel != nil {
		for i, l := range m.lines {
			if l.alert != nil && l.alert.Fingerprint == sel.Fingerprint {
				m.cursor = i
				break
			}
		}
	}
	if m.cursor < 0 { // nothing selected yet, or the selection is gone
		m.cursor = m.newestCritical()
	}
	m.moveCursor(0)
}

// newestCritical is the line of the newest active critical alert, the one
// selected when nothing is yet: what needs the administrator first. With
// no critical alert, it is the first line.
func (m *Model) newestCritical() int {
	best, found := 0, false
	var at time.Time
	for i, l := range m.lines {
		a := l.alert
		if a == nil || a.Severity != incident.Critical || !a.Active() || a.State == incident.Acknowledged || a.State == incident.Silenced {
			continue
		}
		if t := a.StartsAt; !found || t.After(at) {
			best, at, found = i, t, true
		}
	}
	return best
}

// isNew reports whether a arrived in the last HighlightFor, after the first poll.
func (m *Model) isNew(a *incident.Alert, now time.Time) bool {
	return !m.baseline.IsZero() && a.FirstSeen.After(m.baseline) && now.Sub(a.FirstSeen) < HighlightFor
}

// armHighlight schedules a redraw when the newest highlight fades; none
// when nothing is highlighted, so an idle pane does not wake the program.
func (m *Model) armHighlight() tea.Cmd {
	if m.hiTick {
		return nil
	}
	now := m.Ctx.Now()
	var last time.Time
	for _, a := range m.view.Alerts {
		if m.isNew(a, now) && a.FirstSeen.After(last) {
			last = a.FirstSeen
		}
	}
	if last.IsZero() {
		return nil
	}
	m.hiTick = true
	return tea.Tick(last.Add(HighlightFor).Sub(now)+10*time.Millisecond, func(time.Time) tea.Msg { return highlightEndMsg{} })
}

// SetFilter filters with Alertmanager matchers. A bad filter keeps the
// previous one in force and shows the parser's error.
func (m *Model) SetFilter(s string) {
	m.filterText = s
	ms, err := m.svc.ParseFilter(s)
	m.filterErr = err
	m.rebuildBanner()
	if err != nil {
		return
	}
	m.filter = ms
	m.regroup()
}

// Filter is the current filter text.
func (m *Model) Filter() string { return m.filterText }

// FilterHint is the filter's syntax, shown in the empty filter bar.
func (m *Model) FilterHint() string { return `matchers, e.g. severity="critical",namespace=~"prod.*"` }

// FilterError is the parser's error for the current filter text, if any.
func (m *Model) FilterError() error { return m.filterErr }

// GroupBy is the label the list is grouped by.
func (m *Model) GroupBy() string { return m.groupBy }

// SetGroupBy groups the list by label, and makes it the one `t` toggles to.
func (m *Model) SetGroupBy(label string) {
	if label != "alertname" {
		m.altGroup = label
	}
	m.groupBy = label
	m.regroup()
}

// Visible returns the alerts the filter lets through, in list order.
func (m *Model) Visible() []*incident.Alert {
	var out []*incident.Alert
	for _, l := range m.lines {
		if l.alert != nil {
			out = append(out, l.alert)
		}
	}
	return out
}

// Selected returns the alert under the cursor, nil when there is none.
func (m *Model) Selected() *incident.Alert {
	if m.cursor < len(m.lines) {
		return m.lines[m.cursor].alert
	}
	return nil
}

// Mode names what the pane shows: "list", "detail", "silences" or "incidents".
func (m *Model) Mode() string {
	return [...]string{"list", "detail", "silences", "incidents"}[m.mode]
}

// maxBannerLines bounds each problem's lines, so the list stays in view.
const maxBannerLines = 3

// rebuildBanner renders what is wrong above the list: sources that failed
// their last poll (with the age of the data shown) and a bad filter. It
// runs when the data, the filter, the size or the theme change.
func (m *Model) rebuildBanner() {
	m.banner = m.banner[:0]
	if m.Width <= 0 {
		return
	}
	var texts []string
	if m.snap != nil {
		for _, p := range m.snap.Problems(m.Ctx.Now()) {
			texts = append(texts, "✗ "+p)
		}
	}
	if m.filterErr != nil {
		texts = append(texts, "filter "+m.filterText+": "+m.filterErr.Error())
	}
	for _, t := range texts {
		lines := strings.Split(lipgloss.Wrap(components.Printable(t), m.Width, " "), "\n")
		if len(lines) > maxBannerLines {
			lines = lines[:maxBannerLines]
			lines[maxBannerLines-1] = ansi.Truncate(lines[maxBannerLines-1]+" …", m.Width, "…")
		}
		for _, l := range lines {
			m.banner = append(m.banner, m.Ctx.Styles.StatusCrit.Render(ansi.Truncate(l, m.Width, "…")))
		}
	}
}

func (m *Model) listHeight() int { return max(m.Height-len(m.banner), 1) }

// moveCursor moves by delta lines, onto an alert, and keeps it in view.
func (m *Model) moveCursor(delta int) {
	n := len(m.lines)
	if n == 0 {
		m.cursor, m.offset = 0, 0
		return
	}
	c := max(min(m.cursor+delta, n-1), 0)
	step := 1
	if delta < 0 {
		step = -1
	}
	for c >= 0 && c < n && m.lines[c].alert == nil {
		c += step
	}
	if c < 0 || c >= n { // ran past the end: search the other way
		c = max(min(m.cursor+delta, n-1), 0)
		for c >= 0 && c < n && m.lines[c].alert == nil {
			c -= step
		}
	}
	m.cursor = max(min(c, n-1), 0)
	h := m.listHeight()
	if m.cursor < m.offset {
		m.offset = m.cursor
		if m.offset > 0 && m.lines[m.offset-1].group != nil {
			m.offset-- // show the group's header with its first alert
		}
	}
	if m.cursor >= m.offset+h {
		m.offset = m.cursor - h + 1
	}
	m.offset = max(min(m.offset, n-h), 0)
}

func (m *Model) key(k tea.KeyPressMsg) tea.Cmd {
	if m.dialog != nil {
		return m.dialogKey(k)
	}
	if m.chooser != nil {
		return m.chooserKey(k)
	}
	switch m.mode {
	case detailMode:
		return m.detailKey(k)
	case silencesMode:
		return m.silencesKey(k)
	case incidentsMode:
		return m.incidentsKey(k)
	}
	if to, ok := m.keys.Nav().Move(k, m.cursor, len(m.lines), m.listHeight()); ok {
		m.moveCursor(to - m.cursor) // onto an alert, in the direction moved
		return nil
	}
	switch {
	case key.Matches(k, m.keys.Back.Binding):
		if m.filterText != "" {
			m.SetFilter("")
		}
	case key.Matches(k, m.keys.Group.Binding):
		if m.groupBy == "alertname" {
			m.SetGroupBy(m.altGroup)
		} else {
			m.SetGroupBy("alertname")
		}
	case key.Matches(k, m.keys.Details.Binding):
		if a := m.Selected(); a != nil {
			return m.openDetail(a)
		}
	case key.Matches(k, m.keys.Silences.Binding):
		m.mode = silencesMode
		m.silences.clamp(m.Height)
	default:
		cmd, _ := common.Handle(k, m.keys.PaneBindings()...)
		return cmd
	}
	return nil
}

// bind gives the bindings that act on one alert, in the list and in its
// detail, their handlers.
func (m *Model) bind() {
	k := m.keys
	k.Incidents.Do = m.showIncidents
	k.Ack.Do = m.onAlert(m.openAck)
	k.Unack.Do = m.onAlert(m.confirmUnack)
	k.Rollback.Do = m.onAlert(m.offerRollbackCmd)
	k.Runbook.Do = m.onAlert(m.openRunbooks)
	k.Rule.Do = m.openRuleForm
	ruleform.Bind(k.Form, func() *ruleform.Model { return m.form })
	k.Workload.Do = m.onAlert(func(a *incident.Alert) tea.Cmd {
		if a.Workload == "" {
			return common.ToastCmd(common.Info, a.Name+" names no workload: it has no namespace and deployment or statefulset labels")
		}
		g := common.GotoMsg{Pane: common.RolloutsPane, Target: a.Workload}
		return func() tea.Msg { return g }
	})
	k.Logs.Do = m.onAlert(func(a *incident.Alert) tea.Cmd {
		if a.Workload == "" {
			return common.ToastCmd(common.Info, a.Name+" names no workload whose logs to show: it has no namespace and deployment or statefulset labels")
		}
		// The logs view keeps the alert's start, to scroll to its lines.
		g := common.GotoMsg{Pane: common.LogsPane, Target: a.Workload}
		if !a.StartsAt.IsZero() {
			g.Target += "@" + a.StartsAt.UTC().Format(time.RFC3339)
		}
		return func() tea.Msg { return g }
	})
	k.Host.Do = m.onAlert(func(a *incident.Alert) tea.Cmd {
		if a.Host == "" {
			return common.ToastCmd(common.Info, a.Name+" names no host: it has no droplet or instance label")
		}
		g := common.GotoMsg{Pane: common.InventoryPane, Target: a.Host}
		return func() tea.Msg { return g }
	})
}

// onAlert is a handler acting on the open alert, or the one under the
// cursor; with none, it does nothing.
func (m *Model) onAlert(act func(*incident.Alert) tea.Cmd) func() tea.Cmd {
	return func() tea.Cmd {
		if a := m.current(); a != nil {
			return act(a)
		}
		return nil
	}
}

// goTo selects the alert a GotoMsg names by fingerprint.
func (m *Model) goTo(g common.GotoMsg) tea.Cmd {
	if g.Pane != common.AlertsPane {
		return nil
	}
	for i, l := range m.lines {
		if l.alert != nil && l.alert.Fingerprint == g.Target {
			m.cursor = i
			m.moveCursor(0)
			break
		}
	}
	if m.pendingAck != nil && m.pendingAck.Fingerprint == g.Target {
		a := m.pendingAck
		m.pendingAck = nil
		return m.openAck(a)
	}
	return nil
}

// SetSize sets the cells the pane draws in.
func (m *Model) SetSize(width, height int) {
	if m.Resize(width, height) {
		clear(m.rows)
	}
	m.rebuildBanner()
	m.moveCursor(0)
	m.silences.clamp(height)
	m.rebuildDetail()
	m.dialog.setWidth(width)
	if m.form != nil {
		m.form.SetSize(width, height)
	}
}

// Badge is what the tab bar shows after the title: the counts of critical
// and warning alerts nobody acknowledged, of other ones, and of acknowledged
// ones, in words, e.g. "2 crit 1 warn 1 acked"; nothing when none is active.
func (m *Model) Badge() string {
	c := m.snap.Counts
	if c.Total == 0 {
		return ""
	}
	// Words, not glyphs: the tab bar has no legend.
	var parts []string
	if c.Critical > 0 {
		parts = append(parts, strconv.Itoa(c.Critical)+" crit")
	}
	if c.Warning > 0 {
		parts = append(parts, strconv.Itoa(c.Warning)+" warn")
	}
	if other := c.Total - c.Critical - c.Warning - c.Acked; other > 0 {
		parts = append(parts, strconv.Itoa(other)+" other")
	}
	if c.Acked > 0 {
		parts = append(parts, strconv.Itoa(c.Acked)+" acked")
	}
	return strings.Join(parts, " ")
}

// Status summarises the pane for its frame title: the counts of critical,
// warning and all active alerts, and what is stale.
func (m *Model) Status() string {
	switch m.mode {
	case detailMode:
		return m.detail.status()
	case silencesMode:
		active := 0
		for _, s := range m.silences.items {
			if s.State == "active" {
				active++
			}
		}
		return fmt.Sprintf("silences · %d active of %d", active, len(m.silences.items))
	case incidentsMode:
		if i := m.incidents.open; i != nil {
			return fmt.Sprintf("incident %s · %d entries · %d actions", i.ID, len(i.Timeline), i.Actions)
		}
		return fmt.Sprintf("incidents · %d in 30 days", m.incidents.table.Len())
	}
	c := m.snap.Counts
	s := fmt.Sprintf("%d critical · %d warning", c.Critical, c.Warning)
	if c.Acked > 0 {
		s += fmt.Sprintf(" · %d acked", c.Acked)
	}
	s += fmt.Sprintf(" · %d active", c.Total)
	if m.filterText != "" && m.filterErr == nil {
		s += fmt.Sprintf(" · %d shown · filter %s", len(m.view.Alerts), components.Printable(m.filterText))
	}
	if m.groupBy != "alertname" {
		s += " · by " + m.groupBy
	}
	if m.snap.Stale() {
		s += " · stale"
	}
	return s
}

// View draws the visible lines only.
func (m *Model) View() string {
	if m.Width <= 0 || m.Height <= 0 {
		return ""
	}
	var out string
	switch {
	case m.form != nil:
		out = m.form.View()
	case m.mode == detailMode:
		out = m.detailView()
	case m.mode == silencesMode:
		out = m.silences.view(m)
	case m.mode == incidentsMode:
		out = m.incidentsView()
	default:
		out = m.listView()
	}
	if m.dialog != nil {
		out = m.dialog.overlay(out, m.Width, m.Height, m.Ctx.Styles)
	}
	if m.chooser != nil {
		out = m.chooser.overlay(out, m.Width, m.Height, m)
	}
	return out
}

func (m *Model) listView() string {
	st := m.Ctx.Styles
	if m.snap != nil && m.snap.Stale() {
		m.rebuildBanner() // the data's age, as of this frame
	}
	var b strings.Builder
	for _, l := range m.banner {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(l)
	}
	msg := ""
	switch {
	case len(m.lines) > 0:
	case m.snap.Prometheus.LastOK.IsZero() && m.snap.Alertmanager.LastOK.IsZero() && !m.snap.Stale():
		msg = "Asking Prometheus and Alertmanager for alerts…"
	case m.snap.Counts.Total > 0:
		msg = "No alert matches the filter " + components.Printable(m.filterText) + ": press / to change it (esc clears it)."
	case len(m.snap.Alerts) == 0 && !m.snap.Stale():
		msg = "No alert is firing. Nothing is on fire."
	}
	if msg != "" {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(st.Muted.Render(lipgloss.Wrap(msg, m.Width, " ")))
		return b.String()
	}
	now := m.Ctx.Now()
	end := min(m.offset+m.listHeight(), len(m.lines))
	for i := m.offset; i < end; i++ {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		l := m.lines[i]
		if l.group != nil {
			b.WriteString(m.groupLine(l.group))
			continue
		}
		r := m.row(l.alert, now)
		if i == m.cursor {
			b.WriteString(st.TableSelected.Render(r.plain))
		} else {
			b.WriteString(r.styled)
		}
	}
	return b.String()
}

func (m *Model) groupLine(g *incident.AlertGroup) string {
	v := g.Value
	if v == "" {
		v = "(no " + g.Label + ")"
	}
	s := fmt.Sprintf("%s=%s  %d", g.Label, v, len(g.Alerts))
	if g.Counts.Critical > 0 {
		s += fmt.Sprintf(" · %d critical", g.Counts.Critical)
	}
	return m.Ctx.Styles.TableHeader.Render(ansi.Truncate(s, m.Width, "…"))
}

// columns are the widths of a row's cells for a pane width.
type columns struct{ name, on, state, age, summary int }

func (m *Model) columns() columns {
	w := m.Width - 2 // the severity mark and a space
	c := columns{name: 24, on: 22, state: 18, age: 5}
	if w < 90 {
		c = columns{name: 18, on: 14, state: 10, age: 4}
	}
	c.summary = w - c.name - c.on - c.state - c.age - 4
	if c.summary < 8 {
		c.summary = 0
	}
	return c
}

func (m *Model) severityStyle(s incident.Severity) (string, lipgloss.Style) {
	st := m.Ctx.Styles
	switch s {
	case incident.Critical, incident.Error:
		return "●", st.StatusCrit
	case incident.Warning:
		return "▲", st.StatusWarn
	case incident.Info:
		return "•", st.StatusOK
	}
	return "•", st.StatusUnknown
}

// stateText is an alert's state as the list shows it; it changes with the clock.
func stateText(a *incident.Alert, now time.Time) string {
	switch {
	case a.State == incident.Acknowledged && a.Ack != nil:
		return "ack " + a.Ack.Owner + " " + components.Age(a.Ack.Remaining(now))
	case a.StateSince.IsZero():
		return string(a.State)
	}
	// How long in this state, beside the age since the first pending.
	return string(a.State) + " " + components.Age(a.InState(now))
}

func (m *Model) row(a *incident.Alert, now time.Time) row {
	dyn := stateText(a, now) + "\x00" + components.Age(a.Age(now))
	hi := m.isNew(a, now)
	if r, ok := m.rows[a]; ok && r.dyn == dyn && r.hi == hi {
		return r
	}
	c := m.columns()
	on := a.Workload
	if on == "" {
		on = a.Host
	}
	mark, sev := m.severityStyle(a.Severity)
	state := stateText(a, now)
	body := cell(a.Name, c.name) + " " + cell(on, c.on) + " " + cell(state, c.state) + " " + cellRight(components.Age(a.Age(now)), c.age)
	if c.summary > 0 {
		body += "  " + cell(oneLine(a.Annotations["summary"]), c.summary)
	}
	st := m.Ctx.Styles
	bodyStyle := st.Body
	switch {
	case hi:
		bodyStyle = st.StatusWarn.Bold(true)
	case a.State == incident.Acknowledged || a.State == incident.Silenced || a.State == incident.Resolved:
		bodyStyle = st.Muted
	}
	r := row{dyn: dyn, hi: hi, plain: ansi.Truncate(mark+" "+body, m.Width, "")}
	r.styled = ansi.Truncate(sev.Render(mark)+" "+bodyStyle.Render(body), m.Width, "")
	m.rows[a] = r
	return r
}

// cell fits outside text to w cells.
func cell(s string, w int) string { return components.Cell(components.Printable(s), w) }

func cellRight(s string, w int) string {
	if sw := ansi.StringWidth(s); sw < w {
		return strings.Repeat(" ", w-sw) + s
	}
	return ansi.Truncate(s, w, "")
}

func oneLine(s string) string { return components.Printable(strings.Join(strings.Fields(s), " ")) }

// contextTimeout is the context an action of the session runs in.
func contextTimeout(base context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(base, actionTimeout)
}
