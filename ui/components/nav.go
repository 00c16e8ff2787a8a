package components

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/vigilops/vigil/ui/common"
)

// Nav are the bindings that move a cursor through a list or scroll a text:
// a row, a page, or to either end.
type Nav struct {
	Up, Down, PageUp, PageDown, Top, Bottom *common.Binding
}

// move returns where pos goes for k, a page being page rows and the end
// being last, and whether k is one of nav's keys. It does not clamp.
func (nav Nav) move(k tea.KeyPressMsg, pos, page, last int) (int, bool) {
	switch {
	case key.Matches(k, nav.Down.Binding):
		return pos + 1, true
	case key.Matches(k, nav.Up.Binding):
		return pos - 1, true
	case key.Matches(k, nav.PageDown.Binding):
		return pos + page, true
	case key.Matches(k, nav.PageUp.Binding):
		return pos - page, true
	case key.Matches(k, nav.Top.Binding):
		return 0, true
	case key.Matches(k, nav.Bottom.Binding):
		return last, true
	}
	return pos, false
}

// Move returns where a cursor at pos goes for k among n rows, a page being
// page rows, kept on a row; ok is false when k is none of nav's keys.
func (nav Nav) Move(k tea.KeyPressMsg, pos, n, page int) (to int, ok bool) {
	to, ok = nav.move(k, pos, page, n-1)
	return max(min(to, n-1), 0), ok
}

// Scroll returns the first line shown of a text of n lines, height lines at
// a time, once k moved it from off; ok is false when k is none of nav's
// keys. A page is height lines, and the last page ends on the last line.
func (nav Nav) Scroll(k tea.KeyPressMsg, off, n, height int) (to int, ok bool) {
	to, ok = nav.move(k, off, height, n)
	return max(min(to, n-height), 0), ok
}

// Cursor is the row under the cursor in a list and the first row shown.
type Cursor struct{ Pos, Offset int }

// Key moves the cursor for k among n rows shown height at a time, a page
// being height rows, keeps it in view, and reports whether k was one of
// nav's keys.
func (c *Cursor) Key(k tea.KeyPressMsg, nav Nav, n, height int) bool {
	pos, ok := nav.Move(k, c.Pos, n, height)
	if ok {
		c.Pos = pos
		c.Clamp(n, height)
	}
	return ok
}

// Clamp keeps the cursor on one of n rows and the offset showing it among
// height rows, with no blank rows after the last.
func (c *Cursor) Clamp(n, height int) {
	c.Pos = max(min(c.Pos, n-1), 0)
	c.Follow(n, height)
}

// Follow moves the offset as little as it takes to show the row under the
// cursor among height rows (at least one) of n, with no blank rows after
// the last; it leaves the cursor where it is.
func (c *Cursor) Follow(n, height int) {
	h := max(height, 1)
	if c.Pos < c.Offset {
		c.Offset = c.Pos
	}
	if c.Pos >= c.Offset+h {
		c.Offset = c.Pos - h + 1
	}
	c.Offset = max(min(c.Offset, n-h), 0)
}
