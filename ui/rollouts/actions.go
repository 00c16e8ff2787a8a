package rollouts

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
)

func (m *Model) key(k tea.KeyPressMsg) tea.Cmd {
	if ok, cmd := m.PromptKey(k, m.keys.Submit, m.keys.Cancel); ok {
		m.layoutList() // the prompt may have closed
		return cmd
	}
	switch m.mode {
	case chooseMode:
		return m.chooseKey(k)
	case detailMode:
		if key.Matches(k, m.keys.Back.Binding) && m.page != livePage {
			m.page, m.scroll = livePage, 0
			m.rebuild()
			return nil
		}
		if key.Matches(k, m.keys.Back.Binding) {
			m.closeDetail()
			m.mode = listMode
			if m.jumped {
				m.jumped = false
				return common.Back
			}
			return nil
		}
		scroll, ok := m.keys.Nav().Scroll(k, m.scroll, len(m.lines), m.Height)
		if !ok {
			cmd, _ := common.Handle(k, m.Bindings()...)
			return cmd
		}
		m.scroll = scroll
		return nil
	}
	if m.list.KeyPress(k, m.keys.Nav()) {
		return nil
	}
	switch {
	case key.Matches(k, m.keys.Back.Binding):
		if m.filterText != "" {
			m.SetFilter("")
		}
	case key.Matches(k, m.keys.Open.Binding):
		if e, ok := m.Selected(); ok {
			return m.openDetail(e.app, e.env)
		}
	default:
		cmd, _ := common.Handle(k, m.Bindings()...)
		return cmd
	}
	return nil
}

// bind gives the action bindings their handlers, which act on the open
// workload, or the one under the cursor.
func (m *Model) bind() {
	k := m.keys
	for b, p := range map[*common.Binding]page{k.Describe: describePage, k.YAML: yamlPage} {
		b.Do = m.onWorkload(func(app, env string) tea.Cmd {
			var open tea.Cmd
			if m.mode == listMode {
				open = m.openDetail(app, env)
			}
			return tea.Batch(open, m.showPage(p))
		})
	}
	k.Rollback.Do = m.onWorkload(func(app, env string) tea.Cmd {
		m.choosing = true
		if m.mode == listMode || m.app != app || m.env != env {
			return m.openDetail(app, env)
		}
		// The history read when the detail opened may predate the
		// revision now rolling out: read it again, then choose.
		return m.historyCmd()
	})
	k.Pause.Do = m.onWorkload(func(app, env string) tea.Cmd {
		if c, ok := m.cell(app, env); ok && c.Workload.Paused {
			return m.ResumeCmd(app, env)
		}
		return m.PauseCmd(app, env)
	})
	k.Restart.Do = m.onWorkload(m.RestartCmd)
	k.Logs.Do = m.onWorkload(func(app, env string) tea.Cmd {
		g := common.GotoMsg{Pane: common.LogsPane, Target: env + "/" + app}
		return func() tea.Msg { return g }
	})
	k.Scale.Do = m.onWorkload(func(app, env string) tea.Cmd {
		now := ""
		if c, ok := m.cell(app, env); ok {
			now = fmt.Sprintf(" (now %d)", c.Workload.Desired)
		}
		return m.ask(fmt.Sprintf("replicas of %s in %s%s: ", app, env, now), func(v string) tea.Cmd {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
			if err != nil || n < 0 {
				return common.ToastCmd(common.Error, fmt.Sprintf("%q is not a replica count: type 0 or more", v))
			}
			return m.ScaleCmd(app, env, int32(n))
		})
	})
	k.Freeze.Do = m.onWorkload(func(_, env string) tea.Cmd {
		if m.frozen(env) {
			return m.UnfreezeCmd(env)
		}
		return m.ask("freeze "+env+", reason and duration (e.g. release window 2h): ", func(v string) tea.Cmd {
			reason, d, err := parseFreeze(v)
			if err != nil {
				return common.ToastCmd(common.Error, err.Error())
			}
			return m.FreezeCmd(env, reason, d)
		})
	})
}

// onWorkload is a handler acting on the open workload, or the one under
// the cursor; with none, it does nothing.
func (m *Model) onWorkload(act func(app, env string) tea.Cmd) func() tea.Cmd {
	return func() tea.Cmd {
		if m.mode != listMode {
			return act(m.app, m.env)
		}
		if e, ok := m.Selected(); ok {
			return act(e.app, e.env)
		}
		return nil
	}
}

// cell returns app's cell in env from the matrix, when it has one.
func (m *Model) cell(app, env string) (release.Cell, bool) {
	if m.matrix == nil {
		return release.Cell{}, false
	}
	return m.matrix.Cell(app, env)
}

func (m *Model) frozen(env string) bool {
	for _, e := range m.envStates(env) {
		return e.Freeze.Active(m.Ctx.Now())
	}
	return false
}

// parseFreeze reads "REASON… DURATION".
func parseFreeze(v string) (string, time.Duration, error) {
	words := strings.Fields(v)
	if len(words) < 2 {
		return "", 0, fmt.Errorf("a freeze needs a reason and a duration, e.g. release window 2h")
	}
	d, err := time.ParseDuration(words[len(words)-1])
	if err != nil || d <= 0 {
		return "", 0, fmt.Errorf("%q is not a duration: end with one, e.g. 30m, 2h or 24h", words[len(words)-1])
	}
	return strings.Join(words[:len(words)-1], " "), d, nil
}

// ask opens a prompt at the bottom of the pane; enter hands its value to
// submit.
func (m *Model) ask(label string, submit func(string) tea.Cmd) tea.Cmd {
	cmd := m.Ask(label, "", "", false, submit)
	m.layoutList()
	return cmd
}

// startChoose lets the user pick the revision to roll back to, starting on
// the one before the current.
func (m *Model) startChoose() tea.Cmd {
	if m.histErr != nil {
		return common.ToastCmd(common.Error, "cannot read the history of "+m.app+" in "+m.env+": "+m.histErr.Error())
	}
	if len(m.history) < 2 {
		return common.ToastCmd(common.Info, m.app+" in "+m.env+" has no earlier revision to roll back to")
	}
	m.mode = chooseMode
	m.choice = 0
	for i, r := range m.history {
		if !r.Current {
			m.choice = i
			break
		}
	}
	m.rebuild()
	return nil
}

func (m *Model) chooseKey(k tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(k, m.keys.Back.Binding):
		m.mode = detailMode
	case key.Matches(k, m.keys.Down.Binding):
		m.choice = min(m.choice+1, len(m.history)-1)
	case key.Matches(k, m.keys.Up.Binding):
		m.choice = max(m.choice-1, 0)
	case key.Matches(k, m.keys.Open.Binding):
		r := m.history[m.choice]
		if r.Current {
			return common.ToastCmd(common.Info, fmt.Sprintf("revision %d is the current one: choose an earlier one", r.Number))
		}
		m.mode = detailMode
		m.rebuild()
		return m.RollbackCmd(m.app, m.env, r)
	}
	m.rebuild()
	return nil
}

func (m *Model) protected(env string) bool {
	for _, e := range m.envStates(env) {
		return e.Protected
	}
	return false
}

// act runs do with a timeout, as the session's actor, into an ActionMsg.
func (m *Model) act(what string, do func(ctx context.Context, actor access.Actor) error) tea.Cmd {
	base, actor := m.Ctx.Base, m.Ctx.Actor
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, ActionTimeout)
		defer cancel()
		return ActionMsg{What: what, Err: do(ctx, actor)}
	}
}

// RollbackCmd asks to confirm rolling app in env back to rev, then does.
func (m *Model) RollbackCmd(app, env string, rev release.Revision) tea.Cmd {
	what := release.RollbackWhat(app, env, rev.Number)
	run := m.act(what, func(ctx context.Context, actor access.Actor) error {
		_, err := m.svc.Rollback(ctx, actor, app, env, rev.Number)
		return err
	})
	body := "A freeze does not stop a rollback; a promotion of " + app + " in flight does: the rollback is then refused, naming who holds it."
	if len(rev.Containers) > 0 {
		body = "Restores " + images(rev.Containers) + ". " + body
	}
	return m.Ctx.Confirm(release.RollbackConfirmation(app, env, m.protected(env), rev.Number), body, run)
}

// PauseCmd pauses app's rollout in env: not dangerous, it asks nothing.
func (m *Model) PauseCmd(app, env string) tea.Cmd {
	what := "pause the rollout of " + app + " in " + env
	return m.confirmed(release.ActPause, what, "",
		func(ctx context.Context, a access.Actor) error { return m.svc.Pause(ctx, a, app, env) })
}

// ResumeCmd resumes app's paused rollout in env: not dangerous, it asks
// nothing.
func (m *Model) ResumeCmd(app, env string) tea.Cmd {
	what := "resume the rollout of " + app + " in " + env
	return m.confirmed(release.ActResume, what, "",
		func(ctx context.Context, a access.Actor) error { return m.svc.Resume(ctx, a, app, env) })
}

// RestartCmd asks to confirm restarting app's pods in env.
func (m *Model) RestartCmd(app, env string) tea.Cmd {
	what := "restart " + app + " in " + env
	return m.confirmed(release.ActRestart, what, "Every pod is replaced, as kubectl rollout restart does.",
		func(ctx context.Context, a access.Actor) error { return m.svc.Restart(ctx, a, app, env) })
}

// ScaleCmd asks to confirm scaling app in env to n replicas.
func (m *Model) ScaleCmd(app, env string, n int32) tea.Cmd {
	what := fmt.Sprintf("scale %s in %s to %d", app, env, n)
	return m.confirmed(release.ActScale, what, "",
		func(ctx context.Context, a access.Actor) error { return m.svc.Scale(ctx, a, app, env, n) })
}

// FreezeCmd asks to confirm freezing env for d.
func (m *Model) FreezeCmd(env, reason string, d time.Duration) tea.Cmd {
	what := "freeze " + env + " for " + d.String()
	until := m.Ctx.Now().Add(d)
	return m.confirmed(release.ActFreeze, what, "No new promotion into "+env+" until it ends or is lifted; promotions in flight finish their rollout, and the journal names them. Reason: "+reason,
		func(ctx context.Context, a access.Actor) error { return m.svc.Freeze(ctx, a, env, reason, until) })
}

// UnfreezeCmd asks to confirm lifting env's freeze.
func (m *Model) UnfreezeCmd(env string) tea.Cmd {
	what := "unfreeze " + env
	return m.confirmed(release.ActUnfreeze, what, "Promotions into "+env+" are allowed again at once.",
		func(ctx context.Context, a access.Actor) error { return m.svc.Unfreeze(ctx, a, env) })
}

// confirmed runs do as action, described by what, confirmed as the action is
// declared.
func (m *Model) confirmed(action access.Action, what, body string, do func(context.Context, access.Actor) error) tea.Cmd {
	return m.Ctx.Confirm(access.Confirmation{Action: action, Title: capital(what) + "?"}, body, m.act(what, do))
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func images(cs []release.Container) string {
	var out []string
	for _, c := range cs {
		if !c.Init {
			out = append(out, c.Image)
		}
	}
	return strings.Join(out, ", ")
}

func actionToast(msg ActionMsg) tea.Cmd {
	switch {
	case msg.Err == nil:
		return common.ToastCmd(common.Success, "done: "+msg.What)
	case access.IsRefusal(msg.Err):
		return common.ToastCmd(common.Error, "refused: "+msg.Err.Error())
	}
	return common.ToastCmd(common.Error, "could not "+msg.What+": "+msg.Err.Error())
}

// Commands are the pane's palette commands. They reach ops whatever the
// session's role: a viewer's attempt is refused there, and journaled.
func (m *Model) Commands() []components.Spec {
	two := func(name, usage string, do func(app, env string) tea.Cmd) func([]string) (tea.Cmd, error) {
		return func(args []string) (tea.Cmd, error) {
			if len(args) != 2 {
				return nil, fmt.Errorf("%s takes an app and an environment: :%s %s", name, name, usage)
			}
			return do(args[0], args[1]), nil
		}
	}
	return []components.Spec{
		{
			Name: "rollback", Args: "APP ENV [REVISION]", Help: "roll APP in ENV back to the previous revision, or to REVISION",
			Complete: m.complete,
			Run: func(args []string) (tea.Cmd, error) {
				if len(args) != 2 && len(args) != 3 {
					return nil, fmt.Errorf("rollback takes an app, an environment and maybe a revision: :rollback api prod, or :rollback api prod 4")
				}
				var rev release.Revision
				if len(args) == 3 {
					n, err := strconv.ParseInt(args[2], 10, 64)
					if err != nil || n <= 0 {
						return nil, fmt.Errorf("rollback: %q is not a revision number: see the history in the rollout detail", args[2])
					}
					rev.Number = n
				}
				return m.RollbackCmd(args[0], args[1], rev), nil
			},
		},
		{Name: "restart", Args: "APP ENV", Help: "restart APP's pods in ENV", Complete: m.complete,
			Run: two("restart", "APP ENV", m.RestartCmd)},
		{Name: "pause", Args: "APP ENV", Help: "pause APP's rollout in ENV", Complete: m.complete,
			Run: two("pause", "APP ENV", m.PauseCmd)},
		{Name: "resume", Args: "APP ENV", Help: "resume APP's paused rollout in ENV", Complete: m.complete,
			Run: two("resume", "APP ENV", m.ResumeCmd)},
		{
			Name: "scale", Args: "APP ENV REPLICAS", Help: "set APP's replicas in ENV", Complete: m.complete,
			Run: func(args []string) (tea.Cmd, error) {
				if len(args) != 3 {
					return nil, fmt.Errorf("scale takes an app, an environment and a count: :scale api prod 4")
				}
				n, err := strconv.ParseInt(args[2], 10, 32)
				if err != nil || n < 0 {
					return nil, fmt.Errorf("scale: %q is not a replica count: use 0 or more", args[2])
				}
				return m.ScaleCmd(args[0], args[1], int32(n)), nil
			},
		},
		{
			Name: "rollout", Args: "ENV/APP", Help: "open the live rollout detail of APP in ENV",
			Run: func(args []string) (tea.Cmd, error) {
				if len(args) != 1 {
					return nil, fmt.Errorf("rollout takes one workload: :rollout prod/api")
				}
				target := args[0]
				return func() tea.Msg { return common.GotoMsg{Pane: common.RolloutsPane, Target: target} }, nil
			},
		},
	}
}

func (m *Model) complete(i int) []string {
	switch {
	case i == 0 && m.matrix != nil:
		apps := make([]string, len(m.matrix.Rows))
		for j, r := range m.matrix.Rows {
			apps[j] = r.App
		}
		return apps
	case i == 1 && m.matrix != nil:
		var envs []string
		for _, e := range m.matrix.Envs {
			envs = append(envs, e.Name)
		}
		return envs
	}
	return nil
}
