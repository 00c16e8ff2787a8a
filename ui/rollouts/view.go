package rollouts

import (
	"fmt"
	"strings"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ui/components"
	"github.com/vigilops/vigil/ui/styles"
)

// Bar draws n of total as a bar w cells wide.
func Bar(n, total int32, w int) string {
	if w <= 0 {
		return ""
	}
	full := w
	if total > 0 {
		full = int(int64(min(max(n, 0), total)) * int64(w) / int64(total))
	}
	return strings.Repeat("█", full) + strings.Repeat("░", w-full)
}

// The list's layouts: wide from wideWidth cells, with the health spelled
// out; narrow below, with the health as a glyph and a shorter bar.
const wideWidth = 72

// newList declares the list of workloads: env, app, version (cut last), the
// progress bar and counts of the new revision's ready pods, health, the
// age of the last change, and who made it.
func (m *Model) newList() *components.Table[entry] {
	health := func(e entry, st *styles.Styles) lipgloss.Style { return components.HealthStyle(e.cell.Health, st) }
	muted := func(_ entry, st *styles.Styles) lipgloss.Style { return st.Muted }
	return &components.Table[entry]{
		Columns: []components.Column[entry]{
			{Title: "ENV", Value: func(e entry) string { return e.env }, Min: 3, Max: 16},
			{Title: "APP", Value: func(e entry) string { return e.app }, Min: 3, Max: 30},
			{Title: "VERSION", Value: func(e entry) string { return e.cell.Version }, Min: 7, Max: 40, CutLast: true},
			// The bar and counts are the new revision's ready pods, as the
			// detail's ready bar: a rollout whose new pods are not ready is not full.
			{Title: "PROGRESS", Value: func(e entry) string { return Bar(e.cell.Ready, e.cell.Desired, m.barWidth()) }, Min: 10, Max: 10, Style: health},
			{Title: "", Value: func(e entry) string { return fmt.Sprintf("%d/%d", e.cell.Ready, e.cell.Desired) }, Min: 7, Max: 7},
			{Title: "HEALTH", Value: func(e entry) string {
				if m.narrow {
					return components.HealthMark(e.cell.Health)
				}
				return string(e.cell.Health)
			}, Min: 12, Max: 12, Style: health},
			{Title: "AGE", Value: func(e entry) string {
				if w := e.cell.Workload; !w.ChangedAt.IsZero() {
					return components.Age(m.Ctx.Now().Sub(w.ChangedAt))
				}
				return ""
			}, Min: 5, Max: 5, Style: muted},
			{Title: "BY", Value: func(e entry) string { return by(e.cell.Workload) }, Flex: 1, Style: muted},
		},
		Key: func(e entry) string { return e.env + "/" + e.app },
	}
}

// setNarrow switches the list between its wide and narrow layouts.
func (m *Model) setNarrow(narrow bool) {
	m.narrow = narrow
	// Env, app and version take what their values need, the version cut
	// last; the others are fixed.
	widths := [][2]int{{3, 16}, {3, 30}, {7, 40}, {10, 10}, {7, 7}, {12, 12}, {5, 5}}
	if narrow {
		widths = [][2]int{{3, 16}, {3, 30}, {7, 40}, {6, 6}, {5, 5}, {2, 2}, {4, 4}}
	}
	for i, w := range widths {
		m.list.Columns[i].Min, m.list.Columns[i].Max = w[0], w[1]
	}
}

func (m *Model) barWidth() int { return m.list.Columns[3].Min }

// by names who made a workload's last change: vigil's promoter (and from
// where) or rollback, else the change-cause.
func by(w *release.Workload) string {
	switch {
	case w.PromotedBy != "" && w.PromotedFrom != "":
		return w.PromotedBy + " ← " + w.PromotedFrom
	case w.PromotedBy != "" && w.RolledBackFrom > 0:
		return w.PromotedBy + " ↶ rollback"
	case w.PromotedBy != "":
		return w.PromotedBy
	}
	return w.ChangeCause
}

// rebuild renders the open workload's detail (or the revision chooser)
// into lines, when it, the size or the theme changes.
func (m *Model) rebuild() {
	if m.mode == listMode || m.Width <= 0 {
		m.lines = nil
		return
	}
	m.built = m.Ctx.Now()
	var lines []string
	switch {
	case m.mode == chooseMode:
		lines = m.chooseLines()
	case m.page != livePage:
		lines = m.pageLines()
	default:
		lines = m.detailLines()
	}
	m.lines = m.lines[:0]
	for _, l := range lines {
		for _, w := range strings.Split(l, "\n") {
			m.lines = append(m.lines, ansi.Truncate(w, m.Width, "…"))
		}
	}
	m.scroll = max(min(m.scroll, len(m.lines)-m.Height), 0)
}

func (m *Model) section(title string) string { return "\n" + m.Ctx.Styles.TableHeader.Render(title) }

func (m *Model) detailLines() []string {
	st := m.Ctx.Styles
	now := m.Ctx.Now()
	title := st.Title.Render(m.app + " in " + m.env)
	if m.watchErr != nil {
		return []string{title, st.StatusCrit.Render(lipgloss.Wrap("cannot watch the rollout: "+m.watchErr.Error(), m.Width, " "))}
	}
	if m.detail == nil {
		return []string{title, st.Muted.Render("Reading the rollout…")}
	}
	d := m.detail
	w := &d.Workload
	a := &d.Assessment // the state the list and the matrix show too
	health := a.Health
	hs := components.HealthStyle(health, st)
	head := fmt.Sprintf("%s · %s · revision %d · %s · ", title, w.Kind, w.Revision, w.Version())
	lines := []string{head + hs.Render(components.HealthMark(health)+" "+string(health))}
	switch {
	case w.PromotedBy != "" && w.PromotedFrom == "" && w.RolledBackFrom > 0:
		lines = append(lines, st.Muted.Render(fmt.Sprintf("rolled back by %s from revision %d %s ago", w.PromotedBy, w.RolledBackFrom, components.Age(now.Sub(w.PromotedAt)))))
	case w.PromotedBy != "":
		lines = append(lines, st.Muted.Render(fmt.Sprintf("promoted by %s from %s %s ago", w.PromotedBy, w.PromotedFrom, components.Age(now.Sub(w.PromotedAt)))))
	}
	if w.ChangeCause != "" {
		lines = append(lines, st.Muted.Render("change-cause: "+w.ChangeCause))
	}
	for _, es := range m.envStates(m.env) {
		if es.Freeze.Active(now) {
			lines = append(lines, st.StatusWarn.Render(fmt.Sprintf("❄ %s is frozen by %s for %s more: %s", es.Name, es.Freeze.By, components.Age(es.Freeze.Until.Sub(now)), es.Freeze.Reason)))
		}
		if l := es.LockOf(m.app); l != nil && now.Before(l.Until) {
			lines = append(lines, st.StatusUnknown.Render(lipgloss.Wrap(components.LockText(es.LockSubject(l), l, now), m.Width, " ")))
		}
		if !es.Conn.Connected {
			lines = append(lines, st.StatusCrit.Render("⚠ "+components.ConnText(es.Conn, now)+" · this is the last data, retrying"))
		}
	}
	if d.Stall != "" {
		offer := "u rolls back"
		for _, r := range m.history {
			if !r.Current {
				offer = fmt.Sprintf("u rolls back to revision %d (%s)", r.Number, images(r.Containers))
				break
			}
		}
		lines = append(lines, st.StatusCrit.Render(lipgloss.Wrap("✗ stalled: "+d.Stall+" · "+offer, m.Width, " ")))
	}
	if len(a.Alerts) > 0 {
		lines = append(lines, st.StatusCrit.Render(lipgloss.Wrap(components.HealthMark(release.Alerting)+" "+alertsText(a.Alerts), m.Width, " ")))
	}
	if w.Paused {
		lines = append(lines, st.StatusUnknown.Render("‖ paused: space resumes"))
	}
	barW := max(min(m.Width-26, 40), 4)
	lines = append(lines, "")
	// The current revision's pods: those of older ReplicaSets do not count.
	for _, p := range []struct {
		name string
		n    int32
	}{{"updated", a.Updated}, {"ready", a.Ready}, {"available", a.Available}} {
		lines = append(lines, fmt.Sprintf("%-10s %s %d/%d", p.name, hs.Render(Bar(p.n, a.Desired, barW)), p.n, a.Desired))
	}
	lines = append(lines, m.section("REPLICASETS"))
	rs := func(label string, r release.ReplicaSet) string {
		return fmt.Sprintf("%-4s %s  rev %d  %s  ready %d/%d  %s", label, r.Name, r.Revision, images(r.Containers), r.Ready, r.Desired, components.Age(now.Sub(r.Created)))
	}
	if d.New != nil {
		lines = append(lines, rs("new", *d.New))
	}
	for _, r := range d.Old {
		lines = append(lines, st.Muted.Render(rs("old", r)))
	}
	if d.New == nil && len(d.Old) == 0 {
		lines = append(lines, st.Muted.Render("none"))
	}
	lines = append(lines, m.section("CONDITIONS"))
	for _, c := range w.Conditions {
		s := st.StatusOK
		if c.Status != "True" {
			s = st.StatusWarn
		}
		lines = append(lines, fmt.Sprintf("%-12s %s %s %s ago: %s", c.Type, s.Render(components.Cell(c.Status, 7)), c.Reason, components.Age(now.Sub(c.Updated)), c.Message))
	}
	if len(d.Pods) > 0 {
		lines = append(lines, m.section("PODS"))
		pods := m.podTable(now)
		pods.SetRows(d.Pods)
		pods.SetSize(m.Width, len(d.Pods)+1)
		lines = append(lines, pods.Lines(st)...)
	}
	lines = append(lines, m.section("EVENTS"))
	if len(d.Events) == 0 {
		lines = append(lines, st.Muted.Render("none recent"))
	} else {
		events := m.eventTable(now)
		events.SetRows(d.Events)
		events.SetSize(m.Width, events.Len()+1)
		shown := events.Lines(st)
		if len(shown) > 11 { // the header and the ten that matter most
			shown = append(shown[:11], st.Muted.Render(fmt.Sprintf("… %d more", len(shown)-11)))
		}
		lines = append(lines, shown...)
	}
	lines = append(lines, m.section("HISTORY"))
	switch {
	case m.histErr != nil:
		lines = append(lines, st.StatusCrit.Render("cannot read the history: "+m.histErr.Error()))
	case m.history == nil:
		lines = append(lines, st.Muted.Render("reading…"))
	}
	for _, r := range m.history {
		lines = append(lines, m.revisionLine(r))
	}
	return lines
}

// alertsText names the alerts firing on a workload, with their severity.
func alertsText(alerts []release.FiringAlert) string {
	parts := make([]string, len(alerts))
	for i, a := range alerts {
		parts[i] = a.Name
		if a.Severity != "" {
			parts[i] += " (" + a.Severity + ")"
		}
		if a.Acked {
			parts[i] += " acknowledged"
		}
	}
	return "firing: " + strings.Join(parts, ", ")
}

func (m *Model) revisionLine(r release.Revision) string {
	mark := " "
	if r.Current {
		mark = "●"
	}
	since := r.Created
	if !r.Since.IsZero() { // a restored revision: when it came back
		since = r.Since
	}
	s := fmt.Sprintf("%s %4d  %s  %s", mark, r.Number, images(r.Containers), components.Age(m.Ctx.Now().Sub(since)))
	if r.ChangeCause != "" {
		s += "  " + r.ChangeCause
	}
	return s
}

func (m *Model) chooseLines() []string {
	st := m.Ctx.Styles
	lines := []string{st.Title.Render(fmt.Sprintf("Roll %s in %s back to which revision?", m.app, m.env)),
		st.Muted.Render("↑/↓ choose · enter roll back · esc cancel"), ""}
	for i, r := range m.history {
		l := components.Cell(m.revisionLine(r), m.Width)
		if i == m.choice {
			l = st.TableSelected.Render(l)
		}
		lines = append(lines, l)
	}
	return lines
}

// envStates returns env's state in the matrix, when it has it.
func (m *Model) envStates(env string) []release.EnvState {
	if m.matrix == nil {
		return nil
	}
	for _, es := range m.matrix.Envs {
		if es.Name == env {
			return []release.EnvState{es}
		}
	}
	return nil
}

// Status summarises the pane for its frame title.
func (m *Model) Status() string {
	switch {
	case m.mode != listMode:
		return m.env + "/" + m.app
	case m.filterText != "":
		return fmt.Sprintf("%d of %d · filter %s", m.list.Len(), len(m.entries), m.filterText)
	}
	n := 0
	for _, e := range m.entries {
		if e.cell.Health != release.Healthy {
			n++
		}
	}
	s := fmt.Sprintf("%d unsettled · %d workloads", n, len(m.entries))
	// The selected rollout, whole: the list may cut it.
	if e, ok := m.Selected(); ok {
		s += " · " + e.env + "/" + e.app + " " + e.cell.Version
	}
	return s
}

// View draws the list's visible rows, or the detail's visible lines, and
// the prompt when one is open.
func (m *Model) View() string {
	if m.Width <= 0 || m.Height <= 0 {
		return ""
	}
	st := m.Ctx.Styles
	var out []string
	prompt := m.PromptLines()
	h := max(m.Height-len(prompt), 0)
	if m.mode != listMode {
		if m.Ctx.Now().Sub(m.built) >= timeStep {
			m.rebuild() // the ages moved
		}
		end := min(m.scroll+h, len(m.lines))
		out = append(out, m.lines[m.scroll:end]...)
	} else {
		msg := ""
		switch {
		case m.matrix == nil:
			msg = "Reading the clusters…"
		case len(m.entries) == 0:
			msg = "No workloads in the environments yet."
		case m.list.Len() == 0:
			msg = "No rollout matches the filter " + m.filterText + ": press / to change it, esc to clear it."
		}
		if msg != "" {
			out = append(out, strings.Split(st.Muted.Render(lipgloss.Wrap(msg, m.Width, " ")), "\n")...)
		} else {
			out = append(out, strings.Split(m.list.View(st), "\n")...)
		}
		if len(out) > h {
			out = out[:h]
		}
	}
	if prompt != nil {
		for len(out) < h {
			out = append(out, "")
		}
		out = append(out[:h], prompt...)
	}
	return strings.Join(out, "\n")
}

// podTable declares the detail's pods: why one is not ready (the waiting
// reason, the containers not ready) and how it last ended before a restart.
func (m *Model) podTable(now time.Time) *components.Table[release.Pod] {
	ready := func(p release.Pod) string {
		if p.Ready {
			return "ready"
		}
		if len(p.Unready) > 0 {
			return "not ready: " + strings.Join(p.Unready, ", ")
		}
		return "not ready"
	}
	readyStyle := func(p release.Pod, st *styles.Styles) lipgloss.Style {
		if p.Ready {
			return st.StatusOK
		}
		return st.StatusWarn
	}
	crit := func(_ release.Pod, st *styles.Styles) lipgloss.Style { return st.StatusCrit }
	return &components.Table[release.Pod]{
		Columns: []components.Column[release.Pod]{
			{Title: "POD", Value: func(p release.Pod) string { return p.Name }, Min: 8, CutLast: true},
			{Title: "READY", Value: ready, Min: 5, Max: 30, Style: readyStyle},
			{Title: "PHASE", Value: func(p release.Pod) string { return p.Phase }, Min: 5, Prio: 1},
			{Title: "RESTARTS", Value: func(p release.Pod) string { return fmt.Sprint(p.Restarts) }, Min: 8, Max: 8, Right: true, Prio: 2},
			{Title: "AGE", Value: func(p release.Pod) string { return components.Age(now.Sub(p.Created)) }, Min: 4, Max: 4, Prio: 2},
			{Title: "NODE", Value: func(p release.Pod) string { return p.Node }, Min: 4, Max: 20},
			{Title: "REASON", Value: func(p release.Pod) string { return p.Reason }, Min: 6, Prio: 3, Style: crit},
			{Title: "LAST EXIT", Value: func(p release.Pod) string {
				if p.LastExit == "" {
					return ""
				}
				return p.LastExit + ", " + components.Age(now.Sub(p.LastExitAt)) + " ago"
			}, Min: 9, Flex: 1, Prio: 2},
		},
		Key: func(p release.Pod) string { return p.Name },
	}
}

// eventTable declares the detail's events of the workload, its ReplicaSets
// and its pods: warnings first, then the newest, with their count.
func (m *Model) eventTable(now time.Time) *components.Table[release.Event] {
	kind := func(e release.Event, st *styles.Styles) lipgloss.Style {
		if e.Type == "Warning" {
			return st.StatusWarn
		}
		return st.Body
	}
	return &components.Table[release.Event]{
		Columns: []components.Column[release.Event]{
			{Title: "AGE", Value: func(e release.Event) string { return components.Age(now.Sub(e.Last)) }, Min: 4, Max: 4},
			{Title: "TYPE", Value: func(e release.Event) string { return e.Type }, Min: 7, Max: 7, Style: kind},
			{Title: "REASON", Value: func(e release.Event) string { return e.Reason }, Min: 6, Max: 24},
			{Title: "OBJECT", Value: func(e release.Event) string { return e.Object }, Min: 6, Max: 40, Prio: 1},
			{Title: "COUNT", Value: func(e release.Event) string { return fmt.Sprint(max(e.Count, 1)) }, Min: 5, Max: 5, Right: true, Prio: 2},
			{Title: "MESSAGE", Value: func(e release.Event) string { return e.Message }, Min: 10, Flex: 1, Style: kind},
		},
		Key: func(e release.Event) string { return e.Object + "\x00" + e.Reason + "\x00" + e.Message },
		Less: func(a, b release.Event) bool {
			if wa, wb := a.Type == "Warning", b.Type == "Warning"; wa != wb {
				return wa
			}
			return a.Last.After(b.Last)
		},
	}
}
