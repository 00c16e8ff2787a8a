package components

import (
	"slices"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ui/styles"
)

// Column is one column of a Table over rows of type R.
type Column[R any] struct {
	Title string
	// Value is the cell's plain text; Style, when set, colours it.
	Value func(R) string
	Style func(R, *styles.Styles) lipgloss.Style
	// Min and Max bound the column's width (Max 0: as wide as its widest
	// value). Flex columns share the width left over, by weight.
	Min, Max, Flex int
	// CutLast marks values cut only once every other column is at its
	// Min: versions and tags, which say what runs.
	CutLast bool
	Right   bool
	// Prio orders the columns left out when even their Min do not fit:
	// the lowest first, then from the right.
	Prio int
}

// Table is a list of rows of type R laid out in columns that take the width
// their values need before anything is cut. Its cursor follows a row's key,
// not its index, when rows change under it. Filtering and sorting happen
// when rows or the filter change, never in View.
type Table[R any] struct {
	Columns []Column[R]
	Key     func(R) string
	// Less sorts the rows; nil keeps their order.
	Less func(a, b R) bool

	all    []R
	rows   []R          // shown, filtered and sorted
	keep   func(R) bool // the filter; nil shows every row
	cursor Cursor
	widths []int
	width  int
	height int // rows shown, header excluded
}

// SetRows replaces the rows, keeping the cursor on the row it was on when
// that row is still there.
func (t *Table[R]) SetRows(rows []R) {
	keep, had := t.selectedKey()
	t.all = rows
	t.refresh(keep, had)
}

// SetFilter shows the rows keep keeps; nil shows them all.
func (t *Table[R]) SetFilter(keep func(R) bool) {
	sel, had := t.selectedKey()
	t.keep = keep
	t.refresh(sel, had)
}

// SetSize sets the cells the table draws in, its header included.
func (t *Table[R]) SetSize(width, height int) {
	t.width, t.height = width, max(height-1, 1)
	t.layout()
	t.cursor.Clamp(len(t.rows), t.height)
}

// KeyPress moves the cursor for k and reports whether k was a move.
func (t *Table[R]) KeyPress(k tea.KeyPressMsg, nav Nav) bool {
	return t.cursor.Key(k, nav, len(t.rows), t.height)
}

// Selected is the row under the cursor.
func (t *Table[R]) Selected() (R, bool) {
	if len(t.rows) == 0 {
		var zero R
		return zero, false
	}
	return t.rows[t.cursor.Pos], true
}

// Select puts the cursor on the row with key, and reports whether it is shown.
func (t *Table[R]) Select(key string) bool {
	i := slices.IndexFunc(t.rows, func(r R) bool { return t.Key(r) == key })
	if i < 0 {
		return false
	}
	t.cursor.Pos = i
	t.cursor.Follow(len(t.rows), t.height)
	return true
}

// Cursor is the row under the cursor and the first row in view, among
// the rows shown.
func (t *Table[R]) Cursor() Cursor { return t.cursor }

// Rows are the rows shown, filtered and sorted.
func (t *Table[R]) Rows() []R { return t.rows }

// Len is the number of rows shown.
func (t *Table[R]) Len() int { return len(t.rows) }

func (t *Table[R]) selectedKey() (string, bool) {
	if r, ok := t.Selected(); ok {
		return t.Key(r), true
	}
	return "", false
}

func (t *Table[R]) refresh(keep string, had bool) {
	t.rows = t.rows[:0]
	for _, r := range t.all {
		if t.keep == nil || t.keep(r) {
			t.rows = append(t.rows, r)
		}
	}
	if t.Less != nil {
		slices.SortStableFunc(t.rows, func(a, b R) int {
			switch {
			case t.Less(a, b):
				return -1
			case t.Less(b, a):
				return 1
			}
			return 0
		})
	}
	if !had || !t.Select(keep) {
		t.cursor.Clamp(len(t.rows), t.height)
	}
	t.layout()
}

// layout gives each column the width its widest value needs within its
// bounds; what is left goes to the flex columns. When the values do not
// fit, columns are cut down to their Min from the right, the CutLast ones
// after the others, and columns that still do not fit are left out, the
// lowest Prio first.
func (t *Table[R]) layout() {
	n := len(t.Columns)
	want := make([]int, n)
	for i, c := range t.Columns {
		w := ansi.StringWidth(c.Title)
		if c.Min > 0 && c.Min == c.Max { // fixed: no need to measure
			want[i] = c.Min
			continue
		}
		for _, r := range t.all {
			w = max(w, ansi.StringWidth(c.Value(r)))
		}
		if c.Max > 0 {
			w = min(w, c.Max)
		}
		want[i] = max(w, c.Min)
	}
	t.widths = want
	room := t.width - (n - 1) // one space between columns
	total := 0
	for _, w := range want {
		total += w
	}
	if total <= room {
		t.spread(room - total)
		return
	}
	over := total - room
	for _, last := range []bool{false, true} {
		for i := n - 1; i >= 0 && over > 0; i-- {
			c := t.Columns[i]
			if c.CutLast != last {
				continue
			}
			cut := min(t.widths[i]-min(c.Min, t.widths[i]), over)
			t.widths[i] -= cut
			over -= cut
		}
	}
	drop := make([]int, n)
	for i := range drop {
		drop[i] = n - 1 - i
	}
	slices.SortStableFunc(drop, func(a, b int) int { return t.Columns[a].Prio - t.Columns[b].Prio })
	for _, i := range drop {
		if over <= 0 {
			break
		}
		over -= t.widths[i] + 1
		t.widths[i] = 0
	}
	// What dropping freed beyond the need goes to the flex columns.
	t.spread(-over)
}

// spread gives extra cells to the flex columns, by weight.
func (t *Table[R]) spread(extra int) {
	weight := 0
	for i, c := range t.Columns {
		if t.widths[i] > 0 {
			weight += c.Flex
		}
	}
	if weight == 0 || extra <= 0 {
		return
	}
	given := 0
	last := -1
	for i, c := range t.Columns {
		if c.Flex > 0 && t.widths[i] > 0 {
			add := extra * c.Flex / weight
			t.widths[i] += add
			given += add
			last = i
		}
	}
	t.widths[last] += extra - given
}

// Widths are the columns' widths at the current size; 0 for a column left out.
func (t *Table[R]) Widths() []int { return t.widths }

// View draws the header and the rows in view, the selected one highlighted.
func (t *Table[R]) View(st *styles.Styles) string {
	var b strings.Builder
	titles := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		titles[i] = c.Title
	}
	b.WriteString(st.TableHeader.Render(t.line(titles, nil, st)))
	end := min(t.cursor.Offset+t.height, len(t.rows))
	for i := t.cursor.Offset; i < end; i++ {
		r := &t.rows[i]
		vals := make([]string, len(t.Columns))
		for j, c := range t.Columns {
			vals[j] = c.Value(*r)
		}
		b.WriteByte('\n')
		if i == t.cursor.Pos {
			b.WriteString(st.TableSelected.Render(t.line(vals, nil, st)))
			continue
		}
		b.WriteString(t.line(vals, r, st))
	}
	return b.String()
}

// Lines draws the header and every row, none selected: a table inside a
// detail that scrolls as a whole.
func (t *Table[R]) Lines(st *styles.Styles) []string {
	titles := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		titles[i] = c.Title
	}
	out := []string{st.TableHeader.Render(t.line(titles, nil, st))}
	for i := range t.rows {
		vals := make([]string, len(t.Columns))
		for j, c := range t.Columns {
			vals[j] = c.Value(t.rows[i])
		}
		out = append(out, t.line(vals, &t.rows[i], st))
	}
	return out
}

// line lays out one row's values in the columns' widths. For a row r, the
// cells of columns with a Style take it, and the others, with the spaces
// between them, the body's.
func (t *Table[R]) line(vals []string, r *R, st *styles.Styles) string {
	var b, plain strings.Builder
	flush := func() {
		if plain.Len() > 0 {
			b.WriteString(st.Body.Render(plain.String()))
			plain.Reset()
		}
	}
	first := true
	for i, v := range vals {
		w := t.widths[i]
		if w <= 0 {
			continue
		}
		if !first {
			plain.WriteByte(' ')
		}
		first = false
		c := t.Columns[i]
		cell := Cell(v, w)
		if sw := ansi.StringWidth(v); c.Right && sw < w {
			cell = strings.Repeat(" ", w-sw) + v
		}
		if r == nil || c.Style == nil {
			plain.WriteString(cell)
			continue
		}
		flush()
		b.WriteString(c.Style(*r, st).Render(cell))
	}
	if r == nil {
		return plain.String()
	}
	flush()
	return b.String()
}
