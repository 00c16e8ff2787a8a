package main

import (
	"github.com/spf13/cobra"
)

func newRollbackCmd(g *globals) *cobra.Command {
	var env string
	var revision int64
	var wait bool
	var yes *bool
	cmd := &cobra.Command{
		Use:   "rollback APP --env ENV",
		Short: "Roll an app back to its previous revision, or to a chosen one",
		Long: "Restore APP's previous revision in ENV (or --to-revision), as `kubectl rollout undo` does.\n" +
			"A freeze never stops a rollback; a promotion or rollback of APP in ENV still in flight does\n" +
			"(its lock, named with its holder): the two image changes never interleave. vigil asks to\n" +
			"confirm on a terminal (typing ENV's name when it is protected), as the console does;\n" +
			"elsewhere pass --yes.\n\n" +
			"Exit codes: 0 rolled back (and with --wait, healthy), 1 failed or the rollout stalled,\n" +
			"2 bad arguments, 3 refused (role, --read-only, another actor's change in flight, or not\n" +
			"confirmed: a wrong answer, or no terminal and no --yes).",
		Example: "  vigil rollback api --env prod --wait\n  vigil rollback web --env test --to-revision 3 --yes",
		Args:    releaseArgs("rollback APP --env ENV [--to-revision N] [--wait] [--yes]", "env", &env),
		RunE: func(cmd *cobra.Command, args []string) error {
			if revision < 0 {
				return usageError("invalid --to-revision %d: use a revision from the history (0 or unset: the previous one)", revision)
			}
			r, err := openReleaseCLI(cmd.Context(), g, true, names(args[0], env))
			if err != nil {
				return err
			}
			defer r.close()
			ask := newConfirmer(cmd, g, r.actor, r.journal, *yes)
			return exitCode(r.svc.RollbackCLI(cmd.Context(), r.actor, cmd.OutOrStdout(), ask.release(), args[0], env, revision, wait))
		},
	}
	cmd.Flags().StringVar(&env, "env", "", "the environment to roll back in (required)")
	cmd.Flags().Int64Var(&revision, "to-revision", 0, "the revision to restore (default: the previous one)")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the rollout to complete, or to stall")
	yes = yesFlag(cmd)
	return cmd
}
