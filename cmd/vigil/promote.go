package main

import (
	"github.com/spf13/cobra"
)

func newPromoteCmd(g *globals) *cobra.Command {
	var from, to string
	var wait bool
	var revision int64
	var yes *bool
	cmd := &cobra.Command{
		Use:   "promote APP --to ENV",
		Short: "Promote an app's images from one environment to the next",
		Long: "Copy APP's container images from the environment before ENV (or --from) into ENV, with\n" +
			"provenance annotations, after printing exactly what changes. Into a protected environment\n" +
			"vigil asks, on a terminal, to type its name, as the console does; elsewhere pass --yes.\n\n" +
			"Exit codes: 0 promoted (and with --wait, healthy), 1 failed or the rollout stalled,\n" +
			"2 bad arguments, 3 refused (role, --read-only, freeze, another actor's lock, ENV changed\n" +
			"since the plan was printed, or not confirmed: a wrong answer, or no terminal and no --yes).",
		Example: "  vigil promote api --to prod --wait\n  vigil promote web --from dev --to preprod\n  vigil promote api --to prod --yes   # in a script",
		Args:    releaseArgs("promote APP --to ENV [--from ENV] [--revision N] [--wait] [--yes]", "to", &to),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := openReleaseCLI(cmd.Context(), g, true, names(args[0], from, to))
			if err != nil {
				return err
			}
			defer r.close()
			ask := newConfirmer(cmd, g, r.actor, r.journal, *yes)
			return exitCode(r.svc.PromoteCLI(cmd.Context(), r.actor, cmd.OutOrStdout(), ask.release(), args[0], from, to, revision, wait))
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "the environment to promote into (required)")
	cmd.Flags().StringVar(&from, "from", "", "the environment to promote from (default: the one before --to)")
	cmd.Flags().Int64Var(&revision, "revision", 0, "promote this revision of the source (from its history) instead of what it runs now")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the rollout to complete, or to stall")
	yes = yesFlag(cmd)
	return cmd
}
