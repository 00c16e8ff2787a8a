package alerts

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ops/rules"
	"github.com/vigilops/vigil/ui/chart"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
	"github.com/vigilops/vigil/ui/ruleform"
)

// ChangesWindow is how far back "recent changes" look.
const ChangesWindow = 24 * time.Hour

// graphRefresh is how old a graph may get before a new snapshot refetches it.
const graphRefresh = 30 * time.Second

// graphMsg carries an alert's graph and recent changes.
type graphMsg struct {
	fp         string
	window     time.Duration
	at         time.Time
	graph      incident.Graph
	err        error
	changes    []incident.Change
	changesErr error
}

// detail is the open alert's state.
type detail struct {
	fp         string
	alert      *incident.Alert
	window     int // index into incident.GraphWindows
	loading    bool
	fetchedAt  time.Time
	graph      *incident.Graph
	graphErr   error
	changes    []incident.Change
	changesErr error
	lines      []string
	off        int
}

func (d *detail) status() string {
	a := d.alert
	s := a.Name
	if on := onOf(a); on != "" {
		s += " · " + on
	}
	return s + " · " + string(a.State)
}

func onOf(a *incident.Alert) string {
	if a.Workload != "" {
		return a.Workload
	}
	return a.Host
}

// Graph is the open detail's graph, nil before it arrives.
func (m *Model) Graph() *incident.Graph {
	if m.detail == nil {
		return nil
	}
	return m.detail.graph
}

// GraphWindow is the open detail's graph window.
func (m *Model) GraphWindow() time.Duration {
	if m.detail == nil {
		return 0
	}
	return incident.GraphWindows[m.detail.window]
}

func (m *Model) openDetail(a *incident.Alert) tea.Cmd {
	m.detail = &detail{fp: a.Fingerprint, alert: a, window: incident.DefaultGraphWindow}
	m.mode = detailMode
	m.rebuildDetail()
	return m.fetchGraph()
}

// fetchGraph queries the graph and the recent changes in the background.
func (m *Model) fetchGraph() tea.Cmd {
	d := m.detail
	d.loading = true
	svc, base, now := m.svc, m.Ctx.Base, m.Ctx.Now()
	fp, window, a := d.fp, incident.GraphWindows[d.window], *d.alert
	return func() tea.Msg {
		ctx, cancel := contextTimeout(base)
		defer cancel()
		msg := graphMsg{fp: fp, window: window, at: now}
		msg.graph, msg.err = svc.Graph(ctx, fp, window, now)
		msg.changes, msg.changesErr = svc.RecentChanges(&a, ChangesWindow)
		return msg
	}
}

// refreshDetail follows the open alert in a new snapshot, and refetches
// its graph once it is old.
func (m *Model) refreshDetail() tea.Cmd {
	d := m.detail
	if d == nil {
		return nil
	}
	if a, ok := m.snap.Alert(d.fp); ok {
		d.alert = a
	}
	m.rebuildDetail()
	if !d.loading && m.Ctx.Now().Sub(d.fetchedAt) > graphRefresh {
		return m.fetchGraph()
	}
	return nil
}

func (m *Model) gotGraph(msg graphMsg) {
	d := m.detail
	if d == nil || d.fp != msg.fp || incident.GraphWindows[d.window] != msg.window {
		return // an answer for what is no longer shown
	}
	d.loading, d.fetchedAt = false, msg.at
	if msg.err == nil {
		d.graph = &msg.graph
	}
	d.graphErr = msg.err
	d.changes, d.changesErr = msg.changes, msg.changesErr
	m.rebuildDetail()
}

func (m *Model) detailKey(k tea.KeyPressMsg) tea.Cmd {
	d := m.detail
	if key.Matches(k, m.keys.Back.Binding) {
		m.mode, m.detail = listMode, nil
		return nil
	}
	if off, ok := m.keys.Nav().Scroll(k, d.off, len(d.lines), m.Height); ok {
		d.off = off
		return nil
	}
	if key.Matches(k, m.keys.Window.Binding) {
		d.window = (d.window + 1) % len(incident.GraphWindows)
		d.graph, d.graphErr = nil, nil
		m.rebuildDetail()
		return m.fetchGraph()
	}
	cmd, _ := common.Handle(k, m.keys.PaneBindings()...)
	return cmd
}

// rebuildDetail renders the detail's lines for the width and theme; it
// runs when the alert, its graph, the size or the theme change.
func (m *Model) rebuildDetail() {
	d := m.detail
	if d == nil || m.Width <= 0 {
		return
	}
	st := m.Ctx.Styles
	a := d.alert
	now := m.Ctx.Now()
	w := m.Width
	label := func(s string) string { return st.TableHeader.Render(fmt.Sprintf("%-12s", s)) }
	wrap := func(s string) []string { return strings.Split(lipgloss.Wrap(s, max(w-12, 10), " "), "\n") }
	var lines []string
	field := func(name, value string) {
		if value == "" {
			return
		}
		for i, l := range wrap(components.Printable(value)) {
			if i == 0 {
				lines = append(lines, label(name)+l)
			} else {
				lines = append(lines, strings.Repeat(" ", 12)+l)
			}
		}
	}

	mark, sev := m.severityStyle(a.Severity)
	head := sev.Render(mark+" "+components.Printable(orDash(string(a.Severity)))) + "  " + st.Title.Render(components.Printable(a.Name)) + "  " + string(a.State) + " " + components.Age(a.Age(now))
	lines = append(lines, head)
	lines = append(lines, m.banner...)
	lines = append(lines, m.runbookLines(a, w)...) // what can be done, first
	field("summary", oneLine(a.Annotations["summary"]))
	field("description", oneLine(a.Annotations["description"]))
	if raw := a.Annotations["runbook_url"]; raw != "" {
		target, ok := components.LinkTarget(raw)
		for i, l := range wrap(components.Printable(raw)) {
			if ok { // each piece of a wrapped URL links to the whole
				l = components.Hyperlink(target, l)
			}
			if i == 0 {
				lines = append(lines, label("runbook")+l)
			} else {
				lines = append(lines, strings.Repeat(" ", 12)+l)
			}
		}
	}
	field("workload", a.Workload)
	field("host", a.Host)
	if a.Ack != nil {
		field(string(a.State), fmt.Sprintf("by %s, %s left (silence %s): %s", a.Ack.Owner, components.Age(a.Ack.Remaining(now)), a.Ack.SilenceID, a.Ack.Comment))
	}
	if a.Rule != nil {
		field("expression", a.Rule.Expr)
	} else {
		field("expression", "unknown: no alerting rule in Prometheus produces "+a.Name)
	}
	field("fingerprint", a.Fingerprint)

	window := incident.GraphWindows[d.window]
	lines = append(lines, "", st.TableHeader.Render("graph · "+durationLabel(window)+" ")+st.Muted.Render("(w: "+windowChoices()+")"))
	switch {
	case d.graph != nil:
		lines = append(lines, m.graphLines(d.graph, window)...)
	case d.graphErr != nil:
		lines = append(lines, wrapStyled(st.StatusCrit.Render, "graph: "+d.graphErr.Error(), w)...)
	default:
		lines = append(lines, st.Muted.Render("querying Prometheus…"))
	}

	lines = append(lines, "", st.TableHeader.Render("recent changes · "+durationLabel(ChangesWindow)))
	switch {
	case d.changesErr != nil:
		lines = append(lines, wrapStyled(st.StatusCrit.Render, d.changesErr.Error(), w)...)
	case d.loading && d.changes == nil:
		lines = append(lines, st.Muted.Render("reading the journal and the revisions…"))
	case onOf(a) == "":
		lines = append(lines, st.Muted.Render("the alert names no workload or host to look for"))
	case len(d.changes) == 0:
		lines = append(lines, st.Muted.Render("nothing journaled or rolled out on "+onOf(a)))
	}
	for i := range d.changes {
		lines = append(lines, m.changeLine(&d.changes[i]))
	}

	lines = append(lines, "", st.TableHeader.Render("labels"))
	for _, k := range slices.Sorted(maps.Keys(a.Labels)) {
		lines = append(lines, "  "+components.Printable(k+"="+a.Labels[k]))
	}
	if rest := otherAnnotations(a.Annotations); len(rest) > 0 {
		lines = append(lines, "", st.TableHeader.Render("annotations"))
		for _, k := range rest {
			lines = append(lines, "  "+components.Printable(k)+"="+oneLine(a.Annotations[k]))
		}
	}
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, w, "…")
	}
	d.lines = lines
	d.off = max(min(d.off, len(d.lines)-m.Height), 0)
}

func otherAnnotations(an map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(an)) {
		if k != "summary" && k != "description" && k != "runbook_url" {
			out = append(out, k)
		}
	}
	return out
}

// changeLine is one recent change: when, who (or "outside vigil", marked),
// and what.
func (m *Model) changeLine(c *incident.Change) string {
	who := oneLine(c.By())
	if c.Outside() {
		who = m.Ctx.Styles.StatusWarn.Render("outside vigil")
	}
	return "  ▲ " + c.Time.In(m.loc).Format("01-02 15:04") + "  " + who + "  " + oneLine(c.What())
}

func wrapStyled(render func(...string) string, s string, w int) []string {
	var out []string
	for _, l := range strings.Split(lipgloss.Wrap(s, max(w, 10), " "), "\n") {
		out = append(out, render(l))
	}
	return out
}

// graphLines draws the graph with its threshold and the changes as markers.
func (m *Model) graphLines(g *incident.Graph, window time.Duration) []string {
	st := m.Ctx.Styles
	series := make([][]chart.Point, len(g.Series))
	for i, s := range g.Series {
		pts := make([]chart.Point, len(s.Points))
		for j, p := range s.Points {
			pts[j] = chart.Point{X: float64(p.Time.Unix()), Y: p.Value}
		}
		series[i] = pts
	}
	markers := make([]float64, len(g.Markers))
	for i, e := range g.Markers {
		markers[i] = float64(e.Time.Unix())
	}
	layout := "15:04"
	if window > 12*time.Hour {
		layout = "01-02 15:04"
	}
	loc := m.loc
	h := max(min(m.Height/2, 14), 6)
	ch := chart.Draw(series, chart.Options{
		Width: m.Width, Height: h,
		XMin: float64(g.Range.Start.Unix()), XMax: float64(g.Range.End.Unix()),
		Gap:       2 * g.Range.Step.Seconds(),
		Threshold: g.Threshold, Markers: markers,
		XLabel: func(x float64) string { return time.Unix(int64(x), 0).In(loc).Format(layout) },
	})
	var out []string
	expr := "query " + g.Expr
	if g.Threshold != nil {
		expr += st.StatusWarn.Render("  ┄ threshold " + chart.Label(*g.Threshold))
	}
	out = append(out, st.Muted.Render(expr))
	if len(g.Series) == 0 {
		out = append(out, st.Muted.Render("no data in this window"))
	}
	for _, l := range ch.Lines {
		out = append(out, st.Body.Render(l))
	}
	if len(g.Series) > 1 {
		out = append(out, st.Muted.Render(fmt.Sprintf("%d series", len(g.Series))))
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (m *Model) detailView() string {
	d := m.detail
	end := min(d.off+m.Height, len(d.lines))
	return strings.Join(d.lines[d.off:end], "\n")
}

// windowChoices lists the graph windows w cycles through: "5m/15m/1h/6h/24h".
func windowChoices() string {
	labels := make([]string, len(incident.GraphWindows))
	for i, w := range incident.GraphWindows {
		labels[i] = durationLabel(w)
	}
	return strings.Join(labels, "/")
}

// openRuleForm opens the rule form on the open alert's graph, prefilled
// from its rule: its graphed expression, comparison, threshold and for.
func (m *Model) openRuleForm() tea.Cmd {
	d := m.detail
	if m.mode != detailMode || d == nil {
		return common.ToastCmd(common.Info, "open an alert (enter) to define a rule from its graph")
	}
	svc := m.Ctx.Services.Rules
	if svc == nil {
		return common.ToastCmd(common.Info, "no rule file of vigil's: set prometheus.rule_files in the config (a file Prometheus's rule_files also lists)")
	}
	if err := m.Ctx.Guard.Check(m.Ctx.Actor, rules.ActAdd); err != nil {
		return common.ToastCmd(common.Error, err.Error())
	}
	if d.graph == nil {
		return common.ToastCmd(common.Info, "the graph is not here yet: wait for it, then press R again")
	}
	def := rules.Definition{Expr: d.graph.Expr, Op: ">", Severity: string(d.alert.Severity)}
	if r := d.alert.Rule; r != nil {
		def.For = r.For
		if r.Threshold != nil {
			def.Op, def.Threshold = r.Op, *r.Threshold
		}
	}
	if d.graph.Threshold != nil {
		def.Threshold = *d.graph.Threshold
	}
	form, cmd := ruleform.New(m.Ctx, svc, m.keys.Form, ruleform.GraphOf(d.graph), def, nil)
	form.SetSize(m.Width, m.Height)
	m.form = form
	return cmd
}

// formUpdate hands the open rule form its messages, and closes it when
// it is done; ok is false when no form is open or the message is not its.
func (m *Model) formUpdate(msg tea.Msg) (tea.Cmd, bool) {
	if done, ok := msg.(ruleform.DoneMsg); ok {
		m.form = nil
		if done.Err != nil {
			return common.ToastCmd(common.Error, done.Err.Error()), true
		}
		level := common.Info
		if strings.HasPrefix(done.Text, "added") || strings.HasPrefix(done.Text, "edited") || strings.HasPrefix(done.Text, "deleted") {
			level = common.Success
		}
		return common.ToastCmd(level, done.Text), true
	}
	if m.form == nil {
		return nil, false
	}
	switch msg.(type) {
	case SnapshotMsg, graphMsg, incidentsMsg, highlightEndMsg, actionDoneMsg, rollbackOfferMsg, common.GotoMsg:
		return nil, false // the pane's own, while the form is open
	case common.ThemeChangedMsg:
		m.form.Update(msg)
		return nil, false
	}
	return m.form.Update(msg), true
}
