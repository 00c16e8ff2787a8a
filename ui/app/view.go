package app

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
)

// frame is the layout for the current size, focus and theme, with the
// parts of the screen that change only with those rendered in advance.
type frame struct {
	w, h         int
	tabs, status bool // whether the tab bar and the status bar fit
	boxed        bool // whether the pane gets a border
	bodyH        int  // rows between the tab bar and the status bar
	paneW, paneH int

	tabBar      string
	statusLeft  string // the focused pane's short help
	health      string
	side        string // the border's "│"
	bottom      string // the border's bottom line
	border      func(...string) string
	emptyInside string
}

// shortNames are the status bar's names for the integrations.
var shortNames = map[string]string{
	"digitalocean": "do", "ansible": "ansible", "kubernetes": "k8s", "prometheus": "prom", "alertmanager": "am",
	journalHealth: "journal",
}

// layout recomputes the frame and the panes' sizes. It runs on resize,
// focus, theme and health changes, never while drawing.
func (m *Model) layout() {
	w, h := max(m.ctx.Width, 0), max(m.ctx.Height, 0)
	st := m.ctx.Styles
	f := frame{w: w, h: h, tabs: h >= 3, status: h >= 2}
	f.bodyH = h
	if f.tabs {
		f.bodyH--
	}
	if f.status {
		f.bodyH--
	}
	f.boxed = f.bodyH >= 3 && w >= 8
	f.paneW, f.paneH = w, f.bodyH
	if f.boxed {
		f.paneW, f.paneH = w-2, f.bodyH-2
		f.border = st.Frame.Render
		f.side = f.border("│")
		f.bottom = f.border("╰" + strings.Repeat("─", w-2) + "╯")
		f.emptyInside = strings.Repeat(" ", f.paneW)
	}
	for _, s := range m.slots {
		s.pane.SetSize(f.paneW, f.paneH)
	}
	m.palette.SetWidth(w)
	m.filter.SetWidth(w)
	if m.confirm != nil {
		m.confirm.SetWidth(w)
	}

	// Tab bar and identity.
	tabs := make([]components.Tab, len(m.slots))
	for i, s := range m.slots {
		tabs[i] = components.Tab{Title: s.pane.Title()}
		if b, ok := s.pane.(Badged); ok {
			tabs[i].Badge = b.Badge()
		}
		if s.key > 0 {
			tabs[i].Key = fmt.Sprint(s.key)
		}
	}
	who := st.StatusBar.Render(" " + m.ctx.Actor.Name + " · " + string(m.ctx.Actor.Role) + " ")
	if m.ctx.Guard.ReadOnly {
		who = st.StatusWarn.Render(" READ-ONLY ") + who
	}
	right := m.presenceView() + who
	left := components.Tabs(tabs, m.active, max(w-ansi.StringWidth(right)-1, 0), st)
	f.tabBar = components.Bar(left, right, w)

	// Status bar: the pane's keys, then the global ones.
	if p := m.Pane(); p != nil {
		m.help.SetWidth(w)
		keys := append(p.KeyMap().ShortHelp(), common.Keys(m.keys.Filter, m.keys.Help, m.keys.Palette, m.keys.Quit)...)
		f.statusLeft = " " + m.help.ShortHelpView(keys)
	}
	m.frame = f
	m.frame.health = m.healthView()
	if m.showHelp {
		m.renderHelp()
	}
}

// presenceView names the other administrators connected to vigil serve and
// where they are, and what one of them is doing right now, if anything:
// "alice is rolling back api in prod · +2 bob:Alerts carol:Activity".
func (m *Model) presenceView() string {
	others := m.presence.Others()
	if len(others) == 0 {
		return ""
	}
	st := m.ctx.Styles
	var b strings.Builder
	for _, e := range m.presence.InProgress() {
		if e.ID != m.presence.Self {
			b.WriteString(st.StatusWarn.Render(" "+e.Doing()+" ") + " ·")
			break
		}
	}
	fmt.Fprintf(&b, " +%d", len(others))
	for _, e := range others {
		b.WriteString(" " + e.Actor.Name)
		if e.Pane != "" {
			b.WriteString(":" + e.Pane)
		}
	}
	b.WriteString(" ")
	return b.String()
}

// healthView shows each configured integration that has reported: a mark
// for its state and, unless it is healthy, for how long.
func (m *Model) healthView() string {
	st := m.ctx.Styles
	var b strings.Builder
	if n := len(m.inFlight); n > 0 {
		f := m.inFlight[n-1]
		what := "⟳ " + f.what + " " + components.Age(m.ctx.Now().Sub(f.since))
		if n > 1 {
			what += fmt.Sprintf(" (+%d)", n-1)
		}
		b.WriteString(st.StatusWarn.Render(what) + "  ")
	}
	names := m.ctx.Config.Integrations()
	if m.journalShared() {
		names = append(names, journalHealth)
	}
	for _, name := range names {
		h, ok := m.health[name]
		if !ok {
			continue
		}
		mark, style := "●", st.StatusOK
		switch h.State {
		case common.Degraded:
			mark, style = "▲", st.StatusWarn
		case common.Down:
			mark, style = "✗", st.StatusCrit
		}
		b.WriteString(shortNames[name] + " " + style.Render(mark))
		if h.State != common.Healthy && !h.Since.IsZero() {
			b.WriteString(" " + components.Age(m.ctx.Now().Sub(h.Since)))
		}
		b.WriteString("  ")
	}
	return b.String()
}

// View draws the screen. It only assembles what Update prepared.
func (m *Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = m.notify.title()
	return v
}

func (m *Model) render() string {
	f := &m.frame
	if f.w <= 0 || f.h <= 0 {
		return ""
	}
	var b strings.Builder
	b.Grow(f.w * f.h * 3) // box-drawing characters take 3 bytes
	if f.tabs {
		b.WriteString(f.tabBar)
		b.WriteByte('\n')
	}
	m.body(&b)
	if f.status {
		b.WriteString(m.bottomLine())
	}
	screen := strings.TrimSuffix(b.String(), "\n")
	return m.overlays(screen)
}

// body writes the focused pane, in its border when there is room, exactly
// bodyH lines, each cut to the pane's width.
func (m *Model) body(b *strings.Builder) {
	f := &m.frame
	p := m.Pane()
	content := ""
	title := ""
	if p != nil {
		content = p.View()
		title = p.Title()
		if s := p.Status(); s != "" {
			title += " · " + s
		}
	}
	if f.boxed {
		title = ansi.Truncate(title, max(f.w-6, 0), "…")
		fill := max(f.w-4-ansi.StringWidth(title), 0)
		b.WriteString(f.border("╭ ") + m.ctx.Styles.Title.Render(title) + f.border(" "+strings.Repeat("─", fill)+"╮"))
		b.WriteByte('\n')
	}
	rows := 0
	for line := range strings.SplitSeq(content, "\n") {
		if rows == f.paneH {
			break
		}
		m.paneLine(b, line)
		rows++
	}
	for ; rows < f.paneH; rows++ {
		m.paneLine(b, "")
	}
	if f.boxed {
		b.WriteString(f.bottom)
		b.WriteByte('\n')
	}
}

func (m *Model) paneLine(b *strings.Builder, line string) {
	f := &m.frame
	w := components.Width(line)
	if w > f.paneW {
		line = ansi.Truncate(line, f.paneW, "…")
		w = components.Width(line) // a wide character may leave a cell free
	}
	if f.boxed {
		b.WriteString(f.side)
		b.WriteString(line)
		b.WriteString(f.emptyInside[:f.paneW-w])
		b.WriteString(f.side)
	} else {
		b.WriteString(line)
	}
	b.WriteByte('\n')
}

func (m *Model) bottomLine() string {
	f := &m.frame
	switch {
	case m.palette.Active():
		return m.palette.View(f.w)
	case m.filter.Active():
		return m.filter.View(f.w)
	}
	clock := m.ctx.Styles.StatusBar.Render(" " + m.ctx.Now().Format("15:04") + " ")
	return components.Bar(f.statusLeft, f.health+clock, f.w)
}

// overlays draws, over the screen: palette matches, toasts, help, dialog.
func (m *Model) overlays(screen string) string {
	f := &m.frame
	st := m.ctx.Styles
	if f.w < 10 || f.h < 4 {
		return screen
	}
	bottom := f.h - 1 // the row of the status bar
	if m.palette.Active() {
		if s := m.palette.SuggestionsView(f.w, min(6, bottom), st); s != "" {
			screen = components.Overlay(screen, s, 0, bottom-strings.Count(s, "\n")-1)
		}
	}
	if m.toasts.Len() > 0 {
		s := m.toasts.View(min(f.w, 70), st)
		w := 0
		for l := range strings.SplitSeq(s, "\n") {
			w = max(w, ansi.StringWidth(l))
		}
		screen = components.Overlay(screen, s, f.w-w, max(bottom-strings.Count(s, "\n")-1, 0))
	}
	var box string
	switch {
	case m.confirm != nil:
		box = m.confirm.View(f.w, st)
	case m.showHelp:
		box = m.helpBox
	default:
		return screen
	}
	lines := strings.Split(box, "\n")
	bw := 0
	for _, l := range lines {
		bw = max(bw, ansi.StringWidth(l))
	}
	if len(lines) > f.h {
		box = strings.Join(lines[:f.h], "\n")
	}
	return components.Overlay(screen, box, max((f.w-bw)/2, 0), max((f.h-len(lines))/2, 0))
}

func (m *Model) openHelp() {
	m.showHelp, m.helpOff = true, 0
	m.renderHelp()
}

// renderHelp renders the help overlay: the focused pane's keys, the global
// keys and the palette's commands, from their KeyMaps and command table.
// The columns wrap to the next row when the screen is narrow, and the
// lines scroll when it is short.
func (m *Model) renderHelp() {
	st := m.ctx.Styles
	inner := max(min(m.frame.w-4, 110), 6)
	var groups [][]key.Binding
	title := "Help"
	if p := m.Pane(); p != nil {
		groups = append(groups, p.KeyMap().FullHelp()...)
		title += " · " + p.Title()
	}
	groups = append(groups, m.keys.helpGroup(m.slots))
	var cmds []key.Binding
	for _, s := range m.reg.Specs() {
		k := ":" + s.Name
		if s.Args != "" {
			k += " " + s.Args
		}
		cmds = append(cmds, key.NewBinding(key.WithKeys(s.Name), key.WithHelp(k, s.Help)))
	}
	m.help.SetWidth(0) // columns are packed below, not cut
	body := m.packColumns(groups, inner)
	if p := m.Pane(); p != nil {
		// Disabled keys are gone from the columns above: say why here.
		var off []string
		for _, b := range p.Bindings() {
			if !b.Enabled() && b.Why != "" {
				off = append(off, st.HelpKey.Render(b.Help().Key)+" "+st.Muted.Render(b.Why))
			}
		}
		if len(off) > 0 {
			body += "\n\n" + st.TableHeader.Render("Not allowed") + "\n" + strings.Join(off, "\n")
		}
		if l, ok := p.(Legender); ok {
			body += "\n\n" + st.TableHeader.Render("Legend") + "\n" + strings.Join(l.Legend(), "\n")
		}
		if h, ok := p.(HelpSectioner); ok {
			if title, lines := h.HelpSection(); title != "" {
				body += "\n\n" + st.TableHeader.Render(title) + "\n" + strings.Join(lines, "\n")
			}
		}
	}
	body += "\n\n" + st.TableHeader.Render("Commands") + "\n" + m.packColumns([][]key.Binding{cmds}, inner)
	lines := strings.Split(body, "\n")
	footer := "? or esc closes · keys are remappable, see docs/keys.md"
	// Title, footer, two blank lines and the border take 6 rows.
	if room := max(m.frame.h-6, 1); len(lines) > room {
		m.helpOff = min(m.helpOff, len(lines)-room)
		lines = lines[m.helpOff : m.helpOff+room]
		footer = fmt.Sprintf("↑/↓ scroll (%d more) · ", len(strings.Split(body, "\n"))-room) + footer
	} else {
		m.helpOff = 0
	}
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, inner, "…")
	}
	footer = st.Muted.Render(ansi.Truncate(footer, inner, "…"))
	m.helpBox = components.Box(st.DialogTitle.Render(ansi.Truncate(title, inner, "…"))+"\n\n"+strings.Join(lines, "\n")+"\n\n"+footer, inner, st)
}

// packColumns renders each group as a help column and lays the columns
// side by side, starting a new row when the next does not fit in width.
func (m *Model) packColumns(groups [][]key.Binding, width int) string {
	const gap = "    "
	var rows, cur []string
	curW := 0
	for _, g := range groups {
		col := m.help.FullHelpView([][]key.Binding{g})
		if col == "" {
			continue
		}
		cw := lipgloss.Width(col)
		if len(cur) > 0 && curW+len(gap)+cw > width {
			rows = append(rows, lipgloss.JoinHorizontal(lipgloss.Top, cur...))
			cur, curW = nil, 0
		}
		if len(cur) > 0 {
			cur = append(cur, gap)
			curW += len(gap)
		}
		cur = append(cur, col)
		curW += cw
	}
	if len(cur) > 0 {
		rows = append(rows, lipgloss.JoinHorizontal(lipgloss.Top, cur...))
	}
	return strings.Join(rows, "\n\n")
}
