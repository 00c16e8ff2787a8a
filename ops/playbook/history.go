package playbook

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

var (
	runsBucket   = []byte("runs")
	eventsBucket = []byte("events") // one nested bucket per run, events by sequence
)

// History keeps runs and their full event logs in a bbolt file.
type History struct {
	db   *bolt.DB
	path string
}

// OpenHistory opens or creates the run history at path. Runs a previous
// process left running are marked interrupted.
func OpenHistory(path string) (*History, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create run history directory: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("run history %s is in use by another vigil: quit it first", path)
	}
	if err != nil {
		return nil, fmt.Errorf("open run history %s: %w", path, err)
	}
	h := &History{db: db, path: path}
	err = db.Update(func(tx *bolt.Tx) error {
		runs, err := tx.CreateBucketIfNotExists(runsBucket)
		if err != nil {
			return err
		}
		if _, err := tx.CreateBucketIfNotExists(eventsBucket); err != nil {
			return err
		}
		return runs.ForEach(func(k, v []byte) error {
			var r Run
			if json.Unmarshal(v, &r) != nil || r.State != Running {
				return nil
			}
			r.State, r.Error = Interrupted, "vigil stopped during the run"
			b, err := json.Marshal(r)
			if err != nil {
				return err
			}
			return runs.Put(k, b)
		})
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("prepare run history %s: %w", path, err)
	}
	return h, nil
}

// Close closes the file.
func (h *History) Close() error { return h.db.Close() }

func (h *History) wrap(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("run history %s: %w", h.path, err)
}

// Put writes a run's record.
func (h *History) Put(r Run) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return h.wrap(h.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(runsBucket).Put([]byte(r.ID), b)
	}))
}

// Append adds events to a run's log in one transaction.
func (h *History) Append(runID string, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	return h.wrap(h.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.Bucket(eventsBucket).CreateBucketIfNotExists([]byte(runID))
		if err != nil {
			return err
		}
		var k [8]byte
		for _, e := range events {
			v, err := json.Marshal(e)
			if err != nil {
				return err
			}
			binary.BigEndian.PutUint64(k[:], uint64(e.Seq))
			if err := b.Put(k[:], v); err != nil {
				return err
			}
		}
		return nil
	}))
}

// Get reads one run.
func (h *History) Get(id string) (Run, error) {
	var r Run
	err := h.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(runsBucket).Get([]byte(id))
		if v == nil {
			return fmt.Errorf("no run %s", id)
		}
		return json.Unmarshal(v, &r)
	})
	return r, h.wrap(err)
}

// Runs returns the newest limit runs (all when limit <= 0), newest first.
// Run ids sort by start time.
func (h *History) Runs(limit int) ([]Run, error) {
	var out []Run
	err := h.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(runsBucket).Cursor()
		for k, v := c.Last(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Prev() {
			var r Run
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("run %s is unreadable: %w", k, err)
			}
			out = append(out, r)
		}
		return nil
	})
	return out, h.wrap(err)
}

// Filter selects events for drill-down.
type Filter struct {
	Host    string // "" for every host
	Results bool   // task results only
	Changed bool   // with Results: changed results
	Failed  bool   // with Results: failed and unreachable results
}

func (f Filter) match(e Event) bool {
	if f.Host != "" && e.Host != f.Host {
		return false
	}
	if !f.Results && !f.Changed && !f.Failed {
		return true
	}
	if e.Kind != KindResult {
		return false
	}
	if !f.Changed && !f.Failed {
		return true
	}
	return (f.Changed && e.Status == StatusChanged) ||
		(f.Failed && (e.Status == StatusFailed || e.Status == StatusUnreachable))
}

// Events returns a run's events that f selects, in order, from sequence
// from on, at most limit of them (all when limit <= 0).
func (h *History) Events(runID string, f Filter, from, limit int) ([]Event, error) {
	var out []Event
	err := h.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(eventsBucket).Bucket([]byte(runID))
		if b == nil {
			return nil
		}
		var k [8]byte
		binary.BigEndian.PutUint64(k[:], uint64(max(from, 0)))
		c := b.Cursor()
		for key, v := c.Seek(k[:]); key != nil && (limit <= 0 || len(out) < limit); key, v = c.Next() {
			var e Event
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("event %x of run %s is unreadable: %w", key, runID, err)
			}
			if f.match(e) {
				out = append(out, e)
			}
		}
		return nil
	})
	return out, h.wrap(err)
}
