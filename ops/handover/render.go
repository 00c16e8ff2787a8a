package handover

import (
	"fmt"
	"strings"
	"time"
)

const stamp = "2006-01-02 15:04 MST"

// section is one part of a hand-over: a title and its lines, "none" when
// it has none.
type section struct {
	title string
	lines []string
}

func sections(h Handover) []section {
	var s []section
	add := func(title string, lines []string) { s = append(s, section{title, lines}) }

	var l []string
	for _, a := range h.Firing {
		line := fmt.Sprintf("%s %s", orDash(a.Severity), a.Name)
		if a.Where != "" {
			line += " on " + a.Where
		}
		line += fmt.Sprintf(", %s since %s (alert %s)", a.State, a.Since.UTC().Format(stamp), a.Fingerprint)
		l = append(l, line)
	}
	add("Firing alerts", l)
	l = nil
	for _, a := range h.Acks {
		on := a.Alert
		if a.Where != "" {
			on += " on " + a.Where
		}
		l = append(l, fmt.Sprintf("%s: acknowledged by %s until %s: %q (silence %s)", on, a.Owner, a.Until.UTC().Format(stamp), a.Comment, a.SilenceID))
	}
	add("Acknowledgements", l)
	l = nil
	for _, i := range h.Incidents {
		l = append(l, fmt.Sprintf("%s %s, open since %s, %d actions (vigil incident export %s)", i.ID, i.Title, i.Start.UTC().Format(stamp), i.Actions, i.ID))
	}
	add("Open incidents", l)
	l = nil
	for _, r := range h.Rollouts {
		line := fmt.Sprintf("%s/%s at %s: %s, %s ready", r.Env, r.App, orDash(r.Version), r.Health, r.Ready)
		if r.Reason != "" {
			line += " (" + r.Reason + ")"
		}
		l = append(l, line)
	}
	add("Rollouts in flight", l)
	l = nil
	for _, f := range h.Frozen {
		l = append(l, fmt.Sprintf("%s until %s by %s: %s", f.Env, f.Until.UTC().Format(stamp), f.By, f.Reason))
	}
	add("Frozen environments", l)
	l = nil
	for _, r := range h.Runs {
		l = append(l, fmt.Sprintf("%s %s on %s by %s, since %s", r.ID, r.Playbook, r.Target, r.Actor, r.Started.UTC().Format(stamp)))
	}
	add("Playbook runs in progress", l)
	return s
}

// Text is the hand-over for a terminal.
func Text(h Handover) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Hand-over by %s at %s: %s\n", orDash(h.By), h.Time.UTC().Format(stamp), Summary(h))
	if h.Text != "" {
		b.WriteString("\n" + h.Text + "\n")
	}
	for _, s := range sections(h) {
		fmt.Fprintf(&b, "\n%s:\n", s.title)
		if len(s.lines) == 0 {
			b.WriteString("  none\n")
		}
		for _, l := range s.lines {
			b.WriteString("  " + l + "\n")
		}
	}
	if len(h.Unknown) > 0 {
		b.WriteString("\nNot known:\n")
		for _, u := range h.Unknown {
			b.WriteString("  " + u + "\n")
		}
	}
	return b.String()
}

// Markdown is the hand-over for a chat or a ticket.
func Markdown(h Handover) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Hand-over by %s, %s\n\n%s\n", orDash(h.By), h.Time.UTC().Format(stamp), Summary(h))
	if h.Text != "" {
		b.WriteString("\n> " + strings.ReplaceAll(h.Text, "\n", "\n> ") + "\n")
	}
	for _, s := range sections(h) {
		fmt.Fprintf(&b, "\n### %s\n\n", s.title)
		if len(s.lines) == 0 {
			b.WriteString("None.\n")
		}
		for _, l := range s.lines {
			b.WriteString("- " + l + "\n")
		}
	}
	if len(h.Unknown) > 0 {
		b.WriteString("\n### Not known\n\n")
		for _, u := range h.Unknown {
			b.WriteString("- " + u + "\n")
		}
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Age says how old h is at now, for "hand-over by bob, 2h ago".
func Age(h Handover, now time.Time) time.Duration { return now.Sub(h.Time).Round(time.Minute) }
