package monitoring

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ops/monitoring"
	"github.com/vigilops/vigil/ui/chart"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
)

// Commands are the pane's palette commands.
func (m *Model) Commands() []components.Spec {
	return []components.Spec{{
		Name: "query", Args: "EXPR [RANGE]", Raw: true,
		Help: "run PromQL: with a range last (1h, 15m) a graph, else an instant table; without EXPR, a prompt (tab completes names)",
		Complete: func(int) []string {
			return m.names
		},
		Run: func(args []string) (tea.Cmd, error) {
			goPane := func() tea.Msg { return common.GotoMsg{Pane: common.MonitoringPane} }
			if len(args) == 0 {
				return tea.Batch(goPane, m.askQuery("", nil)), nil
			}
			expr, span, instant := ParseQuery(args[0])
			if expr == "" {
				return nil, errors.New("query what? :query EXPR [RANGE], e.g. :query rate(node_cpu_seconds_total[5m]) 1h")
			}
			return tea.Batch(goPane, m.Query(expr, span, instant)), nil
		},
	}}
}

// ParseQuery splits "EXPR [RANGE]": a last word that is a duration (and
// not an offset's) is the range of a graph; without one, the query is
// instant.
func ParseQuery(s string) (expr string, span time.Duration, instant bool) {
	s = strings.TrimSpace(s)
	i := strings.LastIndexAny(s, " \t")
	if i < 0 {
		return s, 0, true
	}
	head, last := strings.TrimSpace(s[:i]), s[i+1:]
	d, err := monitoring.ParseDuration(last)
	if err != nil || d <= 0 || head == "" || strings.HasSuffix(head, "offset") {
		return s, 0, true
	}
	return head, d, false
}

// Query shows expr's result: graphed over span, or instant.
func (m *Model) Query(expr string, span time.Duration, instant bool) tea.Cmd {
	if m.view != graphView {
		m.back = m.view
	}
	g := &graph{title: "query", expr: expr, instant: instant, span: span}
	m.graph, m.view = g, graphView
	return m.fetch()
}

// SpanText writes a span as a query's range: 15m, 1h, 2d, 90s.
func SpanText(d time.Duration) string {
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	case d >= time.Hour && d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	case d >= time.Minute && d%time.Minute == 0:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	}
	return strconv.Itoa(int(d/time.Second)) + "s"
}

// maxListed is how many series a graph names under it.
const maxListed = 20

// nextWindow is the window after span in Windows.
func nextWindow(span time.Duration) time.Duration {
	return Windows[(slices.Index(Windows, span)+1)%len(Windows)]
}

// openRule graphs a rule's expression over the last hour, with its
// threshold.
func (m *Model) openRule(r monitoring.Rule) tea.Cmd {
	m.back = m.view
	m.graph = &graph{title: r.Name, expr: r.ValueExpr, threshold: r.Threshold, op: r.Op, rule: true, span: Windows[0], src: &r}
	if m.graph.expr == "" {
		m.graph.expr = r.Query
	}
	m.view = graphView
	return m.fetch()
}

// Graph returns the graph or result shown, for tests: its expression,
// threshold and result.
func (m *Model) Graph() (expr string, threshold *float64, res *monitoring.Result, err error, ok bool) {
	if m.view != graphView || m.graph == nil {
		return "", nil, nil, nil, false
	}
	return m.graph.expr, m.graph.threshold, m.graph.res, m.graph.err, true
}

// fetch queries the shown graph in the background.
func (m *Model) fetch() tea.Cmd {
	g := m.graph
	m.gen++
	g.gen, g.loading = m.gen, true
	m.renderGraph()
	prom, base, now, gen := m.svc.Prometheus(), m.Ctx.Base, m.Ctx.Now(), m.gen
	expr, instant, span := g.expr, g.instant, g.span
	points := min(max(m.Width*2, 60), 1000)
	rng := monitoring.RangeOver(now, span, points)
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, Timeout)
		defer cancel()
		msg := resultMsg{gen: gen, at: now, rng: rng}
		if instant {
			msg.res, msg.err = prom.Instant(ctx, expr, now)
		} else {
			msg.res, msg.err = prom.RangeQuery(ctx, expr, rng)
		}
		return msg
	}
}

func (m *Model) gotResult(msg resultMsg) tea.Cmd {
	g := m.graph
	if g == nil || g.gen != msg.gen {
		return nil // an answer for what is no longer shown
	}
	g.loading = false
	var qe *monitoring.QueryError
	if msg.err != nil {
		g.err = msg.err
		m.renderGraph()
		if errors.As(msg.err, &qe) && !g.rule {
			// The expression back in the prompt, the error under it.
			q := g.expr
			if !g.instant {
				q += " " + SpanText(g.span)
			}
			return m.askQuery(q, qe)
		}
		return nil
	}
	g.res, g.err, g.at, g.rng = &msg.res, nil, msg.at, msg.rng
	if msg.res.Type == monitoring.Vector {
		rows := make([]sampleRow, len(msg.res.Vector))
		for i, s := range msg.res.Vector {
			rows[i] = sampleRow{series: monitoring.SeriesName(s.Labels), value: strconv.FormatFloat(s.Value, 'g', -1, 64)}
		}
		m.samples.SetRows(rows)
	}
	m.renderGraph()
	return nil
}

// askQuery opens the query prompt holding value, with Prometheus's error
// and its position under it when qe is set.
func (m *Model) askQuery(value string, qe *monitoring.QueryError) tea.Cmd {
	cmd := m.Ask("PromQL · a range last graphs it (1h, 15m) · tab completes names", "", value, false, func(s string) tea.Cmd {
		expr, span, instant := ParseQuery(s)
		if expr == "" {
			return nil
		}
		return m.Query(expr, span, instant)
	})
	m.Prompt.Complete = m.complete
	if qe != nil {
		m.Prompt.Error = qe.Message
		if p := qe.Position(); p != "" {
			m.Prompt.Error += " (" + p + ")"
		}
		if qe.Line == 1 {
			m.Prompt.Mark = qe.Column
		}
	}
	if !m.naming { // names read again: new metrics appear
		return tea.Batch(cmd, m.namesCmd())
	}
	return cmd
}

// complete lists the metric and label names word begins.
func (m *Model) complete(word string) []string {
	var out []string
	for _, n := range m.names {
		if strings.HasPrefix(n, word) && n != word {
			out = append(out, n)
			if len(out) == 200 {
				break
			}
		}
	}
	return out
}

// namesCmd reads the metric and label names.
func (m *Model) namesCmd() tea.Cmd {
	m.naming = true
	prom, base := m.svc.Prometheus(), m.Ctx.Base
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, Timeout)
		defer cancel()
		metrics, err := prom.MetricNames(ctx)
		if err != nil {
			return namesMsg{err: err}
		}
		labels, err := prom.LabelNames(ctx)
		return namesMsg{names: append(metrics, labels...), err: err}
	}
}

// renderGraph draws the shown result into lines.
func (m *Model) renderGraph() {
	g := m.graph
	if g == nil || m.Width <= 0 {
		return
	}
	st := m.Ctx.Styles
	head := "query " + g.expr
	if g.title != "query" {
		head = g.title + " · " + head
	}
	var lines []string
	for _, l := range strings.Split(lipgloss.Wrap(head, m.Width, " "), "\n") {
		lines = append(lines, st.Muted.Render(l))
	}
	if g.threshold != nil {
		lines = append(lines, st.StatusWarn.Render("┄ threshold "+g.op+" "+chart.Label(*g.threshold)))
	}
	switch {
	case g.err != nil:
		for _, l := range strings.Split(lipgloss.Wrap(g.err.Error(), m.Width, " "), "\n") {
			lines = append(lines, st.StatusCrit.Render(l))
		}
		if g.res != nil {
			lines = append(lines, st.Muted.Render("(the last result, from "+components.Age(m.Ctx.Now().Sub(g.at))+" ago:)"))
		}
	case g.loading && g.res == nil:
		lines = append(lines, st.Muted.Render("Querying Prometheus…"))
	}
	if r := g.res; r != nil {
		switch r.Type {
		case monitoring.Matrix:
			lines = append(lines, m.chartLines(g, r)...)
		case monitoring.Vector:
			lines = append(lines, st.Muted.Render(fmt.Sprintf("instant vector · %d series · at %s", len(r.Vector), g.at.In(m.loc).Format("15:04:05"))))
			if len(r.Vector) == 0 {
				lines = append(lines, st.Muted.Render("no series"))
			}
		case monitoring.Scalar:
			lines = append(lines, st.Muted.Render("scalar"), st.Body.Render(strconv.FormatFloat(r.Scalar.Value, 'g', -1, 64)))
		case monitoring.String:
			lines = append(lines, st.Muted.Render("string"), st.Body.Render(strconv.Quote(r.String)))
		}
		for _, w := range r.Warnings {
			lines = append(lines, st.StatusWarn.Render("warning: "+w))
		}
	}
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, m.Width, "…")
	}
	g.lines = lines
	m.samples.SetSize(m.Width, max(m.bodyHeight()-len(lines), 2))
}

func (m *Model) chartLines(g *graph, r *monitoring.Result) []string {
	st := m.Ctx.Styles
	series := make([][]chart.Point, len(r.Matrix))
	xmin, xmax := 0.0, 0.0
	for i, s := range r.Matrix {
		pts := make([]chart.Point, len(s.Points))
		for j, p := range s.Points {
			x := float64(p.Time.Unix())
			pts[j] = chart.Point{X: x, Y: p.Value}
			if xmin == 0 || x < xmin {
				xmin = x
			}
			xmax = max(xmax, x)
		}
		series[i] = pts
	}
	span := g.span
	if !g.instant {
		xmax = float64(g.at.Unix())
		xmin = xmax - span.Seconds()
	}
	layout := "15:04"
	if span > 12*time.Hour {
		layout = "01-02 15:04"
	}
	loc := m.loc
	h := max(min(m.bodyHeight()-4, 16), 6)
	step := span.Seconds() / float64(min(max(m.Width*2, 60), 1000))
	ch := chart.Draw(series, chart.Options{
		Width: m.Width, Height: h, XMin: xmin, XMax: xmax, Gap: 3 * max(step, 1), Threshold: g.threshold,
		XLabel: func(x float64) string { return time.Unix(int64(x), 0).In(loc).Format(layout) },
	})
	var out []string
	if len(r.Matrix) == 0 {
		out = append(out, st.Muted.Render("no data in this window"))
	}
	for _, l := range ch.Lines {
		out = append(out, st.Body.Render(l))
	}
	if n := len(r.Matrix); n > 0 {
		out = append(out, st.Muted.Render(fmt.Sprintf("%d series:", n)))
		for i, s := range r.Matrix {
			if i == maxListed {
				out = append(out, st.Muted.Render(fmt.Sprintf("  … and %d more (vigil query --json lists them all)", n-i)))
				break
			}
			last := ""
			if len(s.Points) > 0 {
				last = " = " + chart.Label(s.Points[len(s.Points)-1].Value)
			}
			out = append(out, st.Muted.Render("  "+monitoring.SeriesName(s.Labels)+last))
		}
	}
	return out
}

// graphView draws the result: its lines, scrolled, and an instant
// vector's table under them.
func (m *Model) graphView() []string {
	g := m.graph
	if g == nil {
		return nil
	}
	st := m.Ctx.Styles
	h := m.bodyHeight()
	if g.res != nil && g.res.Type == monitoring.Vector && len(g.res.Vector) > 0 {
		out := append([]string(nil), g.lines...)
		return append(out, strings.Split(m.samples.View(st), "\n")...)
	}
	off := max(min(g.off, len(g.lines)-h), 0)
	end := min(off+h, len(g.lines))
	return g.lines[off:end]
}

// SelectedRule is the name of the rule under the cursor in the rules view.
func (m *Model) SelectedRule() string {
	if r, ok := m.rules.Selected(); ok {
		return r.name
	}
	return ""
}
