package playbook

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrations embed.FS

// pgTimeout bounds one operation on the shared history.
var pgTimeout = 5 * time.Second

// thisHost names this bastion in the owner of its running runs.
var thisHost = sync.OnceValue(func() string { h, _ := os.Hostname(); return h })

// pgHistory is the run history in PostgreSQL, shared by several bastions
// (audit.backend: postgres).
type pgHistory struct {
	pool  *pgxpool.Pool
	where string
}

// OpenHistoryPostgres opens the run history in the PostgreSQL database at
// dsn, applying the schema migrations it lacks. Runs left running by a
// process of this host that is gone are marked interrupted; those of other
// bastions are theirs to mark when they start again.
func OpenHistoryPostgres(ctx context.Context, dsn string) (*History, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, errors.New("the PostgreSQL DSN does not parse (not shown): use postgres://user:password@host:port/database")
	}
	cfg.ConnConfig.ConnectTimeout = 2 * time.Second
	cfg.MaxConns = 4
	where := fmt.Sprintf("postgres://%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	hide := func(err error) error {
		if p := cfg.ConnConfig.Password; err != nil && p != "" && strings.Contains(err.Error(), p) {
			return errors.New(strings.ReplaceAll(err.Error(), p, "********"))
		}
		return err
	}
	if err := migrateHistory(ctx, cfg.ConnConfig); err != nil {
		return nil, fmt.Errorf("open run history %s: %w", where, hide(err))
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("open run history %s: %w", where, hide(err))
	}
	s := &pgHistory{pool: pool, where: where}
	if err := s.interruptOrphans(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open run history %s: %w", where, hide(err))
	}
	return &History{remote: s}, nil
}

func migrateHistory(ctx context.Context, cc *pgx.ConnConfig) error {
	db := stdlib.OpenDB(*cc)
	defer db.Close()
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return err
	}
	dir, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, dir,
		goose.WithSessionLocker(locker), goose.WithTableName("vigil_history_schema_version"))
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}

// interruptOrphans marks this host's runs whose process is gone.
func (s *pgHistory) interruptOrphans(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, pgTimeout)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT doc FROM playbook_runs WHERE doc->>'state' = $1`, string(Running))
	if err != nil {
		return err
	}
	docs, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return err
	}
	for _, d := range docs {
		var st stored
		if json.Unmarshal(d, &st) != nil || !st.orphaned() {
			continue
		}
		st.interrupt()
		b, err := json.Marshal(st.Run)
		if err != nil {
			return err
		}
		if _, err := s.pool.Exec(ctx, `UPDATE playbook_runs SET doc = $2 WHERE id = $1`, st.ID, string(b)); err != nil {
			return err
		}
	}
	return nil
}

func (s *pgHistory) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), pgTimeout)
}

func (s *pgHistory) wrap(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("run history %s: %w", s.where, err)
}

func (s *pgHistory) put(r Run) error {
	st := stored{Run: r}
	if r.State == Running {
		me := self()
		me.Host = thisHost()
		st.Owner = &me
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	_, err = s.pool.Exec(ctx, `INSERT INTO playbook_runs (id, doc) VALUES ($1, $2)
		ON CONFLICT (id) DO UPDATE SET doc = excluded.doc`, r.ID, string(b))
	return s.wrap(err)
}

func (s *pgHistory) append(runID string, events []Event) error {
	ctx, cancel := s.ctx()
	defer cancel()
	return s.wrap(pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, e := range events {
			b, err := json.Marshal(e)
			if err != nil {
				return err
			}
			// A batch retried after its answer was lost is stored once.
			if _, err := tx.Exec(ctx, `INSERT INTO playbook_events (run_id, seq, doc) VALUES ($1, $2, $3)
				ON CONFLICT (run_id, seq) DO NOTHING`, runID, e.Seq, string(b)); err != nil {
				return err
			}
		}
		return nil
	}))
}

func (s *pgHistory) get(id string) (Run, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	var doc []byte
	err := s.pool.QueryRow(ctx, `SELECT doc FROM playbook_runs WHERE id = $1`, id).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return Run{}, s.wrap(fmt.Errorf("no run %s", id))
	}
	if err != nil {
		return Run{}, s.wrap(err)
	}
	return decode(doc)
}

func (s *pgHistory) runs(limit int) ([]Run, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	q := `SELECT id, doc FROM playbook_runs ORDER BY id DESC`
	var args []any
	if limit > 0 {
		q += ` LIMIT $1`
		args = append(args, limit)
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, s.wrap(err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		var id string
		var doc []byte
		if err := rows.Scan(&id, &doc); err != nil {
			return nil, s.wrap(err)
		}
		r, err := decode(doc)
		if err != nil {
			return nil, s.wrap(fmt.Errorf("run %s is unreadable: %w", id, err))
		}
		out = append(out, r)
	}
	return out, s.wrap(rows.Err())
}

func (s *pgHistory) events(runID string, f Filter, from, limit int) ([]Event, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT doc FROM playbook_events WHERE run_id = $1 AND seq >= $2 ORDER BY seq`, runID, max(from, 0))
	if err != nil {
		return nil, s.wrap(err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() && (limit <= 0 || len(out) < limit) {
		var doc []byte
		if err := rows.Scan(&doc); err != nil {
			return nil, s.wrap(err)
		}
		var e Event
		if err := json.Unmarshal(doc, &e); err != nil {
			return nil, s.wrap(fmt.Errorf("an event of run %s is unreadable: %w", runID, err))
		}
		if f.match(e) {
			out = append(out, e)
		}
	}
	return out, s.wrap(rows.Err())
}

// Import copies runs and their events into the shared history (vigil store
// migrate), keeping run ids and event sequence numbers; running it again
// copies nothing twice. It returns how many runs and events the shared
// history holds of those given afterwards.
func (h *History) Import(runs []Run, events map[string][]Event) (gotRuns, gotEvents int, err error) {
	s, ok := h.remote.(*pgHistory)
	if !ok {
		return 0, 0, errors.New("import copies into the shared run history (PostgreSQL) only")
	}
	ctx := context.Background()
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		ids := make([]string, 0, len(runs))
		for _, r := range runs {
			b, err := json.Marshal(stored{Run: r})
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO playbook_runs (id, doc) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, r.ID, string(b)); err != nil {
				return err
			}
			ids = append(ids, r.ID)
			for _, e := range events[r.ID] {
				b, err := json.Marshal(e)
				if err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `INSERT INTO playbook_events (run_id, seq, doc) VALUES ($1, $2, $3) ON CONFLICT (run_id, seq) DO NOTHING`, r.ID, e.Seq, string(b)); err != nil {
					return err
				}
			}
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM playbook_runs WHERE id = ANY($1)`, ids).Scan(&gotRuns); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT count(*) FROM playbook_events WHERE run_id = ANY($1)`, ids).Scan(&gotEvents)
	})
	return gotRuns, gotEvents, s.wrap(err)
}

func (s *pgHistory) close() { s.pool.Close() }
