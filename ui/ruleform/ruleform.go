// Package ruleform is the form that defines an alerting rule from a graph:
// name, expression (the graph's), comparison, threshold, for, severity,
// summary and runbook URL, with a preview of when the rule would have
// fired drawn on the graph. Saving goes through ops/rules (validated by
// Prometheus's parser, written to the rule file vigil owns, Prometheus
// reloaded); its errors show under the field they are about, a file
// changed meanwhile shows its diff. A pane opens it with New, hands it
// every message while it is open, and closes it on DoneMsg.
package ruleform

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ops/rules"
	"github.com/vigilops/vigil/ui/chart"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/styles"
)

// SaveTimeout bounds a save: write, reload and the wait for Prometheus.
const SaveTimeout = 30 * time.Second

// Rules is what the form needs of ops/rules; *rules.Service is one.
type Rules interface {
	DefaultFile() string
	Read(file string) (*rules.Snapshot, error)
	Add(ctx context.Context, actor access.Actor, base *rules.Snapshot, d rules.Definition) (rules.Result, error)
	Edit(ctx context.Context, actor access.Actor, base *rules.Snapshot, name string, d rules.Definition) (rules.Result, error)
	Delete(ctx context.Context, actor access.Actor, base *rules.Snapshot, name string) (rules.Result, error)
}

var _ Rules = (*rules.Service)(nil)

// Graph is the graph the form was opened on: its series are what the
// preview reads.
type Graph struct {
	Expr       string
	Series     []incident.Series
	Start, End time.Time
	Step       time.Duration
}

// GraphOf is an alert's or a rule's graph as the form reads it.
func GraphOf(g *incident.Graph) Graph {
	if g == nil {
		return Graph{}
	}
	return Graph{Expr: g.Expr, Series: g.Series, Start: g.Range.Start, End: g.Range.End, Step: g.Range.Step}
}

// DoneMsg closes the form: Text says what was done (or that nothing was),
// Err what failed. The pane that opened it drops it and shows Text or Err.
type DoneMsg struct {
	Text string
	Err  error
}

// snapshotMsg is the rule file read when the form opens or after a
// conflict.
type snapshotMsg struct {
	snap *rules.Snapshot
	err  error
}

// savedMsg is a save's or a delete's result.
type savedMsg struct {
	what string
	res  rules.Result
	err  error
}

// The fields, in order.
const (
	fName = iota
	fExpr
	fOp
	fThreshold
	fFor
	fSeverity
	fSummary
	fRunbook
	nFields
)

var fieldLabels = [nFields]string{"name", "expression", "comparison", "threshold", "for", "severity", "summary", "runbook"}

// errField maps rules.ParseError.Field to a field.
var errField = map[string]int{"name": fName, "expr": fExpr, "for": fFor, "severity": fSeverity, "summary": fSummary, "runbook": fRunbook}

// Model is the form.
type Model struct {
	ctx   *common.Context
	svc   Rules
	keys  KeyMap
	graph Graph
	// editing is the name of the rule edited, "" for a new one; file is
	// the rule file it is in (the service's default for a new one).
	editing, file string

	inputs [nFields]textinput.Model // fOp's is unused
	op     int                      // index into rules.Comparisons
	focus  int

	base     *rules.Snapshot
	baseErr  error
	saving   bool
	errs     map[int]string // under a field
	formErr  string         // under the form
	conflict string         // a diff, when the file changed meanwhile

	width, height int
	preview       []rules.Span
	lines         []string
}

// New opens a form on graph, prefilled from d: a new rule when edit is
// nil, else the rule edit names (a rule of svc's List), in its file. It
// reads the rule file in the background. keys must have been bound (Bind).
func New(ctx *common.Context, svc Rules, keys KeyMap, graph Graph, d rules.Definition, edit *rules.Owned) (*Model, tea.Cmd) {
	m := &Model{ctx: ctx, svc: svc, keys: keys, graph: graph, file: svc.DefaultFile(), errs: map[int]string{}}
	if edit != nil {
		m.editing, m.file = edit.Rule.Alert, edit.File
	}
	for i := range m.inputs {
		in := textinput.New()
		in.Prompt = ""
		m.inputs[i] = in
	}
	if d.Expr == "" {
		d.Expr = graph.Expr
	}
	if d.Op == "" {
		d.Op = ">"
	}
	if d.Severity == "" {
		d.Severity = "warning"
	}
	m.inputs[fName].SetValue(d.Name)
	m.inputs[fName].Placeholder = "the alert's name, e.g. HighLoad"
	m.inputs[fExpr].SetValue(d.Expr)
	m.op = max(slices.Index(rules.Comparisons, d.Op), 0)
	m.inputs[fThreshold].SetValue(strconv.FormatFloat(d.Threshold, 'g', -1, 64))
	m.inputs[fFor].SetValue(rules.FormatDuration(d.For))
	m.inputs[fFor].Placeholder = "e.g. 10s or 5m; empty fires at once"
	m.inputs[fSeverity].SetValue(d.Severity)
	m.inputs[fSeverity].Placeholder = strings.Join(rules.Severities, ", ")
	m.inputs[fSummary].SetValue(d.Summary)
	m.inputs[fSummary].Placeholder = "what the alert says, e.g. load is {{ $value }} on {{ $labels.instance }}"
	m.inputs[fRunbook].SetValue(d.RunbookURL)
	m.inputs[fRunbook].Placeholder = "https://…"
	m.setStyles()
	m.recompute()
	return m, tea.Batch(m.focusCmd(), m.readCmd())
}

// Bind gives the form's bindings their handlers, once, in the bind() of
// the pane that opens forms: they act on the form current returns, and do
// nothing while none is open.
func Bind(k KeyMap, current func() *Model) {
	on := func(act func(*Model) tea.Cmd) func() tea.Cmd {
		return func() tea.Cmd {
			if m := current(); m != nil {
				return act(m)
			}
			return nil
		}
	}
	k.Next.Do = on(func(m *Model) tea.Cmd { return m.move(1) })
	k.Prev.Do = on(func(m *Model) tea.Cmd { return m.move(-1) })
	k.Left.Do = on(func(m *Model) tea.Cmd { return m.cycleOp(-1) })
	k.Right.Do = on(func(m *Model) tea.Cmd { return m.cycleOp(1) })
	k.Save.Do = on((*Model).save)
	k.Delete.Do = on((*Model).confirmDelete)
	k.Cancel.Do = on(func(*Model) tea.Cmd {
		return func() tea.Msg { return DoneMsg{Text: "rule form closed: nothing written"} }
	})
}

// KeyMap is the form's bindings, for help.
func (m *Model) KeyMap() KeyMap { return m.keys }

// Definition is what the form says now; err names the first field that
// does not read.
func (m *Model) Definition() (rules.Definition, map[int]string) {
	errs := map[int]string{}
	d := rules.Definition{
		Name:       strings.TrimSpace(m.inputs[fName].Value()),
		Expr:       strings.TrimSpace(m.inputs[fExpr].Value()),
		Op:         rules.Comparisons[m.op],
		Severity:   strings.TrimSpace(m.inputs[fSeverity].Value()),
		Summary:    strings.TrimSpace(m.inputs[fSummary].Value()),
		RunbookURL: strings.TrimSpace(m.inputs[fRunbook].Value()),
	}
	if d.Name == "" {
		errs[fName] = "a name is required: it becomes the alertname"
	}
	if d.Expr == "" {
		errs[fExpr] = "an expression is required"
	}
	th, err := strconv.ParseFloat(strings.TrimSpace(m.inputs[fThreshold].Value()), 64)
	if err != nil {
		errs[fThreshold] = "a number, e.g. 0.5 or 1e6"
	}
	d.Threshold = th
	f, err := rules.ParseDuration(m.inputs[fFor].Value())
	if err != nil {
		errs[fFor] = err.Error()
	}
	d.For = f
	return d, errs
}

// Update handles the form's keys and results.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case snapshotMsg:
		m.base, m.baseErr = msg.snap, msg.err
		m.rebuild()
		return nil
	case savedMsg:
		return m.saved(msg)
	case common.ThemeChangedMsg:
		m.setStyles()
		m.rebuild()
		return nil
	case tea.KeyPressMsg:
		return m.key(msg)
	}
	var cmd tea.Cmd
	if m.focus != fOp {
		m.inputs[m.focus], cmd = m.inputs[m.focus].Update(msg)
	}
	return cmd
}

func (m *Model) key(k tea.KeyPressMsg) tea.Cmd {
	if m.saving {
		// The save runs to its end (bounded by SaveTimeout), so that its
		// outcome is shown here, never lost with a closed form.
		return nil
	}
	if m.focus != fOp && (key.Matches(k, m.keys.Left.Binding) || key.Matches(k, m.keys.Right.Binding)) {
		return m.typed(k) // the cursor of a text field
	}
	if cmd, ok := common.Handle(k, m.keys.Bindings()...); ok {
		return cmd
	}
	return m.typed(k)
}

// typed hands a key to the focused text field and refreshes the preview.
func (m *Model) typed(k tea.KeyPressMsg) tea.Cmd {
	if m.focus == fOp {
		return nil
	}
	var cmd tea.Cmd
	m.inputs[m.focus], cmd = m.inputs[m.focus].Update(k)
	delete(m.errs, m.focus)
	m.recompute()
	return cmd
}

func (m *Model) move(delta int) tea.Cmd {
	m.focus = (m.focus + delta + nFields) % nFields
	m.rebuild()
	return m.focusCmd()
}

func (m *Model) cycleOp(delta int) tea.Cmd {
	if m.focus != fOp {
		return nil
	}
	n := len(rules.Comparisons)
	m.op = (m.op + delta + n) % n
	m.recompute()
	return nil
}

func (m *Model) focusCmd() tea.Cmd {
	var cmd tea.Cmd
	for i := range m.inputs {
		if i == m.focus && i != fOp {
			cmd = m.inputs[i].Focus()
		} else {
			m.inputs[i].Blur()
		}
	}
	return cmd
}

// readCmd reads the rule file in the background.
func (m *Model) readCmd() tea.Cmd {
	svc, file := m.svc, m.file
	return func() tea.Msg {
		snap, err := svc.Read(file)
		return snapshotMsg{snap: snap, err: err}
	}
}

// save checks the fields, then saves in the background.
func (m *Model) save() tea.Cmd {
	d, errs := m.Definition()
	m.errs, m.formErr, m.conflict = errs, "", ""
	if len(errs) > 0 {
		for i := range nFields {
			if _, bad := errs[i]; bad {
				m.focus = i
				break
			}
		}
		m.rebuild()
		return m.focusCmd()
	}
	if m.base == nil {
		m.formErr = "the rule file is not read yet"
		if m.baseErr != nil {
			m.formErr = m.baseErr.Error()
		}
		m.rebuild()
		return nil
	}
	m.saving = true
	m.rebuild()
	svc, actor, baseCtx, snap, editing := m.svc, m.ctx.Actor, m.ctx.Base, m.base, m.editing
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(baseCtx, SaveTimeout)
		defer cancel()
		if editing != "" {
			res, err := svc.Edit(ctx, actor, snap, editing, d)
			return savedMsg{what: "edited " + d.Name, res: res, err: err}
		}
		res, err := svc.Add(ctx, actor, snap, d)
		return savedMsg{what: "added " + d.Name, res: res, err: err}
	}
}

// confirmDelete asks, then deletes the rule being edited.
func (m *Model) confirmDelete() tea.Cmd {
	if m.editing == "" {
		m.formErr = "nothing to delete: this is a new rule (esc closes the form)"
		m.rebuild()
		return nil
	}
	if m.base == nil {
		return nil
	}
	svc, actor, baseCtx, snap, name := m.svc, m.ctx.Actor, m.ctx.Base, m.base, m.editing
	run := func() tea.Msg {
		ctx, cancel := context.WithTimeout(baseCtx, SaveTimeout)
		defer cancel()
		res, err := svc.Delete(ctx, actor, snap, name)
		return savedMsg{what: "deleted " + name, res: res, err: err}
	}
	conf := rules.DeleteConfirmation(name)
	return m.ctx.Confirm(conf, "It is removed from "+snap.File+" and Prometheus is reloaded.", run)
}

// saved closes the form on success; otherwise the error goes under its
// field, or under the form, and a conflict shows its diff and reads the
// file again, so that saving once more applies the change to it.
func (m *Model) saved(msg savedMsg) tea.Cmd {
	m.saving = false
	if msg.err == nil {
		text := fmt.Sprintf("%s: Prometheus loaded it in %s", msg.what, msg.res.Took.Round(time.Millisecond))
		if strings.HasPrefix(msg.what, "deleted") {
			text = fmt.Sprintf("%s: gone from Prometheus in %s", msg.what, msg.res.Took.Round(time.Millisecond))
		}
		return func() tea.Msg { return DoneMsg{Text: text} }
	}
	var perr *rules.ParseError
	var conflict *rules.ConflictError
	switch {
	case errors.As(msg.err, &conflict):
		m.conflict = conflict.Diff
		m.formErr = conflict.File + " changed since the form opened (see below): nothing was written; save again to add your rule to it as it is now"
		m.rebuild()
		return m.readCmd()
	case errors.As(msg.err, &perr):
		if f, ok := errField[perr.Field()]; ok {
			m.errs[f] = perr.Error()
			m.focus = f
			m.rebuild()
			return m.focusCmd()
		}
	}
	m.formErr = msg.err.Error()
	m.rebuild()
	return nil
}

// SetSize sets the cells the form draws in.
func (m *Model) SetSize(width, height int) {
	m.width, m.height = width, height
	for i := range m.inputs {
		m.inputs[i].SetWidth(max(width-14, 10))
	}
	m.rebuild()
}

func (m *Model) setStyles() {
	st := m.ctx.Styles
	s := textinput.Styles{
		Focused: textinput.StyleState{Text: st.Body, Placeholder: st.Muted, Suggestion: st.Muted, Prompt: st.HelpKey},
		Blurred: textinput.StyleState{Text: st.Body, Placeholder: st.Muted, Suggestion: st.Muted, Prompt: st.Muted},
		// A static cursor: a blinking one would wake the program for nothing.
		Cursor: textinput.CursorStyle{Shape: tea.CursorBlock, Color: lipgloss.NoColor{}},
	}
	for i := range m.inputs {
		m.inputs[i].SetStyles(s)
	}
}

// recompute refreshes the preview from the fields that change it.
func (m *Model) recompute() {
	d, errs := m.Definition()
	m.preview = nil
	if errs[fThreshold] == "" && errs[fFor] == "" {
		m.preview = rules.Preview(m.graph.Series, d.Op, d.Threshold, d.For, m.graph.Step)
	}
	m.rebuild()
}

// Preview is the spans of the preview as the fields say now.
func (m *Model) Preview() []rules.Span { return m.preview }

// rebuild renders the form's lines; View only joins them.
func (m *Model) rebuild() {
	if m.width <= 0 {
		return
	}
	st := m.ctx.Styles
	w := m.width
	var lines []string
	title := "define an alerting rule"
	if m.editing != "" {
		title = "edit alerting rule " + m.editing
	}
	file := "reading the rule file…"
	switch {
	case m.base != nil:
		file = m.base.File
	case m.baseErr != nil:
		file = m.baseErr.Error()
	}
	lines = append(lines, st.Title.Render(title)+"  "+st.Muted.Render(file))
	for i := range nFields {
		label := fmt.Sprintf("%-12s", fieldLabels[i])
		if i == m.focus {
			label = st.HelpKey.Render(label)
		} else {
			label = st.TableHeader.Render(label)
		}
		value := ""
		if i == fOp {
			value = m.opLine(st)
		} else {
			value = m.inputs[i].View()
		}
		lines = append(lines, label+value)
		if e := m.errs[i]; e != "" {
			lines = append(lines, wrap(st.StatusCrit.Render, e, w, 12)...)
		}
	}
	lines = append(lines, "")
	lines = append(lines, m.previewLines(st)...)
	if m.saving {
		lines = append(lines, st.Muted.Render("saving: writing the file, reloading Prometheus, waiting until it shows the rule…"))
	}
	if m.formErr != "" {
		lines = append(lines, wrap(st.StatusCrit.Render, m.formErr, w, 0)...)
	}
	if m.conflict != "" {
		for _, l := range strings.Split(strings.TrimRight(m.conflict, "\n"), "\n") {
			style := st.Muted
			switch {
			case strings.HasPrefix(l, "+"):
				style = st.StatusOK
			case strings.HasPrefix(l, "-"):
				style = st.StatusCrit
			}
			lines = append(lines, style.Render(l))
		}
	}
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, w, "…")
	}
	m.lines = lines
}

func (m *Model) opLine(st *styles.Styles) string {
	var parts []string
	for i, c := range rules.Comparisons {
		if i == m.op {
			if m.focus == fOp {
				parts = append(parts, st.TableSelected.Render(" "+c+" "))
			} else {
				parts = append(parts, st.Body.Render("["+c+"]"))
			}
		} else {
			parts = append(parts, st.Muted.Render(" "+c+" "))
		}
	}
	hint := ""
	if m.focus == fOp {
		hint = st.Muted.Render("  ←/→")
	}
	return strings.Join(parts, "") + hint
}

// previewLines draws the graph with the threshold and the firing spans,
// and says in words when the rule would have fired.
func (m *Model) previewLines(st *styles.Styles) []string {
	g := m.graph
	d, errs := m.Definition()
	if len(g.Series) == 0 || !g.End.After(g.Start) {
		return []string{st.Muted.Render("no graphed data to preview the rule on")}
	}
	series := make([][]chart.Point, len(g.Series))
	for i, s := range g.Series {
		pts := make([]chart.Point, len(s.Points))
		for j, p := range s.Points {
			pts[j] = chart.Point{X: float64(p.Time.Unix()), Y: p.Value}
		}
		series[i] = pts
	}
	var th *float64
	if errs[fThreshold] == "" {
		th = &d.Threshold
	}
	windows := rules.FiringWindows(m.preview)
	spans := make([]chart.Span, len(windows))
	for i, w := range windows {
		spans[i] = chart.Span{From: float64(w[0].Unix()), To: float64(w[1].Unix())}
	}
	loc := m.ctx.Now().Location()
	h := max(min((m.height-nFields-6)/1, 12), 5)
	ch := chart.Draw(series, chart.Options{
		Width: m.width, Height: h,
		XMin: float64(g.Start.Unix()), XMax: float64(g.End.Unix()),
		Gap: 2 * g.Step.Seconds(), Threshold: th, Spans: spans,
		XLabel: func(x float64) string { return time.Unix(int64(x), 0).In(loc).Format("15:04") },
	})
	var out []string
	for i, l := range ch.Lines {
		if i == len(ch.Lines)-2 && len(ch.SpanCols) > 0 {
			l = colourSpans(l, ch.SpanCols, st.StatusCrit)
		} else {
			l = st.Body.Render(l)
		}
		out = append(out, l)
	}
	out = append(out, m.summary(st, d, windows))
	if d.Expr != g.Expr {
		out = append(out, st.Muted.Render("the preview reads the graphed expression ("+g.Expr+"), not the one edited"))
	}
	return out
}

// colourSpans styles the cells of line between the span columns.
func colourSpans(line string, cols [][2]int, style lipgloss.Style) string {
	r := []rune(line)
	var b strings.Builder
	in := func(i int) bool {
		for _, c := range cols {
			if i >= c[0] && i <= c[1] {
				return true
			}
		}
		return false
	}
	for i := 0; i < len(r); {
		j := i
		for j < len(r) && in(j) == in(i) {
			j++
		}
		if in(i) {
			b.WriteString(style.Render(string(r[i:j])))
		} else {
			b.WriteString(string(r[i:j]))
		}
		i = j
	}
	return b.String()
}

// summary says how often and how long the rule would have fired.
func (m *Model) summary(st *styles.Styles, d rules.Definition, windows [][2]time.Time) string {
	fired, pending := 0, 0
	var total time.Duration
	for _, s := range m.preview {
		if s.Fired() {
			fired++
		} else {
			pending++
		}
	}
	for _, w := range windows {
		total += w[1].Sub(w[0]) + m.graph.Step
	}
	window := rules.FormatDuration(m.graph.End.Sub(m.graph.Start).Round(time.Minute))
	if fired == 0 {
		s := fmt.Sprintf("preview: %s %s %s", d.Op, strconv.FormatFloat(d.Threshold, 'g', -1, 64), orAtOnce(d.For))
		s += " would not have fired over the last " + window
		if pending > 0 {
			s += " (pending " + times(pending) + ", never for long enough)"
		}
		return st.StatusOK.Render(s)
	}
	return st.StatusCrit.Render(fmt.Sprintf("preview: would have fired %s over the last %s, about %s in all (━ on the axis)",
		times(fired), window, rules.FormatDuration(total.Round(time.Second))))
}

func times(n int) string {
	switch n {
	case 1:
		return "once"
	case 2:
		return "twice"
	}
	return strconv.Itoa(n) + " times"
}

func orAtOnce(d time.Duration) string {
	if d == 0 {
		return "at once"
	}
	return "for " + rules.FormatDuration(d)
}

func wrap(render func(...string) string, s string, w, indent int) []string {
	var out []string
	for _, l := range strings.Split(lipgloss.Wrap(s, max(w-indent, 10), " "), "\n") {
		out = append(out, strings.Repeat(" ", indent)+render(l))
	}
	return out
}

// View draws the form in its size.
func (m *Model) View() string {
	lines := m.lines
	if len(lines) > m.height && m.height > 0 {
		// Keep the fields and the end (errors, the diff's head) in view.
		lines = lines[:m.height]
	}
	return strings.Join(lines, "\n")
}
