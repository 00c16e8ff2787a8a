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
	berrors "go.etcd.io/bbolt/errors"

	"github.com/vigilops/vigil/ops/access"
)

var bucket = []byte("entries")

// subscriberBuffer is how many entries a subscriber may fall behind before
// it misses some.
const subscriberBuffer = 256

// Journal is the append-only audit store, a bbolt file. Each Append is
// committed and fsynced before it returns. One process holds it at a time.
type Journal struct {
	db   *bolt.DB
	path string

	mu     sync.Mutex
	subs   map[int]chan Entry
	nextID int
}

// Open opens or creates the journal at path (parent directory 0700, file
// 0600). It fails after a second when another process holds the file.
func Open(path string) (*Journal, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create journal directory: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("journal %s is in use by another vigil: quit it, or use a separate audit.path", path)
	}
	if err != nil {
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucket)
		return err
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("prepare journal %s: %w", path, err)
	}
	return &Journal{db: db, path: path, subs: map[int]chan Entry{}}, nil
}

// Close closes the store and ends every subscription.
func (j *Journal) Close() error {
	j.mu.Lock()
	for id, ch := range j.subs {
		close(ch)
		delete(j.subs, id)
	}
	j.mu.Unlock()
	return j.db.Close()
}

// key orders entries by time, then by sequence. Flipping the sign bit keeps
// times before 1970 in order as unsigned bytes.
func key(e Entry) []byte {
	k := make([]byte, 16)
	binary.BigEndian.PutUint64(k, uint64(e.Time.UnixNano())^(1<<63))
	binary.BigEndian.PutUint64(k[8:], e.Seq)
	return k
}

// Append writes e, assigning Seq and, when zero, Time. It returns once the
// entry is on disk, then hands it to the subscribers.
func (j *Journal) Append(e Entry) (Entry, error) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Time = e.Time.Round(0) // drop the monotonic reading: the stored time is wall clock
	err := j.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		e.Seq = seq
		v, err := json.Marshal(e)
		if err != nil {
			return err
		}
		return b.Put(key(e), v)
	})
	if err != nil {
		return Entry{}, fmt.Errorf("write journal %s: %w", j.path, err)
	}
	j.publish(e)
	return e, nil
}

func (j *Journal) publish(e Entry) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, ch := range j.subs {
		select {
		case ch <- e:
		default: // a slow subscriber misses entries rather than stalling Append
		}
	}
}

// Subscribe returns a live feed of entries appended from now on, and a
// function that ends it. The feed is buffered; a subscriber that falls more
// than its buffer behind misses entries (Append never waits for it) and can
// catch up with Query. The channel is closed by cancel or by Close.
func (j *Journal) Subscribe() (<-chan Entry, func()) {
	j.mu.Lock()
	defer j.mu.Unlock()
	id := j.nextID
	j.nextID++
	ch := make(chan Entry, subscriberBuffer)
	j.subs[id] = ch
	return ch, func() {
		j.mu.Lock()
		defer j.mu.Unlock()
		if c, ok := j.subs[id]; ok {
			close(c)
			delete(j.subs, id)
		}
	}
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
// Limit > 0, oldest first.
func (j *Journal) Query(q Query) ([]Entry, error) {
	var out []Entry
	err := j.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucket).Cursor()
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
				return fmt.Errorf("entry %x is unreadable: %w", k, err)
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
	if err != nil {
		return nil, fmt.Errorf("read journal %s: %w", j.path, err)
	}
	slices.Reverse(out)
	return out, nil
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
