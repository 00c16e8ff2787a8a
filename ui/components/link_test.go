package components

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

func TestLinkTarget(t *testing.T) {
	for _, ok := range []string{"https://runbooks.example/app-high-error-rate", "http://wiki:8080/ops?x=1#a", "HTTPS://Example.com/a;b"} {
		if got, good := LinkTarget(ok); !good || got != ok {
			t.Errorf("LinkTarget(%q) = %q, %v", ok, got, good)
		}
	}
	for _, bad := range []string{
		"", "runbooks/app", "javascript:alert(1)", "file:///etc/passwd", "ftp://x/y", "https://", "mailto:a@b",
		"https://x/\x1b]8;;https://evil/\a", "https://x/\a", "https://x/a b", "https://x/\u009d", "https://exämple/",
		"https://x/" + strings.Repeat("a", 3000),
	} {
		if got, good := LinkTarget(bad); good {
			t.Errorf("LinkTarget(%q) accepted: %q", bad, got)
		}
	}
}

// A line cut inside a link still closes it: the rest of the screen is not
// a link.
func TestHyperlinkTruncated(t *testing.T) {
	u := "https://runbooks.example/app-high-error-rate"
	line := "runbook     " + Hyperlink(u, u) + " more"
	for w := 1; w <= ansi.StringWidth(line); w++ {
		got := ansi.Truncate(line, w, "…")
		if ansi.StringWidth(got) > w {
			t.Fatalf("width %d: %q is %d wide", w, got, ansi.StringWidth(got))
		}
		open, closed := strings.Count(got, ansi.SetHyperlink(u)), strings.Count(got, ansi.ResetHyperlink())
		if open > 0 && (open != 1 || closed != 1 || strings.Index(got, ansi.ResetHyperlink()) < strings.Index(got, ansi.SetHyperlink(u))) {
			t.Fatalf("width %d: the link is not closed after it opens: %q", w, got)
		}
	}
}
