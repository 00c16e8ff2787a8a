package inventory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
)

// Timeouts of the actions: a host action waits for the cloud to complete
// it (a resize powers off, resizes and powers on), a creation until SSH answers.
const (
	actionTimeout = 10 * time.Minute
	createTimeout = 15 * time.Minute
	planTimeout   = time.Minute
)

// actionDoneMsg is the end of an action on hosts.
type actionDoneMsg struct {
	what  string
	hosts []string
	err   error
}

// planMsg carries a destroy plan to confirm.
type planMsg struct {
	plan inventory.DestroyPlan
	err  error
}

// createProgressMsg is one stage of a new host; createDoneMsg ends the creation.
type createProgressMsg struct {
	p    inventory.CreateProgress
	feed <-chan inventory.CreateProgress
}

type createDoneMsg struct {
	hosts []inventory.Host
	err   error
}

// creation follows hosts being created from a template.
type creation struct {
	template string
	names    []string
	stage    map[string]inventory.CreateProgress
	done     bool
	err      error
}

func (c *creation) reachable() int {
	n := 0
	for _, p := range c.stage {
		if p.Stage == inventory.StageSSHReachable {
			n++
		}
	}
	return n
}

func (m *Model) names(hosts []inventory.Host) []string {
	out := make([]string, len(hosts))
	for i, h := range hosts {
		out[i] = h.Name
	}
	return out
}

// do runs f as a command with a timeout, ending in an actionDoneMsg.
func (m *Model) do(what string, hosts []inventory.Host, timeout time.Duration, f func(context.Context) error) tea.Cmd {
	base := m.Ctx.Base
	names := m.names(hosts)
	return tea.Sequence(func() tea.Msg { return busyMsg{what: what, hosts: names} }, func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, timeout)
		defer cancel()
		return actionDoneMsg{what: what, hosts: names, err: f(ctx)}
	})
}

func short(names []string) string {
	if len(names) > 3 {
		return strings.Join(names[:3], ", ") + fmt.Sprintf(" and %d more", len(names)-3)
	}
	return strings.Join(names, ", ")
}

func (m *Model) onActionDone(msg actionDoneMsg) tea.Cmd {
	for _, n := range msg.hosts {
		delete(m.busy, n)
	}
	what := strings.TrimSpace(msg.what + " " + short(msg.hosts))
	if msg.err != nil {
		return common.ToastCmd(common.Error, what+": "+msg.err.Error())
	}
	done := common.ToastCmd(common.Success, what+": done")
	if msg.what == "destroy" {
		// A destroyed host's records point at nothing: offer to remove them.
		return tea.Batch(done, m.offerRecordRemoval(msg.hosts))
	}
	return done
}

// bind gives the action bindings their handlers.
func (m *Model) bind() {
	k := m.keys
	for b, kind := range map[*common.Binding]inventory.ActionKind{
		k.PowerOn: inventory.PowerOn, k.PowerOff: inventory.PowerOff, k.PowerCycle: inventory.PowerCycle, k.Reboot: inventory.Reboot,
	} {
		b.Do = m.onTargets(func(hosts []inventory.Host) tea.Cmd { return m.Act(inventory.ActionRequest{Kind: kind}, hosts) })
	}
	k.Refresh.Do = func() tea.Cmd { return m.do("refresh", nil, time.Minute, m.svc.Refresh) }
	m.bindVolumes()
	k.DataRefresh.Do = m.toggleRefresh
	k.DeleteOldVolume.Do = m.deleteOldVolume
	k.Create.Do = m.askCreate
	k.Resize.Do = m.onTargets(func(hosts []inventory.Host) tea.Cmd {
		return m.ask("Resize "+short(m.names(hosts))+" to size:", m.sizeHint(), "", func(s string) tea.Cmd {
			return m.Act(inventory.ActionRequest{Kind: inventory.Resize, Size: strings.TrimSpace(s)}, m.Targets())
		})
	})
	k.Snapshot.Do = m.onTargets(func(hosts []inventory.Host) tea.Cmd {
		return m.ask("Snapshot "+short(m.names(hosts))+": snapshot name (empty: HOST-DATE)", "", "", func(s string) tea.Cmd {
			return m.Act(inventory.ActionRequest{Kind: inventory.Snapshot, Name: strings.TrimSpace(s)}, m.Targets())
		})
	})
	k.Tag.Do = m.onTargets(func(hosts []inventory.Host) tea.Cmd {
		return m.ask("Tag "+short(m.names(hosts))+" with:", "", "", func(s string) tea.Cmd { return m.Tag(s, false, m.Targets()) })
	})
	k.Untag.Do = m.onTargets(func(hosts []inventory.Host) tea.Cmd {
		return m.ask("Remove from "+short(m.names(hosts))+" the tag:", "", "", func(s string) tea.Cmd { return m.Tag(s, true, m.Targets()) })
	})
	k.SSH.Do = func() tea.Cmd {
		if h, ok := m.Selected(); ok {
			return m.SSH(h.Name)
		}
		return nil
	}
	k.Check.Do = m.askCheck
	k.Network.Do = m.toggleNetwork
	k.NetPrev.Do = func() tea.Cmd { return m.netShift(-1) }
	k.NetNext.Do = func() tea.Cmd { return m.netShift(1) }
	k.NetAdd.Do = m.netAdd
	k.NetRemove.Do = m.netRemove
	k.Destroy.Do = m.onTargets(func(hosts []inventory.Host) tea.Cmd { return m.PlanDestroy(hosts, "") })
	k.RunPlaybook.Do = m.onTargets(func(hosts []inventory.Host) tea.Cmd {
		// The selection goes to the run prompt, which names every host; it
		// is cleared here so that the next action cannot take it by surprise.
		target := "hosts:" + strings.Join(m.names(hosts), ",")
		clear(m.selected)
		return func() tea.Msg { return common.GotoMsg{Pane: common.RunsPane, Target: target} }
	})
}

// onTargets is a handler acting on the selected hosts, or the one under
// the cursor; with none, it does nothing.
func (m *Model) onTargets(act func([]inventory.Host) tea.Cmd) func() tea.Cmd {
	return func() tea.Cmd {
		if hosts := m.Targets(); len(hosts) > 0 {
			return act(hosts)
		}
		return nil
	}
}

// ask opens a prompt in the pane.
func (m *Model) ask(label, hint, value string, submit func(string) tea.Cmd) tea.Cmd {
	cmd := m.Ask(label, hint, value, false, submit)
	m.resize()
	return cmd
}

func (m *Model) sizeHint() string {
	slugs := make([]string, 0, len(m.state.Sizes))
	for _, s := range m.state.Sizes {
		slugs = append(slugs, fmt.Sprintf("%s $%.0f", s.Slug, s.PriceMonthly))
	}
	return inventory.Actions[inventory.Resize].Warning + " Sizes: " + strings.Join(slugs, ", ")
}

func (m *Model) askCreate() tea.Cmd {
	ts := m.svc.Templates()
	if len(ts) == 0 {
		return common.ToastCmd(common.Error, "no host template: define some under digitalocean.templates in the config")
	}
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = fmt.Sprintf("%s (%s %s %s)", t.Name, t.Region, t.Size, t.Image)
	}
	return m.ask("New hosts: TEMPLATE NAME [NAME…]", "templates: "+strings.Join(names, ", "), ts[0].Name+" ", func(s string) tea.Cmd {
		f := strings.Fields(s)
		if len(f) < 2 {
			return common.ToastCmd(common.Error, "give a template and at least one host name, e.g. "+ts[0].Name+" web-01 web-02")
		}
		return m.Create(f[0], f[1:])
	})
}

// Act runs a host action on hosts; a dangerous one asks first, with its warning.
func (m *Model) Act(a inventory.ActionRequest, hosts []inventory.Host) tea.Cmd {
	if len(hosts) == 0 {
		return common.ToastCmd(common.Info, "no host: move to one, or select some with "+m.keys.Select.Help().Key)
	}
	info, ok := inventory.Actions[a.Kind]
	if !ok {
		return common.ToastCmd(common.Error, fmt.Sprintf("unknown host action %q", a.Kind))
	}
	svc, actor := m.svc, m.Ctx.Actor
	run := m.do(info.Access.Name, hosts, actionTimeout, func(ctx context.Context) error {
		var errs []error
		for _, h := range hosts {
			if err := svc.Act(ctx, actor, h, a, nil); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", h.Name, err))
			}
		}
		return errors.Join(errs...)
	})
	title := info.Access.Name + " " + short(m.names(hosts))
	if a.Kind == inventory.Resize {
		title += " to " + a.Size
	}
	return m.Ctx.Confirm(access.Confirmation{Action: info.Access, Title: title + "?"}, info.Warning+"\n\n"+hostList(hosts), run)
}

func hostList(hosts []inventory.Host) string {
	var b strings.Builder
	for i, h := range hosts {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "  %s  %s  %s  %s", h.Name, h.Status, h.Region, h.PublicIPv4)
	}
	return b.String()
}

// Tag adds tag to hosts, or removes it with remove.
func (m *Model) Tag(tag string, remove bool, hosts []inventory.Host) tea.Cmd {
	tag = strings.TrimSpace(tag)
	if tag == "" {
		return common.ToastCmd(common.Error, "give a tag: letters, digits, dashes and underscores")
	}
	svc, actor := m.svc, m.Ctx.Actor
	if remove {
		return m.do("untag "+tag, hosts, planTimeout, func(ctx context.Context) error { return svc.Untag(ctx, actor, tag, hosts) })
	}
	return m.do("tag "+tag, hosts, planTimeout, func(ctx context.Context) error { return svc.Tag(ctx, actor, tag, hosts) })
}

// PlanDestroy looks the hosts (or those tagged tag) up afresh, then asks
// to confirm their destruction.
func (m *Model) PlanDestroy(hosts []inventory.Host, tag string) tea.Cmd {
	if !m.Ctx.MayAct() {
		return common.ToastCmd(common.Error, "destroy is not allowed in this session (read-only, or viewer role)")
	}
	ids := make([]int, len(hosts))
	for i, h := range hosts {
		ids[i] = h.ID
	}
	svc, base := m.svc, m.Ctx.Base
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, planTimeout)
		defer cancel()
		p, err := svc.PlanDestroy(ctx, ids, tag)
		return planMsg{plan: p, err: err}
	}
}

// onPlan asks to type the host's name, or for several hosts their count,
// after listing every one of them.
func (m *Model) onPlan(msg planMsg) tea.Cmd {
	p := msg.plan
	switch {
	case msg.err != nil:
		return common.ToastCmd(common.Error, "destroy: "+msg.err.Error())
	case len(p.Hosts) == 0 && len(p.Refused) == 0:
		return common.ToastCmd(common.Info, "destroy: no such host any more")
	case len(p.Hosts) == 0:
		return common.ToastCmd(common.Error, "destroy refused: "+short(m.names(p.Refused))+" tagged "+inventory.ProtectedTag+": remove the tag first if it really must go")
	}
	body := "These hosts are destroyed, with their disks:\n" + hostList(p.Hosts)
	if len(p.Refused) > 0 {
		body += "\n\nRefused, tagged " + inventory.ProtectedTag + ":\n" + hostList(p.Refused)
	}
	name := p.Hosts[0].Name
	title := "Destroy " + name + "? Type its name to confirm."
	if len(p.Hosts) > 1 {
		name = fmt.Sprintf("%d hosts", len(p.Hosts))
		title = fmt.Sprintf("Destroy %d hosts? Type %q to confirm.", len(p.Hosts), name)
	}
	svc, actor := m.svc, m.Ctx.Actor
	m.noteRecords(p.Hosts)
	run := m.do("destroy", p.Hosts, actionTimeout, func(ctx context.Context) error { return svc.Destroy(ctx, actor, p) })
	return m.Ctx.Confirm(access.Confirmation{Action: inventory.ActDestroy, Title: title, TypeName: name}, body, run)
}

// Create starts creating hosts from template and opens the progress view.
func (m *Model) Create(template string, names []string) tea.Cmd {
	if m.create != nil && !m.create.done {
		return common.ToastCmd(common.Error, "hosts are being created already: wait for them (press "+m.keys.Progress.Help().Key+" to watch)")
	}
	m.create = &creation{template: template, names: names, stage: map[string]inventory.CreateProgress{}}
	m.watching = true
	feed := make(chan inventory.CreateProgress, 4*len(names)+4)
	svc, actor, base := m.svc, m.Ctx.Actor, m.Ctx.Base
	start := func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, createTimeout)
		defer cancel()
		hosts, err := svc.Create(ctx, actor, template, names, func(p inventory.CreateProgress) {
			select {
			case feed <- p:
			default: // the view is behind; the final state comes with createDoneMsg
			}
		})
		close(feed)
		return createDoneMsg{hosts: hosts, err: err}
	}
	return tea.Batch(start, progressCmd(feed))
}

func progressCmd(feed <-chan inventory.CreateProgress) tea.Cmd {
	return func() tea.Msg {
		p, ok := <-feed
		if !ok {
			return nil
		}
		return createProgressMsg{p: p, feed: feed}
	}
}

func (m *Model) onCreateProgress(msg createProgressMsg) tea.Cmd {
	if m.create != nil {
		m.create.stage[msg.p.Name] = msg.p
	}
	return progressCmd(msg.feed)
}

func (m *Model) onCreateDone(msg createDoneMsg) tea.Cmd {
	c := m.create
	if c == nil {
		return nil
	}
	c.done, c.err = true, msg.err
	for _, h := range msg.hosts {
		if p, ok := c.stage[h.Name]; ok && p.Stage != inventory.StageFailed && msg.err == nil {
			p.Stage, p.IP = inventory.StageSSHReachable, h.PublicIPv4
			c.stage[h.Name] = p
		}
	}
	if msg.err != nil {
		return common.ToastCmd(common.Error, "create from "+c.template+": "+msg.err.Error())
	}
	done := common.ToastCmd(common.Success, fmt.Sprintf("%d hosts from %s are up and reachable over SSH", len(c.names), c.template))
	if t, ok := m.svc.Template(c.template); ok && t.Record {
		return tea.Batch(done, m.offerRecords(msg.hosts))
	}
	return done
}

// stages shown in the creation view, in order.
var stages = []inventory.Stage{inventory.StageRequested, inventory.StageActive, inventory.StageIPAssigned, inventory.StageSSHReachable}

// creationLines draw the creation view: one line per new host with its stage.
func (m *Model) creationLines() []string {
	c := m.create
	st := m.Ctx.Styles
	state := "creating"
	switch {
	case c.done && c.err != nil:
		state = "finished with errors"
	case c.done:
		state = "done"
	}
	lines := []string{st.TableHeader.Render(ansi.Truncate(fmt.Sprintf("New hosts from template %s · %s · %d/%d reachable over SSH",
		c.template, state, c.reachable(), len(c.names)), m.Width, "…"))}
	for _, n := range c.names {
		p, seen := c.stage[n]
		var b strings.Builder
		b.WriteString(components.Cell(n, 18))
		for _, s := range stages {
			b.WriteString(" ")
			switch {
			case seen && p.Stage == inventory.StageFailed:
				b.WriteString(st.Muted.Render(components.Cell("·", 2) + s.String()))
			case seen && p.Stage >= s:
				b.WriteString(st.StatusOK.Render("✓ " + s.String()))
			default:
				b.WriteString(st.Muted.Render("· " + s.String()))
			}
		}
		if p.IP != "" {
			b.WriteString("  " + p.IP)
		}
		if p.HostKey != "" {
			b.WriteString("  host key " + p.HostKey + " recorded")
		}
		if p.Err != nil {
			b.WriteString("  " + st.StatusCrit.Render(p.Err.Error()))
		}
		lines = append(lines, ansi.Truncate(b.String(), m.Width, "…"))
	}
	hint := "esc: back to the table (the creation goes on)"
	if c.done {
		hint = "esc: back to the table"
	}
	return append(lines, "", st.Muted.Render(ansi.Truncate(hint, m.Width, "…")))
}

// busyMsg says an action on hosts has started.
type busyMsg struct {
	what  string
	hosts []string
}

func (m *Model) onBusy(msg busyMsg) tea.Cmd {
	for _, n := range msg.hosts {
		m.busy[n] = msg.what
	}
	if len(msg.hosts) == 0 {
		return nil
	}
	return common.ToastCmd(common.Info, msg.what+" "+short(msg.hosts)+"…")
}
