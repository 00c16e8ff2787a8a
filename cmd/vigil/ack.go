package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/incident"
)

// cliTimeout bounds an alert verb's requests to Prometheus and Alertmanager.
const cliTimeout = 30 * time.Second

// Exit codes of the alert verbs, as the release verbs use them.
const (
	exitFailed  = 1
	exitRefused = 3
)

// alertExit ends a verb whose error is printed here with its exit code:
// 3 when refused (role, read-only mode), 1 when it failed.
func alertExit(stderr io.Writer, err error) error {
	if err == nil {
		return nil
	}
	fmt.Fprintln(stderr, "vigil: "+err.Error())
	if access.IsRefusal(err) {
		return &exitCodeError{code: exitRefused}
	}
	return &exitCodeError{code: exitFailed}
}

func newAckCmd(g *globals) *cobra.Command {
	var match, comment string
	var dur time.Duration
	var extend, addComment, untilResolved bool
	cmd := &cobra.Command{
		Use:   "ack (FINGERPRINT | --match M) --for D --comment C",
		Short: "Acknowledge alerts: an Alertmanager silence with you as its author",
		Long: "Acknowledge one alert by its fingerprint (from `vigil alerts`), or every alert matching\n" +
			"--match, with a silence that lasts --for and says --comment. It is journaled.\n\n" +
			"An alert that someone already acknowledged gets no second silence: vigil ack names\n" +
			"theirs (who, comment, until) and exits 3. --extend makes theirs last --for from now\n" +
			"(never shorter) and adds your comment; --add-comment only adds your comment.\n\n" +
			"--until-resolved, instead of --for, holds the acknowledgement while the alert fires and\n" +
			"ends it when it resolves: the silence ends 15 minutes ahead and every running vigil\n" +
			"(console or serve) on that Alertmanager moves its end on, then expires it, journaled\n" +
			"as yours. With no vigil running, it simply ends after 15 minutes.\n\n" +
			"Exit codes: 0 acknowledged, 1 failed, 2 bad arguments, 3 refused (role, --read-only,\n" +
			"already acknowledged).",
		Example: "  vigil ack 3f2a9c1d0b7e6a54 --for 1h --comment 'rolling back api'\n" +
			"  vigil ack 3f2a9c1d0b7e6a54 --extend --for 4h --comment 'vendor ticket 4411'\n" +
			"  vigil ack 3f2a9c1d0b7e6a54 --until-resolved --comment 'rolling back api'\n" +
			"  vigil ack --match 'alertname=\"HostDown\",droplet=\"web-02\"' --for 4h --comment 'rebuilding web-02'",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := incident.AckRequest{Match: match, Duration: dur, Comment: comment, UntilResolved: untilResolved}
			if len(args) == 1 {
				req.Fingerprint = args[0]
			}
			if (req.Fingerprint == "") == (req.Match == "") {
				return usageError("ack takes an alert's FINGERPRINT or --match matchers, one of the two: see vigil ack --help")
			}
			switch {
			case untilResolved && (dur != 0 || req.Fingerprint == "" || extend || addComment):
				return usageError("--until-resolved acknowledges one alert, by FINGERPRINT, instead of --for; not with --extend or --add-comment")
			case extend && addComment:
				return usageError("--extend and --add-comment exclude each other: --extend adds the comment too")
			case (extend || addComment) && req.Fingerprint == "":
				return usageError("--extend and --add-comment act on one alert's acknowledgement: give its FINGERPRINT")
			case extend:
				req.Existing = incident.AckExtend
			case addComment:
				req.Existing = incident.AckComment
			}
			c, err := openIncidentCLI(g, true)
			if err != nil {
				return err
			}
			defer c.close()
			return alertExit(cmd.ErrOrStderr(), ack(cmd.Context(), c, req, cmd.OutOrStdout()))
		},
	}
	cmd.Flags().StringVar(&match, "match", "", "acknowledge every alert these Alertmanager matchers select")
	cmd.Flags().DurationVar(&dur, "for", 0, "how long the acknowledgement lasts: 30m, 1h, 4h… (required)")
	cmd.Flags().StringVar(&comment, "comment", "", "what you are doing about it (required)")
	cmd.Flags().BoolVar(&extend, "extend", false, "if the alert is already acknowledged, make that silence last --for from now and add the comment")
	cmd.Flags().BoolVar(&addComment, "add-comment", false, "if the alert is already acknowledged, add the comment to that silence")
	cmd.Flags().BoolVar(&untilResolved, "until-resolved", false, "hold the acknowledgement while the alert fires, end it when it resolves (instead of --for)")
	cmd.MarkFlagsOneRequired("for", "until-resolved")
	_ = cmd.MarkFlagRequired("comment")
	return cmd
}

func ack(ctx context.Context, c *incidentCLI, req incident.AckRequest, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, cliTimeout)
	defer cancel()
	sil, err := c.svc.Acknowledge(ctx, c.actor, req)
	var acked *incident.AckedError
	if errors.As(err, &acked) {
		return fmt.Errorf("%w\n  to extend it: vigil ack %s --extend --for D --comment C\n  to add a comment: vigil ack %s --add-comment --for D --comment C", err, req.Fingerprint, req.Fingerprint)
	}
	if err != nil {
		return err
	}
	until := sil.EndsAt.Local().Format("2006-01-02 15:04")
	switch {
	case req.Existing != incident.AckRefuse && sil.CreatedBy != c.actor.Name:
		fmt.Fprintf(out, "added to %s's acknowledgement, until %s: silence %s\n", sil.CreatedBy, until, sil.ID)
	default:
		fmt.Fprintf(out, "acknowledged by %s until %s: silence %s\n", sil.CreatedBy, until, sil.ID)
	}
	return nil
}

func newUnackCmd(g *globals) *cobra.Command {
	var yes *bool
	cmd := &cobra.Command{
		Use:   "unack SILENCE",
		Short: "Expire the silence of an acknowledgement",
		Long: "Expire a silence (its id is in `vigil alerts` and in the Alerts pane's silences): the\n" +
			"alerts it muted notify again. It is journaled. vigil asks to confirm on a terminal, as the\n" +
			"console does; elsewhere pass --yes.\n\n" +
			"Exit codes: 0 expired, 1 failed, 2 bad arguments, 3 refused (role, --read-only, or not\n" +
			"confirmed: a wrong answer, or no terminal and no --yes).",
		Example: "  vigil unack 6c1b2a4e-0d7f-4c1e-9a51-2b8f3e7d9c10\n  vigil unack 6c1b2a4e-0d7f-4c1e-9a51-2b8f3e7d9c10 --yes",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := openIncidentCLI(g, true)
			if err != nil {
				return err
			}
			defer c.close()
			if err := newConfirmer(cmd, g, c.actor, c.journal, *yes).confirm(incident.UnackConfirmation(args[0])); err != nil {
				return alertExit(cmd.ErrOrStderr(), err)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), cliTimeout)
			defer cancel()
			if err := c.svc.Unacknowledge(ctx, c.actor, args[0]); err != nil {
				return alertExit(cmd.ErrOrStderr(), err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "expired silence %s\n", args[0])
			return nil
		},
	}
	yes = yesFlag(cmd)
	return cmd
}
