package inventory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ops/refresh"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
)

// refreshTimeout bounds a whole data refresh: snapshot, copy, two volume
// actions, a playbook and a hook's Job.
const refreshTimeout = 30 * time.Minute

// refreshView follows the data refresh of this session, or the last one
// read from its state file.
type refreshView struct {
	st      refresh.State
	running bool
	err     error
}

type refreshPlanMsg struct {
	st  *refresh.State
	err error
}

type refreshStartedMsg struct{ st refresh.State }

type refreshProgressMsg struct {
	st   refresh.State
	feed <-chan refresh.State
}

type refreshDoneMsg struct {
	st  *refresh.State
	err error
}

type refreshLoadedMsg struct {
	st  *refresh.State
	err error
}

type oldVolumesMsg struct {
	target string
	vols   []inventory.Volume
	err    error
}

func (m *Model) refreshSvc() (*refresh.Service, error) {
	if s := m.Ctx.Services.Refresh; s != nil {
		return s, nil
	}
	return nil, errors.New("no data refresh: name each environment's data host and volume under data in the config (vigil config init shows one)")
}

// RefreshData plans a refresh of target from source (or finds the one to
// resume), then asks to type target's name before it runs.
func (m *Model) RefreshData(target, source string) tea.Cmd {
	svc, err := m.refreshSvc()
	if err != nil {
		return common.ToastCmd(common.Error, err.Error())
	}
	if r := m.refresh; r != nil && r.running {
		return common.ToastCmd(common.Error, "a data refresh is running ("+r.st.Target+"): press "+m.keys.DataRefresh.Help().Key+" to follow it")
	}
	base := m.Ctx.Base
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, planTimeout)
		defer cancel()
		st, err := svc.Plan(ctx, target, source)
		return refreshPlanMsg{st: st, err: err}
	}
}

func (m *Model) onRefreshPlan(msg refreshPlanMsg) tea.Cmd {
	if msg.err != nil {
		return common.ToastCmd(common.Error, "refresh-data: "+msg.err.Error())
	}
	st := msg.st
	var b strings.Builder
	if len(st.Runs) > 0 {
		fmt.Fprintf(&b, "Resumes refresh %s at step %d/%d (%s)", st.ID, st.Next, refresh.NumSteps, st.Next.Name())
		if st.Err != "" {
			fmt.Fprintf(&b, ", where it stopped: %s", st.Err)
		}
		b.WriteString(".\n\n")
	}
	for s := refresh.StepSnapshot; int(s) <= refresh.NumSteps; s++ {
		mark := "  "
		if s < st.Next {
			mark = "✓ "
		}
		fmt.Fprintf(&b, "%s%d. %s\n", mark, s, st.Describe(s))
	}
	b.WriteString("\nThe old volume is kept, detached: delete it later with " + m.keys.DeleteOldVolume.Help().Key + " in the refresh view.")
	svc, _ := m.refreshSvc()
	actor, base := m.Ctx.Actor, m.Ctx.Base
	feed := make(chan refresh.State, 64)
	start := func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, refreshTimeout)
		defer cancel()
		out, err := svc.Run(ctx, actor, st, func(x refresh.State) {
			select {
			case feed <- x:
			default: // the view is behind; the last state comes with refreshDoneMsg
			}
		})
		close(feed)
		return refreshDoneMsg{st: out, err: err}
	}
	started := *st
	run := tea.Batch(func() tea.Msg { return refreshStartedMsg{st: started} }, start, refreshProgressCmd(feed))
	return m.Ctx.Confirm(refresh.Confirmation(st), b.String(), run)
}

func refreshProgressCmd(feed <-chan refresh.State) tea.Cmd {
	return func() tea.Msg {
		st, ok := <-feed
		if !ok {
			return nil
		}
		return refreshProgressMsg{st: st, feed: feed}
	}
}

func (m *Model) onRefreshStarted(msg refreshStartedMsg) tea.Cmd {
	m.refresh = &refreshView{st: msg.st, running: true}
	m.refreshing, m.watching = true, false
	m.closeDetail()
	return nil
}

func (m *Model) onRefreshProgress(msg refreshProgressMsg) tea.Cmd {
	if r := m.refresh; r != nil && r.running {
		r.st = msg.st
	}
	return refreshProgressCmd(msg.feed)
}

func (m *Model) onRefreshDone(msg refreshDoneMsg) tea.Cmd {
	if m.refresh == nil {
		m.refresh = &refreshView{}
	}
	r := m.refresh
	r.running, r.err = false, msg.err
	if msg.st != nil {
		r.st = *msg.st
	}
	if msg.err != nil {
		return common.ToastCmd(common.Error, msg.err.Error())
	}
	return common.ToastCmd(common.Success, r.st.Status()+": old volume kept, "+m.keys.DeleteOldVolume.Help().Key+" in the refresh view deletes it")
}

// toggleRefresh opens or closes the refresh view; with no refresh in this
// session it reads the latest refresh's state file first.
func (m *Model) toggleRefresh() tea.Cmd {
	if m.refresh != nil {
		m.refreshing = !m.refreshing
		if m.refreshing {
			m.watching = false
			m.closeDetail()
		}
		return nil
	}
	svc, err := m.refreshSvc()
	if err != nil {
		return common.ToastCmd(common.Error, err.Error())
	}
	return func() tea.Msg {
		var latest *refresh.State
		var errs []error
		for _, env := range svc.Environments() {
			st, err := svc.Load(env)
			if err != nil {
				errs = append(errs, err)
			}
			if st != nil && (latest == nil || st.Started.After(latest.Started)) {
				latest = st
			}
		}
		return refreshLoadedMsg{st: latest, err: errors.Join(errs...)}
	}
}

func (m *Model) onRefreshLoaded(msg refreshLoadedMsg) tea.Cmd {
	switch {
	case msg.st == nil && msg.err != nil:
		return common.ToastCmd(common.Error, msg.err.Error())
	case msg.st == nil:
		return common.ToastCmd(common.Info, "no data refresh yet: :refresh-data TARGET from SOURCE starts one")
	}
	if m.refresh == nil { // a refresh started meanwhile wins
		m.refresh = &refreshView{st: *msg.st}
	}
	m.refreshing, m.watching = true, false
	m.closeDetail()
	return nil
}

// deleteOldVolume lists the target's old data volumes, then asks to type
// the first one's name.
func (m *Model) deleteOldVolume() tea.Cmd {
	svc, err := m.refreshSvc()
	if err != nil {
		return common.ToastCmd(common.Error, err.Error())
	}
	if m.refresh == nil {
		return common.ToastCmd(common.Info, "open a data refresh first: "+m.keys.DataRefresh.Help().Key)
	}
	target, base := m.refresh.st.Target, m.Ctx.Base
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, planTimeout)
		defer cancel()
		vols, err := svc.OldVolumes(ctx, target)
		return oldVolumesMsg{target: target, vols: vols, err: err}
	}
}

func (m *Model) onOldVolumes(msg oldVolumesMsg) tea.Cmd {
	switch {
	case msg.err != nil:
		return common.ToastCmd(common.Error, "old volumes of "+msg.target+": "+msg.err.Error())
	case len(msg.vols) == 0:
		return common.ToastCmd(common.Info, msg.target+" has no old data volume: none is detached")
	}
	v := msg.vols[0]
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%d GB, %s, created %s) is deleted with its data; its snapshots stay.", v.Name, v.SizeGB, v.Region, v.Created.Format("2006-01-02 15:04"))
	if len(msg.vols) > 1 {
		fmt.Fprintf(&b, "\n\n%d more old volumes of %s are kept; each is deleted apart.", len(msg.vols)-1, msg.target)
	}
	svc, _ := m.refreshSvc()
	actor, target := m.Ctx.Actor, msg.target
	run := m.snapshotDo("delete old volume "+v.Name, func(ctx context.Context) (string, error) {
		return "old volume " + v.Name + " deleted", svc.DeleteOldVolume(ctx, actor, target, v.Name)
	})
	return m.Ctx.Confirm(refresh.DeleteConfirmation(target, v.Name), b.String(), run)
}

// refreshKey handles a key while the refresh view is open.
func (m *Model) refreshKey(k tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(k, m.keys.Back.Binding, m.keys.DataRefresh.Binding):
		m.refreshing = false
		return nil
	case key.Matches(k, m.keys.DeleteOldVolume.Binding):
		return m.deleteOldVolume()
	}
	return nil
}

// refreshLines draw the refresh view: a line per step with its outcome and
// time, then the error and what to do.
func (m *Model) refreshLines() []string {
	r := m.refresh
	s := m.Ctx.Styles
	st := r.st
	state := st.Status()
	if r.running {
		state = fmt.Sprintf("running step %d/%d", min(int(st.Next), refresh.NumSteps), refresh.NumSteps)
	}
	lines := []string{s.TableHeader.Render(ansi.Truncate(fmt.Sprintf("Data refresh of %s from %s · run %s by %s · %s", st.Target, st.Source, st.ID, st.Actor, state), m.Width, "…"))}
	for step := refresh.StepSnapshot; int(step) <= refresh.NumSteps; step++ {
		last, tried := st.Last(step)
		var mark string
		switch {
		case step < st.Next:
			mark = s.StatusOK.Render("✓")
		case tried && last.Err != "":
			mark = s.StatusCrit.Render("✗")
		case tried && r.running && last.Ended.IsZero():
			mark = s.StatusWarn.Render("▸")
		default:
			mark = s.Muted.Render("·")
		}
		line := fmt.Sprintf("%s %d. %s", mark, step, st.Describe(step))
		if tried && !last.Ended.IsZero() {
			line += s.Muted.Render("  " + took(last.Took()))
		}
		if tried && last.Note != "" && step < st.Next {
			line += s.Muted.Render("  (" + last.Note + ")")
		}
		lines = append(lines, ansi.Truncate(line, m.Width, "…"))
	}
	if st.Err != "" && !r.running {
		lines = append(lines, "", s.StatusCrit.Render(ansi.Truncate("stopped: "+st.Err, m.Width, "…")),
			s.Muted.Render(ansi.Truncate(fmt.Sprintf(":refresh-data %s from %s resumes at step %d", st.Target, st.Source, st.Next), m.Width, "…")))
	}
	hint := "esc: back to the table (the refresh goes on)"
	if !r.running {
		hint = "esc: back to the table · " + m.keys.DeleteOldVolume.Help().Key + ": delete " + st.Target + "'s old data volume (type its name)"
	}
	return append(lines, "", s.Muted.Render(ansi.Truncate(hint, m.Width, "…")))
}

// took shows a step's time: milliseconds under a second, else tenths.
func took(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return d.Round(100 * time.Millisecond).String()
}

// refreshCommands are the palette's data refresh command.
func (m *Model) refreshCommands() []components.Spec {
	svc := m.Ctx.Services.Refresh
	if svc == nil {
		return nil
	}
	envs := func(i int) []string {
		switch i {
		case 0, 2:
			return svc.Environments()
		case 1:
			return []string{"from"}
		}
		return nil
	}
	return []components.Spec{{
		Name: "refresh-data", Args: "TARGET from SOURCE", Complete: envs,
		Help: "replace TARGET's data volume by a scrubbed copy of SOURCE's (type TARGET to confirm); resumes a refresh that stopped",
		Run: func(args []string) (tea.Cmd, error) {
			if len(args) != 3 || args[1] != "from" {
				return nil, errors.New("refresh-data takes TARGET from SOURCE: :refresh-data preprod from prod")
			}
			return m.RefreshData(args[0], args[2]), nil
		},
	}}
}
