package playbook

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"

	bolt "go.etcd.io/bbolt"

	"github.com/vigilops/vigil/ops/boltfile"
)

var (
	runsBucket   = []byte("runs")
	eventsBucket = []byte("events") // one nested bucket per run, events by sequence
)

// History keeps runs and their full event logs in a bbolt file that every
// vigil on the host shares: each operation opens the file, locks it
// (exclusively to write, shared to read) and closes it, so several
// processes record runs and read each other's. A live run's events arrive
// in batches (see Service.execute), one commit each.
type History struct {
	file   boltfile.File
	closed atomic.Bool
	// remote is the shared history (PostgreSQL, OpenHistoryPostgres)
	// instead of the file.
	remote historyBackend
}

// historyBackend is where a History keeps runs when it is not the bbolt
// file: every caller keeps using *History.
type historyBackend interface {
	put(r Run) error
	append(runID string, events []Event) error
	get(id string) (Run, error)
	runs(limit int) ([]Run, error)
	events(runID string, f Filter, from, limit int) ([]Event, error)
	close()
}

// stored is a run as the file keeps it: while it runs, with the process
// that runs it, so that the others can tell a live run from one whose
// process died.
type stored struct {
	Run
	Owner *owner `json:"owner,omitempty"`
}

// owner is a process on this host: its pid, and when it started, so that a
// reused pid is not taken for it.
type owner struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start,omitempty"` // clock ticks after boot; 0 without /proc
	// Host is the bastion's host in the shared history; "" in the file,
	// which one host keeps.
	Host string `json:"host,omitempty"`
}

// self is this process as an owner.
var self = sync.OnceValue(func() owner {
	start, _ := startTicks(os.Getpid())
	return owner{PID: os.Getpid(), Start: start}
})

// startTicks reads when process pid started, in clock ticks after boot
// (field 22 of /proc/PID/stat); false when there is no such process or no
// /proc.
func startTicks(pid int) (uint64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name, field 2, is in parentheses and may hold anything.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	fields := bytes.Fields(b[i+1:]) // from field 3 on
	if len(fields) < 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(fields[19]), 10, 64)
	return n, err == nil
}

// alive reports whether the process is still running.
func (o owner) alive() bool {
	if o.Host != "" {
		if o.Host != thisHost() {
			// Another bastion's process: that bastion marks it when it
			// starts again.
			return true
		}
		o.Host = ""
	}
	switch {
	case o == self():
		return true
	case o.PID <= 0:
		return false
	case o.Start != 0:
		start, ok := startTicks(o.PID)
		return ok && start == o.Start
	}
	err := syscall.Kill(o.PID, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// orphaned reports whether s is running with no process left to finish it:
// its owner is gone, or it was written before runs had owners.
func (s stored) orphaned() bool {
	return s.State == Running && (s.Owner == nil || !s.Owner.alive())
}

// interrupt marks an orphaned run.
func (r *Run) interrupt() {
	r.State, r.Error = Interrupted, "vigil stopped during the run"
}

// decode reads a stored run; an orphaned one reads as interrupted.
func decode(v []byte) (Run, error) {
	var s stored
	if err := json.Unmarshal(v, &s); err != nil {
		return Run{}, err
	}
	if s.orphaned() {
		s.interrupt()
	}
	return s.Run, nil
}

// OpenHistory opens or creates the run history at path (parent directory
// 0700, file 0600). Runs left running by a process that is gone are marked
// interrupted; those of live processes are left to them. It holds nothing
// open afterwards.
func OpenHistory(path string) (*History, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create run history directory: %w", err)
	}
	h := &History{file: boltfile.File{Path: path}}
	// Checked once per process: a damaged file is never written to.
	if err := h.file.Check(); err != nil {
		if boltfile.IsCorrupt(err) {
			return nil, fmt.Errorf("run history: %w; it only holds past runs: move it aside (it is kept) and vigil starts a new one", err)
		}
		return nil, fmt.Errorf("open run history %s: %w", path, err)
	}
	// A history with its buckets and no orphaned run is only read: no
	// commit, no fsync.
	ready := false
	if info, err := os.Stat(path); err == nil && info.Size() > 0 {
		if err := h.file.View(func(tx *bolt.Tx) error {
			ready = tx.Bucket(runsBucket) != nil && tx.Bucket(eventsBucket) != nil && !hasOrphans(tx)
			return nil
		}); err != nil {
			return nil, fmt.Errorf("open run history %s: %w", path, err)
		}
	}
	if !ready {
		if err := h.file.Update(prepare); err != nil {
			return nil, fmt.Errorf("prepare run history %s: %w", path, err)
		}
	}
	return h, nil
}

func hasOrphans(tx *bolt.Tx) bool {
	c := tx.Bucket(runsBucket).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var s stored
		if json.Unmarshal(v, &s) == nil && s.orphaned() {
			return true
		}
	}
	return false
}

// prepare creates the buckets and marks orphaned runs interrupted.
func prepare(tx *bolt.Tx) error {
	runs, err := tx.CreateBucketIfNotExists(runsBucket)
	if err != nil {
		return err
	}
	if _, err := tx.CreateBucketIfNotExists(eventsBucket); err != nil {
		return err
	}
	return runs.ForEach(func(k, v []byte) error {
		var s stored
		if json.Unmarshal(v, &s) != nil || !s.orphaned() {
			return nil
		}
		s.interrupt()
		b, err := json.Marshal(s.Run)
		if err != nil {
			return err
		}
		return runs.Put(k, b)
	})
}

// Close makes later operations fail; there is no file to release.
func (h *History) Close() error {
	if !h.closed.Swap(true) && h.remote != nil {
		h.remote.close()
	}
	return nil
}

var errClosed = errors.New("the run history is closed")

func (h *History) update(fn func(*bolt.Tx) error) error {
	if h.closed.Load() {
		return h.wrap(errClosed)
	}
	return h.wrap(h.file.Update(fn))
}

func (h *History) view(fn func(*bolt.Tx) error) error {
	if h.closed.Load() {
		return h.wrap(errClosed)
	}
	return h.wrap(h.file.View(fn))
}

func (h *History) wrap(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("run history %s: %w", h.file.Path, err)
}

// Put writes a run's record. A running run is recorded as this process's.
func (h *History) Put(r Run) error {
	if h.remote != nil {
		if h.closed.Load() {
			return errClosed
		}
		return h.remote.put(r)
	}
	s := stored{Run: r}
	if r.State == Running {
		me := self()
		s.Owner = &me
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return h.update(func(tx *bolt.Tx) error {
		// The bucket is created again if the file was removed since Open.
		runs, err := tx.CreateBucketIfNotExists(runsBucket)
		if err != nil {
			return err
		}
		return runs.Put([]byte(r.ID), b)
	})
}

// Append adds events to a run's log in one transaction.
func (h *History) Append(runID string, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	if h.remote != nil {
		if h.closed.Load() {
			return errClosed
		}
		return h.remote.append(runID, events)
	}
	return h.update(func(tx *bolt.Tx) error {
		all, err := tx.CreateBucketIfNotExists(eventsBucket)
		if err != nil {
			return err
		}
		b, err := all.CreateBucketIfNotExists([]byte(runID))
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
	})
}

// Get reads one run.
func (h *History) Get(id string) (Run, error) {
	if h.remote != nil {
		if h.closed.Load() {
			return Run{}, errClosed
		}
		return h.remote.get(id)
	}
	var r Run
	err := h.view(func(tx *bolt.Tx) error {
		var v []byte
		if runs := tx.Bucket(runsBucket); runs != nil {
			v = runs.Get([]byte(id))
		}
		if v == nil {
			return fmt.Errorf("no run %s", id)
		}
		var err error
		r, err = decode(v)
		return err
	})
	return r, err
}

// Runs returns the newest limit runs (all when limit <= 0), newest first.
// Run ids sort by start time.
func (h *History) Runs(limit int) ([]Run, error) {
	if h.remote != nil {
		if h.closed.Load() {
			return nil, errClosed
		}
		return h.remote.runs(limit)
	}
	var out []Run
	err := h.view(func(tx *bolt.Tx) error {
		runs := tx.Bucket(runsBucket)
		if runs == nil {
			return nil // a file another process is creating again
		}
		c := runs.Cursor()
		for k, v := c.Last(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Prev() {
			r, err := decode(v)
			if err != nil {
				return fmt.Errorf("run %s is unreadable: %w", k, err)
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
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
	if h.remote != nil {
		if h.closed.Load() {
			return nil, errClosed
		}
		return h.remote.events(runID, f, from, limit)
	}
	var out []Event
	err := h.view(func(tx *bolt.Tx) error {
		all := tx.Bucket(eventsBucket)
		if all == nil {
			return nil
		}
		b := all.Bucket([]byte(runID))
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
	return out, err
}
