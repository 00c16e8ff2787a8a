package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vigilops/vigil/ops/config"
)

func newConfigCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check or create the config file",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "validate [FILE]",
		Short: "Check a config file and print every error with its line and key",
		Long: "Check a config file (FILE, else --config, $VIGIL_CONFIG or $XDG_CONFIG_HOME/vigil/config.yaml).\n" +
			"Prints \"FILE: ok\", or every error as file:line: key: problem, and exits 1.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := config.Resolve(g.configPath)
			if len(args) == 1 {
				path = args[0]
			}
			if _, err := config.Load(path); err != nil {
				errs := splitErrors(err)
				for _, e := range errs {
					fmt.Fprintln(cmd.ErrOrStderr(), e)
				}
				msg := fmt.Sprintf("%s: %d error(s)", path, len(errs))
				fmt.Fprintln(cmd.ErrOrStderr(), msg)
				return &reportedError{msg}
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "%s: ok\n", path)
			return err
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "init",
		Short: "Write a commented example config (never overwrites an existing file)",
		Long: "Write a commented example config to --config, $VIGIL_CONFIG or $XDG_CONFIG_HOME/vigil/config.yaml.\n" +
			"An existing file is left untouched and the command fails.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := config.Resolve(g.configPath)
			if err := config.Init(path); err != nil {
				return err
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\nedit it, then check it with: vigil config validate %s\n", path, path)
			return err
		},
	})
	return cmd
}

// splitErrors lists the errors joined in err (errors.Join and the like),
// or err alone.
func splitErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var all []error
		for _, e := range j.Unwrap() {
			all = append(all, splitErrors(e)...)
		}
		return all
	}
	return []error{err}
}
