package audit

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/vigilops/vigil/ops/notify"
)

//go:embed migrations/*.sql
var migrations embed.FS

// notifyChannel is the LISTEN/NOTIFY channel each append announces its Seq on.
const notifyChannel = "vigil_audit"

// Tunables of the PostgreSQL backend (tests shorten them).
var (
	// pgAppendTimeout bounds an Append, its retries included: past it the
	// action is refused, never done unjournaled.
	pgAppendTimeout = 5 * time.Second
	// pgConnectTimeout bounds one connection attempt.
	pgConnectTimeout = 2 * time.Second
	// pgProbeEvery is how often the feed's connection is checked while no
	// notification comes: a dead server is noticed within it.
	pgProbeEvery = 2 * time.Second
	// pgRetryEvery is the pause between reconnection attempts.
	pgRetryEvery = 250 * time.Millisecond
	// pgCacheSize is how many of the newest entries a process keeps, to
	// answer reads while the server is away.
	pgCacheSize = 10_000
)

// UnavailableError says that the shared journal cannot be reached: actions
// that must be journaled are refused until it is back.
type UnavailableError struct {
	Where string    // the server, without credentials
	Since time.Time // when it was first found unreachable
	Err   error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("the shared journal (PostgreSQL at %s) is unreachable since %s: %v; actions that must be journaled are refused until it is back (it is retried by itself)",
		e.Where, e.Since.Format("15:04:05"), e.Err)
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// Refused marks the outage as a refusal: the action was not attempted.
func (e *UnavailableError) Refused() bool { return true }

// OpenPostgres opens the shared journal in the PostgreSQL database at dsn,
// applying the schema migrations it lacks (several bastions may do so at
// once: a session lock orders them). It fails when the server cannot be
// reached; once open, the journal survives outages: see Writable.
func OpenPostgres(ctx context.Context, dsn string) (*Journal, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's parse errors repeat the DSN, password included.
		return nil, errors.New("the PostgreSQL DSN does not parse (not shown): use postgres://user:password@host:port/database")
	}
	cfg.ConnConfig.ConnectTimeout = pgConnectTimeout
	cfg.MaxConns = 4
	where := fmt.Sprintf("%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	if err := migrate(ctx, cfg.ConnConfig); err != nil {
		return nil, fmt.Errorf("open the shared journal at %s: %w", where, redact(err, cfg.ConnConfig.Password))
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("open the shared journal at %s: %w", where, redact(err, cfg.ConnConfig.Password))
	}
	j := &Journal{path: "postgres://" + where, subs: map[int]chan Entry{}}
	s := &pgStore{pool: pool, listen: cfg.ConnConfig.Copy(), where: where, j: j, own: map[uint64]bool{}, done: make(chan struct{}), presenceChanged: make(chan struct{}, 1)}
	// The newest entries, for reads while the server is away, and the
	// feed's starting point.
	cctx, cancel := context.WithTimeout(ctx, pgAppendTimeout)
	defer cancel()
	recent, err := s.fetch(cctx, "ORDER BY seq DESC LIMIT $1", pgCacheSize)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("read the shared journal at %s: %w", where, err)
	}
	slices.Reverse(recent)
	s.cache = recent
	if n := len(recent); n > 0 {
		s.seen = recent[n-1].Seq
	}
	j.remote = s
	var ready sync.WaitGroup
	ready.Add(1)
	var stop context.Context
	stop, s.stop = context.WithCancel(context.Background())
	go s.follow(stop, &ready)
	ready.Wait()
	return j, nil
}

// migrate brings the schema up to date.
func migrate(ctx context.Context, cc *pgx.ConnConfig) error {
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
		goose.WithSessionLocker(locker), goose.WithTableName("vigil_schema_version"))
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}

// MigratePostgres applies the schema migrations to the database at dsn
// (OpenPostgres does it too).
func MigratePostgres(ctx context.Context, dsn string) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return errors.New("the PostgreSQL DSN does not parse (not shown)")
	}
	return redact(migrate(ctx, cfg), cfg.Password)
}

// redact removes a password from an error's text.
func redact(err error, password string) error {
	if err == nil || password == "" {
		return err
	}
	msg := err.Error()
	if !strings.Contains(msg, password) {
		return err
	}
	return errors.New(strings.ReplaceAll(msg, password, "********"))
}

// pgStore is the PostgreSQL backend.
type pgStore struct {
	pool   *pgxpool.Pool
	listen *pgx.ConnConfig
	where  string
	j      *Journal

	// ops orders this process's appends and the feed's catch-ups, so that
	// an entry of its own is published once, as Append returns.
	ops sync.Mutex
	// Below, under ops.
	seen  uint64          // the highest Seq published or skipped
	own   map[uint64]bool // own entries above seen, published already
	cache []Entry         // the newest entries, in Seq order

	// presenceChanged signals, coalesced, a bastion's published sessions.
	presenceChanged chan struct{}
	// writableSubs are woken when the server is found away, or back.
	writableSubs notify.Subscribers

	mu    sync.Mutex
	down  *UnavailableError // while the server is unreachable
	stop  context.CancelFunc
	done  chan struct{}
	since time.Time
}

func (s *pgStore) name() string { return "postgres://" + s.where }

func (s *pgStore) close() {
	s.stop()
	<-s.done
	s.pool.Close()
}

func (s *pgStore) writable() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return s.down
	}
	return nil
}

// health records whether the server answered; err nil: it did.
func (s *pgStore) health(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		if s.down != nil {
			s.down = nil
			s.writableSubs.Notify()
		}
		return
	}
	if s.down == nil {
		s.down = &UnavailableError{Where: s.where, Since: time.Now(), Err: err}
		s.writableSubs.Notify()
	} else {
		s.down.Err = err
	}
}

// SubscribeWritable returns a channel woken (coalesced) each time Writable
// changes its answer: the shared journal's server found away, or back. A
// bbolt journal's is never woken. cancel closes it.
func (j *Journal) SubscribeWritable() (<-chan struct{}, func()) {
	if s, ok := j.remote.(*pgStore); ok {
		return s.writableSubs.Subscribe()
	}
	ch := make(chan struct{})
	var once sync.Once
	return ch, func() { once.Do(func() { close(ch) }) }
}

// newID is an idempotency key: the entry keeps it across retries.
func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *pgStore) append(e Entry) (Entry, error) {
	if e.ID == "" {
		e.ID = newID()
	}
	if s.j.isClosed() {
		return Entry{}, fmt.Errorf("write journal %s: %w", s.name(), errClosed)
	}
	if err := s.writable(); err != nil {
		return Entry{}, err
	}
	s.ops.Lock()
	defer s.ops.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), pgAppendTimeout)
	defer cancel()
	var stored Entry
	var err error
	for {
		stored, err = s.insert(ctx, e)
		if err == nil || !retryable(err) || ctx.Err() != nil {
			break
		}
		// The commit may have happened with its answer lost: the retry
		// carries the same ID and finds it.
		select {
		case <-ctx.Done():
		case <-time.After(pgRetryEvery):
		}
	}
	if err != nil {
		if retryable(err) {
			s.health(err)
			return Entry{}, s.writable()
		}
		return Entry{}, fmt.Errorf("write journal %s: %w", s.name(), err)
	}
	s.health(nil)
	// The feed keeps Seq order: the other bastions' entries committed just
	// before this one go out first.
	if stored.Seq > s.seen+1 {
		_ = s.catchUpTo(ctx, stored.Seq-1)
	}
	switch {
	case stored.Seq == s.seen+1:
		s.seen = stored.Seq
	case stored.Seq > s.seen:
		s.own[stored.Seq] = true // published now, skipped when the feed meets it
	default:
		return stored, nil // a retried entry, published already
	}
	s.remember(stored)
	s.j.mu.Lock()
	s.j.publish(stored)
	s.j.mu.Unlock()
	return stored, nil
}

// retryable reports whether err is the connection's or the server's
// availability rather than the statement's.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Class 08: connection exception; 57P: operator intervention (shutdown).
		return len(pe.Code) >= 2 && (pe.Code[:2] == "08" || pe.Code[:3] == "57P")
	}
	return !errors.Is(err, errClosed)
}

// insert writes e in one transaction: the counter row's lock orders the
// appenders of every bastion, so Seq order is commit order, without gaps.
func (s *pgStore) insert(ctx context.Context, e Entry) (Entry, error) {
	params, err := json.Marshal(e.Parameters)
	if err != nil {
		return Entry{}, err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return Entry{}, err
	}
	defer tx.Rollback(context.Background())
	var seq uint64
	if err := tx.QueryRow(ctx, `UPDATE audit_seq SET seq = seq + 1 RETURNING seq`).Scan(&seq); err != nil {
		return Entry{}, err
	}
	// Under the lock: an entry already stored (a retry whose first commit
	// went through) is returned as it is.
	rows, err := tx.Query(ctx, `SELECT `+columns+` FROM audit_entries WHERE id = $1`, e.ID)
	if err != nil {
		return Entry{}, err
	}
	found, err := scanEntries(rows)
	if err != nil {
		return Entry{}, err
	}
	if len(found) > 0 {
		return found[0], nil // the rollback gives the Seq back
	}
	e.Seq = seq
	if _, err := tx.Exec(ctx, `INSERT INTO audit_entries (seq, id, time_ns, actor, role, key, action, target, parameters, result, error)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		int64(e.Seq), e.ID, e.Time.UnixNano(), e.Actor, e.Role, e.Key, e.Action, e.Target, nullJSON(params), string(e.Result), e.Error); err != nil {
		return Entry{}, err
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, notifyChannel, fmt.Sprint(e.Seq)); err != nil {
		return Entry{}, err
	}
	return e, tx.Commit(ctx)
}

func nullJSON(b []byte) any {
	if string(b) == "null" {
		return nil
	}
	return string(b)
}

const columns = `seq, id, time_ns, actor, role, key, action, target, parameters, result, error`

func scanEntries(rows pgx.Rows) ([]Entry, error) {
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var (
			e      Entry
			seq    int64
			ns     int64
			params []byte
			result string
		)
		if err := rows.Scan(&seq, &e.ID, &ns, &e.Actor, &e.Role, &e.Key, &e.Action, &e.Target, &params, &result, &e.Error); err != nil {
			return nil, err
		}
		e.Seq, e.Time, e.Result = uint64(seq), time.Unix(0, ns), Result(result)
		if len(params) > 0 {
			if err := json.Unmarshal(params, &e.Parameters); err != nil {
				return nil, err
			}
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// fetch reads entries with a clause after FROM.
func (s *pgStore) fetch(ctx context.Context, clause string, args ...any) ([]Entry, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+columns+` FROM audit_entries `+clause, args...)
	if err != nil {
		return nil, err
	}
	return scanEntries(rows)
}

func (s *pgStore) query(q Query) ([]Entry, error) {
	if s.j.isClosed() {
		return nil, fmt.Errorf("read journal %s: %w", s.name(), errClosed)
	}
	where := "WHERE true"
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if !q.Since.IsZero() {
		where += " AND time_ns >= " + arg(q.Since.UnixNano())
	}
	if !q.Until.IsZero() {
		where += " AND time_ns < " + arg(q.Until.UnixNano())
	}
	if q.Actor != "" {
		where += " AND actor = " + arg(q.Actor)
	}
	if q.Target != "" {
		t := arg(q.Target)
		where += " AND (target = " + t + " OR starts_with(target, " + t + " || '/'))"
	}
	clause := where + " ORDER BY time_ns DESC, seq DESC"
	if q.Limit > 0 {
		clause += " LIMIT " + arg(q.Limit)
	}
	ctx, cancel := context.WithTimeout(context.Background(), pgAppendTimeout)
	defer cancel()
	out, err := s.fetch(ctx, clause, args...)
	if err != nil {
		if !retryable(err) {
			return nil, fmt.Errorf("read journal %s: %w", s.name(), err)
		}
		// The server is away: the entries this process has seen answer.
		s.health(err)
		return s.fromCache(q), nil
	}
	s.health(nil)
	slices.Reverse(out)
	return out, nil
}

// fromCache answers q from the newest entries kept in memory.
func (s *pgStore) fromCache(q Query) []Entry {
	s.ops.Lock()
	all := slices.Clone(s.cache)
	s.ops.Unlock()
	slices.SortStableFunc(all, func(a, b Entry) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return compareSeq(a.Seq, b.Seq)
	})
	var out []Entry
	for _, e := range all {
		if q.Matches(e) {
			out = append(out, e)
		}
	}
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[len(out)-q.Limit:]
	}
	return out
}

func compareSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// remember keeps e among the newest entries; s.ops is held.
func (s *pgStore) remember(e Entry) {
	s.cache = append(s.cache, e)
	if n := len(s.cache); n > pgCacheSize {
		s.cache = slices.Delete(s.cache, 0, n-pgCacheSize)
	}
}

// follow is the feed: it LISTENs on a connection of its own and, at each
// notification and after each (re)connection, reads the entries after the
// last one seen. While the server is away it retries every pgRetryEvery,
// and says so through writable.
func (s *pgStore) follow(ctx context.Context, ready *sync.WaitGroup) {
	defer close(s.done)
	first := true
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, func() {
			if first {
				first = false
				ready.Done()
			}
		})
		if first {
			first = false
			ready.Done()
		}
		if ctx.Err() != nil {
			return
		}
		s.health(err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pgRetryEvery):
		}
	}
}

// listenOnce connects, listens and follows until the connection fails.
func (s *pgStore) listenOnce(ctx context.Context, listening func()) error {
	cctx, cancel := context.WithTimeout(ctx, pgConnectTimeout)
	conn, err := pgx.ConnectConfig(cctx, s.listen)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel+"; LISTEN "+presenceChannel); err != nil {
		return err
	}
	s.presenceChange() // what changed while no one listened
	listening()
	// Entries appended while no one listened (a reconnection) first.
	if err := s.catchUp(ctx); err != nil {
		return err
	}
	s.health(nil)
	for {
		wctx, cancel := context.WithTimeout(ctx, pgProbeEvery)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) {
				return err
			}
			// Quiet for a while: is the server still there?
			pctx, cancel := context.WithTimeout(ctx, pgConnectTimeout)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return err
			}
			s.health(nil)
			continue
		}
		if n.Channel == presenceChannel {
			s.presenceChange()
			continue
		}
		if err := s.catchUp(ctx); err != nil {
			return err
		}
	}
}

// presenceChange signals presence's reader without waiting for it.
func (s *pgStore) presenceChange() {
	select {
	case s.presenceChanged <- struct{}{}:
	default:
	}
}

// catchUp publishes the entries after seen that this process did not
// append, a batch at a time.
func (s *pgStore) catchUp(ctx context.Context) error {
	s.ops.Lock()
	defer s.ops.Unlock()
	return s.catchUpTo(ctx, 1<<63-1)
}

// catchUpTo publishes the entries after seen up to Seq upto; s.ops is held.
func (s *pgStore) catchUpTo(ctx context.Context, upto uint64) error {
	for {
		qctx, cancel := context.WithTimeout(ctx, pgAppendTimeout)
		batch, err := s.fetch(qctx, "WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3", int64(s.seen), int64(upto), subscriberBuffer)
		cancel()
		if err != nil {
			return err
		}
		s.j.mu.Lock()
		for _, e := range batch {
			s.seen = e.Seq
			if s.own[e.Seq] {
				delete(s.own, e.Seq)
				continue
			}
			s.remember(e)
			s.j.publish(e)
		}
		s.j.mu.Unlock()
		if len(batch) < subscriberBuffer {
			return nil
		}
	}
}

// ImportReport says what Import did.
type ImportReport struct {
	Read    int // entries given
	Copied  int // entries written now
	Present int // entries found there already (an import run again)
	Total   int // entries in the shared journal afterwards
}

// Import copies entries of another journal (a bbolt file) into the shared
// one with their sequence numbers, in one transaction: all or nothing. An
// entry without an ID gets "bolt:SEQ", so that running it again copies
// nothing twice. A Seq taken by a different entry fails it: import into a
// shared journal before the bastions write to it. The count of the given
// entries found afterwards must match.
func (j *Journal) Import(entries []Entry) (ImportReport, error) {
	r := ImportReport{Read: len(entries)}
	s, ok := j.remote.(*pgStore)
	if !ok {
		return r, errors.New("import copies into the shared journal (PostgreSQL) only")
	}
	entries = slices.Clone(entries)
	slices.SortFunc(entries, func(a, b Entry) int { return compareSeq(a.Seq, b.Seq) })
	ids := make([]string, len(entries))
	for i := range entries {
		if entries[i].Seq == 0 {
			return r, fmt.Errorf("entry %d has no sequence number", i)
		}
		if i > 0 && entries[i].Seq == entries[i-1].Seq {
			return r, fmt.Errorf("sequence number %d appears twice", entries[i].Seq)
		}
		if entries[i].ID == "" {
			entries[i].ID = fmt.Sprintf("bolt:%d", entries[i].Seq)
		}
		ids[i] = entries[i].ID
	}
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var top int64
		if err := tx.QueryRow(ctx, `SELECT seq FROM audit_seq FOR UPDATE`).Scan(&top); err != nil {
			return err
		}
		for _, e := range entries {
			params, err := json.Marshal(e.Parameters)
			if err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, `INSERT INTO audit_entries (seq, id, time_ns, actor, role, key, action, target, parameters, result, error)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING`,
				int64(e.Seq), e.ID, e.Time.UnixNano(), e.Actor, e.Role, e.Key, e.Action, e.Target, nullJSON(params), string(e.Result), e.Error)
			if err != nil {
				var pe *pgconn.PgError
				if errors.As(err, &pe) && pe.Code == "23505" {
					return fmt.Errorf("sequence number %d is taken by another entry in the shared journal: import into it before any bastion writes there", e.Seq)
				}
				return err
			}
			if tag.RowsAffected() == 1 {
				r.Copied++
			} else {
				r.Present++
			}
			top = max(top, int64(e.Seq))
		}
		if _, err := tx.Exec(ctx, `UPDATE audit_seq SET seq = $1`, top); err != nil {
			return err
		}
		var found int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM audit_entries WHERE id = ANY($1)`, ids).Scan(&found); err != nil {
			return err
		}
		if found != len(entries) {
			return fmt.Errorf("count check: %d entries given, %d found in the shared journal", len(entries), found)
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM audit_entries`).Scan(&r.Total); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, notifyChannel, fmt.Sprint(top))
		return err
	})
	if err != nil {
		return ImportReport{Read: len(entries)}, fmt.Errorf("import into %s: %w", s.name(), err)
	}
	return r, nil
}
