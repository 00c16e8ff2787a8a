package app

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ui/common"
)

// With the shared journal the status bar shows its health: a fall is said
// with the reason and what is refused, the return too. A console on this
// host's bbolt journal shows nothing of the kind.
func TestSharedJournalHealth(t *testing.T) {
	cfg := &config.Config{Identity: config.Identity{Name: "alice", Role: "operator"}}
	last := func(m *Model) string { s := screen(m); return s[strings.LastIndex(s, "\n")+1:] }
	if l := last(newShell(t, cfg, nil)); strings.Contains(l, "journal") {
		t.Fatalf("a bbolt journal in the status bar: %q", l)
	}

	j, err := audit.OpenPostgres(context.Background(), labtest.PostgresDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	m := newShell(t, cfg, func(o *Options) { o.Journal = j })
	defer m.Close()
	// Reported at start: the server answers.
	if l := last(m); !strings.Contains(l, "journal ●") {
		t.Fatalf("status bar: %q", l)
	}
	down := &audit.UnavailableError{Where: "127.0.0.1:5432/vigil", Since: fixedNow.Add(-2 * time.Minute), Err: errors.New("connection refused")}
	_, cmd := m.Update(common.HealthMsg{Name: journalHealth, State: common.Down, Since: down.Since, Err: down})
	drive(m, cmd)
	if l := last(m); !strings.Contains(l, "journal ✗ 2m") {
		t.Fatalf("status bar: %q", l)
	}
	if s := screen(m); !strings.Contains(s, "unreachable") {
		t.Fatalf("no toast for the fall:\n%s", s)
	}
	_, cmd = m.Update(journalHealthChanged{}) // the journal's wake: it answers again
	drive(m, cmd)
	if s := screen(m); !strings.Contains(s, "the shared journal is back") {
		t.Fatalf("no toast for the return:\n%s", s)
	}
}
