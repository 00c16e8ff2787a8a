package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/ops/audit"
)

// seedJournal writes entries into the journal at the default path of the
// sandbox ($XDG_STATE_HOME/vigil/journal.db) and closes it.
func seedJournal(t *testing.T, dir string, entries ...audit.Entry) {
	t.Helper()
	j, err := audit.Open(filepath.Join(dir, "state", "vigil", "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	for _, e := range entries {
		if _, err := j.Append(e); err != nil {
			t.Fatal(err)
		}
	}
}

func auditFixture(t *testing.T) {
	t.Helper()
	dir := sandbox(t)
	now := time.Now()
	seedJournal(t, dir,
		audit.Entry{Time: now.Add(-5 * time.Hour), Actor: "alice", Role: "admin", Action: "droplet.create", Target: "droplet/web-01",
			Parameters: map[string]string{"size": "s-1vcpu-1gb", "region": "ams3"}, Result: audit.OK},
		audit.Entry{Time: now.Add(-90 * time.Minute), Actor: "bob", Role: "operator", Action: "promote", Target: "prod/api",
			Parameters: map[string]string{"version": "2.5.0"}, Result: audit.Failed, Error: "rollout stalled:\n  2/3 ready"},
		audit.Entry{Time: now.Add(-10 * time.Minute), Actor: "alice", Role: "admin", Action: "silence", Target: "prod/api",
			Result: audit.OK},
		audit.Entry{Time: now.Add(-5 * time.Minute), Actor: "alice", Role: "admin", Action: "promote", Target: "production/web",
			Result: audit.Refused, Error: "vigil is in read-only mode"},
	)
}

func TestAuditTable(t *testing.T) {
	auditFixture(t)
	code, out, errOut := cli(t, "audit")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("want a header and 4 rows, got:\n%s", out)
	}
	if f := strings.Fields(lines[0]); strings.Join(f, " ") != "TIME ACTOR ACTION TARGET RESULT DETAIL" {
		t.Errorf("header = %q", lines[0])
	}
	for i, want := range []string{
		"alice  droplet.create  droplet/web-01  ok  region=ams3 size=s-1vcpu-1gb",
		"bob    promote         prod/api        failed  rollout stalled: 2/3 ready",
		"alice  silence         prod/api        ok",
		"alice  promote         production/web  refused  vigil is in read-only mode",
	} {
		if got := strings.Join(strings.Fields(lines[i+1]), " "); !strings.HasSuffix(got, strings.Join(strings.Fields(want), " ")) {
			t.Errorf("row %d = %q, want it to end with %q", i+1, got, want)
		}
	}
}

func TestAuditFilters(t *testing.T) {
	auditFixture(t)
	cases := []struct {
		args    []string
		actions []string // in output order
	}{
		{[]string{"--actor", "alice"}, []string{"droplet.create", "silence", "promote"}},
		{[]string{"--actor", "bob"}, []string{"promote"}},
		{[]string{"--target", "prod"}, []string{"promote", "silence"}}, // not production/web
		{[]string{"--since", "2h"}, []string{"promote", "silence", "promote"}},
		{[]string{"--since", "2h", "--actor", "alice"}, []string{"silence", "promote"}},
		{[]string{"--since", time.Now().Add(-20 * time.Minute).UTC().Format(time.RFC3339)}, []string{"silence", "promote"}},
		{[]string{"--limit", "1"}, []string{"promote"}},
		{[]string{"--actor", "carol"}, nil},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			code, out, errOut := cli(t, append([]string{"audit", "--json"}, c.args...)...)
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				if line == "" {
					continue
				}
				var e audit.Entry
				if err := json.Unmarshal([]byte(line), &e); err != nil {
					t.Fatalf("not a JSON line: %q: %v", line, err)
				}
				got = append(got, e.Action)
			}
			if strings.Join(got, ",") != strings.Join(c.actions, ",") {
				t.Errorf("actions = %v, want %v", got, c.actions)
			}
		})
	}
}

func TestAuditJSONFields(t *testing.T) {
	auditFixture(t)
	code, out, _ := cli(t, "audit", "--json", "--actor", "bob")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var e audit.Entry
	if err := json.Unmarshal([]byte(out), &e); err != nil {
		t.Fatalf("stdout is not one JSON object: %q: %v", out, err)
	}
	if e.Actor != "bob" || e.Role != "operator" || e.Target != "prod/api" || e.Result != audit.Failed ||
		e.Parameters["version"] != "2.5.0" || !strings.Contains(e.Error, "rollout stalled") || e.Time.IsZero() || e.Seq == 0 {
		t.Errorf("entry lost fields: %+v", e)
	}
}

func TestAuditBadInput(t *testing.T) {
	auditFixture(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--since", "yesterday"}, `invalid --since "yesterday": use a duration such as 2h`},
		{[]string{"--since", "-2h"}, "must be positive"},
		{[]string{"--limit", "-1"}, "invalid --limit -1"},
		{[]string{"--actor"}, "flag needs an argument"},
	} {
		code, out, errOut := cli(t, append([]string{"audit"}, c.args...)...)
		if code != 2 || out != "" || !strings.Contains(errOut, c.want) {
			t.Errorf("audit %v: exit %d, stdout %q, stderr %q; want exit 2 and %q", c.args, code, out, errOut, c.want)
		}
	}
}

func TestAuditWithoutJournal(t *testing.T) {
	dir := sandbox(t)
	code, out, errOut := cli(t, "audit")
	if code != 0 || out != "" || !strings.Contains(errOut, "no journal at "+filepath.Join(dir, "state", "vigil", "journal.db")) {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestAuditBesideConsole reads the journal while another vigil, here a
// subscribed Journal as the console's Activity pane holds it, has it open
// and writes to it.
func TestAuditBesideConsole(t *testing.T) {
	auditFixture(t)
	console, err := audit.Open(filepath.Join(os.Getenv("XDG_STATE_HOME"), "vigil", "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer console.Close()
	feed, cancel := console.Subscribe()
	defer cancel()
	if _, err := console.Append(audit.Entry{Actor: "dave", Action: "rollback", Target: "prod/web", Result: audit.OK}); err != nil {
		t.Fatal(err)
	}
	<-feed
	code, out, errOut := cli(t, "audit", "--json", "--since", "1h")
	if code != 0 || errOut != "" {
		t.Fatalf("vigil audit beside an open journal: exit %d, stderr %q", code, errOut)
	}
	var actions []string
	for line := range strings.Lines(out) {
		var e audit.Entry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("not a JSON line: %q: %v", line, err)
		}
		actions = append(actions, e.Actor+" "+e.Action)
	}
	if want := "alice silence,alice promote,dave rollback"; strings.Join(actions, ",") != want {
		t.Errorf("entries = %v, want %s", actions, want)
	}
}
