package environments

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ui/components"
)

// Commands are the pane's palette commands. They reach ops whatever the
// session's role: a viewer's attempt is refused there, and journaled.
func (m *Model) Commands() []components.Spec {
	return []components.Spec{
		{
			Name: "promote", Args: "APP ENV [REVISION]",
			Help:     "promote APP into ENV from the environment before it, after a preview; with REVISION, that revision of the source (from its history, as Rollouts lists it)",
			Complete: m.complete,
			Run: func(args []string) (tea.Cmd, error) {
				if len(args) != 2 && len(args) != 3 {
					return nil, fmt.Errorf("promote takes an app, an environment and maybe a revision of the source: :promote APP ENV [REVISION], e.g. :promote api prod or :promote api prod 4")
				}
				var rev int64
				if len(args) == 3 {
					n, err := strconv.ParseInt(args[2], 10, 64)
					if err != nil || n <= 0 {
						return nil, fmt.Errorf("promote: %q is not a revision number: give the source's revision, e.g. 4, as Rollouts lists it", args[2])
					}
					rev = n
				}
				return m.promoteRevision(args[0], "", args[1], rev), nil
			},
		},
		{
			Name: "prepare", Args: "ENV", Help: "create ENV's namespace and seed it from the environment before it, after a preview",
			Complete: m.completeEnv,
			Run: func(args []string) (tea.Cmd, error) {
				if len(args) != 1 {
					return nil, fmt.Errorf("prepare takes an environment: :prepare ENV, e.g. :prepare test")
				}
				return m.PrepareCmd(args[0]), nil
			},
		},
		{
			Name: "freeze", Args: "ENV REASON DURATION", Help: "stop promotions into ENV for DURATION (e.g. 2h), saying why",
			Complete: m.completeEnv,
			Run: func(args []string) (tea.Cmd, error) {
				if len(args) != 3 {
					return nil, fmt.Errorf("freeze takes an environment, a reason and a duration: :freeze prod 'release window' 2h (quote a reason with spaces)")
				}
				d, err := time.ParseDuration(args[2])
				if err != nil || d <= 0 {
					return nil, fmt.Errorf("freeze: %q is not a duration: use e.g. 30m, 2h or 24h", args[2])
				}
				return m.FreezeCmd(args[0], args[1], d), nil
			},
		},
		{
			Name: "unfreeze", Args: "ENV", Help: "allow promotions into ENV again",
			Complete: m.completeEnv,
			Run: func(args []string) (tea.Cmd, error) {
				if len(args) != 1 {
					return nil, fmt.Errorf("unfreeze takes an environment: :unfreeze ENV")
				}
				return m.UnfreezeCmd(args[0]), nil
			},
		},
	}
}

func (m *Model) complete(i int) []string {
	switch i {
	case 0:
		if m.matrix == nil {
			return nil
		}
		apps := make([]string, len(m.matrix.Rows))
		for j, r := range m.matrix.Rows {
			apps[j] = r.App
		}
		return apps
	case 1:
		return m.envNames()
	}
	return nil
}

// completeEnv completes a command whose one argument is an environment.
func (m *Model) completeEnv(i int) []string {
	if i == 0 {
		return m.envNames()
	}
	return nil
}

func (m *Model) envNames() []string {
	envs := m.svc.Envs()
	out := make([]string, len(envs))
	for i, e := range envs {
		out[i] = e.Name
	}
	return out
}

// FreezeCmd asks to confirm freezing env for d, then freezes it.
func (m *Model) FreezeCmd(env, reason string, d time.Duration) tea.Cmd {
	svc, base, actor, now := m.svc, m.Ctx.Base, m.Ctx.Actor, m.Ctx.Now
	run := func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, ActionTimeout)
		defer cancel()
		return FreezeMsg{Env: env, Frozen: true, Err: svc.Freeze(ctx, actor, env, reason, now().Add(d))}
	}
	return m.Ctx.Confirm(access.Confirmation{Action: release.ActFreeze, Title: fmt.Sprintf("Freeze %s for %s?", env, d)}, "No new promotion into "+env+" until the freeze ends or is lifted; promotions in flight finish their rollout, and the journal names them. Reason: "+strings.TrimSpace(reason), run)
}

// UnfreezeCmd asks to confirm lifting env's freeze, then lifts it.
func (m *Model) UnfreezeCmd(env string) tea.Cmd {
	svc, base, actor := m.svc, m.Ctx.Base, m.Ctx.Actor
	run := func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, ActionTimeout)
		defer cancel()
		return FreezeMsg{Env: env, Err: svc.Unfreeze(ctx, actor, env)}
	}
	return m.Ctx.Confirm(access.Confirmation{Action: release.ActUnfreeze, Title: "Unfreeze " + env + "?"}, "Promotions into "+env+" are allowed again at once.", run)
}
