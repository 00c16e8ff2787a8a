package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"

	"github.com/spf13/cobra"

	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/playbook"
)

func newStoreCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "store",
		Short: "Manage where the journal is kept",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return usageError("store takes a subcommand: migrate")
		},
	}
	var from, to string
	migrate := &cobra.Command{
		Use:   "migrate --from bolt --to postgres",
		Short: "Copy this host's journal and run history into the shared store (PostgreSQL), keeping each entry's sequence number",
		Long: "Copies every entry of the bbolt journal (audit.path) into the PostgreSQL database of\n" +
			"audit.postgres.dsn, with its sequence number, in one transaction, then checks the counts;\n" +
			"then the playbook run history beside it (runs.db), runs and events, the same way.\n" +
			"Run it before the bastions write to the shared journal; running it again copies nothing twice.\n" +
			"Then set audit.backend: postgres.",
		Example: "  vigil store migrate --from bolt --to postgres",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from != config.BackendBolt || to != config.BackendPostgres {
				return usageError("store migrate copies --from bolt --to postgres (got --from %q --to %q)", from, to)
			}
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			dsn, err := postgresDSN(cfg.Audit)
			if err != nil {
				return err
			}
			if noJournalYet(config.Audit{Path: cfg.Audit.Path}) {
				return fmt.Errorf("no journal at %s: nothing to copy", cfg.Audit.Path)
			}
			src, err := audit.Open(cfg.Audit.Path)
			if err != nil {
				return err
			}
			defer src.Close()
			entries, err := src.Query(audit.Query{})
			var damaged *audit.DamagedError
			if errors.As(err, &damaged) {
				return fmt.Errorf("nothing was copied: %w", err)
			}
			if err != nil {
				return err
			}
			dst, err := audit.OpenPostgres(cmd.Context(), dsn)
			if err != nil {
				return err
			}
			defer dst.Close()
			r, err := dst.Import(entries)
			if err != nil {
				return fmt.Errorf("nothing was copied: %w", err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "read %d entries from %s\n", r.Read, cfg.Audit.Path)
			fmt.Fprintf(out, "copied %d into %s (%d there already); it holds %d entries\n", r.Copied, dst.Where(), r.Present, r.Total)
			// The count check, from outside the import's transaction.
			got, err := dst.Query(audit.Query{})
			if err != nil {
				return err
			}
			have := map[uint64]bool{}
			for _, e := range got {
				have[e.Seq] = true
			}
			missing := slices.DeleteFunc(slices.Clone(entries), func(e audit.Entry) bool { return have[e.Seq] })
			if len(missing) > 0 {
				return fmt.Errorf("count check failed: %d of %d entries are not in the shared journal (first: Seq %d)", len(missing), len(entries), missing[0].Seq)
			}
			fmt.Fprintf(out, "count check: all %d entries present with their sequence numbers\n", len(entries))
			if err := migrateHistory(cmd, cfg, dsn); err != nil {
				return err
			}
			if cfg.Audit.Backend != config.BackendPostgres {
				fmt.Fprintln(out, "now set audit.backend: postgres in the config of every bastion")
			}
			return nil
		},
	}
	f := migrate.Flags()
	f.StringVar(&from, "from", "", "the journal to copy: bolt (audit.path)")
	f.StringVar(&to, "to", "", "where to copy it: postgres (audit.postgres.dsn)")
	_ = migrate.MarkFlagRequired("from")
	_ = migrate.MarkFlagRequired("to")
	cmd.AddCommand(migrate)
	return cmd
}

// migrateHistory copies the run history beside the bbolt journal, when
// there is one, and checks the counts.
func migrateHistory(cmd *cobra.Command, cfg *config.Config, dsn string) error {
	path := historyPath(cfg)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	src, err := playbook.OpenHistory(path)
	if err != nil {
		return err
	}
	defer src.Close()
	runs, err := src.Runs(0)
	if err != nil {
		return fmt.Errorf("run history: nothing was copied: %w", err)
	}
	events := map[string][]playbook.Event{}
	total := 0
	for _, r := range runs {
		es, err := src.Events(r.ID, playbook.Filter{}, 0, 0)
		if err != nil {
			return fmt.Errorf("run history: nothing was copied: %w", err)
		}
		events[r.ID] = es
		total += len(es)
	}
	dst, err := playbook.OpenHistoryPostgres(cmd.Context(), dsn)
	if err != nil {
		return err
	}
	defer dst.Close()
	gotRuns, gotEvents, err := dst.Import(runs, events)
	if err != nil {
		return fmt.Errorf("run history: nothing was copied: %w", err)
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "read %d runs with %d events from %s\n", len(runs), total, path)
	if gotRuns != len(runs) || gotEvents != total {
		return fmt.Errorf("run history count check failed: %d runs and %d events given, %d and %d found", len(runs), total, gotRuns, gotEvents)
	}
	fmt.Fprintf(out, "count check: all %d runs and %d events present\n", gotRuns, gotEvents)
	return nil
}
