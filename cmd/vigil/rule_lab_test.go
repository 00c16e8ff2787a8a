package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/integrations/prometheus"
	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/audit"
)

// TestRuleVerbsOnTheLab: vigil rule add, list and delete against the lab's
// Prometheus and vigil's rule file: the rule loads, delete asks (refused
// without a terminal) and then unloads it, a bad expression exits 1 with
// Prometheus's parser's message, a viewer is refused; each change is
// journaled with its diff. The rule file is put back as it was.
func TestRuleVerbsOnTheLab(t *testing.T) {
	env := labtest.Env(t, "VIGIL_LAB_PROMETHEUS_URL", "VIGIL_LAB_RULES_FILE")
	url, file := env["VIGIL_LAB_PROMETHEUS_URL"], env["VIGIL_LAB_RULES_FILE"]
	pc, err := prometheus.New(url)
	if err != nil {
		t.Fatal(err)
	}
	original, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.WriteFile(file, original, 0o644)
		pc.Reload(context.Background())
	})
	dir := sandbox(t)
	journal := filepath.Join(dir, "journal.db")
	config := func(role string) string {
		path := filepath.Join(dir, role+".yaml")
		writeFile(t, path, fmt.Sprintf("identity: {name: %s-user, role: %s}\nprometheus:\n  url: %q\n  rule_files: [%q]\naudit:\n  path: %q\n",
			role, role, url, file, journal))
		return path
	}
	t.Setenv("VIGIL_CONFIG", config("operator"))
	name := fmt.Sprintf("VigilCLILoadHigh%d", os.Getpid())

	code, out, errOut := cli(t, "rule", "add", name, "--expr", `node_load1{job="droplets"}`, "--op", ">", "--threshold", "0.5", "--for", "10s",
		"--summary", "load is {{ $value }}")
	if code != 0 || !strings.Contains(out, "added "+name+" to "+file+": Prometheus loaded it in") || !strings.Contains(out, "+      - alert: "+name) {
		t.Fatalf("add: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = cli(t, "rule", "list", "--json")
	var rows []ruleRow
	if code != 0 || json.Unmarshal([]byte(out), &rows) != nil || !slices.ContainsFunc(rows, func(r ruleRow) bool {
		return r.Name == name && r.Expr == `node_load1{job="droplets"} > 0.5` && r.For == "10s" && r.Labels["severity"] == "warning"
	}) {
		t.Fatalf("list: exit %d\n%s%s", code, out, errOut)
	}

	code, out, errOut = cli(t, "rule", "add", name+"Bad", "--expr", "rate(node_cpu_seconds_total[1m]", "--threshold", "1")
	if code != 1 || !strings.Contains(errOut, "could not parse expression: 1:") || !strings.Contains(errOut, "nothing was written") {
		t.Fatalf("bad expression: exit %d\n%s%s", code, out, errOut)
	}
	code, _, errOut = cli(t, "rule", "add", name, "--expr", "up", "--threshold", "1")
	if code != 3 || !strings.Contains(errOut, "exists already") {
		t.Fatalf("same name again: exit %d\n%s", code, errOut)
	}

	t.Setenv("VIGIL_CONFIG", config("viewer"))
	code, _, errOut = cli(t, "rule", "delete", name, "--yes")
	if code != 3 || !strings.Contains(errOut, "is a viewer and may not delete an alerting rule") {
		t.Fatalf("viewer: exit %d\n%s", code, errOut)
	}
	t.Setenv("VIGIL_CONFIG", config("operator"))
	code, _, errOut = cli(t, "rule", "delete", name)
	if code != 3 || !strings.Contains(errOut, "no terminal to ask on") {
		t.Fatalf("delete without --yes: exit %d\n%s", code, errOut)
	}
	code, out, errOut = cli(t, "rule", "delete", name, "--yes")
	if code != 0 || !strings.Contains(out, "deleted "+name) {
		t.Fatalf("delete: exit %d\n%s%s", code, out, errOut)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ls, err := pc.LoadedRules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		if l.Name == name {
			t.Fatalf("%s is still loaded", name)
		}
	}

	j, err := audit.Open(journal)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	entries, err := j.Query(audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, fmt.Sprintf("%s %s %s %s", e.Actor, e.Action, e.Target, e.Result))
		if e.Action == "add an alerting rule" && e.Result == audit.OK && !strings.Contains(e.Parameters["diff"], "alert: "+name) {
			t.Errorf("the add is journaled without its diff: %+v", e)
		}
	}
	want := []string{
		"operator-user add an alerting rule rule/" + name + " ok",
		"operator-user add an alerting rule rule/" + name + "Bad failed",
		"operator-user add an alerting rule rule/" + name + " refused",
		"viewer-user delete an alerting rule rule/" + name + " refused",
		"operator-user delete an alerting rule rule/" + name + " refused",
		"operator-user delete an alerting rule rule/" + name + " ok",
	}
	if !slices.Equal(got, want) {
		t.Errorf("journal:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
