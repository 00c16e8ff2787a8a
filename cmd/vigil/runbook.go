package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ops/runbook"
)

func newRunbookCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "runbook",
		Short: "List or run the runbooks config declares for an alert",
		Long: "The config's runbooks are actions offered for the alerts they match (the console shows\n" +
			"them first in an alert's detail, r runs one). From the command line: list an alert's\n" +
			"runbooks, or run a restart or scale runbook, with the same checks, confirmation and\n" +
			"journal as the console. Playbook, rollback and command runbooks run from the console\n" +
			"(or with the verb they stand for, which `run` prints).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageError("runbook takes a subcommand, list or run: see vigil runbook --help")
		},
	}
	cmd.AddCommand(newRunbookListCmd(g), newRunbookRunCmd(g))
	return cmd
}

func newRunbookListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "list FINGERPRINT",
		Short:   "List the runbooks of an alert and what each would do to it",
		Example: "  vigil runbook list 3f2a9c1d0b7e6a54",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, b, envs, c, err := openRunbookAlert(cmd.Context(), g, args[0], false)
			if err != nil {
				return err
			}
			defer c.close()
			return listRunbooks(cmd.OutOrStdout(), a, b, envs)
		},
	}
}

func listRunbooks(out io.Writer, a *incident.Alert, b *runbook.Book, envs []release.Env) error {
	rs := b.For(a)
	if len(rs) == 0 {
		fmt.Fprintf(out, "no runbook matches %s (%s)\n", a.Name, a.Fingerprint)
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tROLE\tASKS\tWHAT")
	for _, r := range rs {
		what := r.Summary()
		if t, err := r.Resolve(a, envs); err != nil {
			what += " (cannot: " + err.Error() + ")"
		} else {
			what = r.Describe(t)
		}
		asks := "no"
		if r.Asks() {
			asks = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Name, r.Kind, r.Access().MinRole, asks, what)
	}
	return tw.Flush()
}

func newRunbookRunCmd(g *globals) *cobra.Command {
	var yes *bool
	cmd := &cobra.Command{
		Use:   "run FINGERPRINT NAME",
		Short: "Run a restart or scale runbook of an alert",
		Long: "Run the runbook NAME of the alert FINGERPRINT (from `vigil alerts`) on the workload the\n" +
			"alert names, through the release service: the runbook's role, then the action's own,\n" +
			"are checked and the outcome journaled. A runbook that asks (dangerous, or confirm) asks\n" +
			"on a terminal, naming what it acts on; elsewhere pass --yes.\n\n" +
			"Exit codes: 0 done, 1 failed, 2 bad arguments (unknown alert or runbook, or one that\n" +
			"runs from the console), 3 refused (role, --read-only, or not confirmed).",
		Example: "  vigil runbook run 3f2a9c1d0b7e6a54 restart-api\n  vigil runbook run 3f2a9c1d0b7e6a54 scale-api-up --yes",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, b, envs, c, err := openRunbookAlert(cmd.Context(), g, args[0], true)
			if err != nil {
				return err
			}
			defer c.close()
			r, err := b.Lookup(a, args[1])
			if err != nil {
				return usageError("%v", err)
			}
			t, err := r.Resolve(a, envs)
			if err != nil {
				return usageError("%v", err)
			}
			switch r.Kind {
			case config.RunbookRollback:
				return usageError("runbook %s rolls back the promotion of %s: r in the alert's detail offers it, or vigil rollback %s --env %s", r.Name, t.Workload, t.App, t.Env)
			case config.RunbookCommand:
				return usageError("runbook %s is the console's command line %s: r in the alert's detail runs it", r.Name, r.Describe(t))
			case config.RunbookPlaybook:
				return usageError("runbook %s runs %s on %s: r in the alert's detail runs it", r.Name, r.Playbook, t.Host)
			}
			guard := c.guard
			var j runbook.Journal
			if c.journal != nil {
				j = c.journal
			}
			if err := r.Check(cmd.Context(), guard, j, c.actor, t); err != nil {
				return alertExit(cmd.ErrOrStderr(), fmt.Errorf("runbook %s (%s): %w", r.Name, r.Describe(t), err))
			}
			act := r.Access()
			act.Dangerous = r.Asks()
			conf := access.Confirmation{Action: act, Target: "alert/" + t.Fingerprint, Title: fmt.Sprintf("Runbook %s: %s, for %s?", r.Name, r.Describe(t), t.Alert)}
			if err := newConfirmer(cmd, g, c.actor, c.journal, *yes).confirm(conf); err != nil {
				return alertExit(cmd.ErrOrStderr(), err)
			}
			rel, err := openReleaseCLI(cmd.Context(), g, true, nil)
			if err != nil {
				return err
			}
			defer rel.close()
			ctx, cancel := context.WithTimeout(cmd.Context(), cliTimeout)
			defer cancel()
			if _, err := r.Run(ctx, runbook.Services{Release: rel.svc}, c.actor, t); err != nil {
				return alertExit(cmd.ErrOrStderr(), fmt.Errorf("runbook %s: %w", r.Name, err))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "done: runbook %s: %s\n", r.Name, r.Describe(t))
			return nil
		},
	}
	yes = yesFlag(cmd)
	return cmd
}

// openRunbookAlert reads the alert fp (exit 2 naming the firing ones when
// it is unknown) and the config's runbooks and environments.
func openRunbookAlert(ctx context.Context, g *globals, fp string, journal bool) (*incident.Alert, *runbook.Book, []release.Env, *incidentCLI, error) {
	cfg, err := g.loadConfig()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	b, err := runbook.New(cfg.Runbooks)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	var envs []release.Env
	if cfg.Kubernetes != nil {
		if envs, err = release.EnvsFromConfig(cfg.Kubernetes); err != nil {
			return nil, nil, nil, nil, err
		}
	}
	c, err := openIncidentCLI(g, journal)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, cliTimeout)
	defer cancel()
	c.svc.Refresh(rctx)
	snap := c.svc.Snapshot()
	a, ok := snap.Alert(fp)
	if !ok {
		c.close()
		var fps []string
		for _, x := range snap.Alerts {
			fps = append(fps, x.Fingerprint+" "+x.Name)
		}
		if len(fps) == 0 {
			return nil, nil, nil, nil, usageError("no alert %s: none is active (vigil alerts lists them)", fp)
		}
		return nil, nil, nil, nil, usageError("no alert %s: the active ones are\n  %s", fp, strings.Join(fps, "\n  "))
	}
	return a, b, envs, c, nil
}
