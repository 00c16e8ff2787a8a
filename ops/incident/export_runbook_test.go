package incident

import (
	"strings"
	"testing"
	"time"
)

// The runbook of an exported alert is a link when it is an http(s) URL;
// anything else is a code span, never markup or a link.
func TestMarkdownRunbookLink(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for raw, want := range map[string]string{
		"https://runbooks.example/app-high-error-rate": "- Runbook: <https://runbooks.example/app-high-error-rate>\n",
		"javascript:alert(1)":                          "- Runbook: `javascript:alert(1)`\n",
		"see [wiki](http://evil/) `x`":                 "- Runbook: `see [wiki](http://evil/) ?x?`\n",
		"https://x/a>b":                                "- Runbook: `https://x/a>b`\n",
		"https://x/\x1b]8;;":                           "- Runbook: `https://x/?]8;;`\n",
	} {
		inc := &Incident{ID: "i1", Title: "t", Start: now, Alerts: []IncidentAlert{{Fingerprint: "a1", Name: "A", RunbookURL: raw, FiredAt: now}}}
		if md := Markdown(inc, now); !strings.Contains(md, want) {
			t.Errorf("runbook_url %q: the export lacks %q", raw, want)
		}
	}
}
