package audit

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/boltfile"
)

var (
	bucket    = []byte("entries")
	seqBucket = []byte("seq") // Seq (8 bytes) → the entry's key in bucket
)

// Journal is the append-only audit store, a bbolt file that every vigil on
// the host shares: each operation opens the file, locks it (exclusively to
// append, shared to read), and closes it, so no process holds it between
// operations. Each Append is committed and fsynced before it returns.
type Journal struct {
	path string

	// remote is the backend when it is not the bbolt file at path: the
	// shared journal in PostgreSQL (OpenPostgres).
	remote backend

	// Now stamps the entries appended without a time; time.Now when nil.
	// Set it before the first Append.
	Now func() time.Time

	// ops orders this process's operations: appends exclusively, reads and
	// the feed's catch-ups together. The file lock orders the processes.
	ops sync.RWMutex

	mu      sync.Mutex
	closed  bool
	damaged *DamagedError // set once the file is found damaged: no more writes
	subs    map[int]chan Entry
	nextID  int
	feed    *feed // entries of other processes, while anyone subscribes
}

// Open opens or creates the journal at path (parent directory 0700, file
// 0600). It holds nothing open afterwards.
func Open(path string) (*Journal, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create journal directory: %w", err)
	}
	j := &Journal{path: path, subs: map[int]chan Entry{}}
	// The whole file is checked once per process; a damaged journal is
	// opened read-only (see Damaged).
	if err := j.file().Check(); err != nil {
		if !boltfile.IsCorrupt(err) {
			return nil, fmt.Errorf("open journal %s: %w", path, err)
		}
		j.setDamaged(err)
		return j, nil
	}
	// A journal that has its buckets is only read: no commit, no fsync.
	ready := false
	if info, err := os.Stat(path); err == nil && info.Size() > 0 {
		if err := j.view(func(tx *bolt.Tx) error {
			ready = tx.Bucket(bucket) != nil && tx.Bucket(seqBucket) != nil
			return nil
		}); err != nil {
			return nil, fmt.Errorf("open journal %s: %w", path, err)
		}
	}
	if !ready {
		if err := j.update(func(tx *bolt.Tx) error {
			for _, name := range [][]byte{bucket, seqBucket} {
				if _, err := tx.CreateBucketIfNotExists(name); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return nil, fmt.Errorf("prepare journal %s: %w", path, err)
		}
	}
	return j, nil
}

// Close ends every subscription; later operations fail.
func (j *Journal) Close() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil
	}
	j.closed = true
	for id, ch := range j.subs {
		close(ch)
		delete(j.subs, id)
	}
	f := j.detachFeed()
	j.mu.Unlock()
	f.stop()
	if j.remote != nil {
		j.remote.close()
	}
	return nil
}

// Where says where the entries are: the bbolt file's path, or the shared
// journal's server and database (never a password).
func (j *Journal) Where() string { return j.path }

// Shared reports whether the journal is the shared one (PostgreSQL),
// rather than this host's bbolt file.
func (j *Journal) Shared() bool { return j.remote != nil }

func (j *Journal) isClosed() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.closed
}

var errClosed = errors.New("the journal is closed")

// key orders entries by time, then by sequence. Flipping the sign bit keeps
// times before 1970 in order as unsigned bytes.
func key(e Entry) []byte {
	k := make([]byte, 16)
	binary.BigEndian.PutUint64(k, uint64(e.Time.UnixNano())^(1<<63))
	binary.BigEndian.PutUint64(k[8:], e.Seq)
	return k
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// Append writes e, assigning Seq and, when zero, Time. It returns once the
// entry is on disk, then hands it to the subscribers. Seq comes from the
// file, so it is unique across the processes that share it.
func (j *Journal) Append(e Entry) (Entry, error) {
	if e.Time.IsZero() {
		now := j.Now
		if now == nil {
			now = time.Now
		}
		e.Time = now()
	}
	e.Time = e.Time.Round(0) // drop the monotonic reading: the stored time is wall clock
	if j.remote != nil {
		return j.remote.append(e)
	}
	j.ops.Lock()
	defer j.ops.Unlock()
	if j.isClosed() {
		return Entry{}, fmt.Errorf("write journal %s: %w", j.path, errClosed)
	}
	if d := j.damage(); d != nil {
		return Entry{}, fmt.Errorf("write journal: %w", d)
	}
	err := j.update(func(tx *bolt.Tx) error {
		// The buckets are created again if the file was removed since Open.
		b, err := tx.CreateBucketIfNotExists(bucket)
		if err != nil {
			return err
		}
		idx, err := tx.CreateBucketIfNotExists(seqBucket)
		if err != nil {
			return err
		}
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		e.Seq = seq
		v, err := json.Marshal(e)
		if err != nil {
			return err
		}
		k := key(e)
		if err := b.Put(k, v); err != nil {
			return err
		}
		return idx.Put(seqKey(seq), k)
	})
	if boltfile.IsCorrupt(err) {
		return Entry{}, fmt.Errorf("write journal: %w", j.setDamaged(err))
	}
	if err != nil {
		return Entry{}, fmt.Errorf("write journal %s: %w", j.path, err)
	}
	j.publishOwn(e)
	return e, nil
}

// Matches reports whether e is selected by q's actor, target and time range.
func (q Query) Matches(e Entry) bool {
	switch {
	case !q.Since.IsZero() && e.Time.Before(q.Since):
		return false
	case !q.Until.IsZero() && !e.Time.Before(q.Until):
		return false
	case q.Actor != "" && e.Actor != q.Actor:
		return false
	case q.Target != "" && e.Target != q.Target && !strings.HasPrefix(e.Target, q.Target+"/"):
		return false
	}
	return true
}

// Query returns the entries q selects, the newest q.Limit of them when
// Limit > 0, oldest first. Entries that cannot be read are skipped: the
// others are returned with a *DamagedError that lists them.
func (j *Journal) Query(q Query) ([]Entry, error) {
	if j.remote != nil {
		return j.remote.query(q)
	}
	j.ops.RLock()
	defer j.ops.RUnlock()
	if j.isClosed() {
		return nil, fmt.Errorf("read journal %s: %w", j.path, errClosed)
	}
	if d := j.damage(); d != nil {
		return j.salvageQuery(q, d.Cause)
	}
	var (
		out        []Entry
		unreadable []string
	)
	err := j.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if b == nil {
			return nil // a file another process is creating again
		}
		c := b.Cursor()
		var k, v []byte
		if q.Until.IsZero() {
			k, v = c.Last()
		} else {
			// Start at the first key at or after Until, and step back from it.
			k, v = c.Seek(key(Entry{Time: q.Until}))
			if k == nil {
				k, v = c.Last()
			}
		}
		for ; k != nil; k, v = c.Prev() {
			var e Entry
			if err := json.Unmarshal(v, &e); err != nil {
				unreadable = append(unreadable, fmt.Sprintf("entry %x: %v", k, err))
				continue
			}
			if !q.Since.IsZero() && e.Time.Before(q.Since) {
				break
			}
			if !q.Matches(e) {
				continue
			}
			out = append(out, e)
			if q.Limit > 0 && len(out) == q.Limit {
				break
			}
		}
		return nil
	})
	if boltfile.IsCorrupt(err) {
		// A damaged page: read what can be read, entry by entry.
		return j.salvageQuery(q, j.setDamaged(err).Cause)
	}
	if err != nil {
		return nil, fmt.Errorf("read journal %s: %w", j.path, err)
	}
	slices.Reverse(out)
	if len(unreadable) > 0 {
		return out, &DamagedError{Path: j.path, Unreadable: unreadable}
	}
	return out, nil
}

// salvageQuery answers q from a damaged file: every readable entry is read,
// then q selects among them.
func (j *Journal) salvageQuery(q Query, cause error) ([]Entry, error) {
	rs, unreadable, err := salvageFile(j.path)
	if err != nil && !boltfile.IsCorrupt(err) {
		return nil, fmt.Errorf("read journal %s: %w", j.path, err)
	}
	if err != nil {
		unreadable = append(unreadable, err.Error())
	}
	all, bad := decodeAll(rs)
	var out []Entry
	for _, e := range all {
		if q.Matches(e) {
			out = append(out, e)
		}
	}
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[len(out)-q.Limit:]
	}
	return out, &DamagedError{Path: j.path, Cause: cause, Unreadable: append(unreadable, bad...)}
}

// Record journals an action's outcome: OK when err is nil, Refused when the
// guard said no (read-only or role), Cancelled when the context ended it,
// Failed otherwise.
func (j *Journal) Record(ctx context.Context, actor access.Actor, action, target string, params map[string]string, err error) error {
	e := Entry{
		Actor:      actor.Name,
		Role:       string(actor.Role),
		Key:        actor.KeyFingerprint,
		Action:     action,
		Target:     target,
		Parameters: params,
		Result:     ResultOf(ctx, err),
	}
	if err != nil {
		e.Error = err.Error()
	}
	_, werr := j.Append(e)
	return werr
}

// ResultOf classifies an action's error for the journal.
func ResultOf(ctx context.Context, err error) Result {
	switch {
	case err == nil:
		return OK
	case access.IsRefusal(err):
		return Refused
	case errors.Is(err, context.Canceled), errors.Is(ctx.Err(), context.Canceled):
		// The second case catches errors that hide the cancellation, like
		// "signal: killed" from a command whose context ended.
		return Cancelled
	}
	return Failed
}
