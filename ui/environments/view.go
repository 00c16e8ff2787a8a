package environments

import (
	"fmt"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ui/components"
)

// layout is the matrix's columns at one width: the app column, the width
// of each environment's column, and which environments show.
type layout struct {
	app, cell    int
	first, shown int
}

const (
	minCell = 15 // "◂ 2.5.0 3/3 ✓ "
	maxCell = 24 // a cell grows past it only when its text needs it
	maxApp  = 24
	// versionPad is the width short versions are padded to, so that the
	// counts line up; a longer version takes what it needs.
	versionPad = 8
)

func columns(w int, mat *release.Matrix) layout {
	if mat == nil || len(mat.Envs) == 0 || w <= 0 {
		return layout{}
	}
	app := 3
	need := minCell // the widest cell's whole text
	for _, r := range mat.Rows {
		app = max(app, ansi.StringWidth(r.App))
		for i := range r.Cells {
			need = max(need, cellNeed(&r.Cells[i]))
		}
	}
	app = min(app+2, maxApp)
	if w < app+minCell {
		app = max(min(app, w/3), 1)
	}
	n := len(mat.Envs)
	shown := max(min(n, (w-app)/minCell), 1)
	// Cells take the free width before any text is cut.
	cell := min(max((w-app)/shown, 1), max(maxCell, need))
	return layout{app: app, cell: cell, shown: shown}
}

// cellNeed is the width a cell takes to show its text whole.
func cellNeed(c *release.Cell) int {
	if c.Workload == nil {
		return 0
	}
	return 3 + max(versionPad, ansi.StringWidth(c.Version)) + ansi.StringWidth(cellTail(c))
}

// cellTail is what follows the version in a cell: the counts and the glyph.
func cellTail(c *release.Cell) string {
	return fmt.Sprintf(" %d/%d %s", c.Ready, c.Desired, components.HealthMark(c.Health))
}

// cellText is a cell's plain text, without its drift marker: cw-3 wide.
// A cell of an empty environment says so rather than showing an absent app.
func cellText(c *release.Cell, cw int, empty bool) string {
	inner := cw - 3 // marker, space, and a gap after the cell
	if inner <= 0 {
		return ""
	}
	if c.Workload == nil {
		if empty {
			return components.Cell("∅ empty", inner)
		}
		return components.Cell("-", inner)
	}
	// The version is cut last: the counts go first.
	tail := cellTail(c)
	if ansi.StringWidth(c.Version)+ansi.StringWidth(tail) > inner {
		tail = " " + components.HealthMark(c.Health)
	}
	vw := min(inner-ansi.StringWidth(tail), max(versionPad, ansi.StringWidth(c.Version)))
	return components.Cell(components.Cell(c.Version, vw)+tail, inner)
}

// renderCell draws a cell cw wide: the drift marker, then the text, the
// glyph in its health's colour; selected draws the text as the cursor.
// empty is true when the cell's environment holds no app.
func (m *Model) renderCell(c *release.Cell, cw int, selected, empty bool) string {
	st := m.Ctx.Styles
	if cw < 3 {
		return components.Cell("", cw)
	}
	mark := " "
	if c.Drift {
		mark = st.StatusWarn.Render("◂")
	}
	text := cellText(c, cw, empty)
	var body string
	switch {
	case selected:
		body = st.TableSelected.Render(text)
	case c.Workload == nil:
		body = st.Muted.Render(text)
	default:
		glyph := components.HealthMark(c.Health)
		head, rest, found := strings.Cut(text, glyph)
		if !found { // the glyph was cut off
			glyph, rest = "", ""
		}
		body = st.Body.Render(head) + components.HealthStyle(c.Health, st).Render(glyph) + rest
	}
	return mark + " " + body + " "
}

// renderRow draws row r; the cursor's row is drawn afresh, others come
// from the cache while their cells are unchanged.
func (m *Model) renderRow(r *release.Row, cursor bool) string {
	st := m.Ctx.Styles
	var key *release.Cell
	if len(r.Cells) > 0 {
		key = &r.Cells[0]
	}
	if !cursor {
		if c, ok := m.rows[r.App]; ok && c.cells == key {
			return c.text
		}
	}
	l := m.lay
	var b strings.Builder
	name := components.Cell(r.App, l.app)
	if cursor {
		b.WriteString(st.Title.Render(name))
	} else {
		b.WriteString(st.Body.Render(name))
	}
	for i := l.first; i < min(l.first+l.shown, len(r.Cells)); i++ {
		b.WriteString(m.renderCell(&r.Cells[i], l.cell, cursor && i == m.col, m.isEmpty(i)))
	}
	text := ansi.Truncate(b.String(), m.Width, "")
	if !cursor {
		m.rows[r.App] = cachedRow{cells: key, text: text}
	}
	return text
}

func (m *Model) header() string {
	l := m.lay
	now := m.Ctx.Now()
	var b strings.Builder
	b.WriteString(components.Cell("APP", l.app))
	for i := l.first; i < min(l.first+l.shown, len(m.matrix.Envs)); i++ {
		e := m.matrix.Envs[i]
		h := e.Name
		if e.Protected {
			h += " ⛨"
		}
		if e.Freeze.Active(now) {
			h += " ❄"
		}
		if !e.Conn.Connected {
			h += " ⚠"
		}
		if m.isEmpty(i) {
			h += " ∅"
		}
		b.WriteString("  " + components.Cell(h, l.cell-2))
	}
	return m.Ctx.Styles.TableHeader.Render(ansi.Truncate(b.String(), m.Width, ""))
}

// isEmpty tells whether environment i holds no app.
func (m *Model) isEmpty(i int) bool { return i < len(m.empty) && m.empty[i] }

// preparable tells whether environment i is empty while the one before it
// has apps: preparing i would seed it.
func (m *Model) preparable(i int) bool {
	return i > 0 && m.isEmpty(i) && !m.isEmpty(i-1) && m.matrix.Envs[i-1].Conn.Connected
}

// notices are the lines above the matrix: disconnected clusters (the data
// shown is their last), frozen environments, and empty ones that may be
// prepared.
func (m *Model) notices() []string {
	if m.matrix == nil {
		return nil
	}
	st := m.Ctx.Styles
	now := m.Ctx.Now()
	var out []string
	seen := map[string]bool{}
	for _, e := range m.matrix.Envs {
		if !e.Conn.Connected && !seen[e.Conn.Context] {
			seen[e.Conn.Context] = true
			out = append(out, st.StatusCrit.Render("⚠ "+components.ConnText(e.Conn, now)+" · showing the last data, retrying"))
		}
	}
	for _, e := range m.matrix.Envs {
		if f := e.Freeze; f.Active(now) {
			out = append(out, st.StatusWarn.Render(fmt.Sprintf("❄ %s frozen by %s for %s more: %s", e.Name, f.By, components.Age(f.Until.Sub(now)), f.Reason)))
		}
	}
	for _, e := range m.matrix.Envs {
		for _, l := range e.Locks {
			if now.Before(l.Until) {
				out = append(out, st.StatusUnknown.Render(components.LockText(e.LockSubject(l), l, now)))
			}
		}
	}
	for i, e := range m.matrix.Envs {
		if !m.preparable(i) {
			continue
		}
		how := "an operator can seed it"
		if p := m.keys.Prepare; p.Enabled() {
			how = p.Help().Key + " on its column or :prepare " + e.Name + " seeds it"
		}
		out = append(out, st.StatusUnknown.Render(fmt.Sprintf("∅ %s has no apps: %s from %s · namespace %s absent or empty", e.Name, how, m.matrix.Envs[i-1].Name, e.Namespace)))
	}
	return out
}

// noticeLines is how many notice lines show: at most half the pane.
func (m *Model) noticeLines() int {
	if m.matrix == nil {
		return 0
	}
	now := m.Ctx.Now()
	n := 0
	seen := map[string]bool{}
	for _, e := range m.matrix.Envs {
		if !e.Conn.Connected && !seen[e.Conn.Context] {
			seen[e.Conn.Context] = true
			n++
		}
		if e.Freeze.Active(now) {
			n++
		}
		for _, l := range e.Locks {
			if now.Before(l.Until) {
				n++
			}
		}
	}
	for i := range m.matrix.Envs {
		if m.preparable(i) {
			n++
		}
	}
	return min(n, m.Height/2)
}

// View draws the notices, the header and the visible rows only.
func (m *Model) View() string {
	if m.Width <= 0 || m.Height <= 0 {
		return ""
	}
	st := m.Ctx.Styles
	if m.showClaims && m.matrix != nil {
		return m.claimsView()
	}
	msg := ""
	switch {
	case m.matrix == nil:
		msg = "Reading the clusters…"
	case len(m.matrix.Rows) == 0:
		msg = "No apps in the environments yet."
		if k := m.Ctx.Config.Kubernetes; k != nil && k.AppSelector != "" {
			msg += " Apps are the Deployments and StatefulSets with the label " + k.AppSelector + " (kubernetes.app_selector)."
		}
	case len(m.visible) == 0:
		msg = "No app matches the filter " + m.filterText + ": press / to change it, esc to clear it."
	}
	var lines []string
	for i, n := range m.notices() {
		if i == m.noticeLines() {
			break
		}
		lines = append(lines, ansi.Truncate(n, m.Width, "…"))
	}
	if msg != "" {
		lines = append(lines, st.Muted.Render(lipgloss.Wrap(msg, m.Width, " ")))
		return clip(strings.Join(lines, "\n"), m.Height)
	}
	if m.Height > len(lines) {
		lines = append(lines, m.header())
	}
	end := min(m.list.Offset+m.listHeight(), len(m.visible))
	for i := m.list.Offset; i < end && len(lines) < m.Height; i++ {
		lines = append(lines, m.renderRow(&m.matrix.Rows[m.visible[i]], i == m.list.Pos))
	}
	if m.footerLines() > 0 {
		for len(lines) < m.Height-1 {
			lines = append(lines, "")
		}
		lines = append(lines, st.Muted.Render(ansi.Truncate(FooterHint, m.Width, "…")))
	}
	return strings.Join(lines, "\n")
}

// FooterHint is the matrix's one-line legend; ? shows it in full.
const FooterHint = "◂ drift from the environment before · ⛨ protected · ❄ frozen · ? legend"

// footerLines is 1 when the pane is tall enough for the footer hint.
func (m *Model) footerLines() int {
	if m.Height >= 8 {
		return 1
	}
	return 0
}

// Legend explains the matrix's glyphs, for help.
func (m *Model) Legend() []string {
	return []string{
		"◂  drift: the version differs from the environment before",
		"⛨  protected: promoting or rolling back into it asks to type its name",
		"❄  frozen: no promotion into it until the freeze ends",
		"∅  the environment holds no app yet: P prepares it",
		components.HealthMark(release.Healthy) + " healthy  " + components.HealthMark(release.Progressing) + " progressing  " + components.HealthMark(release.Paused) + " paused  " +
			components.HealthMark(release.Degraded) + " degraded  " + components.HealthMark(release.Stalled) + " stalled  " + components.HealthMark(release.Missing) + " absent",
		components.HealthMark(release.Alerting) + "  alerting: an alert fires on it (its name is in the status line)",
		"n/m  ready pods of the current release / desired (old pods do not count)",
	}
}

// clip keeps the first h lines of s.
func clip(s string, h int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	return strings.Join(lines, "\n")
}

// Urgent reports whether a health asks for action: its reason is shown
// beside the selection.
func Urgent(h release.Health) bool { return h == release.Stalled || h == release.Alerting }
