package components

import (
	"testing"

	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/uitest"
)

func testNav() Nav {
	return Nav{
		Up:       common.NewBinding("t.up", "k", "up", "k"),
		Down:     common.NewBinding("t.down", "j", "down", "j"),
		PageUp:   common.NewBinding("t.page_up", "u", "page up", "u"),
		PageDown: common.NewBinding("t.page_down", "d", "page down", "d"),
		Top:      common.NewBinding("t.top", "g", "top", "g"),
		Bottom:   common.NewBinding("t.bottom", "G", "bottom", "G"),
	}
}

func TestCursorKey(t *testing.T) {
	tests := []struct {
		name      string
		from      Cursor
		key       string
		n, height int
		want      Cursor
		moved     bool
	}{
		{"down", Cursor{0, 0}, "j", 10, 4, Cursor{1, 0}, true},
		{"down scrolls at the last row shown", Cursor{3, 0}, "j", 10, 4, Cursor{4, 1}, true},
		{"down stops at the last row", Cursor{9, 6}, "j", 10, 4, Cursor{9, 6}, true},
		{"up stops at the first row", Cursor{0, 0}, "k", 10, 4, Cursor{0, 0}, true},
		{"up scrolls above the first row shown", Cursor{4, 4}, "k", 10, 4, Cursor{3, 3}, true},
		{"page down", Cursor{1, 0}, "d", 10, 4, Cursor{5, 2}, true},
		{"page down stops at the last row", Cursor{8, 6}, "d", 10, 4, Cursor{9, 6}, true},
		{"page up", Cursor{9, 6}, "u", 10, 4, Cursor{5, 5}, true},
		{"page up stops at the first row", Cursor{2, 0}, "u", 10, 4, Cursor{0, 0}, true},
		{"top", Cursor{7, 6}, "g", 10, 4, Cursor{0, 0}, true},
		{"bottom", Cursor{0, 0}, "G", 10, 4, Cursor{9, 6}, true},
		{"bottom of fewer rows than the height", Cursor{0, 0}, "G", 3, 4, Cursor{2, 0}, true},
		{"no rows", Cursor{0, 0}, "j", 0, 4, Cursor{0, 0}, true},
		{"a zero height shows one row", Cursor{0, 0}, "j", 10, 0, Cursor{1, 1}, true},
		{"another key", Cursor{3, 1}, "x", 10, 4, Cursor{3, 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.from
			if moved := c.Key(uitest.Key(tt.key), testNav(), tt.n, tt.height); moved != tt.moved || c != tt.want {
				t.Errorf("%+v after %q among %d rows, %d high: %+v, moved %v; want %+v, moved %v",
					tt.from, tt.key, tt.n, tt.height, c, moved, tt.want, tt.moved)
			}
		})
	}
}

func TestCursorClamp(t *testing.T) {
	tests := []struct {
		name      string
		from      Cursor
		n, height int
		want      Cursor
	}{
		{"in view", Cursor{2, 1}, 10, 4, Cursor{2, 1}},
		{"rows removed", Cursor{8, 6}, 5, 4, Cursor{4, 1}},
		{"all rows removed", Cursor{8, 6}, 0, 4, Cursor{0, 0}},
		{"taller view", Cursor{9, 6}, 10, 8, Cursor{9, 2}},
		{"shorter view", Cursor{7, 4}, 10, 2, Cursor{7, 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.from
			if c.Clamp(tt.n, tt.height); c != tt.want {
				t.Errorf("%+v clamped to %d rows, %d high: %+v; want %+v", tt.from, tt.n, tt.height, c, tt.want)
			}
		})
	}
}

func TestNavScroll(t *testing.T) {
	tests := []struct {
		key       string
		off, n, h int
		want      int
		moved     bool
	}{
		{"j", 0, 20, 5, 1, true},
		{"j", 15, 20, 5, 15, true},
		{"k", 0, 20, 5, 0, true},
		{"d", 3, 20, 5, 8, true},
		{"d", 12, 20, 5, 15, true},
		{"u", 3, 20, 5, 0, true},
		{"g", 9, 20, 5, 0, true},
		{"G", 0, 20, 5, 15, true},
		{"G", 0, 3, 5, 0, true},
		{"G", 0, 20, 0, 20, true},
		{"x", 4, 20, 5, 4, false},
	}
	for _, tt := range tests {
		if got, moved := testNav().Scroll(uitest.Key(tt.key), tt.off, tt.n, tt.h); got != tt.want || moved != tt.moved {
			t.Errorf("%q from %d of %d lines, %d high: %d, moved %v; want %d, moved %v",
				tt.key, tt.off, tt.n, tt.h, got, moved, tt.want, tt.moved)
		}
	}
}

func TestNavMove(t *testing.T) {
	nav := testNav()
	if got, ok := nav.Move(uitest.Key("G"), 0, 7, 3); got != 6 || !ok {
		t.Errorf("bottom of 7: %d, %v; want 6, true", got, ok)
	}
	if got, ok := nav.Move(uitest.Key("d"), 5, 7, 3); got != 6 || !ok {
		t.Errorf("page down from 5 of 7: %d, %v; want 6, true", got, ok)
	}
	if got, ok := nav.Move(uitest.Key("enter"), 5, 7, 3); got != 5 || ok {
		t.Errorf("enter: %d, %v; want 5, false", got, ok)
	}
}

func TestCursorFollowLeavesThePosition(t *testing.T) {
	c := Cursor{Pos: 12, Offset: 0}
	if c.Follow(8, 4); c != (Cursor{12, 4}) {
		t.Errorf("following row 12 of 8, 4 high: %+v, want {12 4}", c)
	}
	c = Cursor{Pos: 2, Offset: 5}
	if c.Follow(20, 4); c != (Cursor{2, 2}) {
		t.Errorf("following row 2 from 5: %+v, want {2 2}", c)
	}
}
