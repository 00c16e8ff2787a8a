package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunbookVerbs lists an alert's runbooks of a real Alertmanager, and
// checks run's refusals: an unknown runbook or alert, one that runs from
// the console, a role too low (journaled), and a dangerous one with no
// terminal to ask on and no --yes, which never reaches the cluster.
func TestRunbookVerbs(t *testing.T) {
	dir := sandbox(t)
	amURL := startAlertmanager(t)
	path := filepath.Join(dir, "vigil.yaml")
	writeFile(t, path, fmt.Sprintf(`identity: {name: carol, role: operator}
alertmanager:
  urls: [%q]
kubernetes:
  kubeconfig: %q
  environments: [{name: prod, namespace: shop-prod}]
runbooks:
  - {name: restart-api, alert: CLIRunbook, kind: restart}
  - {name: undo, alert: CLIRunbook, kind: rollback}
  - {name: admins-only, alert: CLIRunbook, kind: scale, replicas: 0, role: admin}
  - {name: other, alert: Other, kind: restart}
audit:
  path: %q
`, amURL, filepath.Join(dir, "no-kubeconfig"), filepath.Join(dir, "journal.db")))
	t.Setenv("VIGIL_CONFIG", path)
	res, err := http.Post(amURL+"/api/v2/alerts", "application/json", strings.NewReader(
		`[{"labels":{"alertname":"CLIRunbook","severity":"critical","namespace":"shop-prod","deployment":"api"}}]`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var fp string
	for deadline := 0; deadline < 50 && fp == ""; deadline++ {
		_, out, _ := cli(t, "alerts")
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, "CLIRunbook") {
				f := strings.Fields(l)
				fp = f[len(f)-1]
			}
		}
	}
	if fp == "" {
		t.Fatal("vigil alerts does not list CLIRunbook")
	}

	code, out, errOut := cli(t, "runbook", "list", fp)
	if code != 0 || !strings.Contains(out, "restart-api  restart   operator  yes   restart api in prod (shop-prod/api)") ||
		!strings.Contains(out, "admins-only  scale     admin     yes   scale api in prod (shop-prod/api) to 0 replicas") || strings.Contains(out, "other") {
		t.Fatalf("vigil runbook list: exit %d\n%s%s", code, out, errOut)
	}
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"runbook", "run", fp, "nope"}, 2, `no runbook "nope" for CLIRunbook: its runbooks are restart-api, undo, admins-only`},
		{[]string{"runbook", "run", "0000", "restart-api"}, 2, "no alert 0000: the active ones are"},
		{[]string{"runbook", "run", fp, "undo"}, 2, "vigil rollback api --env prod"},
		{[]string{"runbook", "run", fp, "admins-only", "--yes"}, 3, "carol is a operator and may not runbook admins-only: it needs the admin role"},
		{[]string{"runbook", "run", fp, "restart-api"}, 3, "not confirmed, there is no terminal to ask on"},
		{[]string{"--read-only", "runbook", "run", fp, "restart-api", "--yes"}, 3, "read-only"},
	} {
		code, out, errOut := cli(t, tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("vigil %s: exit %d, want %d with %q\n%s%s", strings.Join(tt.args, " "), code, tt.code, tt.want, out, errOut)
		}
	}
	_, out, _ = cli(t, "audit", "--json")
	for _, want := range []string{`"runbook admins-only"`, `"alert/` + fp + `"`, `"refused"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the journal lacks %s:\n%s", want, out)
		}
	}
}
