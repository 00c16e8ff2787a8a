package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilops/vigil/lab/internal/needs"
)

// Under root, PostgreSQL's data dir is made as the lab's own user even when
// the state dir lies below a directory only root may enter (root's home is
// 0700): that user is let through, search only, and initdb succeeds.
func TestPostgresClusterUnderAPrivateDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the server's own user exists only when the lab runs as root")
	}
	if _, err := pgBin("initdb"); err != nil {
		needs.Missing(t, err.Error())
	}
	private := filepath.Join(t.TempDir(), "home")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	l := &lab{state: filepath.Join(private, "state", "vigil-lab"), out: io.Discard}
	if err := os.MkdirAll(l.state, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := l.ensurePostgresCluster(); err != nil {
		t.Fatal(err)
	}
	if !fileExists(filepath.Join(l.pgData(), "PG_VERSION")) {
		t.Fatal("no data dir after initdb")
	}
	// Others still may not enter (an ACL entry shows in the group bits,
	// as its mask).
	info, err := os.Stat(private)
	if err != nil || info.Mode().Perm()&0o007 != 0 {
		t.Fatalf("the private dir opened to others: %v (%v)", info.Mode(), err)
	}
	// The password file initdb read is gone; the password is root's.
	if fileExists(filepath.Join(l.pgDir(), "pwfile")) {
		t.Error("initdb's password file was left behind")
	}
	if b, err := os.ReadFile(filepath.Join(l.pgData(), "pg_hba.conf")); err != nil || !strings.Contains(string(b), "scram-sha-256") {
		t.Errorf("pg_hba.conf without password authentication (%v)", err)
	}
	// Again: nothing to do.
	if err := l.ensurePostgresCluster(); err != nil {
		t.Fatal(err)
	}
}
