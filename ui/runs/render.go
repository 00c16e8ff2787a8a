package runs

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ops/playbook"
	"github.com/vigilops/vigil/ui/components"
)

func num(n int) string {
	if n == 0 {
		return "·"
	}
	return fmt.Sprint(n)
}

func joinCells(cells []string, widths []int) string {
	var b strings.Builder
	for i, s := range cells {
		if widths[i] <= 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(components.Cell(s, widths[i]))
	}
	return b.String()
}

// recapLine sums a recap over its hosts.
func recapLine(rc map[string]playbook.Recap) string {
	var t playbook.Recap
	for _, r := range rc {
		t.OK += r.OK
		t.Changed += r.Changed
		t.Failed += r.Failed
		t.Unreachable += r.Unreachable
	}
	s := fmt.Sprintf("%d hosts ok %d ch %d", len(rc), t.OK, t.Changed)
	if t.Failed+t.Unreachable > 0 {
		s += fmt.Sprintf(" fail %d", t.Failed+t.Unreachable)
	}
	return s
}

func (m *Model) stateStyle(state playbook.State) lipgloss.Style {
	st := m.Ctx.Styles
	switch state {
	case playbook.Succeeded:
		return st.StatusOK
	case playbook.Failed, playbook.Errored:
		return st.StatusCrit
	case playbook.Running:
		return st.StatusWarn
	}
	return st.StatusUnknown
}

// rebuild renders the open run's header and rows (the history is a Table).
func (m *Model) rebuild() {
	if m.view == execsView || m.view == execView {
		m.rebuildExec()
		return
	}
	if m.view != listView {
		m.rebuildRun()
	}
	if m.view == eventsView || m.view == eventView {
		m.rebuildEvents()
	}
}

// host columns: host, task (flex), last, then the seven recap counts.
var recapTitles = []string{"OK", "CHANGED", "UNREACH", "FAILED", "SKIPPED", "RESCUED", "IGNORED"}

func hostCols(w int) (host, task, last, count int) {
	host, last, count = 18, 9, 8
	if w < 100 {
		host, last, count = 14, 0, 4
	}
	fixed := host + 1 + len(recapTitles)*(count+1)
	if last > 0 {
		fixed += last + 1
	}
	return host, max(w-fixed-1, 0), last, count
}

func hostHeader(w int) string {
	host, task, last, count := hostCols(w)
	titles := recapTitles
	if count < 7 {
		titles = []string{"ok", "chg", "unr", "fail", "skip", "resc", "ign"}
	}
	cells := append([]string{"HOST", "TASK", "LAST"}, titles...)
	widths := []int{host, task, last}
	for range titles {
		widths = append(widths, count)
	}
	return ansi.Truncate(joinCells(cells, widths), w, "")
}

func (m *Model) rebuildRun() {
	st := m.Ctx.Styles
	r := m.open
	head := fmt.Sprintf("%s · %s · %s · by %s · ", r.Playbook, r.Target, r.Mode, r.Actor)
	var second string
	if m.live {
		total := "?"
		if m.progress.TasksTotal > 0 {
			total = fmt.Sprint(m.progress.TasksTotal)
		}
		head += fmt.Sprintf("tasks %d/%s", m.progress.TasksDone, total)
		second = "play " + m.progress.Play + " · task " + m.progress.Task
	} else {
		head += fmt.Sprintf("%d tasks", r.Tasks)
		if !r.Ended.IsZero() {
			head += " in " + r.Ended.Sub(r.Started).Round(time.Second).String()
		}
		if r.RerunOf != "" {
			second = "rerun of the failed hosts of " + r.RerunOf
		}
	}
	m.head = []string{ansi.Truncate(st.TableHeader.Render(head)+" "+m.stateStyle(r.State).Render(string(r.State)), m.Width, "…")}
	if second != "" {
		m.head = append(m.head, st.Muted.Render(ansi.Truncate(second, m.Width, "…")))
	}
	if r.Error != "" {
		m.head = append(m.head, st.StatusCrit.Render(ansi.Truncate(r.Error, m.Width, "…")))
	}
	for _, h := range slices.Sorted(maps.Keys(r.KeysRecorded)) {
		line := "first contact with " + h + ": its SSH host key " + r.KeysRecorded[h] + " is now trusted"
		m.head = append(m.head, st.StatusWarn.Render(ansi.Truncate(line, m.Width, "…")))
	}
	if m.live && m.progress.TasksTotal > 0 && m.Width > 10 {
		m.head = append(m.head, bar(m.progress.TasksDone, m.progress.TasksTotal, m.Width, st.StatusOK, st.Muted))
	}

	set := map[string]bool{}
	for h := range r.Recap {
		set[h] = true
	}
	for h := range m.progress.Hosts {
		if m.live {
			set[h] = true
		}
	}
	m.hosts = slices.Sorted(maps.Keys(set))
	hw, tw, lw, cw := hostCols(m.Width)
	m.hostRows = m.hostRows[:0]
	for _, h := range m.hosts {
		rc := r.Recap[h]
		var task, last string
		if hp, ok := m.progress.Hosts[h]; ok && m.live {
			task, last = hp.Task, string(hp.Last)
		}
		counts := []int{rc.OK, rc.Changed, rc.Unreachable, rc.Failed, rc.Skipped, rc.Rescued, rc.Ignored}
		var b strings.Builder
		b.WriteString(st.Body.Render(components.Cell(h, hw) + " "))
		if tw > 0 {
			b.WriteString(st.Body.Render(components.Cell(task, tw) + " "))
		}
		if lw > 0 {
			b.WriteString(m.statusStyle(playbook.Status(last)).Render(components.Cell(last, lw)) + " ")
		}
		for i, n := range counts {
			text := components.Cell(num(n), cw)
			switch {
			case n > 0 && (i == 2 || i == 3):
				text = st.StatusCrit.Render(text)
			case n > 0 && i == 1:
				text = st.StatusWarn.Render(text)
			default:
				text = st.Body.Render(text)
			}
			if i > 0 {
				b.WriteString(" ")
			}
			b.WriteString(text)
		}
		m.hostRows = append(m.hostRows, ansi.Truncate(b.String(), m.Width, ""))
	}
	m.hostList.Pos = max(min(m.hostList.Pos, len(m.hosts)-1), 0)
}

// bar is a progress bar of done out of total across width cells.
func bar(done, total, width int, on, off lipgloss.Style) string {
	label := fmt.Sprintf(" %d%%", 100*done/total)
	w := max(width-len(label), 1)
	fill := min(w*done/total, w)
	return on.Render(strings.Repeat("█", fill)) + off.Render(strings.Repeat("░", w-fill)) + label
}

func (m *Model) statusStyle(s playbook.Status) lipgloss.Style {
	st := m.Ctx.Styles
	switch s {
	case playbook.StatusOK:
		return st.StatusOK
	case playbook.StatusChanged:
		return st.StatusWarn
	case playbook.StatusFailed, playbook.StatusUnreachable:
		return st.StatusCrit
	}
	return st.Muted
}

// rebuildEvents renders the drill-down rows: host, status, task, message.
func (m *Model) rebuildEvents() {
	st := m.Ctx.Styles
	hw, sw := 16, 11
	// The task column takes what its longest name needs before it is cut,
	// leaving the message at least a third of the rest: the message shows
	// whole in the detail (enter).
	avail := max(m.Width-hw-sw-3, 0)
	widest := 0
	for _, e := range m.events {
		widest = max(widest, ansi.StringWidth(e.Task))
	}
	tw := max(min(widest, avail-avail/3), min(30, (m.Width-hw-sw)/2), 0)
	mw := max(avail-tw, 0)
	m.evRows = m.evRows[:0]
	for _, e := range m.events {
		msg := strings.Join(strings.Fields(e.Msg), " ")
		line := st.Body.Render(components.Cell(e.Host, hw)+" ") + m.statusStyle(e.Status).Render(components.Cell(string(e.Status), sw)) +
			st.Body.Render(" "+components.Cell(e.Task, tw)+" "+components.Cell(msg, mw))
		m.evRows = append(m.evRows, ansi.Truncate(line, m.Width, ""))
	}
	m.evList.Follow(len(m.events), m.Height-1)
	if m.view == eventView {
		m.rebuildDetail()
	}
}

// rebuildDetail lays out the result under the cursor: msg, stdout, stderr, diff.
func (m *Model) rebuildDetail() {
	if len(m.events) == 0 {
		m.detail = nil
		return
	}
	e := m.events[min(m.evList.Pos, len(m.events)-1)]
	st := m.Ctx.Styles
	switch {
	case m.full.Seq == e.Seq:
		e = m.full
	case m.evErr != nil:
		m.detail = []string{st.StatusCrit.Render(ansi.Truncate("the result could not be read: "+m.evErr.Error(), m.Width, "…"))}
		return
	default:
		m.detail = []string{st.Muted.Render("Reading the result…")}
		return
	}
	label := func(s string) string { return st.TableHeader.Render(fmt.Sprintf("%-8s", s)) }
	lines := []string{
		label("host") + e.Host,
		label("task") + e.Task,
		label("module") + e.Action,
		label("status") + m.statusStyle(e.Status).Render(string(e.Status)),
		label("time") + e.Time.In(m.Ctx.Now().Location()).Format(time.DateTime),
	}
	for _, f := range []struct{ name, text string }{{"msg", e.Msg}, {"stdout", e.Stdout}, {"stderr", e.Stderr}, {"diff", e.Diff}} {
		if f.text == "" {
			continue
		}
		lines = append(lines, "", st.TableHeader.Render(f.name))
		for _, l := range strings.Split(strings.TrimRight(f.text, "\n"), "\n") {
			lines = append(lines, strings.Split(lipgloss.Wrap(strings.ReplaceAll(l, "\t", "    "), max(m.Width, 1), " "), "\n")...)
		}
	}
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, m.Width, "…")
	}
	m.detail = lines
}
