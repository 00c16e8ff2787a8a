package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigilops/vigil/integrations/prometheus"
	"github.com/vigilops/vigil/ops/monitoring"
	"github.com/vigilops/vigil/ops/release"
)

// queryPoints is about how many points a range query returns per series.
const queryPoints = 240

func newQueryCmd(g *globals) *cobra.Command {
	var asJSON bool
	var span string
	cmd := &cobra.Command{
		Use:   "query EXPR",
		Short: "Run a PromQL query against Prometheus",
		Long: "Run a PromQL expression, as the Monitoring pane's :query does: at this instant, printing one line\n" +
			"per series with its value, or with --range over the last D, printing each series' last, min\n" +
			"and max (--json prints every point). An expression Prometheus refuses exits 2 with its message\n" +
			"and the line and column of the fault; Prometheus unreachable exits 1.",
		Example: "  vigil query up\n  vigil query 'rate(node_cpu_seconds_total{mode=\"idle\"}[5m])' --range 1h\n" +
			"  vigil query 'node_load1 > 0.5' --json | jq '.vector[].labels.droplet'",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 || strings.TrimSpace(strings.Join(args, " ")) == "" {
				return usageError("query takes an expression: vigil query 'up{job=\"droplets\"}'")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			var d time.Duration
			if span != "" {
				var err error
				if d, err = monitoring.ParseDuration(span); err != nil || d <= 0 {
					return usageError("invalid --range %q: a duration such as 15m, 1h or 2d", span)
				}
			}
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			if cfg.Prometheus == nil {
				return fmt.Errorf("%s has no prometheus section: add prometheus.url (vigil config init writes an example)", g.configName())
			}
			c, err := prometheus.New(cfg.Prometheus.URL)
			if err != nil {
				return err
			}
			return runQuery(cmd.Context(), c, strings.Join(args, " "), d, time.Now(), asJSON, cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON: its type, and its vector, matrix or scalar")
	cmd.Flags().StringVar(&span, "range", "", "query over the last D (15m, 1h, 2d) instead of at this instant")
	return cmd
}

// queryJSON is what --json prints.
type queryJSON struct {
	Expr string `json:"expr"`
	monitoring.Result
}

func runQuery(ctx context.Context, q monitoring.Querier, expr string, span time.Duration, now time.Time, asJSON bool, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, cliTimeout)
	defer cancel()
	var (
		res monitoring.Result
		err error
	)
	if span > 0 {
		res, err = q.RangeQuery(ctx, expr, monitoring.RangeOver(now, span, queryPoints))
	} else {
		res, err = q.Instant(ctx, expr, now)
	}
	var qe *monitoring.QueryError
	if errors.As(err, &qe) {
		msg := qe.Error()
		if p := qe.Position(); p != "" {
			msg += " (" + p + ")"
		}
		code := release.ExitFailed
		if qe.Type == "bad_data" {
			code = release.ExitUsage
		}
		return &exitCodeError{code: code, msg: msg}
	}
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(queryJSON{Expr: expr, Result: res})
	}
	return writeResult(stdout, res)
}

func writeResult(w io.Writer, res monitoring.Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	switch res.Type {
	case monitoring.Vector:
		fmt.Fprintln(tw, "SERIES\tVALUE")
		for _, s := range res.Vector {
			fmt.Fprintf(tw, "%s\t%s\n", monitoring.SeriesName(s.Labels), num(s.Value))
		}
	case monitoring.Matrix:
		fmt.Fprintln(tw, "SERIES\tLAST\tMIN\tMAX\tPOINTS")
		for _, s := range res.Matrix {
			lo, hi, last := math.Inf(1), math.Inf(-1), math.NaN()
			for _, p := range s.Points {
				lo, hi, last = math.Min(lo, p.Value), math.Max(hi, p.Value), p.Value
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", monitoring.SeriesName(s.Labels), num(last), num(lo), num(hi), len(s.Points))
		}
	case monitoring.Scalar:
		fmt.Fprintln(tw, num(res.Scalar.Value))
	case monitoring.String:
		fmt.Fprintln(tw, res.String)
	}
	for _, warn := range res.Warnings {
		fmt.Fprintln(tw, "warning: "+warn)
	}
	return tw.Flush()
}
