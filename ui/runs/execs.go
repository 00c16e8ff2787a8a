package runs

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ops/playbook"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
	"github.com/vigilops/vigil/ui/styles"
)

// ExecsTarget is the GotoMsg target that shows the ad-hoc commands.
// "execs:ID" also opens the first command of this session's actor newer
// than command ID as soon as it shows ("execs:" when there was none): the
// Inventory's :exec starts one just after its jump.
const ExecsTarget = "execs"

// newExecTable declares the list of ad-hoc commands.
func (m *Model) newExecTable() *components.Table[playbook.Exec] {
	loc := m.Ctx.Now().Location()
	return &components.Table[playbook.Exec]{
		Columns: []components.Column[playbook.Exec]{
			{Title: "STARTED", Value: func(e playbook.Exec) string { return e.Started.In(loc).Format(m.started) }, Min: len(wideTime), Max: len(wideTime)},
			{Title: "COMMAND", Value: func(e playbook.Exec) string { return e.Command }, Min: 10, Flex: 1},
			{Title: "TARGET", Value: func(e playbook.Exec) string { return e.Target.String() }, Min: 6, Max: 30},
			{Title: "ACTOR", Value: func(e playbook.Exec) string { return e.Actor }, Min: 5, Max: 12, Prio: -1},
			{Title: "STATE", Value: execState, Min: 8, Max: 16,
				Style: func(e playbook.Exec, _ *styles.Styles) lipgloss.Style { return m.execStyle(e) }},
		},
		Key: func(e playbook.Exec) string { return e.ID },
	}
}

// execState is an ad-hoc command's state in a word or two.
func execState(e playbook.Exec) string {
	switch f := e.Failed(); {
	case e.Running():
		return "running"
	case e.Error != "" && len(e.Results) == 0:
		return "error"
	case len(f) > 0:
		return fmt.Sprintf("failed %d/%d", len(f), len(e.Results))
	case e.Error != "":
		return "error"
	}
	return "ok"
}

func (m *Model) execStyle(e playbook.Exec) lipgloss.Style {
	st := m.Ctx.Styles
	switch execState(e) {
	case "running":
		return st.StatusWarn
	case "ok":
		return st.StatusOK
	}
	return st.StatusCrit
}

// showExecs opens the list of ad-hoc commands; with await set, the first
// of this session's newer than command after opens as soon as it shows.
func (m *Model) showExecs(await bool, after string) {
	m.view, m.awaitExec, m.awaiting = execsView, after, await
	m.openAwaited()
}

// openAwaited opens the awaited command once it shows.
func (m *Model) openAwaited() {
	if !m.awaiting || m.view != execsView {
		return
	}
	end := slices.IndexFunc(m.execs, func(e playbook.Exec) bool { return e.ID == m.awaitExec })
	if end < 0 {
		end = len(m.execs)
	}
	for i := end - 1; i >= 0; i-- {
		if e := m.execs[i]; e.Actor == m.Ctx.Actor.String() {
			m.awaiting = false
			m.execTable.Select(e.ID)
			m.openExecView(e.ID)
			return
		}
	}
}

// refreshExecs reads the ad-hoc commands; the service's getter copies.
func (m *Model) refreshExecs() {
	m.execs = m.svc.Execs()
	m.execTable.SetRows(m.execs)
	m.openAwaited()
	if m.view == execView {
		m.rebuildExec()
	}
}

func (m *Model) openExecView(id string) {
	m.view, m.execID, m.execOff = execView, id, 0
	m.rebuildExec()
}

// theExec is the ad-hoc command the exec view shows.
func (m *Model) theExec() (playbook.Exec, bool) {
	i := slices.IndexFunc(m.execs, func(e playbook.Exec) bool { return e.ID == m.execID })
	if i < 0 {
		return playbook.Exec{}, false
	}
	return m.execs[i], true
}

func (m *Model) execsKey(k tea.KeyPressMsg) tea.Cmd {
	if m.execTable.KeyPress(k, m.keys.Nav()) {
		return nil
	}
	switch {
	case key.Matches(k, m.keys.Open.Binding):
		if e, ok := m.execTable.Selected(); ok {
			m.openExecView(e.ID)
		}
	case key.Matches(k, m.keys.Back.Binding):
		m.view, m.awaiting = listView, false
		if m.jumped {
			m.jumped = false
			return common.Back
		}
	}
	return nil
}

func (m *Model) execKey(k tea.KeyPressMsg) tea.Cmd {
	if key.Matches(k, m.keys.Back.Binding) {
		m.view = execsView
		return nil
	}
	m.execOff, _ = m.keys.Nav().Scroll(k, m.execOff, len(m.execLines), m.Height)
	return nil
}

// toggleExecs switches between the runs and the ad-hoc commands.
func (m *Model) toggleExecs() tea.Cmd {
	if m.view == execsView || m.view == execView {
		m.view, m.jumped = listView, false
	} else {
		m.showExecs(false, "")
	}
	return nil
}

// rebuildExec lays out the open command: who ran what where, then each
// host's exit code, stdout and stderr.
func (m *Model) rebuildExec() {
	st := m.Ctx.Styles
	e, ok := m.theExec()
	if !ok {
		m.execLines = []string{st.Muted.Render("This command is no longer among the recent ones: the journal keeps it (Activity pane).")}
		return
	}
	loc := m.Ctx.Now().Location()
	head := fmt.Sprintf("`%s` on %s · by %s · %s", e.Command, e.Target, e.Actor, e.Started.In(loc).Format(time.TimeOnly))
	if !e.Running() {
		head += " · " + e.Ended.Sub(e.Started).Round(10*time.Millisecond).String()
	}
	lines := []string{st.TableHeader.Render(head) + " " + m.execStyle(e).Render(execState(e))}
	if e.Error != "" {
		lines = append(lines, st.StatusCrit.Render(e.Error))
	}
	for _, h := range slices.Sorted(maps.Keys(e.KeysRecorded)) {
		lines = append(lines, st.StatusWarn.Render("first contact with "+h+": its SSH host key "+e.KeysRecorded[h]+" is now trusted"))
	}
	if e.Running() {
		for _, h := range e.Hosts {
			lines = append(lines, "", st.Body.Render(components.Cell(h, 18))+" "+st.StatusWarn.Render("running…"))
		}
	}
	for _, r := range e.Results {
		rc := fmt.Sprintf("rc %d", r.RC)
		if r.RC < 0 {
			rc = "did not run"
		}
		line := st.Body.Render(components.Cell(r.Host, 18)+" ") + m.statusStyle(r.Status).Render(components.Cell(string(r.Status), 11)) +
			" " + m.rcStyle(r).Render(rc)
		if r.Duration > 0 {
			line += st.Muted.Render("  " + r.Duration.Round(10*time.Millisecond).String())
		}
		lines = append(lines, "", line)
		for _, f := range []struct{ name, text string }{{"stdout", r.Stdout}, {"stderr", r.Stderr}, {"msg", r.Msg}} {
			if f.text == "" || f.name == "msg" && r.Status == playbook.StatusFailed && r.Msg == "non-zero return code" {
				continue
			}
			lines = append(lines, "  "+st.Muted.Render(f.name))
			for _, l := range strings.Split(strings.TrimRight(f.text, "\n"), "\n") {
				wrapped := lipgloss.Wrap(strings.ReplaceAll(l, "\t", "    "), max(m.Width-4, 1), " ")
				for _, w := range strings.Split(wrapped, "\n") {
					lines = append(lines, "    "+w)
				}
			}
		}
		if r.Truncated {
			lines = append(lines, "  "+st.StatusWarn.Render(fmt.Sprintf("output cut at %d KiB", playbook.MaxOutput>>10)))
		}
	}
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, m.Width, "…")
	}
	m.execLines = lines
}

func (m *Model) rcStyle(r playbook.HostOutput) lipgloss.Style {
	if r.RC == 0 {
		return m.Ctx.Styles.StatusOK
	}
	return m.Ctx.Styles.StatusCrit
}
