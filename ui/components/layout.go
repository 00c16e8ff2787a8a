package components

import (
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ui/styles"
)

// Overlay draws fg over bg with its top-left corner at column x, row y.
// Both are lines of styled text; what falls outside bg is cut off.
// lipgloss's Canvas does the same cell by cell; cutting lines is cheaper
// for the few overlays the shell shows.
func Overlay(bg, fg string, x, y int) string {
	lines := strings.Split(bg, "\n")
	for i, fl := range strings.Split(fg, "\n") {
		row := y + i
		if row < 0 || row >= len(lines) {
			continue
		}
		bl := lines[row]
		bw := ansi.StringWidth(bl)
		left := ansi.Truncate(bl, x, "")
		if lw := ansi.StringWidth(left); lw < x {
			left += strings.Repeat(" ", x-lw)
		}
		fw := ansi.StringWidth(fl)
		right := ""
		if x+fw < bw {
			right = ansi.TruncateLeft(bl, x+fw, "")
		}
		lines[row] = left + "\x1b[m" + fl + "\x1b[m" + right
	}
	return strings.Join(lines, "\n")
}

// Tab is one entry of the tab bar.
type Tab struct {
	Key   string // "1"…"7", "" for none
	Title string
	// Badge follows the title ("2 crit"); an inactive tab keeps it, and
	// its key, when the bar is too narrow for every title.
	Badge string
}

// Tabs renders the tab bar with tab active highlighted, in width: when the
// titles do not all fit, inactive tabs with a key show only it and their
// badge; what still does not fit is cut.
func Tabs(tabs []Tab, active, width int, st *styles.Styles) string {
	bar := tabBar(tabs, active, false, st)
	if ansi.StringWidth(bar) > width {
		bar = tabBar(tabs, active, true, st)
	}
	return ansi.Truncate(bar, width, "…")
}

func tabBar(tabs []Tab, active int, compact bool, st *styles.Styles) string {
	var b strings.Builder
	for i, t := range tabs {
		text := t.Title
		if compact && i != active && t.Key != "" {
			text = ""
		}
		if t.Badge != "" {
			text = strings.TrimSpace(text + " " + t.Badge)
		}
		label := " " + text + " "
		if t.Key != "" {
			label = " " + strings.TrimSpace(t.Key+" "+text) + " "
		}
		if i == active {
			b.WriteString(st.TabActive.Render(label))
		} else {
			b.WriteString(st.TabInactive.Render(label))
		}
	}
	return b.String()
}

// Bar puts left and right on one line of exactly width cells, cutting
// left first and then right when both do not fit.
func Bar(left, right string, width int) string {
	lw, rw := ansi.StringWidth(left), ansi.StringWidth(right)
	if rw > width {
		right, rw = ansi.TruncateLeft(right, rw-width, ""), width
	}
	if lw+rw+1 > width {
		left = ansi.Truncate(left, max(width-rw-1, 0), "…")
		lw = ansi.StringWidth(left)
	}
	gap := max(width-lw-rw, 0)
	return left + strings.Repeat(" ", gap) + right
}

// Width is the display width of a line of styled text. Lines of ASCII and
// SGR sequences, most of what panes draw, are measured by counting bytes;
// others go through ansi.StringWidth, whose grapheme segmentation is most
// of the cost of drawing a frame.
func Width(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 0x80:
			return ansi.StringWidth(s)
		case c == 0x1b:
			if i+1 >= len(s) || s[i+1] != '[' {
				return ansi.StringWidth(s)
			}
			// Skip an SGR sequence, ESC [ digits ; : m; anything else
			// is left to ansi.
			i += 2
			for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == ';' || s[i] == ':') {
				i++
			}
			if i >= len(s) || s[i] != 'm' {
				return ansi.StringWidth(s)
			}
		case c >= 0x20 && c < 0x7f:
			n++
		default:
			return ansi.StringWidth(s)
		}
	}
	return n
}
