package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/audit"
)

// Two vigil serve on one host against one PostgreSQL: both start on the
// shared journal, each shares presence under a name of its own (host and
// SSH port), and both stop cleanly, leaving no session in the shared
// presence.
func TestTwoServesShareTheJournal(t *testing.T) {
	dsn := labtest.PostgresDatabase(t)
	dir := sandbox(t)
	t.Setenv("VIGIL_TEST_PG_DSN", dsn)
	t.Setenv("VIGIL_BASTION", "")
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	sshPub, _ := gossh.NewPublicKey(pub)
	cfg := filepath.Join(dir, "config.yaml")
	writeFile(t, cfg, `identity:
  name: local
audit:
  backend: postgres
  postgres:
    dsn:
      env: VIGIL_TEST_PG_DSN
serve:
  users:
    - name: alice
      role: operator
      keys: ["`+strings.TrimSpace(string(gossh.MarshalAuthorizedKey(sshPub)))+`"]
`)
	shared := regexp.MustCompile(`presence shared with the other bastions as "([^"]+)"`)
	type bastion struct {
		name   string
		stderr *lockedBuffer
		cancel func()
		done   chan error
	}
	start := func() bastion {
		b := bastion{stderr: &lockedBuffer{}, done: make(chan error, 1)}
		cmd := newServeCmd(&globals{configPath: cfg})
		cmd.SetArgs([]string{"--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"})
		cmd.SetErr(b.stderr)
		cmd.SetOut(io.Discard)
		ctx, cancel := context.WithCancel(context.Background())
		b.cancel = cancel
		go func() { b.done <- cmd.ExecuteContext(ctx) }()
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			if m := shared.FindStringSubmatch(b.stderr.String()); m != nil {
				b.name = m[1]
				return b
			}
			if time.Now().After(deadline) {
				t.Fatalf("serve did not share presence; stderr:\n%s", b.stderr.String())
			}
		}
	}
	stop := func(b bastion) {
		b.cancel()
		select {
		case err := <-b.done:
			if err != nil {
				t.Fatalf("serve %s: %v", b.name, err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("serve %s did not stop", b.name)
		}
	}
	a := start()
	b := start()
	if a.name == b.name || !strings.Contains(a.name, ":") {
		t.Fatalf("bastion names %q and %q", a.name, b.name)
	}
	stop(b)
	stop(a)

	// Stopped, neither leaves a session behind in the shared presence, and
	// the journal they shared takes entries.
	j, err := audit.OpenPostgres(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	others, err := j.Presence(time.Minute).Others(context.Background(), "nobody")
	if err != nil || len(others) != 0 {
		t.Fatalf("presence after both stopped: %+v, %v", others, err)
	}
	if _, err := j.Append(audit.Entry{Actor: "alice", Action: "probe", Target: "x", Result: audit.OK}); err != nil {
		t.Fatal(err)
	}
}
