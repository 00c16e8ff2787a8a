package components

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// Cell fits s to exactly w cells, for a table column: cut with an
// ellipsis, or padded with spaces; nothing when w is not positive.
func Cell(s string, w int) string {
	if w <= 0 {
		return ""
	}
	s = ansi.Truncate(s, w, "…")
	if sw := ansi.StringWidth(s); sw < w {
		s += strings.Repeat(" ", w-sw)
	}
	return s
}
