package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/incident"
)

// exitUsage is the exit code of a bad command line, and of an export of
// an incident that does not exist.
const exitUsage = 2

func newIncidentCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "incident",
		Short: "List incidents and export one for a ticket",
		Long: "An incident groups the alerts on one workload (else one host, else of one name) from\n" +
			"its first firing to its last resolution, with everything journaled around it: acks,\n" +
			"promotions, rollbacks, scale and restart actions, playbook runs, notes, rollout results.\n" +
			"Incidents are rebuilt from the audit journal, where the console and vigil serve journal\n" +
			"each alert's firing and resolution.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageError("incident takes a subcommand, list, export or note: see vigil incident --help")
		},
	}
	cmd.AddCommand(newIncidentListCmd(g), newIncidentExportCmd(g), newIncidentNoteCmd(g))
	return cmd
}

// incidentReader reads incidents from the config's journal, with the
// incident service when Prometheus or Alertmanager is configured (then an
// export reads the values of the alerts' expressions from Prometheus).
type incidentReader struct {
	journal *audit.Journal
	svc     *incident.Service // nil when neither is configured
}

// With releases set and Kubernetes configured, the revisions of the
// incident's workloads are read from the clusters too.
func openIncidentReader(ctx context.Context, g *globals, releases bool, stderr io.Writer) (*incidentReader, func(), error) {
	cfg, err := g.loadConfig()
	if err != nil {
		return nil, nil, err
	}
	if noJournalYet(cfg.Audit) {
		return nil, nil, fmt.Errorf("no journal at %s yet: incidents are journaled by the console and vigil serve", cfg.Audit.Path)
	}
	j, err := openJournal(cfg.Audit)
	if err != nil {
		return nil, nil, err
	}
	r := &incidentReader{journal: j}
	closeAll := func() { j.Close() }
	var rel incident.Releases
	if releases && cfg.Kubernetes != nil {
		if rc, err := openReleaseCLI(ctx, g, false, nil); err != nil {
			fmt.Fprintf(stderr, "vigil: the revisions of the workloads are left out: %v\n", err)
		} else {
			rel, closeAll = rc.svc, func() { rc.close(); j.Close() }
		}
	}
	w := wiring{cfg: cfg, guard: access.Guard{ReadOnly: true}, log: slog.New(slog.DiscardHandler)}
	if r.svc, err = newIncidentWith(w, j, rel); err != nil {
		fmt.Fprintf(stderr, "vigil: the values of the alerts' expressions are left out: %v\n", err)
		r.svc = nil
	}
	return r, closeAll, nil
}

func (r *incidentReader) list(now time.Time) ([]incident.Incident, error) {
	if r.svc != nil {
		return r.svc.Incidents()
	}
	return incident.ReadIncidents(r.journal, now, 30*24*time.Hour)
}

func (r *incidentReader) get(ctx context.Context, id string, now time.Time) (*incident.Incident, error) {
	if r.svc != nil {
		return r.svc.Incident(ctx, id)
	}
	incs, err := r.list(now)
	if err != nil && incs == nil {
		return nil, err
	}
	return incident.FindIncident(incs, id)
}

func newIncidentListCmd(g *globals) *cobra.Command {
	var asJSON, open bool
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the incidents of the last 30 days, newest first",
		Example: "  vigil incident list\n  vigil incident list --open\n  vigil incident list --json | jq -r '.[].id'",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, closeFn, err := openIncidentReader(cmd.Context(), g, false, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer closeFn()
			now := time.Now()
			incs, err := r.list(now)
			var damaged *audit.DamagedError
			if err != nil && !errors.As(err, &damaged) {
				return err
			}
			if open {
				var o []incident.Incident
				for _, inc := range incs {
					if inc.Open() {
						o = append(o, inc)
					}
				}
				incs = o
			}
			if asJSON {
				return errors.Join(incident.WriteIncidentsJSON(cmd.OutOrStdout(), incs), err)
			}
			return errors.Join(incident.WriteIncidentTable(cmd.OutOrStdout(), incs, now), err)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the incidents, with their timelines, as one JSON array")
	cmd.Flags().BoolVar(&open, "open", false, "only the incidents whose alerts still fire")
	return cmd
}

func newIncidentExportCmd(g *globals) *cobra.Command {
	var format, output string
	cmd := &cobra.Command{
		Use:   "export ID",
		Short: "Export an incident for a ticket: Markdown a developer reads without vigil, or JSON",
		Long: "Export an incident (its id, or a unique prefix of it, from `vigil incident list`): a\n" +
			"summary (what, where, start, end, time to acknowledge and to mitigate), the timeline\n" +
			"with who did what, the alerts' PromQL with their values at firing and resolution, the\n" +
			"versions promoted and rolled back, the playbook runs' recaps and the notes.\n\n" +
			"Exit codes: 0 exported, 1 failed, 2 bad arguments or no such incident (the recent ones\n" +
			"are listed).",
		Example: "  vigil incident export 3f2a9c1d0b > incident.md\n" +
			"  vigil incident export 3f2a9c --format json --output incident.json",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != incident.FormatMarkdown && format != incident.FormatJSON {
				return usageError("unknown --format %q: markdown or json", format)
			}
			// The clusters get their own wait (cliSyncTimeout); the
			// queries of the export theirs.
			r, closeFn, err := openIncidentReader(cmd.Context(), g, true, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer closeFn()
			ctx, cancel := context.WithTimeout(cmd.Context(), cliTimeout)
			defer cancel()
			now := time.Now()
			inc, err := r.get(ctx, args[0], now)
			var unknown *incident.UnknownIncidentError
			if errors.As(err, &unknown) {
				return &exitCodeError{code: exitUsage, msg: err.Error()}
			}
			if err != nil {
				return err
			}
			var b bytes.Buffer
			if err := incident.WriteIncident(&b, inc, format, now); err != nil {
				return err
			}
			if output == "" || output == "-" {
				_, err := cmd.OutOrStdout().Write(b.Bytes())
				return err
			}
			if err := os.WriteFile(output, b.Bytes(), 0o600); err != nil {
				return fmt.Errorf("writing the export: %w", err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote incident %s to %s\n", inc.ID, output)
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", incident.FormatMarkdown, "markdown or json")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to this file (mode 0600) instead of stdout")
	return cmd
}

func newIncidentNoteCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "note ID TEXT...",
		Short: "Add a note to an incident's timeline, journaled as yours",
		Long: "Add a note to an incident (its id from `vigil incident list`): it is journaled with you as\n" +
			"its author and shows in the incident's timeline and export, as the console's :note does.\n\n" +
			"Exit codes: 0 noted, 1 failed, 2 bad arguments or no such incident, 3 refused (--read-only).",
		Example: "  vigil incident note 3f2a9c1d0b 'error rate started with 1.5.0-bad, see PR 412'",
		Args:    cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			actor, err := localActor(cfg.Identity)
			if err != nil {
				return fmt.Errorf("%s: identity.role: %w", cfg.Path, err)
			}
			j, err := openWritableJournal(cfg.Audit)
			if err != nil {
				return err
			}
			defer j.Close()
			err = incident.AddNote(cmd.Context(), j, g.guard(j), actor, time.Now(), 30*24*time.Hour, args[0], strings.Join(args[1:], " "))
			var unknown *incident.UnknownIncidentError
			if errors.As(err, &unknown) {
				return &exitCodeError{code: exitUsage, msg: err.Error()}
			}
			if err != nil {
				return alertExit(cmd.ErrOrStderr(), err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "noted on incident %s\n", args[0])
			return nil
		},
	}
}
