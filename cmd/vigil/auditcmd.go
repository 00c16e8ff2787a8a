package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
)

func newAuditCmd(g *globals) *cobra.Command {
	var (
		since, actor, target string
		asJSON, repair       bool
		limit                int
	)
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Print the audit journal, oldest entry first",
		Example: "  vigil audit --since 2h\n" +
			"  vigil audit --actor alice --target prod/api --json",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := audit.Query{Actor: actor, Target: target, Limit: limit}
			if since != "" {
				t, err := parseSince(since, time.Now())
				if err != nil {
					return usageError("%v", err)
				}
				q.Since = t
			}
			if limit < 0 {
				return usageError("invalid --limit %d: use 0 for every entry, or a positive count", limit)
			}
			cfg, err := g.loadConfig()
			if err != nil {
				return err
			}
			if noJournalYet(cfg.Audit) {
				fmt.Fprintf(cmd.ErrOrStderr(), "no journal at %s yet: it is created when the console first runs\n", cfg.Audit.Path)
				return nil
			}
			if repair {
				if cfg.Audit.Backend == config.BackendPostgres {
					return usageError("--repair mends this host's bbolt file; the journal is in PostgreSQL (audit.backend: postgres)")
				}
				return repairJournal(cmd.OutOrStdout(), cfg.Audit.Path)
			}
			journal, err := openJournal(cfg.Audit)
			if err != nil {
				return err
			}
			defer journal.Close()
			// A damaged journal still prints every entry it can read, then
			// says what it skipped.
			entries, qerr := journal.Query(q)
			var damaged *audit.DamagedError
			if qerr != nil && !errors.As(qerr, &damaged) {
				return qerr
			}
			if asJSON {
				err = writeJSONLines(cmd.OutOrStdout(), entries)
			} else {
				err = writeTable(cmd.OutOrStdout(), entries)
			}
			if err != nil {
				return err
			}
			return qerr
		},
	}
	f := cmd.Flags()
	f.StringVar(&since, "since", "", "only entries newer than a duration ago (2h, 30m) or an RFC 3339 time")
	f.StringVar(&actor, "actor", "", "only entries by this actor")
	f.StringVar(&target, "target", "", "only entries on this target or below it (prod matches prod/api)")
	f.IntVar(&limit, "limit", 0, "only the newest N entries (0: all)")
	f.BoolVar(&asJSON, "json", false, "print one JSON object per line")
	f.BoolVar(&repair, "repair", false, "move a damaged journal aside (it is kept) and copy every readable entry into a new file")
	cmd.MarkFlagsMutuallyExclusive("repair", "json")
	return cmd
}

// openWritableJournal opens the journal of a verb that acts: one that
// cannot journal the action refuses it before it starts.
func openWritableJournal(a config.Audit) (*audit.Journal, error) {
	j, err := openJournal(a)
	if err != nil {
		return nil, err
	}
	if err := j.Writable(); err != nil {
		j.Close()
		return nil, fmt.Errorf("nothing was done: %w", err)
	}
	return j, nil
}

// repairJournal repairs the journal at path when it is damaged.
func repairJournal(w io.Writer, path string) error {
	journal, err := audit.Open(path)
	if err != nil {
		return err
	}
	_, qerr := journal.Query(audit.Query{})
	journal.Close()
	var damaged *audit.DamagedError
	if qerr != nil && !errors.As(qerr, &damaged) {
		return qerr
	}
	if damaged == nil {
		fmt.Fprintf(w, "%s passed the consistency check and every entry reads: nothing to repair\n", path)
		return nil
	}
	r, err := audit.Repair(path, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "moved the damaged journal to %s (kept)\ncopied %d readable entries into a new %s\n", r.Aside, r.Copied, path)
	for _, u := range r.Unreadable {
		fmt.Fprintf(w, "not copied: %s\n", oneLine(u))
	}
	return nil
}

// parseSince reads --since: a duration back from now, or an absolute RFC 3339 time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("invalid --since %q: the duration must be positive, e.g. 2h", s)
		}
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("invalid --since %q: use a duration such as 2h or 45m, or an RFC 3339 time such as 2026-01-02T15:04:05Z", s)
}

func writeJSONLines(w io.Writer, entries []audit.Entry) error {
	enc := json.NewEncoder(w)
	for _, e := range entries {
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return nil
}

func writeTable(w io.Writer, entries []audit.Entry) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tACTOR\tACTION\tTARGET\tRESULT\tDETAIL")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.Local().Format(time.DateTime),
			e.Actor, e.Action, e.Target, e.Result, detail(e))
	}
	return tw.Flush()
}

// detail is the error of a failed entry, else its parameters as k=v.
func detail(e audit.Entry) string {
	if e.Error != "" {
		return oneLine(e.Error)
	}
	keys := make([]string, 0, len(e.Parameters))
	for k := range e.Parameters {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + oneLine(e.Parameters[k])
	}
	return strings.Join(parts, " ")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
