package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/release"
)

// prepareTimeout bounds reading the plan and, separately, applying it.
const prepareTimeout = 5 * time.Minute

func newPrepareCmd(g *globals) *cobra.Command {
	var yes *bool
	cmd := &cobra.Command{
		Use:   "prepare ENV",
		Short: "Create an environment's namespace and seed it from the environment before it",
		Long: "Create ENV's namespace if needed and copy into it, from the environment before ENV, the\n" +
			"Deployments and StatefulSets (with their volume claim templates) of the apps, the Services and\n" +
			"the ConfigMaps that ENV lacks, after printing exactly what is created. Secrets are not copied:\n" +
			"they are listed by name, to be provided in ENV. On a terminal vigil asks to confirm (typing\n" +
			"ENV's name when it is protected); elsewhere pass --yes.\n\n" +
			"Exit codes: 0 prepared (or nothing to create), 1 failed, 2 bad arguments, 3 refused (role,\n" +
			"--read-only, a promotion into ENV in flight, another preparation of ENV holding its lock or\n" +
			"done since the plan, or not confirmed: a wrong answer, or no terminal and no --yes).",
		Example: "  vigil prepare test\n  vigil prepare preprod --yes",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError("prepare takes one environment: vigil prepare ENV [--yes]")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := openReleaseCLI(cmd.Context(), g, true, names("", args[0]))
			if err != nil {
				return err
			}
			defer r.close()
			p := preparer{
				svc: r.svc, actor: r.actor, out: cmd.OutOrStdout(),
				mayAct:  access.Guard{ReadOnly: g.readOnly}.Check(r.actor, release.ActPrepare) == nil,
				confirm: newConfirmer(cmd, g, r.actor, r.journal, *yes).release(),
			}
			return exitCode(p.run(cmd.Context(), args[0]))
		},
	}
	yes = yesFlag(cmd)
	return cmd
}

// preparer runs `vigil prepare ENV`.
type preparer struct {
	svc   *release.Service
	actor access.Actor
	// mayAct is false when the guard refuses: the attempt then goes
	// straight to ops, which refuses and journals it.
	mayAct bool
	// confirm asks before anything is created (nil: it does not ask).
	confirm release.Confirm
	out     io.Writer
}

// run prints the plan, asks to confirm it, applies it and returns the
// exit code.
func (p preparer) run(ctx context.Context, env string) int {
	pctx, cancel := context.WithTimeout(ctx, prepareTimeout)
	plan, err := p.svc.PlanPrepare(pctx, env)
	cancel()
	if err != nil {
		fmt.Fprintln(p.out, "vigil prepare:", err)
		return release.ExitCode(err)
	}
	writePlan(p.out, plan)
	if p.mayAct && len(plan.Creates()) == 0 {
		return release.ExitOK
	}
	if p.confirm != nil {
		if err := p.confirm(plan.Confirmation()); err != nil {
			fmt.Fprintln(p.out, "vigil prepare:", err)
			return release.ExitCode(err)
		}
	}
	actx, cancel := context.WithTimeout(ctx, prepareTimeout)
	defer cancel()
	if err := p.svc.Prepare(actx, p.actor, plan); err != nil {
		fmt.Fprintln(p.out, "vigil prepare:", err)
		return release.ExitCode(err)
	}
	objects := "1 object"
	if n := len(plan.Creates()); n != 1 {
		objects = fmt.Sprintf("%d objects", n)
	}
	fmt.Fprintf(p.out, "prepared %s from %s: %s created\n", plan.Env.Name, plan.From.Name, objects)
	if len(plan.Seed.Secrets) > 0 {
		fmt.Fprintf(p.out, "now create the Secrets %s in namespace %s\n", strings.Join(plan.Seed.Secrets, ", "), plan.Env.Namespace)
	}
	return release.ExitOK
}

// writePlan prints what plan creates, one object a line, what it leaves
// alone, and its warnings.
func writePlan(w io.Writer, plan release.PreparePlan) {
	ns := plan.Env.Namespace
	fmt.Fprintf(w, "prepare %s from %s:\n", plan.Env.Name, plan.From.Name)
	if plan.Seed.NamespaceExists {
		fmt.Fprintf(w, "  namespace %s exists\n", ns)
	} else {
		fmt.Fprintf(w, "  create namespace %s\n", ns)
	}
	for _, o := range plan.Seed.Objects {
		verb := "create"
		if o.Exists {
			verb = "skip (already in " + ns + ")"
		}
		line := fmt.Sprintf("  %s %s/%s", verb, o.Kind, o.Name)
		if len(o.Volumes) > 0 {
			line += " with volume claim templates " + strings.Join(o.Volumes, ", ")
		}
		fmt.Fprintln(w, line)
	}
	for _, s := range plan.Seed.Secrets {
		fmt.Fprintf(w, "  not copied: Secret/%s\n", s)
	}
	for _, warn := range plan.Warnings {
		fmt.Fprintln(w, "warning:", warn)
	}
}
