package alerts

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ops/runbook"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
	"github.com/vigilops/vigil/ui/styles"
)

// RunbookTimeout bounds a restart, a scale or the start of a playbook run
// a runbook asks for.
const RunbookTimeout = RollbackTimeout

// maxRunbookKeys is how many runbooks of an alert have a number key in the
// chooser; the others are reached with ↑/↓ and enter.
const maxRunbookKeys = 9

// runbookItem is one runbook of an alert, filled from it: what it acts on,
// or why it cannot.
type runbookItem struct {
	r      *runbook.Action
	target runbook.Target
	err    error
}

// runbookItems are the runbooks that match a, resolved against the
// session's environments.
func (m *Model) runbookItems(a *incident.Alert) []runbookItem {
	var envs []release.Env
	if svc := m.Ctx.Services.Release; svc != nil {
		envs = svc.Envs()
	}
	var out []runbookItem
	for _, r := range m.book.For(a) {
		t, err := r.Resolve(a, envs)
		out = append(out, runbookItem{r: r, target: t, err: err})
	}
	return out
}

func (it runbookItem) what() string {
	if it.err != nil {
		return it.r.Summary()
	}
	return it.r.Describe(it.target)
}

// runbookChooser lists an alert's runbooks over the pane: a number or
// enter runs one (asking first when it is dangerous), esc closes it.
type runbookChooser struct {
	alert  incident.Alert // as it was when the chooser opened
	items  []runbookItem
	cursor int
}

// openRunbooks opens the chooser over a's runbooks.
func (m *Model) openRunbooks(a *incident.Alert) tea.Cmd {
	items := m.runbookItems(a)
	if len(items) == 0 {
		return common.ToastCmd(common.Info, "no runbook matches "+a.Name+": runbooks are declared in the config's runbooks section (README, Runbooks)")
	}
	m.chooser = &runbookChooser{alert: *a, items: items}
	return nil
}

func (m *Model) chooserKey(k tea.KeyPressMsg) tea.Cmd {
	c := m.chooser
	switch s := k.String(); {
	case s == "esc" || s == "ctrl+c" || s == "q":
		m.chooser = nil
		return nil
	case key.Matches(k, m.keys.Up.Binding):
		c.cursor = max(c.cursor-1, 0)
	case key.Matches(k, m.keys.Down.Binding):
		c.cursor = min(c.cursor+1, len(c.items)-1)
	case s == "enter":
		m.chooser = nil
		return m.runRunbook(&c.alert, c.items[c.cursor])
	case len(s) == 1 && s[0] >= '1' && s[0] <= '9':
		i := int(s[0] - '1')
		if i < len(c.items) {
			m.chooser = nil
			return m.runRunbook(&c.alert, c.items[i])
		}
	}
	return nil
}

// runRunbook runs one runbook of alert a: refused at once, journaled, when
// the session's role or read-only mode forbid it; otherwise through the
// service that owns what it does, after the confirmation it declares, which
// names exactly what it acts on. What runs is what the dialog names: the
// target is fixed here, not read again when the answer comes.
func (m *Model) runRunbook(a *incident.Alert, it runbookItem) tea.Cmd {
	r, t := it.r, it.target
	if it.err != nil {
		return common.ToastCmd(common.Error, it.err.Error())
	}
	guard, actor, base := m.Ctx.Guard, m.Ctx.Actor, m.Ctx.Base
	var journal runbook.Journal
	if m.Ctx.Journal != nil {
		journal = m.Ctx.Journal
	}
	if err := guard.Check(actor, r.Access()); err != nil {
		return func() tea.Msg {
			ctx, cancel := contextTimeout(base)
			defer cancel()
			err := r.Check(ctx, guard, journal, actor, t)
			return actionDoneMsg{err: fmt.Errorf("refused: runbook %s (%s): %w", r.Name, r.Describe(t), err)}
		}
	}
	what := r.Describe(t)
	var run tea.Cmd
	switch r.Kind {
	case config.RunbookRollback:
		// The rollback flow finds the promotion and asks, naming the
		// versions from and to: its dialog is this runbook's.
		return m.offerRollbackCmd(a)
	case config.RunbookCommand:
		args := t.Args
		run = func() tea.Msg { return common.RunCommandMsg{Args: args} }
	default:
		svcs := runbook.Services{Release: m.Ctx.Services.Release, Playbook: m.Ctx.Services.Playbook}
		run = func() tea.Msg {
			ctx, cancel := context.WithTimeout(base, RunbookTimeout)
			defer cancel()
			id, err := r.Run(ctx, svcs, actor, t)
			done := "done: runbook " + r.Name + ": " + what
			if id != "" {
				done = "runbook " + r.Name + ": started run " + id + " of " + r.Playbook + " on " + t.Host + " (Runs, 6)"
			}
			switch {
			case err != nil && access.IsRefusal(err):
				err = fmt.Errorf("refused: runbook %s: %w", r.Name, err)
			case err != nil:
				err = fmt.Errorf("runbook %s could not %s: %w", r.Name, what, err)
			}
			return actionDoneMsg{what: done, err: err}
		}
	}
	if !r.Asks() {
		return run
	}
	act := r.Access()
	act.Dangerous = true // asks, as declared by confirm
	conf := access.Confirmation{Action: act, Target: "alert/" + t.Fingerprint,
		Title: fmt.Sprintf("Runbook %s: %s?", r.Name, what)}
	return m.Ctx.Confirm(conf, runbookBody(r, t), run)
}

// runbookBody says, under the question, exactly what the runbook acts on.
func runbookBody(r *runbook.Action, t runbook.Target) string {
	var on string
	switch r.Kind {
	case config.RunbookRestart, config.RunbookScale:
		on = fmt.Sprintf("Acts on the workload %s in %s only", t.Workload, t.Env)
	case config.RunbookPlaybook:
		on = "Acts on the host " + t.Host + " only"
	case config.RunbookCommand:
		on = "Runs the command line :" + strings.Join(t.Args, " ")
	}
	body := fmt.Sprintf("%s, for the alert %s (%s).", on, t.Alert, t.Fingerprint)
	if r.Kind == config.RunbookRestart {
		body += " Every pod is replaced, as kubectl rollout restart does."
	}
	return body
}

// runbookLines is the detail's runbook section: the alert's runbooks, each
// with its number in the chooser r opens, what it would do to this alert,
// and whether it asks first; nothing when none matches.
func (m *Model) runbookLines(a *incident.Alert, w int) []string {
	items := m.runbookItems(a)
	if len(items) == 0 {
		return nil
	}
	st := m.Ctx.Styles
	keyHelp := m.keys.Runbook.Help().Key
	head := st.TableHeader.Render("runbook ") + st.Muted.Render("("+keyHelp+", then its number)")
	lines := []string{head}
	for i, it := range items {
		lines = append(lines, runbookLine(st, i, it, !m.Ctx.Actor.Role.AtLeast(it.r.Access().MinRole)))
	}
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, w, "…")
	}
	return append(lines, "")
}

func runbookLine(st *styles.Styles, i int, it runbookItem, mayNot bool) string {
	n := " "
	if i < maxRunbookKeys {
		n = strconv.Itoa(i + 1)
	}
	s := "  " + st.HelpKey.Render(n) + " " + components.Printable(it.r.Name) + "  " + components.Printable(it.what())
	switch {
	case it.err != nil:
		s += "  " + st.Muted.Render("(cannot: "+oneLine(it.err.Error())+")")
	case mayNot:
		s += "  " + st.Muted.Render("(needs the "+string(it.r.Access().MinRole)+" role)")
	case it.r.Access().Dangerous:
		s += "  " + st.StatusWarn.Render("asks first")
	case it.r.Asks():
		s += "  " + st.Muted.Render("asks first")
	}
	return s
}

// overlay draws the chooser over the pane.
func (c *runbookChooser) overlay(bg string, width, height int, m *Model) string {
	st := m.Ctx.Styles
	inner := dialogInner(width)
	var b strings.Builder
	b.WriteString(st.DialogTitle.Render(ansi.Truncate("Runbook for "+components.Printable(c.alert.Name), inner, "…")))
	if on := onOf(&c.alert); on != "" {
		b.WriteString(st.Muted.Render(" on " + components.Printable(on)))
	}
	b.WriteString("\n")
	for i, it := range c.items {
		l := runbookLine(st, i, it, !m.Ctx.Actor.Role.AtLeast(it.r.Access().MinRole))
		if i == c.cursor {
			l = st.TableSelected.Render(ansi.Strip(l))
		}
		b.WriteString("\n" + ansi.Truncate(l, inner, "…"))
	}
	b.WriteString("\n\n" + st.HelpKey.Render("1-"+strconv.Itoa(min(len(c.items), maxRunbookKeys))) + st.HelpDesc.Render(" run  ") +
		st.HelpKey.Render("↑/↓ enter") + st.HelpDesc.Render(" choose  ") + st.HelpKey.Render("esc") + st.HelpDesc.Render(" cancel"))
	return placeBox(bg, components.Box(lipgloss.NewStyle().MaxWidth(inner).Render(b.String()), inner, st), width, height)
}

// HelpSection is, for help, the runbooks of the alert in focus (the open
// one, or the one under the cursor), as the detail lists them.
func (m *Model) HelpSection() (string, []string) {
	a := m.current()
	if a == nil {
		return "", nil
	}
	items := m.runbookItems(a)
	if len(items) == 0 {
		return "", nil
	}
	title := "Runbooks of " + components.Printable(a.Name) + " (" + m.keys.Runbook.Help().Key + ", then the number)"
	var lines []string
	for i, it := range items {
		lines = append(lines, runbookLine(m.Ctx.Styles, i, it, !m.Ctx.Actor.Role.AtLeast(it.r.Access().MinRole)))
	}
	return title, lines
}
