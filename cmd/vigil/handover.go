package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/handover"
	"github.com/vigilops/vigil/ops/incident"
)

func newHandoverCmd(g *globals) *cobra.Command {
	var text string
	var markdown, show bool
	cmd := &cobra.Command{
		Use:   "handover [--text T] [--markdown] | --show",
		Short: "Write the shift hand-over to the journal, or show the latest one",
		Long: "Write a hand-over for the next person on call: the firing alerts, the acknowledgements\n" +
			"(who, why, until), the open incidents, the rollouts in flight, the frozen environments and\n" +
			"the free text of --text. It is journaled and printed; --markdown prints it for a chat.\n" +
			"--show prints the latest hand-over instead of writing one.\n\n" +
			"Playbook runs in progress are known only to the console that runs them: its :handover\n" +
			"lists them.\n\n" +
			"Exit codes: 0 written or shown, 1 failed (or no hand-over to show), 2 bad arguments,\n" +
			"3 refused (--read-only).",
		Example: "  vigil handover --text 'api rolled back to 1.4.0, watch its error rate'\n" +
			"  vigil handover --markdown --text 'quiet night' | xclip\n  vigil handover --show",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if show && text != "" {
				return usageError("--show prints the latest hand-over; --text writes a new one: give one of the two")
			}
			render := handover.Text
			if markdown {
				render = handover.Markdown
			}
			if show {
				return showHandover(g, render, cmd.OutOrStdout())
			}
			err := writeHandover(cmd.Context(), g, text, render, cmd.OutOrStdout(), cmd.ErrOrStderr())
			return alertExit(cmd.ErrOrStderr(), err)
		},
	}
	cmd.Flags().StringVar(&text, "text", "", "what the next person should know, in your words")
	cmd.Flags().BoolVar(&markdown, "markdown", false, "print the hand-over as Markdown")
	cmd.Flags().BoolVar(&show, "show", false, "print the latest hand-over instead of writing one")
	return cmd
}

func showHandover(g *globals, render func(handover.Handover) string, out io.Writer) error {
	cfg, err := g.loadConfig()
	if err != nil {
		return err
	}
	if noJournalYet(cfg.Audit) {
		return fmt.Errorf("no journal at %s: %w", cfg.Audit.Path, handover.ErrNoHandover)
	}
	j, err := openJournal(cfg.Audit)
	if err != nil {
		return err
	}
	defer j.Close()
	h, err := handover.Latest(j)
	if err != nil {
		return err
	}
	_, err = io.WriteString(out, render(h))
	return err
}

// writeHandover collects what is open from the configured systems (each
// that does not answer is named in the hand-over as not known), journals
// it and prints it.
func writeHandover(ctx context.Context, g *globals, text string, render func(handover.Handover) string, out, stderr io.Writer) error {
	cfg, err := g.loadConfig()
	if err != nil {
		return err
	}
	actor, err := localActor(cfg.Identity)
	if err != nil {
		return fmt.Errorf("%s: identity.role: %w", cfg.Path, err)
	}
	guard := access.Guard{ReadOnly: g.readOnly}
	if err := guard.Check(actor, handover.Action); err != nil {
		return err
	}
	j, err := openWritableJournal(cfg.Audit)
	if err != nil {
		return err
	}
	defer j.Close()
	ctx, cancel := context.WithTimeout(ctx, cliTimeout)
	defer cancel()

	w := wiring{cfg: cfg, journal: j, guard: guard, log: slog.New(slog.DiscardHandler)}
	src := handover.Sources{Incidents: func() ([]incident.Incident, error) {
		return incident.ReadIncidents(j, time.Now(), 30*24*time.Hour)
	}}
	inc, err := newIncidentWith(w, j, nil)
	if err != nil {
		fmt.Fprintf(stderr, "vigil: alerts not read: %v\n", err)
	}
	if inc != nil {
		inc.Refresh(ctx)
		src.Alerts = inc
	}
	if cfg.Kubernetes != nil {
		if r, err := openReleaseCLI(ctx, g, false, nil); err != nil {
			src.ReleasesErr = err
		} else {
			defer r.close()
			src.Releases = r.svc
		}
	}
	h, err := handover.Write(ctx, actor, g.guard(j), j, handover.Collect(src, time.Now()), text)
	if err != nil {
		return err
	}
	_, err = io.WriteString(out, render(h))
	return err
}
