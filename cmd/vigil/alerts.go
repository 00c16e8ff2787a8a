package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/incident"
)

// incidentCLI is what the alert verbs open: the service (not polling: the
// verbs ask once), the local actor, and a close func.
type incidentCLI struct {
	svc     *incident.Service
	actor   access.Actor
	journal recorder // nil for a verb that only lists
	guard   access.Guard
	close   func()
}

// openIncidentCLI builds the incident service for one verb. With journal
// set, acknowledgements are journaled to the config's audit journal;
// without, the journal is not opened: listing records nothing.
func openIncidentCLI(g *globals, journal bool) (*incidentCLI, error) {
	cfg, err := g.loadConfig()
	if err != nil {
		return nil, err
	}
	if cfg.Prometheus == nil && cfg.Alertmanager == nil {
		return nil, fmt.Errorf("%s has no prometheus or alertmanager section: add prometheus.url and alertmanager.urls (vigil config init writes an example)", g.configName())
	}
	actor, err := localActor(cfg.Identity)
	if err != nil {
		return nil, fmt.Errorf("%s: identity.role: %w", cfg.Path, err)
	}
	w := wiring{cfg: cfg, guard: access.Guard{ReadOnly: g.readOnly}, log: slog.New(slog.DiscardHandler)}
	var j incident.Journal = noJournal{}
	closeJournal := func() {}
	if journal {
		if w.journal, err = openWritableJournal(cfg.Audit); err != nil {
			return nil, err
		}
		j, closeJournal = w.journal, func() { w.journal.Close() }
		w.guard = g.guard(w.journal)
	}
	svc, err := newIncidentWith(w, j, nil)
	if err != nil {
		closeJournal()
		return nil, err
	}
	c := &incidentCLI{svc: svc, actor: actor, guard: w.guard, close: closeJournal}
	if w.journal != nil {
		c.journal = w.journal
	}
	return c, nil
}

// noJournal is the journal of a verb that only reads: nothing may be
// recorded through it.
type noJournal struct{}

func (noJournal) Record(context.Context, access.Actor, string, string, map[string]string, error) error {
	return errors.New("this command only lists: it has no journal to record to")
}

func (noJournal) Query(audit.Query) ([]audit.Entry, error) { return nil, nil }

func newAlertsCmd(g *globals) *cobra.Command {
	var asJSON bool
	var filter string
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "List the active alerts of Prometheus and Alertmanager",
		Long: "List the alerts vigil's Alerts pane shows: most severe first, then oldest, with their\n" +
			"state (acknowledged alerts name their owner, time left and silence), age and fingerprint.\n" +
			"A source that does not answer is named on stderr; when none answers, vigil exits 1.",
		Example: "  vigil alerts\n  vigil alerts --filter 'severity=\"critical\",namespace=~\"prod.*\"'\n  vigil alerts --json | jq '.[].fingerprint'",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := openIncidentCLI(g, false)
			if err != nil {
				return err
			}
			defer c.close()
			return listAlerts(cmd.Context(), c.svc, filter, asJSON, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the alerts as one JSON array")
	cmd.Flags().StringVar(&filter, "filter", "", "Alertmanager matchers, e.g. 'severity=\"critical\",namespace=~\"prod.*\"'")
	return cmd
}

func listAlerts(ctx context.Context, svc *incident.Service, filter string, asJSON bool, stdout, stderr io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, cliTimeout)
	defer cancel()
	view, snap, err := svc.List(ctx, filter)
	if snap != nil {
		for _, p := range snap.Problems(snap.Time) {
			fmt.Fprintln(stderr, "vigil: "+p)
		}
	}
	if err != nil {
		return err
	}
	if asJSON {
		return incident.WriteJSON(stdout, view.Alerts)
	}
	return incident.WriteTable(stdout, view.Alerts, snap.Time)
}
