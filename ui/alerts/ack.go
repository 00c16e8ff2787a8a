package alerts

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
	"github.com/vigilops/vigil/ui/styles"
)

// actionDoneMsg is the result of an acknowledgement or an expiry.
type actionDoneMsg struct {
	what string // e.g. "acknowledged HostDown for 30m"
	err  error
}

func (d actionDoneMsg) toast() tea.Cmd {
	if d.err != nil {
		return common.ToastCmd(common.Error, d.err.Error())
	}
	return common.ToastCmd(common.Success, d.what)
}

// ackDialog asks for an acknowledgement's comment and duration. It is the
// pane's own, because the shell's confirm dialog has no free text.
type ackDialog struct {
	alert   *incident.Alert
	comment textinput.Model
	custom  textinput.Model
	choice  int  // index into incident.AckDurations; len() is custom
	onDur   bool // focus on the duration rather than the comment
	err     string
	width   int
}

func newAckDialog(a *incident.Alert, st *styles.Styles, width int) *ackDialog {
	d := &ackDialog{alert: a, comment: textinput.New(), custom: textinput.New()}
	d.comment.Prompt = "comment  "
	d.comment.SetValue(incident.DefaultComment(a))
	d.custom.Prompt = "custom   "
	d.custom.Placeholder = "e.g. 90m or 2h30m"
	d.setStyles(st)
	d.setWidth(width)
	return d
}

func inputStyles(st *styles.Styles) textinput.Styles {
	s := textinput.Styles{
		Focused: textinput.StyleState{Text: st.Body, Placeholder: st.Muted, Suggestion: st.Muted, Prompt: st.HelpKey},
		Blurred: textinput.StyleState{Text: st.Muted, Placeholder: st.Muted, Suggestion: st.Muted, Prompt: st.Muted},
		// A static cursor: a blinking one would wake the program for nothing.
		Cursor: textinput.CursorStyle{Shape: tea.CursorBlock, Color: lipgloss.NoColor{}},
	}
	if fg := st.Body.GetForeground(); fg != nil && !st.NoColor {
		s.Cursor.Color = fg
	}
	return s
}

func (d *ackDialog) setStyles(st *styles.Styles) {
	if d == nil {
		return
	}
	d.comment.SetStyles(inputStyles(st))
	d.custom.SetStyles(inputStyles(st))
}

func dialogInner(width int) int { return max(min(width-6, 64), 10) }

func (d *ackDialog) setWidth(width int) {
	if d == nil {
		return
	}
	d.width = width
	w := max(dialogInner(width)-10, 1)
	d.comment.SetWidth(w)
	d.custom.SetWidth(w)
}

func (d *ackDialog) focus() tea.Cmd {
	d.comment.Blur()
	d.custom.Blur()
	switch {
	case !d.onDur:
		return d.comment.Focus()
	case d.choice == len(incident.AckDurations):
		return d.custom.Focus()
	}
	return nil
}

// duration is the chosen duration, or why it is not one.
func (d *ackDialog) duration() (time.Duration, error) {
	if d.choice < len(incident.AckDurations) {
		return incident.AckDurations[d.choice], nil
	}
	v := strings.TrimSpace(d.custom.Value())
	dur, err := time.ParseDuration(v)
	if err != nil || dur <= 0 {
		return 0, fmt.Errorf("custom duration %q: write it like 90m or 2h30m", v)
	}
	if dur < time.Minute || dur > incident.MaxAckDuration {
		return 0, fmt.Errorf("custom duration %s: choose one between 1m and %s; longer is a maintenance window, for Alertmanager itself",
			durationLabel(dur), durationLabel(incident.MaxAckDuration))
	}
	return dur, nil
}

// durationLabel is a duration as people write it: 30m, 1h, 1h30m, 45s.
func durationLabel(d time.Duration) string {
	var b strings.Builder
	if h := d / time.Hour; h > 0 {
		fmt.Fprintf(&b, "%dh", h)
	}
	if m := d % time.Hour / time.Minute; m > 0 {
		fmt.Fprintf(&b, "%dm", m)
	}
	if s := d % time.Minute / time.Second; s > 0 || b.Len() == 0 {
		fmt.Fprintf(&b, "%ds", s)
	}
	return b.String()
}

// openAck opens the acknowledgement dialog for a, when the session may.
func (m *Model) openAck(a *incident.Alert) tea.Cmd {
	if err := m.ctx.Guard.Check(m.ctx.Actor, incident.AckAction); err != nil {
		return common.ToastCmd(common.Error, err.Error())
	}
	switch a.State {
	case incident.Pending:
		return common.ToastCmd(common.Info, a.Name+" is pending: it can be acknowledged once it fires")
	case incident.Resolved:
		return common.ToastCmd(common.Info, a.Name+" has resolved: nothing to acknowledge")
	}
	m.dialog = newAckDialog(a, m.ctx.Styles, m.width)
	return m.dialog.focus()
}

// dialogKey handles the dialog's keys; the pane acts on submit.
func (m *Model) dialogKey(k tea.KeyPressMsg) tea.Cmd {
	d := m.dialog
	switch k.String() {
	case "esc", "ctrl+c":
		m.dialog = nil
		return common.ToastCmd(common.Info, "acknowledgement cancelled")
	case "tab", "shift+tab", "down", "up":
		d.onDur = !d.onDur
		return d.focus()
	case "enter":
		return m.submitAck()
	}
	if d.onDur {
		switch k.String() {
		case "left":
			d.choice = (d.choice + len(incident.AckDurations)) % (len(incident.AckDurations) + 1)
			return d.focus()
		case "right":
			d.choice = (d.choice + 1) % (len(incident.AckDurations) + 1)
			return d.focus()
		}
		if d.choice < len(incident.AckDurations) {
			return nil
		}
		var cmd tea.Cmd
		d.custom, cmd = d.custom.Update(k)
		return cmd
	}
	var cmd tea.Cmd
	d.comment, cmd = d.comment.Update(k)
	return cmd
}

func (d *ackDialog) update(msg tea.Msg) tea.Cmd {
	if d == nil {
		return nil
	}
	// Non-key messages (the cursor's) go to the focused input.
	var c1, c2 tea.Cmd
	d.comment, c1 = d.comment.Update(msg)
	d.custom, c2 = d.custom.Update(msg)
	return tea.Batch(c1, c2)
}

// submitAck checks the dialog and runs the acknowledgement.
func (m *Model) submitAck() tea.Cmd {
	d := m.dialog
	comment := strings.TrimSpace(d.comment.Value())
	if comment == "" {
		d.err = "a comment is required: say what you are doing about it"
		d.onDur = false
		return d.focus()
	}
	dur, err := d.duration()
	if err != nil {
		d.err = err.Error()
		return nil
	}
	m.dialog = nil
	return m.ackCmd(incident.AckRequest{Fingerprint: d.alert.Fingerprint, Duration: dur, Comment: comment}, d.alert.Name)
}

// ackCmd acknowledges in the background and reports the result.
func (m *Model) ackCmd(req incident.AckRequest, name string) tea.Cmd {
	svc, actor, base := m.svc, m.ctx.Actor, m.ctx.Base
	return func() tea.Msg {
		ctx, cancel := contextTimeout(base)
		defer cancel()
		sil, err := svc.Acknowledge(ctx, actor, req)
		return actionDoneMsg{what: fmt.Sprintf("acknowledged %s for %s (silence %s)", name, durationLabel(req.Duration), sil.ID), err: err}
	}
}

// confirmUnack asks to expire the silence acknowledging a.
func (m *Model) confirmUnack(a *incident.Alert) tea.Cmd {
	if a.Ack == nil {
		return common.ToastCmd(common.Info, a.Name+" is not acknowledged: no silence to expire")
	}
	return m.confirmExpire(a.Ack.SilenceID, fmt.Sprintf("%s will notify again. Silence %s by %s: %s",
		a.Name, a.Ack.SilenceID, a.Ack.Owner, a.Ack.Comment))
}

func (m *Model) confirmExpire(id, body string) tea.Cmd {
	svc, actor := m.svc, m.ctx.Actor
	base := m.ctx.Base
	run := func() tea.Msg {
		ctx, cancel := contextTimeout(base)
		defer cancel()
		err := svc.Unacknowledge(ctx, actor, id)
		return actionDoneMsg{what: "expired silence " + id, err: err}
	}
	c := common.ConfirmMsg{Title: incident.UnackConfirmation(id).Title, Body: body, OnYes: run}
	return func() tea.Msg { return c }
}

// overlay draws the dialog over the pane's view.
func (d *ackDialog) overlay(bg string, width, height int, st *styles.Styles) string {
	inner := dialogInner(width)
	var b strings.Builder
	b.WriteString(st.DialogTitle.Render(ansi.Truncate("Acknowledge "+d.alert.Name, inner, "…")))
	on := d.alert.Workload
	if on == "" {
		on = d.alert.Host
	}
	if on != "" {
		b.WriteString(st.Muted.Render(" on " + on))
	}
	b.WriteString("\n\n" + d.comment.View() + "\n")
	b.WriteString(st.HelpDesc.Render("duration "))
	for i := range len(incident.AckDurations) + 1 {
		label := "custom"
		if i < len(incident.AckDurations) {
			label = durationLabel(incident.AckDurations[i])
		}
		label = " " + label + " "
		switch {
		case i == d.choice && d.onDur:
			b.WriteString(st.TableSelected.Render(label))
		case i == d.choice:
			b.WriteString(st.HelpKey.Render("[" + strings.TrimSpace(label) + "]"))
		default:
			b.WriteString(st.Muted.Render(label))
		}
	}
	if d.choice == len(incident.AckDurations) {
		b.WriteString("\n" + d.custom.View())
	}
	if d.err != "" {
		b.WriteString("\n" + st.StatusCrit.Render(lipgloss.Wrap(d.err, inner, " ")))
	}
	b.WriteString("\n\n" + st.HelpKey.Render("tab") + st.HelpDesc.Render(" field  ") +
		st.HelpKey.Render("←/→") + st.HelpDesc.Render(" duration  ") +
		st.HelpKey.Render("enter") + st.HelpDesc.Render(" acknowledge  ") + st.HelpKey.Render("esc") + st.HelpDesc.Render(" cancel"))
	box := components.Box(b.String(), inner, st)
	lines := strings.Split(bg, "\n")
	for len(lines) < height {
		lines = append(lines, "")
	}
	bw, bh := lipgloss.Width(box), lipgloss.Height(box)
	out := components.Overlay(strings.Join(lines, "\n"), box, max((width-bw)/2, 0), max((height-bh)/2, 0))
	// The box may be wider or taller than a tiny pane: cut it to the pane.
	res := strings.Split(out, "\n")
	if len(res) > height {
		res = res[:height]
	}
	for i, l := range res {
		res[i] = ansi.Truncate(l, width, "")
	}
	return strings.Join(res, "\n")
}
