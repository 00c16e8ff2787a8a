package alerts

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ui/components"
)

// silenceList is Alertmanager's silences, active first.
type silenceList struct {
	items []incident.Silence
	components.Cursor
}

func (l *silenceList) set(items []incident.Silence) {
	l.items = items
	l.Pos = max(min(l.Pos, len(items)-1), 0)
}

func (l *silenceList) clamp(height int) { l.Clamp(len(l.items), height-1) } // minus the header

// Silences are Alertmanager's silences as the pane lists them.
func (m *Model) Silences() []incident.Silence { return m.silences.items }

func (m *Model) silencesKey(k tea.KeyPressMsg) tea.Cmd {
	l := &m.silences
	if pos, ok := m.keys.Nav().Move(k, l.Pos, len(l.items), m.Height); ok {
		l.Pos = pos
		l.clamp(m.Height)
		return nil
	}
	switch {
	case key.Matches(k, m.keys.Back.Binding), key.Matches(k, m.keys.Silences.Binding):
		m.mode = listMode
	case key.Matches(k, m.keys.Unack.Binding):
		if len(l.items) == 0 {
			return nil
		}
		s := l.items[min(l.Pos, len(l.items)-1)]
		if s.State == "expired" {
			return nil
		}
		return m.confirmExpire(s.ID, "The alerts it mutes will notify again. "+matchers(s)+" by "+s.CreatedBy+": "+s.Comment)
	}
	l.clamp(m.Height)
	return nil
}

func matchers(s incident.Silence) string {
	parts := make([]string, len(s.Matchers))
	for i, mt := range s.Matchers {
		parts[i] = mt.String()
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func (l *silenceList) view(m *Model) string {
	st := m.Ctx.Styles
	if len(l.items) == 0 {
		return st.Muted.Render(lipgloss.Wrap("No silence in Alertmanager. esc goes back to the alerts.", m.Width, " "))
	}
	now := m.Ctx.Now()
	var b strings.Builder
	cw := 24
	if m.Width >= 100 {
		cw = 36
	}
	b.WriteString(st.TableHeader.Render(ansi.Truncate(cell("STATE", 8)+" "+cell("ENDS", 5)+" "+cell("BY", 12)+" "+cell("ID", 10)+" "+cell("COMMENT", cw)+" MATCHERS", m.Width, "")))
	end := min(l.Offset+max(m.Height-1, 1), len(l.items))
	for i := l.Offset; i < end; i++ {
		s := l.items[i]
		ends := "-"
		if s.State != "expired" {
			ends = components.Age(s.EndsAt.Sub(now))
		}
		text := ansi.Truncate(cell(s.State, 8)+" "+cellRight(ends, 5)+" "+cell(s.CreatedBy, 12)+" "+cell(s.ID, 10)+" "+cell(oneLine(s.Comment), cw)+" "+matchers(s), m.Width, "…")
		b.WriteByte('\n')
		switch {
		case i == l.Pos:
			b.WriteString(st.TableSelected.Render(text))
		case s.State == "expired":
			b.WriteString(st.Muted.Render(text))
		default:
			b.WriteString(st.Body.Render(text))
		}
	}
	return b.String()
}
