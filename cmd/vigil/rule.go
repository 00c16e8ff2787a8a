package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/rules"
)

// ruleCLI is what the rule verbs share: the service, the actor and the
// journal to close.
type ruleCLI struct {
	svc     *rules.Service
	actor   access.Actor
	journal recorder
	close   func()
}

func openRuleCLI(g *globals, journal bool) (*ruleCLI, error) {
	cfg, err := g.loadConfig()
	if err != nil {
		return nil, err
	}
	if cfg.Prometheus == nil || len(cfg.Prometheus.RuleFiles) == 0 {
		return nil, fmt.Errorf("%s names no rule file of vigil's: set prometheus.url and prometheus.rule_files (a file Prometheus's own rule_files lists too)", g.configName())
	}
	actor, err := localActor(cfg.Identity)
	if err != nil {
		return nil, fmt.Errorf("%s: identity.role: %w", cfg.Path, err)
	}
	w := wiring{cfg: cfg, guard: access.Guard{ReadOnly: g.readOnly}, log: slog.New(slog.DiscardHandler)}
	c := &ruleCLI{actor: actor, close: func() {}}
	var j rules.Journal
	if journal {
		if w.journal, err = openWritableJournal(cfg.Audit); err != nil {
			return nil, err
		}
		j, c.journal, c.close = w.journal, w.journal, func() { w.journal.Close() }
		w.guard = g.guard(w.journal)
	}
	if c.svc, err = newRules(w, j); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

func newRuleCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rule",
		Short: "Define alerting rules in the rule file vigil owns (prometheus.rule_files)",
		Long: "Add, delete and list the alerting rules of the rule files vigil owns (prometheus.rule_files\n" +
			"in the config; new rules go to the first). Each change is checked with Prometheus's own\n" +
			"parser (nothing is written when it refuses), written, then Prometheus is reloaded\n" +
			"(POST /-/reload: it must run with --web.enable-lifecycle) and vigil waits until\n" +
			"/api/v1/rules shows it. A reload that fails puts the previous file back. Changes are\n" +
			"journaled with their diff.",
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return usageError("rule takes a subcommand, add, delete or list: see vigil rule --help")
		},
	}
	cmd.AddCommand(newRuleAddCmd(g), newRuleDeleteCmd(g), newRuleListCmd(g))
	return cmd
}

func newRuleAddCmd(g *globals) *cobra.Command {
	var d rules.Definition
	var threshold string
	cmd := &cobra.Command{
		Use:   "add NAME --expr EXPR [--op OP --threshold N] [--for D] [--severity S] [--summary S] [--runbook URL]",
		Short: "Add an alerting rule and reload Prometheus",
		Long: "Add the alerting rule NAME: EXPR compared with --threshold by --op (>, >=, <, <=, ==, !=),\n" +
			"held --for. Without --threshold, EXPR is the whole condition. vigil prints the diff it wrote\n" +
			"and how long Prometheus took to show the rule.\n\n" +
			"Exit codes: 0 added and loaded, 1 failed (Prometheus's parser refused it, the reload\n" +
			"failed and the file was restored, Prometheus did not show it in time), 2 bad arguments,\n" +
			"3 refused (role, --read-only, a rule of that name exists, the file changed while vigil\n" +
			"wrote it).",
		Example: "  vigil rule add HighLoad --expr 'node_load1' --op '>' --threshold 0.5 --for 10s --severity warning \\\n" +
			"      --summary 'load is {{ $value }} on {{ $labels.instance }}'",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d.Name = args[0]
			if strings.TrimSpace(d.Expr) == "" {
				return usageError("rule add needs --expr")
			}
			if threshold != "" {
				var err error
				if d.Threshold, err = parseFloat(threshold); err != nil {
					return usageError("invalid --threshold %q: a number, e.g. 0.5 or 1e6", threshold)
				}
				if !slices.Contains(rules.Comparisons, d.Op) {
					return usageError("invalid --op %q: one of %s", d.Op, strings.Join(rules.Comparisons, " "))
				}
			} else {
				d.Op = ""
			}
			if d.For < 0 {
				return usageError("invalid --for %s", d.For)
			}
			c, err := openRuleCLI(g, true)
			if err != nil {
				return err
			}
			defer c.close()
			return alertExit(cmd.ErrOrStderr(), ruleAdd(cmd.Context(), c, d, cmd.OutOrStdout()))
		},
	}
	f := cmd.Flags()
	f.StringVar(&d.Expr, "expr", "", "the expression (required); with --threshold, the side compared")
	f.StringVar(&d.Op, "op", ">", "the comparison with --threshold: > >= < <= == !=")
	f.StringVar(&threshold, "threshold", "", "the threshold EXPR is compared with")
	f.DurationVar(&d.For, "for", 0, "how long the condition holds before the alert fires: 10s, 5m…")
	f.StringVar(&d.Severity, "severity", "warning", "the severity label")
	f.StringVar(&d.Summary, "summary", "", "the summary annotation (Prometheus templates allowed)")
	f.StringVar(&d.RunbookURL, "runbook", "", "the runbook_url annotation")
	return cmd
}

func parseFloat(s string) (float64, error) {
	var v float64
	_, err := fmt.Sscan(strings.TrimSpace(s), &v)
	return v, err
}

func ruleAdd(ctx context.Context, c *ruleCLI, d rules.Definition, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, cliTimeout)
	defer cancel()
	base, err := c.svc.Read(c.svc.DefaultFile())
	if err != nil {
		return err
	}
	res, err := c.svc.Add(ctx, c.actor, base, d)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "added %s to %s: Prometheus loaded it in %s\n%s", d.Name, res.File, res.Took.Round(time.Millisecond), res.Diff)
	return nil
}

func newRuleDeleteCmd(g *globals) *cobra.Command {
	var yes *bool
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete an alerting rule and reload Prometheus",
		Long: "Delete the alerting rule NAME from the rule file vigil owns that holds it, reload\n" +
			"Prometheus and wait until the rule is gone from /api/v1/rules. It asks first (y), on a\n" +
			"terminal; elsewhere --yes is needed.\n\n" +
			"Exit codes: 0 deleted, 1 failed, 2 bad arguments, 3 refused (not confirmed, role,\n" +
			"--read-only, the file changed while vigil wrote it).",
		Example: "  vigil rule delete HighLoad",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := openRuleCLI(g, true)
			if err != nil {
				return err
			}
			defer c.close()
			k := newConfirmer(cmd, g, c.actor, c.journal, *yes)
			return alertExit(cmd.ErrOrStderr(), ruleDelete(cmd.Context(), c, k, args[0], cmd.OutOrStdout()))
		},
	}
	yes = yesFlag(cmd)
	return cmd
}

func ruleDelete(ctx context.Context, c *ruleCLI, k *confirmer, name string, out io.Writer) error {
	var base *rules.Snapshot
	for _, f := range c.svc.Files() {
		s, err := c.svc.Read(f)
		if err != nil {
			return err
		}
		if _, ok := s.Find(name); ok {
			base = s
			break
		}
	}
	if base == nil {
		return fmt.Errorf("no alerting rule called %s in %s", name, strings.Join(c.svc.Files(), ", "))
	}
	if err := k.confirm(rules.DeleteConfirmation(name)); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, cliTimeout)
	defer cancel()
	res, err := c.svc.Delete(ctx, c.actor, base, name)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "deleted %s from %s: gone from Prometheus in %s\n%s", name, res.File, res.Took.Round(time.Millisecond), res.Diff)
	return nil
}

// ruleRow is one rule as vigil rule list --json prints it.
type ruleRow struct {
	Name        string            `json:"name"`
	File        string            `json:"file"`
	Group       string            `json:"group"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

func newRuleListCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the alerting rules of the rule files vigil owns",
		Long: "List the alerting rules of the rule files vigil owns, as the files hold them (Prometheus's\n" +
			"own view of every rule is its rules page).\n\nExit codes: 0 listed, 1 a file could not be read or parsed.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := openRuleCLI(g, false)
			if err != nil {
				return err
			}
			defer c.close()
			return alertExit(cmd.ErrOrStderr(), ruleList(c, asJSON, cmd.OutOrStdout()))
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func ruleList(c *ruleCLI, asJSON bool, out io.Writer) error {
	owned, err := c.svc.List()
	rows := make([]ruleRow, len(owned))
	for i, o := range owned {
		rows[i] = ruleRow{Name: o.Rule.Alert, File: o.File, Group: o.Group, Expr: o.Rule.Expr, For: o.Rule.For,
			Labels: o.Rule.Labels, Annotations: o.Rule.Annotations}
	}
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if jerr := enc.Encode(rows); jerr != nil {
			return errors.Join(err, jerr)
		}
		return err
	}
	if len(rows) == 0 && err == nil {
		fmt.Fprintf(out, "no alerting rules in %s\n", strings.Join(c.svc.Files(), ", "))
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSEVERITY\tFOR\tEXPR\tFILE")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Name, orNone(r.Labels["severity"]), orNone(r.For), strings.Join(strings.Fields(r.Expr), " "), r.File)
	}
	if ferr := tw.Flush(); ferr != nil {
		return errors.Join(err, ferr)
	}
	return err
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
