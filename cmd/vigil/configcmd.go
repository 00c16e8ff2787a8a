package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ui/app"
)

func newConfigCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check or create the config file",
		Args:  cobra.NoArgs,
		// Runnable, so that a missing or unknown subcommand is a bad
		// command line (exit 2), not a help page that exits 0.
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageError("config takes a subcommand, validate or init: see vigil config --help")
		},
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
			cfg, err := config.Load(path)
			if err == nil {
				err = keysError(cfg)
			}
			if err != nil {
				errs := splitErrors(err)
				for _, e := range errs {
					fmt.Fprintln(cmd.ErrOrStderr(), e)
				}
				msg := fmt.Sprintf("%s: %d error(s)", path, len(errs))
				fmt.Fprintln(cmd.ErrOrStderr(), msg)
				return &reportedError{msg}
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s: ok\n", path)
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

// keysError checks the config's key remapping against the console's
// bindings, which ops/config cannot know.
func keysError(cfg *config.Config) error {
	if err := app.ValidateKeys(cfg.Keys); err != nil {
		return fmt.Errorf("%s: %w", cfg.Path, err)
	}
	return nil
}
