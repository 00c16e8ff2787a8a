package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/playbook"
)

// sharedJournalConfig writes a config whose journal is the shared one, its
// DSN in an environment variable, and returns nothing: VIGIL_CONFIG names it.
func sharedJournalConfig(t *testing.T, dir, dsn, backend string) {
	t.Helper()
	t.Setenv("VIGIL_TEST_PG_DSN", dsn)
	path := filepath.Join(dir, "config", "vigil", "config.yaml")
	writeFile(t, path, "audit:\n  backend: "+backend+"\n  postgres:\n    dsn:\n      env: VIGIL_TEST_PG_DSN\n")
	t.Setenv("VIGIL_CONFIG", path)
}

// vigil store migrate copies the host's journal into the shared one and
// checks the counts; vigil audit then prints the same rows from it; run
// again it copies nothing twice.
func TestStoreMigrateThenAuditFromPostgres(t *testing.T) {
	dsn := labtest.PostgresDatabase(t)
	auditFixture(t)          // a bbolt journal at the sandbox's default path
	dir := os.Getenv("HOME") // the sandbox auditFixture made
	_, boltOut, _ := cli(t, "audit")
	// A run history beside the journal: one run with two events.
	h, err := playbook.OpenHistory(filepath.Join(dir, "state", "vigil", "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	run := playbook.Run{ID: "20261207T100000-aaaa", Playbook: "site.yml", Actor: "alice", State: playbook.Succeeded}
	if err := h.Put(run); err != nil {
		t.Fatal(err)
	}
	if err := h.Append(run.ID, []playbook.Event{{Seq: 1, Kind: playbook.KindPlay}, {Seq: 2, Kind: playbook.KindStats}}); err != nil {
		t.Fatal(err)
	}
	h.Close()

	sharedJournalConfig(t, dir, dsn, "bolt")
	code, out, errOut := cli(t, "store", "migrate", "--from", "bolt", "--to", "postgres")
	if code != 0 || !strings.Contains(out, "copied 4 into postgres://127.0.0.1:") || !strings.Contains(out, "count check: all 4 entries present") ||
		!strings.Contains(out, "count check: all 1 runs and 2 events present") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if strings.Contains(out+errOut, "@") {
		t.Fatalf("the output shows the DSN's credentials:\n%s%s", out, errOut)
	}
	code, out, errOut = cli(t, "store", "migrate", "--from", "bolt", "--to", "postgres")
	if code != 0 || !strings.Contains(out, "copied 0 into") || !strings.Contains(out, "(4 there already); it holds 4 entries") {
		t.Fatalf("again: exit %d\n%s\n%s", code, out, errOut)
	}

	sharedJournalConfig(t, dir, dsn, "postgres")
	code, pgOut, errOut := cli(t, "audit")
	if code != 0 || errOut != "" {
		t.Fatalf("audit from postgres: exit %d, stderr %q", code, errOut)
	}
	if pgOut != boltOut {
		t.Fatalf("audit from postgres:\n%s\nfrom bolt:\n%s", pgOut, boltOut)
	}
	code, out, _ = cli(t, "audit", "--actor", "bob", "--json")
	if code != 0 || strings.Count(out, "\n") != 1 || !strings.Contains(out, `"actor":"bob"`) {
		t.Fatalf("filtered from postgres: exit %d\n%s", code, out)
	}
	shared, err := playbook.OpenHistoryPostgres(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer shared.Close()
	if got, err := shared.Get(run.ID); err != nil || got.Playbook != "site.yml" {
		t.Fatalf("the run in PostgreSQL: %+v, %v", got, err)
	}
}

// A wrong password: vigil audit fails saying where, never the password.
func TestAuditFromPostgresHidesThePassword(t *testing.T) {
	dsn := labtest.PostgresDatabase(t)
	dir := sandbox(t)
	wrong := strings.Replace(dsn, "vigil:", "vigil:Wr0ngPassw0rdXyz", 1)
	sharedJournalConfig(t, dir, wrong, "postgres")
	code, out, errOut := cli(t, "audit")
	if code == 0 || strings.Contains(out+errOut, "Wr0ngPassw0rdXyz") || !strings.Contains(errOut, "127.0.0.1") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
}
