package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
)

// damagedJournals are corrupted copies of a journal of n entries, one file
// each (ops/audit's test covers many more through the API; these go
// through the CLI).
func damagedJournals(t *testing.T, n int) map[string][]byte {
	t.Helper()
	dir := sandbox(t)
	now := time.Now()
	var es []audit.Entry
	for i := range n {
		es = append(es, audit.Entry{Time: now.Add(time.Duration(i-n) * time.Second), Actor: fmt.Sprintf("user-%03d", i),
			Action: "promote", Target: "prod/api", Result: audit.OK, Parameters: map[string]string{"pad": strings.Repeat("p", 60)}})
	}
	seedJournal(t, dir, es...)
	good, err := os.ReadFile(filepath.Join(dir, "state", "vigil", "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{"truncated": good[:8192+100], "random bytes": bytes.Repeat([]byte{0x5a, 0xc3, 0x17}, len(good)/3)}
	// The newest entry was written by the last commit: its page is live,
	// not one of the free pages that bbolt's copy-on-write leaves behind.
	newest := bytes.Index(good, []byte(fmt.Sprintf(`{"seq":%d,`, n)))
	for name, off := range map[string]int{"the newest leaf's header": newest - newest%4096, "the newest entry": newest} {
		b := bytes.Clone(good)
		for k := off; k < off+50; k++ {
			b[k] ^= 0xa5
		}
		out["50 bytes flipped in "+name] = b
	}
	b := bytes.Clone(good)
	at := bytes.Index(b, []byte(`{"seq":7,`))
	b[at] = 'X'
	out["one entry undecodable"] = b
	return out
}

// TestAuditOnADamagedJournal: `vigil audit` prints what it can read and
// fails (exit 1) naming the file and the repair; an append is refused the
// same way; `vigil audit --repair` keeps the damaged file and leaves a
// journal that reads and takes appends; `vigil serve` does not start on it.
func TestAuditOnADamagedJournal(t *testing.T) {
	const n = 40
	for name, data := range damagedJournals(t, n) {
		t.Run(name, func(t *testing.T) {
			dir := sandbox(t)
			path := filepath.Join(dir, "state", "vigil", "journal.db")
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := cli(t, "audit")
			if code != 1 || !strings.Contains(errOut, path) || !strings.Contains(errOut, "vigil audit --repair") {
				t.Fatalf("exit %d, stderr %q: want 1 and a message naming %s and the repair", code, errOut, path)
			}
			rows := strings.Count(out, "promote")
			if name == "one entry undecodable" && rows != n-1 {
				t.Errorf("%d rows printed, want the %d readable ones:\n%s", rows, n-1, out)
			}

			j, err := audit.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			// Damage inside a value leaves the file sound: the entry is
			// skipped, and appends go on.
			inValue := strings.Contains(name, "entry")
			if (j.Damaged() == nil) != inValue {
				t.Errorf("Damaged() = %v", j.Damaged())
			}
			if j.Damaged() != nil {
				if _, err := j.Append(audit.Entry{Actor: "x", Action: "a", Target: "t", Result: audit.OK}); err == nil ||
					!strings.Contains(err.Error(), "vigil audit --repair") {
					t.Errorf("append to a damaged journal: %v", err)
				}
				serveErr := runServeOn(t, dir)
				if serveErr == nil || !strings.Contains(serveErr.Error(), path) {
					t.Errorf("vigil serve on a damaged journal: %v", serveErr)
				}
			}
			j.Close()

			code, out, errOut = cli(t, "audit", "--repair")
			if code != 0 || !strings.Contains(out, "moved the damaged journal to "+path+".damaged-") {
				t.Fatalf("--repair: exit %d, stdout %q, stderr %q", code, out, errOut)
			}
			aside, _ := filepath.Glob(path + ".damaged-*")
			if len(aside) != 1 {
				t.Fatalf("kept copies: %v", aside)
			}
			if kept, _ := os.ReadFile(aside[0]); !bytes.Equal(kept, data) {
				t.Error("the damaged file was changed")
			}
			code, out, errOut = cli(t, "audit")
			if code != 0 || errOut != "" || strings.Count(out, "promote") < rows {
				t.Fatalf("after repair: exit %d, stderr %q, %d rows (%d before)", code, errOut, strings.Count(out, "promote"), rows)
			}
			code, out, _ = cli(t, "audit", "--repair")
			if code != 0 || !strings.Contains(out, "nothing to repair") {
				t.Errorf("a second --repair: exit %d, %q", code, out)
			}
		})
	}
}

// runServeOn runs `vigil serve` with a minimal serve section and returns
// its error; it must fail before listening.
func runServeOn(t *testing.T, dir string) error {
	t.Helper()
	cfg := filepath.Join(dir, "serve.yaml")
	writeFile(t, cfg, "identity:\n  name: local\nserve:\n  users:\n    - name: alice\n      role: operator\n      keys: [\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGc7Gl2e3Cq1Nqf5G6nZcJ2+o5QWnKx9HfXyLtm6lQ5t alice\"]\n")
	done := make(chan error, 1)
	go func() {
		done <- runServe(t.Context(), &globals{configPath: cfg}, "127.0.0.1:0", "127.0.0.1:0", &bytes.Buffer{})
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("vigil serve started on a damaged journal")
		return nil
	}
}

// TestConsoleOnADamagedJournalIsReadOnly: the console opens on a damaged
// journal, but read-only (no action it could not journal) and saying why
// and how to repair it. A sound file with an unreadable entry still takes
// appends: there the console acts, and the Activity pane names the entry.
func TestConsoleOnADamagedJournalIsReadOnly(t *testing.T) {
	entryOnly := map[string]bool{"one entry undecodable": true, "50 bytes flipped in the newest entry": true}
	for name, data := range damagedJournals(t, 40) {
		t.Run(name, func(t *testing.T) {
			dir := sandbox(t)
			path := filepath.Join(dir, "journal.db")
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			cfg := config.Default()
			cfg.Audit.Path = path
			b, err := openBackend(context.Background(), &globals{}, cfg, slog.New(slog.DiscardHandler), nil)
			if err != nil {
				t.Fatalf("the console does not open: %v", err)
			}
			defer b.close()
			if entryOnly[name] {
				// The file is sound, one entry is not: actions are journaled.
				if b.guard.ReadOnly || b.notice != "" {
					t.Fatalf("read-only %v, notice %q", b.guard.ReadOnly, b.notice)
				}
				if _, err := b.journal.Append(audit.Entry{Actor: "alice", Action: "promote", Target: "prod/api", Result: audit.OK}); err != nil {
					t.Fatalf("an append beside an unreadable entry: %v", err)
				}
				return
			}
			if !b.guard.ReadOnly || !strings.Contains(b.notice, "vigil audit --repair") || !strings.Contains(b.notice, path) {
				t.Fatalf("read-only %v, notice %q", b.guard.ReadOnly, b.notice)
			}
		})
	}
	dir := sandbox(t)
	cfg := config.Default()
	cfg.Audit.Path = filepath.Join(dir, "journal.db")
	b, err := openBackend(context.Background(), &globals{}, cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	if b.guard.ReadOnly || b.notice != "" {
		t.Fatalf("a sound journal: read-only %v, notice %q", b.guard.ReadOnly, b.notice)
	}
}

// TestVerbGuardAsksTheJournal: a verb's guard refuses a mutation while its
// journal cannot take the entry, as the console's does, and lets it
// through on a sound journal; reads are never refused for it.
func TestVerbGuardAsksTheJournal(t *testing.T) {
	act := access.Action{Name: "restart", MinRole: access.Operator, Mutates: true}
	alice := access.Actor{Name: "alice", Role: access.Operator}
	dir := sandbox(t)
	path := filepath.Join(dir, "journal.db")
	if err := os.WriteFile(path, damagedJournals(t, 40)["truncated"], 0o600); err != nil {
		t.Fatal(err)
	}
	damaged, err := audit.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer damaged.Close()
	g := &globals{}
	if err := g.guard(damaged).Check(alice, act); err == nil || !access.IsRefusal(err) || !strings.Contains(err.Error(), "could not be journaled") {
		t.Fatalf("a mutation over a damaged journal: %v", err)
	}
	if err := g.guard(damaged).Check(alice, access.Action{Name: "list"}); err != nil {
		t.Fatalf("a read over a damaged journal: %v", err)
	}
	sound, err := audit.Open(filepath.Join(dir, "sound.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer sound.Close()
	if err := g.guard(sound).Check(alice, act); err != nil {
		t.Fatalf("a mutation over a sound journal: %v", err)
	}
	if err := g.guard(nil).Check(alice, act); err != nil {
		t.Fatalf("no journal: %v", err)
	}
}
