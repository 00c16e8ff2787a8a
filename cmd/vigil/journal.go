package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/playbook"
	"github.com/vigilops/vigil/ops/presence"
)

// Presence across bastions: each renews its sessions every
// presenceHeartbeat; a bastion silent for presenceExpiry has died.
const (
	presenceHeartbeat = 2 * time.Second
	presenceExpiry    = 10 * time.Second
)

// sharePresence shares vigil serve's presence r through the shared journal
// j, as bastion bastionName(addr); the returned function withdraws this
// bastion's sessions: call it before closing the journal.
func sharePresence(r *presence.Registry, j *audit.Journal, addr string, log io.Writer) (stop func()) {
	remote := j.Presence(presenceExpiry)
	if remote == nil {
		return func() {}
	}
	host, _ := os.Hostname()
	name := bastionName(os.Getenv("VIGIL_BASTION"), host, addr)
	fmt.Fprintf(log, "vigil serve: presence shared with the other bastions as %q\n", name)
	return r.Share(remote, name, presenceHeartbeat)
}

// bastionName names a vigil serve among the bastions: $VIGIL_BASTION, else
// its host and SSH port, so that two on one host (the lab, tests) differ.
func bastionName(env, host, addr string) string {
	if env != "" {
		return env
	}
	if _, port, err := net.SplitHostPort(addr); err == nil && port != "" {
		return host + ":" + port
	}
	return host
}

// openJournal opens the configured journal: this host's bbolt file, or the
// one shared by several bastions in PostgreSQL (audit.backend).
func openJournal(a config.Audit) (*audit.Journal, error) {
	if a.Backend != config.BackendPostgres {
		return audit.Open(a.Path)
	}
	dsn, err := postgresDSN(a)
	if err != nil {
		return nil, err
	}
	return audit.OpenPostgres(context.Background(), dsn)
}

// postgresDSN reads the shared journal's DSN; errors never show it.
func postgresDSN(a config.Audit) (string, error) {
	if a.Postgres == nil {
		return "", errors.New("audit.postgres.dsn: missing: the postgres backend needs its DSN from an environment variable or a file")
	}
	dsn, err := a.Postgres.DSN.Value()
	if err != nil {
		return "", fmt.Errorf("audit.postgres.dsn: %w", err)
	}
	return dsn, nil
}

// noJournalYet reports whether the journal was never written: a bbolt file
// that does not exist. The shared journal always exists once configured.
func noJournalYet(a config.Audit) bool {
	if a.Backend == config.BackendPostgres {
		return false
	}
	_, err := os.Stat(a.Path)
	return errors.Is(err, fs.ErrNotExist)
}

// openHistory opens the configured run history: beside the bbolt journal,
// or in the shared journal's PostgreSQL database.
func openHistory(cfg *config.Config) (*playbook.History, error) {
	if cfg.Audit.Backend != config.BackendPostgres {
		return playbook.OpenHistory(historyPath(cfg))
	}
	dsn, err := postgresDSN(cfg.Audit)
	if err != nil {
		return nil, err
	}
	return playbook.OpenHistoryPostgres(context.Background(), dsn)
}

// guard is the guard of a verb that journals in j: --read-only, the role,
// and j's refusal while it cannot take an entry (the shared journal's
// server away), so that no verb acts unjournaled, as in the console.
func (g *globals) guard(j *audit.Journal) access.Guard {
	guard := access.Guard{ReadOnly: g.readOnly}
	if j != nil {
		guard.Journal = j
	}
	return guard
}
