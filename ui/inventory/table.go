package inventory

import (
	"fmt"
	"slices"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ui/components"
)

// column is one column of the host table; flex columns share the width
// left over by the others.
type column struct {
	title string
	width int
	flex  bool
	cell  func(r *inventory.Row, h *inventory.Host, m *Model) string
}

// columns in the order they are drawn, with the order they are dropped in
// when the pane is narrow: the higher prio, the longer a column stays.
var columns = []struct {
	column
	prio int
}{
	{column{"NAME", 18, false, func(r *inventory.Row, _ *inventory.Host, _ *Model) string { return r.Name }}, 10},
	{column{"STATUS", 7, false, func(r *inventory.Row, _ *inventory.Host, _ *Model) string { return r.Status }}, 9},
	{column{"REGION", 6, false, func(r *inventory.Row, _ *inventory.Host, _ *Model) string { return r.Region }}, 6},
	{column{"SIZE", 12, false, func(r *inventory.Row, _ *inventory.Host, _ *Model) string { return r.Size }}, 5},
	{column{"IMAGE", 13, false, func(r *inventory.Row, _ *inventory.Host, _ *Model) string { return r.Image }}, 1},
	{column{"PUBLIC IP", 15, false, func(r *inventory.Row, _ *inventory.Host, _ *Model) string { return r.PublicIPv4 }}, 8},
	{column{"PRIVATE IP", 15, false, func(r *inventory.Row, _ *inventory.Host, _ *Model) string { return r.PrivateIPv4 }}, 2},
	{column{"TAGS", 10, true, func(r *inventory.Row, _ *inventory.Host, _ *Model) string { return r.Tags }}, 7},
	{column{"AGE", 4, false, func(_ *inventory.Row, h *inventory.Host, m *Model) string {
		if h.Created.IsZero() {
			return ""
		}
		return since(h.Age(m.ctx.Now()))
	}}, 4},
	{column{"COST", 10, false, func(r *inventory.Row, _ *inventory.Host, _ *Model) string { return r.Cost }}, 3},
	{column{"VOLUMES", 10, true, func(r *inventory.Row, _ *inventory.Host, _ *Model) string { return r.Volumes }}, 0},
}

// mark is the width of the selection mark before each row.
const mark = 2

// layout picks the columns that fit width, by priority, and gives flex
// columns the rest.
func layout(width int) []column {
	order := make([]int, len(columns))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return columns[b].prio - columns[a].prio })
	keep := map[int]bool{}
	used := mark
	for _, i := range order {
		w := columns[i].width + 1
		if used+w > width && len(keep) > 0 {
			continue
		}
		keep[i] = true
		used += w
	}
	var out []column
	flex := 0
	for i, c := range columns {
		if keep[i] {
			out = append(out, c.column)
			if c.flex {
				flex++
			}
		}
	}
	rest := max(width-used, 0)
	for i := range out {
		if out[i].flex && flex > 0 {
			add := rest / flex
			out[i].width += add
			rest -= add
			flex--
		}
	}
	return out
}

func (m *Model) header() string {
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", mark))
	for i, c := range m.cols {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(components.Cell(c.title, c.width))
	}
	return ansi.Truncate(b.String(), m.width, "")
}

// plain is host j's row without styles or mark.
func (m *Model) plain(j int) string {
	r, h := &m.state.Rows[j], &m.state.Hosts[j]
	var b strings.Builder
	for i, c := range m.cols {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(components.Cell(c.cell(r, h, m), c.width))
	}
	return b.String()
}

func (m *Model) statusStyle(status string) lipgloss.Style {
	st := m.ctx.Styles
	switch status {
	case "active":
		return st.StatusOK
	case "off", "archive":
		return st.StatusCrit
	case "new":
		return st.StatusWarn
	}
	return st.StatusUnknown
}

// row is host j's styled row after mark, cached until the state, the
// width or the theme changes.
func (m *Model) row(j int, mk string) string {
	r, ok := m.rows[j]
	if !ok {
		st := m.ctx.Styles
		rw, h := &m.state.Rows[j], &m.state.Hosts[j]
		var b strings.Builder
		for i, c := range m.cols {
			if i > 0 {
				b.WriteString(st.Body.Render(" "))
			}
			text := components.Cell(c.cell(rw, h, m), c.width)
			if c.title == "STATUS" {
				b.WriteString(m.statusStyle(h.Status).Render(text))
			} else {
				b.WriteString(st.Body.Render(text))
			}
		}
		r = ansi.Truncate(b.String(), max(m.width-mark, 0), "")
		m.rows[j] = r
	}
	return m.ctx.Styles.Body.Render(mk) + r
}

// detailLines describe the host under the cursor.
func (m *Model) detailLines() []string {
	h, ok := m.Selected()
	if !ok {
		return nil
	}
	st := m.ctx.Styles
	label := func(s string) string { return st.TableHeader.Render(fmt.Sprintf("%-13s", s)) }
	created := ""
	if !h.Created.IsZero() {
		created = h.Created.In(m.ctx.Now().Location()).Format("2006-01-02 15:04") + " (" + since(h.Age(m.ctx.Now())) + " ago)"
	}
	lines := []string{
		label("name") + h.Name + fmt.Sprintf("  (id %d)", h.ID),
		label("status") + m.statusStyle(h.Status).Render(h.Status) + lockNote(h),
		label("region") + h.Region,
		label("size") + h.Size,
		label("image") + h.Image,
		label("public IPv4") + h.PublicIPv4,
		label("private IPv4") + h.PrivateIPv4,
		label("tags") + strings.Join(h.Tags, ", "),
		label("created") + created,
		label("cost") + fmt.Sprintf("$%.2f a month", h.PriceMonthly),
	}
	if h.Protected() {
		lines = append(lines, st.StatusWarn.Render("protected: vigil refuses to destroy this host"))
	}
	if b, ok := m.busy[h.Name]; ok {
		lines = append(lines, st.StatusWarn.Render("in progress: "+b))
	}
	vols := m.state.Volumes[h.ID]
	if len(vols) == 0 {
		lines = append(lines, "", st.Muted.Render("no block-storage volume attached"))
	} else {
		lines = append(lines, "", st.TableHeader.Render("volumes"))
		for _, v := range vols {
			lines = append(lines, fmt.Sprintf("  %s  %d GB  %s  %s", v.Name, v.SizeGB, v.Region, v.Filesystem))
		}
	}
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, m.width, "…")
	}
	return lines
}

func lockNote(h inventory.Host) string {
	if h.Locked {
		return "  (locked: an action is in progress)"
	}
	return ""
}
