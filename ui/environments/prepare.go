package environments

import (
	"context"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ui/common"
)

// PlanTimeout bounds reading the clusters for the preview of a prepare.
const PlanTimeout = 30 * time.Second

// maxNames is how many names of one kind the preview lists before it
// counts the rest, so that the dialog fits the screen.
const maxNames = 12

// PreparePlannedMsg carries the preview of preparing an environment.
type PreparePlannedMsg struct {
	Env  string
	Plan release.PreparePlan
	Err  error
}

// PreparedMsg is the outcome of preparing an environment.
type PreparedMsg struct {
	Plan release.PreparePlan
	Err  error
}

// PrepareCmd reads, off the update loop, what preparing env from the
// environment before it would create; the pane then shows the preview.
func (m *Model) PrepareCmd(env string) tea.Cmd {
	svc, base := m.svc, m.Ctx.Base
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, PlanTimeout)
		defer cancel()
		plan, err := svc.PlanPrepare(ctx, env)
		return PreparePlannedMsg{Env: env, Plan: plan, Err: err}
	}
}

// prepareCmd asks to confirm msg's plan (typing the name of a protected
// environment), then applies it. A session that may not act skips the
// dialog: ops refuses and journals the attempt.
func (m *Model) prepareCmd(msg PreparePlannedMsg) tea.Cmd {
	if msg.Err != nil {
		return common.ToastCmd(common.Error, fmt.Sprintf("cannot prepare %s: %v", msg.Env, msg.Err))
	}
	plan := msg.Plan
	svc, base, actor := m.svc, m.Ctx.Base, m.Ctx.Actor
	run := func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, ActionTimeout)
		defer cancel()
		return PreparedMsg{Plan: plan, Err: svc.Prepare(ctx, actor, plan)}
	}
	if m.Ctx.MayAct() && len(plan.Creates()) == 0 {
		return common.ToastCmd(common.Info, strings.Join(plan.Warnings, "; "))
	}
	return m.Ctx.Confirm(plan.Confirmation(), PreparePreview(plan), run)
}

// PreparePreview says what plan creates, kind by kind, what it leaves
// alone, and its warnings.
func PreparePreview(plan release.PreparePlan) string {
	var b strings.Builder
	ns := plan.Env.Namespace
	if plan.Seed.NamespaceExists {
		fmt.Fprintf(&b, "namespace %s exists\n", ns)
	} else {
		fmt.Fprintf(&b, "create namespace %s\n", ns)
	}
	create, skip := map[string][]string{}, map[string][]string{}
	for _, o := range plan.Seed.Objects {
		name := o.Name
		if len(o.Volumes) > 0 {
			name += " (volume claims " + strings.Join(o.Volumes, ", ") + ")"
		}
		if o.Exists {
			skip[o.Kind] = append(skip[o.Kind], name)
		} else {
			create[o.Kind] = append(create[o.Kind], name)
		}
	}
	for _, kind := range []string{"Deployment", "StatefulSet", "Service", "ConfigMap"} {
		if names := create[kind]; len(names) > 0 {
			fmt.Fprintf(&b, "create %s: %s\n", plural(kind, len(names)), listNames(names))
		}
	}
	for _, kind := range []string{"Deployment", "StatefulSet", "Service", "ConfigMap"} {
		if names := skip[kind]; len(names) > 0 {
			fmt.Fprintf(&b, "already there, left alone: %s %s\n", plural(kind, len(names)), listNames(names))
		}
	}
	for _, w := range plan.Warnings {
		b.WriteString("⚠ " + w + "\n")
	}
	if plan.Env.Protected {
		b.WriteString(plan.Env.Name + " is protected.\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func plural(kind string, n int) string {
	if n == 1 {
		return "1 " + kind
	}
	return fmt.Sprintf("%d %ss", n, kind)
}

// objects counts n objects in words.
func objects(n int) string {
	if n == 1 {
		return "1 object"
	}
	return fmt.Sprintf("%d objects", n)
}

func listNames(names []string) string {
	if len(names) <= maxNames {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:maxNames], ", ") + fmt.Sprintf(" and %d more (vigil prepare lists them all)", len(names)-maxNames)
}

func preparedToast(msg PreparedMsg) tea.Cmd {
	p := msg.Plan
	switch {
	case msg.Err == nil:
		s := fmt.Sprintf("prepared %s from %s: %s created", p.Env.Name, p.From.Name, objects(len(p.Creates())))
		if len(p.Seed.Secrets) > 0 {
			s += "; now create the Secrets " + strings.Join(p.Seed.Secrets, ", ") + " in " + p.Env.Namespace
		}
		return common.ToastCmd(common.Success, s)
	case access.IsRefusal(msg.Err):
		return common.ToastCmd(common.Error, "refused: "+msg.Err.Error())
	}
	return common.ToastCmd(common.Error, fmt.Sprintf("preparing %s failed: %v", p.Env.Name, msg.Err))
}
