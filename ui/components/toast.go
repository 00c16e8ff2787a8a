package components

import (
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/styles"
)

// How long toasts stay: errors longer, so they can be read.
const (
	InfoToastTTL  = 4 * time.Second
	ErrorToastTTL = 8 * time.Second
	maxToasts     = 3
)

type toast struct {
	id    int
	level common.ToastLevel
	text  string
}

// toastExpiredMsg removes the toast id once its time is up.
type toastExpiredMsg struct{ id int }

// Toasts is the stack of short messages shown above the status bar.
type Toasts struct {
	items  []toast
	nextID int
}

// Push shows a toast and returns the command that will expire it.
func (t *Toasts) Push(m common.ToastMsg) tea.Cmd {
	t.nextID++
	id := t.nextID
	t.items = append(t.items, toast{id: id, level: m.Level, text: strings.Join(strings.Fields(m.Text), " ")})
	if len(t.items) > maxToasts {
		t.items = t.items[len(t.items)-maxToasts:]
	}
	ttl := InfoToastTTL
	if m.Level == common.Error {
		ttl = ErrorToastTTL
	}
	return tea.Tick(ttl, func(time.Time) tea.Msg { return toastExpiredMsg{id: id} })
}

// Update removes expired toasts; it reports whether msg was the toasts'.
func (t *Toasts) Update(msg tea.Msg) bool {
	e, ok := msg.(toastExpiredMsg)
	if !ok {
		return false
	}
	for i, it := range t.items {
		if it.id == e.id {
			t.items = append(t.items[:i], t.items[i+1:]...)
			break
		}
	}
	return true
}

// Len is the number of toasts shown.
func (t *Toasts) Len() int { return len(t.items) }

// Texts are the toasts shown, oldest first.
func (t *Toasts) Texts() []string {
	out := make([]string, len(t.items))
	for i, it := range t.items {
		out[i] = it.text
	}
	return out
}

// View renders the toasts, each wrapped to at most width cells and never
// cut: a long message takes more lines. The lines are padded to one width,
// so that the stack overlays the screen as a block.
func (t *Toasts) View(width int, st *styles.Styles) string {
	if len(t.items) == 0 || width < 4 {
		return ""
	}
	type line struct {
		style lipgloss.Style
		text  string
	}
	var lines []line
	w := 0
	for _, it := range t.items {
		style, mark := st.Body, "• "
		switch it.level {
		case common.Success:
			style, mark = st.StatusOK, "✓ "
		case common.Error:
			style, mark = st.StatusCrit, "✗ "
		}
		for i, l := range strings.Split(ansi.Wrap(mark+it.text, width-4, ""), "\n") {
			if i > 0 {
				l = "  " + strings.TrimLeft(l, " ") // under the text, not the mark
			}
			l = strings.TrimRight(l, " ")
			w = max(w, ansi.StringWidth(l))
			lines = append(lines, line{style, l})
		}
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		pad := strings.Repeat(" ", w-ansi.StringWidth(l.text))
		out[i] = st.DialogBody.Render(" " + l.style.Render(l.text) + pad + " ")
	}
	return strings.Join(out, "\n")
}
