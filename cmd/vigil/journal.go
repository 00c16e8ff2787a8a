package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
)

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
