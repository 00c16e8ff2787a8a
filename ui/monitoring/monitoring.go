// Package monitoring is the Monitoring pane: Prometheus's targets by job,
// with the hosts nothing scrapes and the stale targets flagged first and
// the node exporter installed from there; the rule groups, a rule's
// expression graphed over the last hour with its threshold; and ad-hoc
// PromQL (`:query EXPR [RANGE]`), graphed for a range and tabled for an
// instant vector, with Prometheus's errors under the prompt. From any
// graph, a opens the rule form (ui/ruleform) on it; d deletes an alerting
// rule of the rule file vigil owns.
package monitoring

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ops/monitoring"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
	"github.com/vigilops/vigil/ui/ruleform"
	"github.com/vigilops/vigil/ui/styles"
)

type view int

const (
	targetsView view = iota
	rulesView
	graphView // a rule's graph or a query's result
)

// Timeout bounds one query, and the install's start.
const Timeout = 15 * time.Second

// graphRefresh is how old a shown result gets before the next change of
// the service's data queries it again.
const graphRefresh = 30 * time.Second

// Windows are the spans a graph cycles through, the first by default.
var Windows = []time.Duration{time.Hour, 6 * time.Hour, 24 * time.Hour, 15 * time.Minute}

// changedMsg says the service has new data.
type changedMsg struct{}

// resultMsg is a query's answer.
type resultMsg struct {
	gen int
	res monitoring.Result
	err error
	at  time.Time
	rng monitoring.Range // of a range query
}

// namesMsg carries the metric and label names completion offers.
type namesMsg struct {
	names []string
	err   error
}

// installMsg is the install's start.
type installMsg struct {
	host, run string
	err       error
}

// targetRow is one line of the targets view: a flagged host or stale
// target, or a target.
type targetRow struct {
	key, group, instance, health, scraped, took, err, labels string
	of                                                       string // the group's name; group shows it on its first row shown
	flag                                                     monitoring.Flag
	host                                                     string
	style                                                    int    // 0 ok, 1 warn, 2 crit
	search                                                   string // lower-cased, for the filter
}

// ruleRow is one line of the rules view.
type ruleRow struct {
	key, group, name, state, health, eval, err, file string
	of                                               string
	rule                                             monitoring.Rule
	style                                            int
	search                                           string
}

// sampleRow is one line of an instant result's table.
type sampleRow struct{ series, value string }

// graph is a rule's or a query's result on screen.
type graph struct {
	title     string // the rule's name, or "query"
	expr      string // what is queried
	threshold *float64
	op        string
	src       *monitoring.Rule // the rule graphed, for a rule's graph
	span      time.Duration    // of a graph
	rng       monitoring.Range // of the result shown, for a graph
	instant   bool             // an instant query: a table
	rule      bool             // a rule's graph: no prompt on error
	gen       int
	loading   bool
	at        time.Time // of the result shown
	res       *monitoring.Result
	err       error
	lines     []string // rendered result
	off       int      // scroll of lines
}

// Model is the Monitoring pane.
type Model struct {
	components.Base
	svc  *monitoring.Service
	keys KeyMap
	loc  *time.Location

	snap    *monitoring.Snapshot
	targets *components.Table[targetRow]
	rules   *components.Table[ruleRow]
	samples *components.Table[sampleRow]
	view    view
	back    view
	graph   *graph
	gen     int
	names   []string
	naming  bool // names are being read
	header  []string
	status  string // of the targets or rules view
	filter  string
	words   []string // the filter's, lower-cased
	// form is the rule form, open over the graph.
	form *ruleform.Model
}

// New returns the pane over the monitoring service.
func New(ctx *common.Context, svc *monitoring.Service, keys KeyMap) *Model {
	m := &Model{Base: components.NewBase(ctx, "Monitoring", keys), svc: svc, keys: keys, loc: ctx.Now().Location(), snap: &monitoring.Snapshot{}}
	m.bind()
	tone := func(s int, st *styles.Styles) lipgloss.Style {
		switch s {
		case 1:
			return st.StatusWarn
		case 2:
			return st.StatusCrit
		}
		return st.Body
	}
	m.targets = &components.Table[targetRow]{
		Columns: []components.Column[targetRow]{
			{Title: "JOB", Value: func(r targetRow) string { return r.group }, Min: 6, Max: 16},
			{Title: "INSTANCE", Value: func(r targetRow) string { return r.instance }, Min: 10, Max: 28, CutLast: true},
			{Title: "HEALTH", Value: func(r targetRow) string { return r.health }, Min: 7, Max: 14,
				Style: func(r targetRow, st *styles.Styles) lipgloss.Style { return tone(r.style, st) }},
			{Title: "SCRAPED", Value: func(r targetRow) string { return r.scraped }, Min: 7, Max: 10, Prio: -1},
			{Title: "TOOK", Value: func(r targetRow) string { return r.took }, Min: 5, Max: 8, Prio: -2, Right: true},
			{Title: "ERROR", Value: func(r targetRow) string { return r.err }, Min: 5, Flex: 2},
			{Title: "LABELS", Value: func(r targetRow) string { return r.labels }, Min: 6, Flex: 1, Prio: -3},
		},
		Key: func(r targetRow) string { return r.key },
	}
	m.rules = &components.Table[ruleRow]{
		Columns: []components.Column[ruleRow]{
			{Title: "GROUP", Value: func(r ruleRow) string { return r.group }, Min: 6, Max: 16},
			{Title: "RULE", Value: func(r ruleRow) string { return r.name }, Min: 8, Max: 28, CutLast: true},
			{Title: "STATE", Value: func(r ruleRow) string { return r.state }, Min: 8, Max: 9,
				Style: func(r ruleRow, st *styles.Styles) lipgloss.Style { return tone(r.style, st) }},
			{Title: "HEALTH", Value: func(r ruleRow) string { return r.health }, Min: 6, Max: 7},
			{Title: "EVAL", Value: func(r ruleRow) string { return r.eval }, Min: 6, Max: 9, Right: true, Prio: -1},
			{Title: "LAST ERROR", Value: func(r ruleRow) string { return r.err }, Min: 10, Flex: 2},
			{Title: "FILE", Value: func(r ruleRow) string { return r.file }, Min: 6, Flex: 1, Prio: -2},
		},
		Key: func(r ruleRow) string { return r.key },
	}
	m.samples = &components.Table[sampleRow]{
		Columns: []components.Column[sampleRow]{
			{Title: "SERIES", Value: func(r sampleRow) string { return r.series }, Min: 10, Flex: 1},
			{Title: "VALUE", Value: func(r sampleRow) string { return r.value }, Min: 5, Max: 24, Right: true},
		},
		Key: func(r sampleRow) string { return r.series },
	}
	return m
}

// bind gives the pane's bindings their handlers.
func (m *Model) bind() {
	keys := m.keys
	keys.Targets.Do = func() tea.Cmd { m.view = targetsView; m.rebuild(); return nil }
	keys.Rules.Do = func() tea.Cmd { m.view = rulesView; m.rebuild(); return nil }
	keys.Query.Do = func() tea.Cmd {
		expr := ""
		if m.view == graphView && m.graph != nil {
			expr = m.graph.expr
			if !m.graph.instant {
				expr += " " + SpanText(m.graph.span)
			}
		}
		return m.askQuery(expr, nil)
	}
	keys.Install.Do = m.confirmInstall
	keys.Refresh.Do = m.refreshNow
	keys.Window.Do = func() tea.Cmd {
		if m.view != graphView || m.graph == nil || m.graph.instant {
			return nil
		}
		m.graph.span = nextWindow(m.graph.span)
		return m.fetch()
	}
	keys.Define.Do = m.openRuleForm
	keys.Delete.Do = m.confirmDelete
	ruleform.Bind(keys.Form, func() *ruleform.Model { return m.form })
}

// Init subscribes to the service's changes and reads the names completion
// offers.
func (m *Model) Init() tea.Cmd {
	changes, cancel := m.svc.Subscribe()
	return tea.Batch(m.Subscribe(changes, cancel, func() tea.Msg { return changedMsg{} }), m.namesCmd())
}

// Capturing reports whether the prompt or the rule form is open: they
// take every key, the shell's included.
func (m *Model) Capturing() bool { return m.Base.Capturing() || m.form != nil }

// Update handles the service's messages, answers and keys.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	if cmd, ok := m.formUpdate(msg); ok {
		return cmd
	}
	switch msg := msg.(type) {
	case changedMsg:
		m.snap = m.svc.Snapshot()
		m.rebuild()
		cmd := m.Wait()
		if g := m.graph; m.view == graphView && g != nil && !g.loading && m.Ctx.Now().Sub(g.at) > graphRefresh {
			return tea.Batch(cmd, m.fetch())
		}
		return cmd
	case common.ThemeChangedMsg:
		m.rebuild()
	case resultMsg:
		return m.gotResult(msg)
	case namesMsg:
		m.naming = false
		if msg.err == nil {
			m.names = msg.names
		}
	case installMsg:
		if msg.err != nil {
			return common.ToastCmd(common.Error, "install on "+msg.host+": "+msg.err.Error())
		}
		m.rebuild()
		return common.ToastCmd(common.Success, fmt.Sprintf("installing the node exporter on %s: run %s (Runs pane, %d)", msg.host, msg.run, common.RunsPane))
	case ruleDeletedMsg:
		return m.ruleDeleted(msg)
	case tea.KeyPressMsg:
		return m.key(msg)
	}
	return nil
}

func (m *Model) key(k tea.KeyPressMsg) tea.Cmd {
	if ok, cmd := m.PromptKey(k, m.keys.Submit, m.keys.Close); ok {
		return cmd
	}
	if cmd, ok := common.Handle(k, m.keys.PaneBindings()...); ok {
		return cmd
	}
	switch m.view {
	case targetsView:
		m.targets.KeyPress(k, m.keys.Nav())
	case rulesView:
		if m.rules.KeyPress(k, m.keys.Nav()) {
			return nil
		}
		if key.Matches(k, m.keys.Open.Binding) {
			if r, ok := m.rules.Selected(); ok && r.rule.Name != "" {
				return m.openRule(r.rule)
			}
		}
	case graphView:
		if key.Matches(k, m.keys.Back.Binding) {
			m.view = m.back
			m.rebuild()
			return nil
		}
		if m.graph != nil && m.graph.instant && m.graph.res != nil && m.graph.res.Type == monitoring.Vector {
			m.samples.KeyPress(k, m.keys.Nav())
			return nil
		}
		if m.graph != nil {
			m.graph.off, _ = m.keys.Nav().Scroll(k, m.graph.off, len(m.graph.lines), m.bodyHeight())
		}
	}
	return nil
}

// refreshNow reads Prometheus again, and the shown result.
func (m *Model) refreshNow() tea.Cmd {
	svc, base := m.svc, m.Ctx.Base
	cmds := []tea.Cmd{func() tea.Msg { svc.Refresh(base); return nil }}
	if m.view == graphView && m.graph != nil {
		cmds = append(cmds, m.fetch())
	}
	return tea.Batch(cmds...)
}

// confirmInstall asks before installing the node exporter on the flagged
// host under the cursor.
func (m *Model) confirmInstall() tea.Cmd {
	if m.view != targetsView {
		return nil
	}
	r, ok := m.targets.Selected()
	if !ok || r.flag != monitoring.NotScraped {
		return common.ToastCmd(common.Info, "choose a host flagged "+string(monitoring.NotScraped)+" at the top of the targets")
	}
	if err := m.Ctx.Guard.Check(m.Ctx.Actor, monitoring.ActInstall); err != nil {
		return common.ToastCmd(common.Error, err.Error())
	}
	host, svc, base, actor := r.host, m.svc, m.Ctx.Base, m.Ctx.Actor
	return func() tea.Msg {
		return common.ConfirmMsg{
			Title: "Install the node exporter on " + host + "?",
			Body: "Runs " + monitoring.InstallPlaybook + " on " + host + " (followed in the Runs pane), then lists the host " +
				"in vigil's file_sd file, so that Prometheus scrapes it.",
			OnYes: func() tea.Msg {
				ctx, cancel := context.WithTimeout(base, Timeout)
				defer cancel()
				id, err := svc.Install(ctx, actor, host)
				return installMsg{host: host, run: id, err: err}
			},
		}
	}
}

// SetSize sets the cells the pane draws in.
func (m *Model) SetSize(width, height int) {
	resized := m.Resize(width, height)
	m.rebuildHeader()
	h := m.bodyHeight()
	m.targets.SetSize(width, h)
	m.rules.SetSize(width, h)
	if resized {
		m.rebuild()
	}
	if m.form != nil {
		m.form.SetSize(width, height)
	}
}

// bodyHeight is the height under the header lines.
func (m *Model) bodyHeight() int { return max(m.Height-len(m.header), 1) }

// rebuild renders the current view's rows from the snapshot.
func (m *Model) rebuild() {
	before := len(m.header)
	m.rebuildHeader()
	if len(m.header) != before { // the tables' height changed
		h := m.bodyHeight()
		m.targets.SetSize(m.Width, h)
		m.rules.SetSize(m.Width, h)
	}
	switch m.view {
	case targetsView:
		m.targets.SetRows(grouped(m.targetRows(), m.keep, func(r *targetRow) (string, *string, string) { return r.of, &r.group, r.search }))
	case rulesView:
		m.rules.SetRows(grouped(m.ruleRows(), m.keep, func(r *ruleRow) (string, *string, string) { return r.of, &r.group, r.search }))
	case graphView:
		m.renderGraph()
	}
	m.status = m.counts()
}

// rebuildHeader says when Prometheus cannot be read: since when the data
// is, and that it retries.
func (m *Model) rebuildHeader() {
	m.header = nil
	s := m.snap
	if s.Err == nil || m.view == graphView {
		return
	}
	age := "no data yet"
	if !s.Fetched.IsZero() {
		age = "data from " + components.Age(m.Ctx.Now().Sub(s.Fetched)) + " ago"
	}
	m.header = []string{m.Ctx.Styles.StatusCrit.Render(ansi.Truncate("Prometheus unreachable: "+age+", retrying by itself · "+s.Err.Error(), max(m.Width, 1), "…"))}
}

func (m *Model) targetRows() []targetRow {
	now := m.Ctx.Now()
	var rows []targetRow
	for _, f := range m.snap.Flagged {
		r := targetRow{key: "flag/" + string(f.Flag) + "/" + f.Host + "/" + f.Address, of: "⚑ " + string(f.Flag), flag: f.Flag, host: f.Host,
			instance: f.Host, health: string(f.Flag), err: f.Reason, style: 1}
		if f.Flag == monitoring.Stale {
			r.instance = f.Address
			r.labels = monitoring.HostLabel + "=" + f.Host
		} else if id, ok := m.svc.Installing(f.Host); ok {
			r.health, r.err = "installing", "run "+id
		}
		if f.Target != nil {
			r.scraped = scraped(now, f.Target.LastScrape)
		}
		r.search = strings.ToLower(strings.Join([]string{string(f.Flag), f.Host, f.Address, r.health, r.err}, " "))
		rows = append(rows, r)
	}
	for _, t := range m.snap.Targets {
		r := targetRow{key: "target/" + t.ScrapePool + "/" + t.ScrapeURL, of: t.Job, instance: t.Instance, health: string(t.Health),
			scraped: scraped(now, t.LastScrape), err: t.LastError, labels: labelText(t.Labels, "job", "instance")}
		if t.LastScrapeDuration > 0 {
			r.took = duration(t.LastScrapeDuration)
		}
		switch t.Health {
		case monitoring.Down:
			r.style = 2
		case monitoring.Unknown:
			r.style = 1
		}
		r.search = strings.ToLower(strings.Join([]string{t.Job, t.Instance, r.health, r.err, r.labels}, " "))
		rows = append(rows, r)
	}
	return rows
}

func (m *Model) ruleRows() []ruleRow {
	var rows []ruleRow
	for _, g := range m.snap.Groups {
		for i, r := range g.Rules {
			if r.File == "" {
				r.File = g.File
			}
			if r.Group == "" {
				r.Group = g.Name
			}
			row := ruleRow{key: g.File + "/" + g.Name + "/" + r.Name + fmt.Sprint(i), name: r.Name, health: string(r.Health),
				eval: duration(r.EvaluationTime), err: r.LastError, file: g.File, rule: r}
			row.of = g.Name
			switch r.Kind {
			case monitoring.Recording:
				row.state = "recording"
			default:
				row.state = string(r.State)
			}
			row.search = strings.ToLower(strings.Join([]string{g.Name, r.Name, row.state, row.health, r.LastError, g.File}, " "))
			switch {
			case r.Health == monitoring.Err || r.State == monitoring.Firing:
				row.style = 2
			case r.State == monitoring.Pending:
				row.style = 1
			}
			rows = append(rows, row)
		}
	}
	return rows
}

func scraped(now, at time.Time) string {
	if at.IsZero() {
		return "never"
	}
	return components.Age(now.Sub(at)) + " ago"
}

// duration prints a short scrape or evaluation time: 850µs, 12ms, 1.2s.
func duration(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}

// labelText is the labels but skip, sorted, as k=v joined by commas.
func labelText(ls map[string]string, skip ...string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(ls)) {
		if !slices.Contains(skip, k) {
			parts = append(parts, k+"="+ls[k])
		}
	}
	return strings.Join(parts, ",")
}

// SetFilter keeps the targets and rules whose job, instance, labels,
// group, name, state, health, error or file hold every word of s.
func (m *Model) SetFilter(text string) {
	m.filter = text
	m.words = strings.Fields(strings.ToLower(text))
	m.rebuild()
}

// keep reports whether a row's search text holds every word of the filter.
func (m *Model) keep(search string) bool {
	for _, w := range m.words {
		if !strings.Contains(search, w) {
			return false
		}
	}
	return true
}

// grouped keeps the rows keep keeps, and names each group on the first of
// its rows kept.
func grouped[R any](rows []R, keep func(string) bool, fields func(*R) (of string, group *string, search string)) []R {
	out := rows[:0]
	last := "\x00"
	for _, r := range rows {
		of, _, search := fields(&r)
		if !keep(search) {
			continue
		}
		if _, group, _ := fields(&r); of != last {
			*group, last = of, of
		}
		out = append(out, r)
	}
	return out
}

// Filter is the filter's text.
func (m *Model) Filter() string { return m.filter }

// FilterHint is the filter's syntax, shown in the empty filter bar.
func (m *Model) FilterHint() string {
	return "words of a job, instance, label, rule, group, state, health or error"
}

// Status summarises the pane for its frame title.
func (m *Model) Status() string {
	out := m.status
	if m.view == graphView && m.graph != nil {
		g := m.graph
		out = g.title
		if !g.instant {
			out += " · " + SpanText(g.span)
		}
		if g.loading {
			out += " · querying…"
		}
	}
	if m.snap.Err != nil {
		out += " · Prometheus unreachable"
	}
	return out
}

// counts is the status of the targets and rules views, counted when the
// data changes.
func (m *Model) counts() string {
	s := m.snap
	switch m.view {
	case targetsView:
		up := 0
		for _, t := range s.Targets {
			if t.Health == monitoring.Up {
				up++
			}
		}
		out := fmt.Sprintf("%d targets · %d up", len(s.Targets), up)
		if len(s.Flagged) > 0 {
			out += fmt.Sprintf(" · %d flagged", len(s.Flagged))
		}
		return out
	case rulesView:
		n, firing := 0, 0
		for _, g := range s.Groups {
			n += len(g.Rules)
			for _, r := range g.Rules {
				if r.State == monitoring.Firing {
					firing++
				}
			}
		}
		out := fmt.Sprintf("%d groups · %d rules", len(s.Groups), n)
		if firing > 0 {
			out += fmt.Sprintf(" · %d firing", firing)
		}
		return out
	}
	return ""
}

// View draws the current view; rows are rendered when data changes.
func (m *Model) View() string {
	if m.Width <= 0 || m.Height <= 0 {
		return ""
	}
	if m.form != nil {
		return m.form.View()
	}
	st := m.Ctx.Styles
	lines := append([]string(nil), m.header...)
	switch m.view {
	case targetsView:
		if m.snap.Fetched.IsZero() && m.snap.Err == nil {
			lines = append(lines, st.Muted.Render("Reading Prometheus's targets…"))
			break
		}
		lines = append(lines, strings.Split(m.targets.View(st), "\n")...)
	case rulesView:
		if m.snap.Fetched.IsZero() && m.snap.Err == nil {
			lines = append(lines, st.Muted.Render("Reading Prometheus's rules…"))
			break
		}
		if len(m.snap.Groups) == 0 {
			lines = append(lines, st.Muted.Render(lipgloss.Wrap("No rule group in Prometheus.", m.Width, " ")))
			break
		}
		lines = append(lines, strings.Split(m.rules.View(st), "\n")...)
	case graphView:
		lines = append(lines, m.graphView()...)
	}
	return strings.Join(m.WithPrompt(lines), "\n")
}

// ChangedMsg is the message the service's changes bring, for benchmarks.
func ChangedMsg() any { return changedMsg{} }
