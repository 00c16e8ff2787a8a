package incident

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
)

// Export formats of an incident.
const (
	FormatMarkdown = "markdown"
	FormatJSON     = "json"
)

const stamp = "2006-01-02 15:04:05 MST"

// WriteIncident writes inc in format (FormatMarkdown or FormatJSON), as
// `vigil incident export` does; now measures an open incident.
func WriteIncident(w io.Writer, inc *Incident, format string, now time.Time) error {
	switch format {
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false) // PromQL's > and < stay readable
		return enc.Encode(inc)
	case FormatMarkdown, "":
		_, err := io.WriteString(w, Markdown(inc, now))
		return err
	}
	return fmt.Errorf("unknown format %q: markdown or json", format)
}

// WriteIncidentTable lists incidents as `vigil incident list` shows them.
func WriteIncidentTable(w io.Writer, incs []Incident, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tSTART\tDURATION\tACTIONS\tSEVERITY\tTITLE")
	for _, inc := range incs {
		state := "resolved"
		if inc.Open() {
			state = "open"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", inc.ID, state, inc.Start.UTC().Format(stamp),
			inc.Duration(now).Round(time.Second), inc.Actions, orDash(string(inc.Severity)), inc.Title)
	}
	return tw.Flush()
}

// WriteIncidentsJSON lists incidents as one JSON array.
func WriteIncidentsJSON(w io.Writer, incs []Incident) error {
	if incs == nil {
		incs = []Incident{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(incs)
}

// cell makes text safe in a Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "|", `\|`)
	if s == "" {
		return "—"
	}
	return s
}

func linkText(l Link) string {
	if l.ID == "" {
		return "—"
	}
	return string(l.Kind) + " `" + strings.ReplaceAll(l.ID, "`", "'") + "`"
}

// mdLink is a URL from outside (an alert's runbook_url) in Markdown: an
// autolink <…> when it is an http(s) URL of printable ASCII, else a code
// span that no renderer turns into a link or markup.
func mdLink(raw string) string {
	u, err := url.Parse(raw)
	ok := err == nil && u.Host != "" && (strings.EqualFold(u.Scheme, "http") || strings.EqualFold(u.Scheme, "https"))
	for i := 0; ok && i < len(raw); i++ {
		c := raw[i]
		ok = c > ' ' && c < 0x7f && c != '<' && c != '>'
	}
	if ok {
		return "<" + raw + ">"
	}
	text := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '`' {
			return '?'
		}
		return r
	}, raw)
	return "`" + text + "`"
}

func fmtDur(d time.Duration) string { return d.Round(time.Second).String() }

// Markdown is the incident as a developer reads it in a ticket, without
// vigil: summary, timeline, alerts with their expressions and values,
// versions promoted and rolled back, playbook runs, notes.
func Markdown(inc *Incident, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Incident %s: %s\n\n", inc.ID, inc.Title)

	b.WriteString("## Summary\n\n| | |\n|---|---|\n")
	what := []string{}
	for _, a := range inc.Alerts {
		w := a.Name
		if a.Severity != "" {
			w += " (" + string(a.Severity) + ")"
		}
		if !slices.Contains(what, w) {
			what = append(what, w)
		}
	}
	fmt.Fprintf(&b, "| What | %s |\n", cell(strings.Join(what, ", ")))
	where := inc.Where()
	if len(inc.Rollouts) > 0 {
		where += " (" + strings.Join(inc.Rollouts, ", ") + ")"
	}
	fmt.Fprintf(&b, "| Where | %s |\n", cell(where))
	fmt.Fprintf(&b, "| Start | %s |\n", inc.Start.UTC().Format(stamp))
	if inc.Open() {
		fmt.Fprintf(&b, "| End | still firing at %s (%s so far) |\n", now.UTC().Format(stamp), fmtDur(inc.Duration(now)))
	} else {
		fmt.Fprintf(&b, "| End | %s (lasted %s) |\n", inc.End.UTC().Format(stamp), fmtDur(inc.Duration(now)))
	}
	fmt.Fprintf(&b, "| Time to acknowledge | %s |\n", milestone(inc, inc.Acknowledged, KindAck))
	fmt.Fprintf(&b, "| Time to mitigate | %s |\n", milestone(inc, inc.Mitigated, ""))
	fmt.Fprintf(&b, "| Actions taken | %d |\n", inc.Actions)

	b.WriteString("\n## Timeline\n\nTimes are UTC.\n\n| Time | Actor | Event | What | Refers to |\n|---|---|---|---|---|\n")
	for _, te := range inc.Timeline {
		text := te.Text
		if te.Result != "" && te.Result != "ok" {
			text += " — " + string(te.Result)
			if te.Error != "" {
				text += ": " + te.Error
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", te.Time.UTC().Format("2006-01-02 15:04:05"), cell(te.Actor), te.Kind, cell(text), linkText(te.Link))
	}
	if len(inc.Timeline) == 0 {
		b.WriteString("| — | — | — | nothing journaled | — |\n")
	}

	b.WriteString("\n## Alerts\n")
	for _, a := range inc.Alerts {
		fmt.Fprintf(&b, "\n### %s", a.Name)
		if a.Severity != "" {
			fmt.Fprintf(&b, " (%s)", a.Severity)
		}
		b.WriteString("\n\n")
		if a.Summary != "" {
			fmt.Fprintf(&b, "%s\n\n", a.Summary)
		}
		fmt.Fprintf(&b, "- Fingerprint: `%s`\n", a.Fingerprint)
		if len(a.Labels) > 0 {
			var ls []string
			for _, k := range slices.Sorted(maps.Keys(a.Labels)) {
				ls = append(ls, fmt.Sprintf("%s=%q", k, a.Labels[k]))
			}
			fmt.Fprintf(&b, "- Labels: `{%s}`\n", strings.Join(ls, ", "))
		}
		fmt.Fprintf(&b, "- Fired: %s, value %s\n", a.FiredAt.UTC().Format(stamp), orUnknown(a.ValueAtFiring))
		if a.ResolvedAt.IsZero() {
			b.WriteString("- Resolved: not yet\n")
		} else {
			fmt.Fprintf(&b, "- Resolved: %s, value %s\n", a.ResolvedAt.UTC().Format(stamp), orUnknown(a.ValueAtResolution))
		}
		if a.RunbookURL != "" {
			fmt.Fprintf(&b, "- Runbook: %s\n", mdLink(a.RunbookURL))
		}
		if a.GeneratorURL != "" {
			fmt.Fprintf(&b, "- Source: %s\n", a.GeneratorURL)
		}
		if a.Expr != "" {
			fmt.Fprintf(&b, "\nRule expression (PromQL):\n\n```promql\n%s\n```\n", a.Expr)
			if a.ValueExpr != "" && a.ValueExpr != a.Expr {
				fmt.Fprintf(&b, "\nValues above are of:\n\n```promql\n%s\n```\n", a.ValueExpr)
			}
		} else {
			b.WriteString("\nRule expression: unknown (no rule in Prometheus produced it when exported)\n")
		}
	}

	var versions, runs, notes []TimelineEntry
	for _, te := range inc.Timeline {
		switch te.Kind {
		case KindPromote, KindRollback:
			versions = append(versions, te)
		case KindPlaybook:
			runs = append(runs, te)
		case KindNote:
			notes = append(notes, te)
		}
	}
	b.WriteString("\n## Versions promoted and rolled back\n\n")
	if len(versions) == 0 {
		b.WriteString("None.\n")
	} else {
		b.WriteString("| Time | Actor | Change | Rollout | From | To | Result |\n|---|---|---|---|---|---|---|\n")
		for _, te := range versions {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", te.Time.UTC().Format("2006-01-02 15:04:05"), cell(te.Actor), te.Kind,
				cell(te.Link.ID), cell(te.From), cell(te.To), te.Result)
		}
	}
	b.WriteString("\n## Playbook runs\n\n")
	if len(runs) == 0 {
		b.WriteString("None.\n")
	}
	for _, te := range runs {
		fmt.Fprintf(&b, "- %s, %s: %s (run `%s`)\n", te.Time.UTC().Format("2006-01-02 15:04:05"), te.Actor, te.Text, te.Link.ID)
		if te.Recap != "" {
			fmt.Fprintf(&b, "  - recap: %s\n", te.Recap)
		}
	}
	b.WriteString("\n## Notes\n\n")
	if len(notes) == 0 {
		b.WriteString("None.\n")
	}
	for _, te := range notes {
		fmt.Fprintf(&b, "- %s, %s: %s\n", te.Time.UTC().Format("2006-01-02 15:04:05"), te.Actor, strings.ReplaceAll(te.Text, "\n", "\n  "))
	}
	return b.String()
}

// milestone says when the first entry of kind (any corrective action when
// "") happened, how long after the start, and by whom.
func milestone(inc *Incident, t time.Time, kind Kind) string {
	if t.IsZero() {
		return "not done"
	}
	for _, te := range inc.Timeline {
		if te.Time.Equal(t) && (kind == "" && te.Kind != KindAck && te.Kind != KindFiring && te.Kind != KindResolved && te.Kind != KindNote || te.Kind == kind) {
			return fmt.Sprintf("%s (%s: %s)", fmtDur(t.Sub(inc.Start)), te.Actor, cell(te.Text))
		}
	}
	return fmtDur(t.Sub(inc.Start))
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// ExportFile writes inc in format to dir (created 0700 if needed) as
// incident-ID.md or incident-ID.json, mode 0600, and returns its path:
// the console's :export.
func ExportFile(dir string, inc *Incident, format string, now time.Time) (string, error) {
	var b bytes.Buffer
	if err := WriteIncident(&b, inc, format, now); err != nil {
		return "", err
	}
	ext := ".md"
	if format == FormatJSON {
		ext = ".json"
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("exporting incident %s: %w", inc.ID, err)
	}
	path := filepath.Join(dir, "incident-"+inc.ID+ext)
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		return "", fmt.Errorf("exporting incident %s: %w", inc.ID, err)
	}
	return path, nil
}
