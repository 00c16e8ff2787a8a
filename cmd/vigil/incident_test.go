package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/incident"
)

// incidentConfig writes a config whose journal holds one incident on
// shop-prod/api, fired and resolved a few minutes ago, with bob's ack and
// rollback, and returns the journal's path and the incident's id.
func incidentConfig(t *testing.T) (string, string) {
	t.Helper()
	dir := sandbox(t)
	path := filepath.Join(dir, "journal.db")
	cfg := filepath.Join(dir, "config.yaml")
	writeFile(t, cfg, "identity: {name: alice, role: operator}\naudit: {path: "+path+"}\n")
	t.Setenv("VIGIL_CONFIG", cfg)
	j, err := audit.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	// The verbs read the journal with the real clock: the story is recent.
	t0 := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	alert := func(d time.Duration) map[string]string {
		return map[string]string{"alertname": "AppHighErrorRate", "severity": "critical", "workload": "shop-prod/api", "rollout": "prod/api",
			"label.alertname": "AppHighErrorRate", "label.namespace": "shop-prod", "label.deployment": "api",
			"expr": "err_ratio > 0.05", "at": t0.Add(d).Format(time.RFC3339Nano)}
	}
	for _, e := range []audit.Entry{
		{Time: t0, Actor: "alice", Action: "promote", Target: "prod/api", Parameters: map[string]string{"from": "preprod", "image.app": "api:1 -> api:2-bad"}},
		{Time: t0.Add(time.Minute), Actor: "alertmanager", Action: incident.FiringEntry, Target: "alert/fp1", Parameters: alert(time.Minute)},
		{Time: t0.Add(2 * time.Minute), Actor: "bob", Action: incident.AckEntry, Target: "alert/fp1", Parameters: map[string]string{"alertname": "AppHighErrorRate", "duration": "1h0m0s", "comment": "rolling back", "silence": "s1"}},
		{Time: t0.Add(3 * time.Minute), Actor: "bob", Action: "roll back", Target: "prod/api", Parameters: map[string]string{"image.app": "api:2-bad -> api:1"}},
		{Time: t0.Add(5 * time.Minute), Actor: "alertmanager", Action: incident.ResolvedEntry, Target: "alert/fp1", Parameters: alert(5 * time.Minute)},
	} {
		e.Result = audit.OK
		if _, err := j.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	return path, incident.IncidentID("workload/shop-prod/api", t0.Add(time.Minute))
}

func TestIncidentListAndExport(t *testing.T) {
	_, id := incidentConfig(t)
	code, out, errOut := cli(t, "incident", "list")
	if code != 0 || !strings.Contains(out, id+"  resolved") || !strings.Contains(out, "AppHighErrorRate on shop-prod/api") {
		t.Fatalf("list: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = cli(t, "incident", "list", "--json")
	if code != 0 || !strings.Contains(out, `"id": "`+id+`"`) {
		t.Fatalf("list --json: exit %d\n%s", code, out)
	}

	if code, out, errOut := cli(t, "incident", "note", id, "error", "rate", "started", "with", "2-bad"); code != 0 || out != "noted on incident "+id+"\n" {
		t.Fatalf("note: exit %d, %q, %q", code, out, errOut)
	}
	if code, _, errOut := cli(t, "incident", "note", "nope", "x"); code != 2 || !strings.Contains(errOut, id) {
		t.Fatalf("note on an unknown incident: exit %d, %q", code, errOut)
	}

	code, out, errOut = cli(t, "incident", "export", id[:6])
	if code != 0 {
		t.Fatalf("export: exit %d: %s", code, errOut)
	}
	steps := []string{"| alice | promote |", "| alertmanager | firing |", "| bob | ack |", "| bob | rollback |", "| alertmanager | resolved |", "| alice | note | error rate started with 2-bad |", "err_ratio > 0.05", "| api:2-bad | api:1 |"}
	last := -1
	for _, s := range steps {
		i := strings.Index(out, s)
		if i <= last {
			t.Fatalf("%q missing or out of order:\n%s", s, out)
		}
		last = i
	}

	file := filepath.Join(t.TempDir(), "incident.json")
	if code, _, errOut := cli(t, "incident", "export", id, "--format", "json", "--output", file); code != 0 || !strings.Contains(errOut, "wrote incident "+id) {
		t.Fatalf("export --output: exit %d: %s", code, errOut)
	}
	if b, err := os.ReadFile(file); err != nil || !strings.Contains(string(b), `"kind": "rollback"`) {
		t.Fatalf("the JSON export: %v\n%s", err, b)
	}

	// An unknown id: exit 2, and the recent incidents to choose from.
	code, out, errOut = cli(t, "incident", "export", "0000000000")
	if code != 2 || out != "" || !strings.Contains(errOut, `no incident has id "0000000000"; recent incidents:`) || !strings.Contains(errOut, id) {
		t.Fatalf("unknown id: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
