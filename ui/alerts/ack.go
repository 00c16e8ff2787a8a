package alerts

import (
	"errors"
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
	// ack is the acknowledgement that was asked, when it was one: refused
	// because someone acknowledged the alert meanwhile, the dialog opens
	// again on theirs.
	ack *incident.AckRequest
}

// onActionDone reports an action's result; an acknowledgement that found
// another one in its way reopens the dialog naming it, with what was typed.
func (m *Model) onActionDone(d actionDoneMsg) tea.Cmd {
	var held *incident.AckedError
	if d.ack == nil || !errors.As(d.err, &held) || m.dialog != nil || m.snap == nil {
		return d.toast()
	}
	a, ok := m.snap.Alert(d.ack.Fingerprint)
	if !ok {
		return d.toast()
	}
	m.dialog = newAckDialog(a, &held.Silence, m.Ctx.Styles, m.Width)
	m.dialog.loc = m.loc
	m.dialog.comment.SetValue(d.ack.Comment)
	m.dialog.err = held.Silence.CreatedBy + " acknowledged it meanwhile: add your comment to theirs, or extend it"
	return m.dialog.focus()
}

func (d actionDoneMsg) toast() tea.Cmd {
	if d.err != nil {
		return common.ToastCmd(common.Error, d.err.Error())
	}
	return common.ToastCmd(common.Success, d.what)
}

// ackDialog asks for an acknowledgement's comment and duration. It is the
// pane's own, because the shell's confirm dialog has no free text.
//
// On an alert someone already acknowledged, it names their silence (who,
// comment, until) and adds to it rather than making a second one: the
// first choice adds the comment only, the others also extend it.
type ackDialog struct {
	alert *incident.Alert
	// existing is the silence that acknowledges the alert, nil for none.
	existing *incident.Silence
	comment  textinput.Model
	custom   textinput.Model
	choice   int  // index into choices(): [comment only,] the durations, custom
	onDur    bool // focus on the duration rather than the comment
	err      string
	width    int
	loc      *time.Location // of the times shown
}

func newAckDialog(a *incident.Alert, existing *incident.Silence, st *styles.Styles, width int) *ackDialog {
	d := &ackDialog{alert: a, existing: existing, comment: textinput.New(), custom: textinput.New(), loc: time.Local}
	d.comment.Prompt = "comment  "
	if existing == nil {
		d.comment.SetValue(incident.DefaultComment(a))
	} else {
		d.comment.Placeholder = "what you add to " + existing.CreatedBy + "'s"
	}
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
	case d.isCustom():
		return d.custom.Focus()
	}
	return nil
}

// first is the index of the first duration: 1 when "comment only" comes
// before them.
func (d *ackDialog) first() int {
	if d.existing != nil {
		return 1
	}
	return 0
}

// choices is how many choices the duration row has: [comment only,] the
// durations, [until resolved,] custom. Until resolved is for a new
// acknowledgement only.
func (d *ackDialog) choices() int {
	n := d.first() + len(incident.AckDurations) + 1
	if d.existing == nil {
		n++
	}
	return n
}

// isUntilResolved reports whether the choice is to hold the acknowledgement
// until the alert resolves.
func (d *ackDialog) isUntilResolved() bool {
	return d.existing == nil && d.choice == d.first()+len(incident.AckDurations)
}

func (d *ackDialog) isCustom() bool { return d.choice == d.choices()-1 }

// mode is what the acknowledgement does with an existing one.
func (d *ackDialog) mode() incident.AckMode {
	switch {
	case d.existing == nil:
		return incident.AckRefuse
	case d.choice == 0:
		return incident.AckComment
	}
	return incident.AckExtend
}

// duration is the chosen duration, or why it is not one. Adding a comment
// only keeps the existing end: it sends the first duration, unused.
func (d *ackDialog) duration() (time.Duration, error) {
	if d.isUntilResolved() {
		return incident.UntilResolvedStep, nil
	}
	if i := d.choice - d.first(); i < 0 {
		return incident.AckDurations[0], nil
	} else if i < len(incident.AckDurations) {
		return incident.AckDurations[i], nil
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
	if err := m.Ctx.Guard.Check(m.Ctx.Actor, incident.AckAction); err != nil {
		return common.ToastCmd(common.Error, err.Error())
	}
	switch a.State {
	case incident.Pending:
		return common.ToastCmd(common.Info, a.Name+" is pending: it can be acknowledged once it fires")
	case incident.Resolved:
		return common.ToastCmd(common.Info, a.Name+" has resolved: nothing to acknowledge")
	}
	var existing *incident.Silence
	if a.State == incident.Acknowledged && a.Ack != nil {
		existing = m.silence(a.Ack)
	}
	m.dialog = newAckDialog(a, existing, m.Ctx.Styles, m.Width)
	m.dialog.loc = m.loc
	return m.dialog.focus()
}

// silence is the silence behind an acknowledgement, from the snapshot.
func (m *Model) silence(k *incident.Ack) *incident.Silence {
	for i := range m.snap.Silences {
		if m.snap.Silences[i].ID == k.SilenceID {
			s := m.snap.Silences[i]
			return &s
		}
	}
	return &incident.Silence{ID: k.SilenceID, CreatedBy: k.Owner, Comment: k.Comment, EndsAt: k.EndsAt}
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
			d.choice = (d.choice + d.choices() - 1) % d.choices()
			return d.focus()
		case "right":
			d.choice = (d.choice + 1) % d.choices()
			return d.focus()
		}
		if !d.isCustom() {
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
	return m.ackCmd(incident.AckRequest{Fingerprint: d.alert.Fingerprint, Duration: dur, Comment: comment, Existing: d.mode(),
		UntilResolved: d.isUntilResolved()}, d.alert.Name)
}

// ackCmd acknowledges in the background and reports the result.
func (m *Model) ackCmd(req incident.AckRequest, name string) tea.Cmd {
	svc, actor, base, loc := m.svc, m.Ctx.Actor, m.Ctx.Base, m.loc
	return func() tea.Msg {
		ctx, cancel := contextTimeout(base)
		defer cancel()
		sil, err := svc.Acknowledge(ctx, actor, req)
		what := fmt.Sprintf("acknowledged %s for %s (silence %s)", name, durationLabel(req.Duration), sil.ID)
		if req.UntilResolved {
			what = fmt.Sprintf("acknowledged %s until it resolves (silence %s)", name, sil.ID)
		}
		switch {
		case sil.CreatedBy == actor.Name:
		case req.Existing == incident.AckComment:
			what = fmt.Sprintf("added your comment to %s's acknowledgement of %s (silence %s)", sil.CreatedBy, name, sil.ID)
		case req.Existing == incident.AckExtend:
			what = fmt.Sprintf("extended %s's acknowledgement of %s until %s (silence %s)", sil.CreatedBy, name, sil.EndsAt.In(loc).Format("15:04"), sil.ID)
		}
		return actionDoneMsg{what: what, err: err, ack: &req}
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
	svc, actor := m.svc, m.Ctx.Actor
	base := m.Ctx.Base
	run := func() tea.Msg {
		ctx, cancel := contextTimeout(base)
		defer cancel()
		err := svc.Unacknowledge(ctx, actor, id)
		return actionDoneMsg{what: "expired silence " + id, err: err}
	}
	return m.Ctx.Confirm(incident.UnackConfirmation(id), body, run)
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
	row, act := "duration ", " acknowledge  "
	if e := d.existing; e != nil {
		b.WriteString("\n" + st.StatusWarn.Render(lipgloss.Wrap(fmt.Sprintf("already acknowledged by %s until %s", e.CreatedBy, e.EndsAt.In(d.loc).Format("15:04")), inner, " ")))
		b.WriteString("\n" + st.Muted.Render(lipgloss.Wrap(oneLine(fmt.Sprintf("%q (silence %s)", e.Comment, e.ID)), inner, " ")))
		row, act = "then     ", " add to theirs  "
	}
	b.WriteString("\n\n" + d.comment.View() + "\n")
	b.WriteString(st.HelpDesc.Render(row))
	for i := range d.choices() {
		label := "custom"
		switch j := i - d.first(); {
		case j < 0:
			label = "comment only"
		case j < len(incident.AckDurations):
			label = durationLabel(incident.AckDurations[j])
			if d.existing != nil {
				label = "extend " + label
			}
		case j == len(incident.AckDurations) && d.existing == nil:
			label = "until resolved"
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
	if d.isCustom() {
		b.WriteString("\n" + d.custom.View())
	}
	if d.err != "" {
		b.WriteString("\n" + st.StatusCrit.Render(lipgloss.Wrap(d.err, inner, " ")))
	}
	b.WriteString("\n\n" + st.HelpKey.Render("tab") + st.HelpDesc.Render(" field  ") +
		st.HelpKey.Render("←/→") + st.HelpDesc.Render(" duration  ") +
		st.HelpKey.Render("enter") + st.HelpDesc.Render(act) + st.HelpKey.Render("esc") + st.HelpDesc.Render(" cancel"))
	return placeBox(bg, components.Box(b.String(), inner, st), width, height)
}

// placeBox centres a dialog's box over the pane's lines bg, cut to the pane.
func placeBox(bg, box string, width, height int) string {
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
