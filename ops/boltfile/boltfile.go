// Package boltfile shares a bbolt file between the processes of one host.
// Each operation opens the file, locks it (exclusively to write, shared to
// read), runs one transaction and closes it, so no process holds the file
// between operations. Commits are fsynced before Update returns.
package boltfile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
)

// DefaultLockTimeout bounds how long an operation waits for the other
// processes' operations on the file to end. Each holds the file for one
// commit or one read, a millisecond or so; waiting longer means one of them
// is stuck.
const DefaultLockTimeout = 5 * time.Second

// File is a bbolt file shared by every process that names it.
type File struct {
	Path string
	// LockTimeout bounds the wait for the file's lock; zero means
	// DefaultLockTimeout.
	LockTimeout time.Duration
}

func (f File) timeout() time.Duration {
	if f.LockTimeout > 0 {
		return f.LockTimeout
	}
	return DefaultLockTimeout
}

// Options are what each operation opens the file with. Commits are fsynced
// (NoSync is off). The lock is taken by the OpenFile hook, which waits in
// the kernel rather than polling as bbolt does every 50 ms: a process
// writing in a loop releases the file for microseconds between commits,
// which a poll would almost never catch.
func (f File) Options(readOnly bool) *bolt.Options {
	timeout := f.timeout()
	return &bolt.Options{
		ReadOnly: readOnly,
		Timeout:  timeout,
		OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
			return openLocked(name, flag, perm, timeout)
		},
	}
}

// Update runs fn in a write transaction, holding the file exclusively from
// open to close; the commit is on disk when it returns nil. It creates the
// file (mode 0600) when it is missing.
func (f File) Update(fn func(*bolt.Tx) error) error {
	return f.with(false, func(db *bolt.DB) error { return db.Update(fn) })
}

// View runs fn in a read transaction, sharing the file with other readers.
// The file must exist.
func (f File) View(fn func(*bolt.Tx) error) error {
	return f.with(true, func(db *bolt.DB) error { return db.View(fn) })
}

func (f File) with(readOnly bool, fn func(*bolt.DB) error) (err error) {
	// bbolt reads pages straight from its mapping of the file and trusts
	// them: a damaged page makes it panic, or fault on an address outside
	// the mapping. Faults become panics in this goroutine, and both become
	// a *CorruptError.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	var file *os.File
	opts := f.Options(readOnly)
	open := opts.OpenFile
	opts.OpenFile = func(name string, flag int, perm os.FileMode) (*os.File, error) {
		var err error
		file, err = open(name, flag, perm)
		return file, err
	}
	var db *bolt.DB
	defer func() {
		if p := recover(); p != nil {
			err = &CorruptError{Path: f.Path, Problems: []string{fmt.Sprintf("bbolt panicked: %v", p)}}
			abandon(db, file)
		}
	}()
	db, err = bolt.Open(f.Path, 0o600, opts)
	if err != nil {
		if errors.Is(err, bolt.ErrInvalid) || errors.Is(err, bolt.ErrChecksum) || errors.Is(err, bolt.ErrVersionMismatch) {
			return &CorruptError{Path: f.Path, Problems: []string{err.Error()}}
		}
		return err
	}
	err = fn(db)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return err
}

// abandon lets go of a database whose read or write panicked. The flock
// is released explicitly: the mapping holds the open file, so closing the
// descriptor alone would not release it. The panicking transaction may
// still hold the database's locks, so Close, which frees the mapping, may
// wait forever: it is given a second, and otherwise left waiting.
func abandon(db *bolt.DB, file *os.File) {
	if file != nil {
		if rc, err := file.SyscallConn(); err == nil {
			rc.Control(func(fd uintptr) { syscall.Flock(int(fd), syscall.LOCK_UN) })
		}
		file.Close()
	}
	if db == nil {
		return
	}
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		defer func() { recover() }() // a damaged database may panic on close too
		db.Close()
	}()
	select {
	case <-closed:
	case <-time.After(time.Second):
	}
}

// CorruptError says that a file is damaged: it failed the consistency
// check, or bbolt could not read a page of it.
type CorruptError struct {
	Path     string
	Problems []string // the first few, as bbolt states them
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("%s is damaged: %s", e.Path, strings.Join(e.Problems, "; "))
}

// IsCorrupt reports whether err says that a file is damaged.
func IsCorrupt(err error) bool {
	var c *CorruptError
	return errors.As(err, &c)
}

// maxProblems bounds the problems a CorruptError lists.
const maxProblems = 5

// Check verifies the whole file: every bucket, key and value is read, then
// bbolt's consistency check runs (page references, the freelist). It costs
// one read of the file, so callers run it once per process, when they first
// open the file. It opens the file for writing (exclusively) so that bbolt
// loads the freelist in this goroutine, where a fault is caught; it writes
// nothing. A missing or empty file passes.
func (f File) Check() error {
	if info, err := os.Stat(f.Path); err != nil || info.Size() == 0 {
		return nil
	}
	return f.with(false, func(db *bolt.DB) error {
		return db.View(func(tx *bolt.Tx) error {
			// Walk first: tx.Check runs in a goroutine of bbolt's where a
			// fault would end the process, so every page it reads is
			// touched here first.
			sum, err := walk(tx.Cursor(), 0)
			if err != nil {
				return &CorruptError{Path: f.Path, Problems: []string{err.Error()}}
			}
			runtime.KeepAlive(sum)
			var problems []string
			n := 0
			for err := range tx.Check() {
				if n++; len(problems) < maxProblems {
					problems = append(problems, err.Error())
				}
			}
			if n > len(problems) {
				problems = append(problems, fmt.Sprintf("and %d more", n-len(problems)))
			}
			if len(problems) > 0 {
				return &CorruptError{Path: f.Path, Problems: problems}
			}
			return nil
		})
	})
}

// walk reads every key and value under c, in nested buckets too, and
// checks that keys are in order. It returns a sum of the values' last
// bytes, which the caller keeps alive so that their reads are not optimized
// away.
func walk(c *bolt.Cursor, depth int) (sum uint64, err error) {
	if depth > 64 {
		return 0, errors.New("buckets nested more than 64 deep")
	}
	var prev []byte
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if prev != nil && bytes.Compare(prev, k) >= 0 {
			return 0, fmt.Errorf("key %x is out of order", k)
		}
		prev = k
		if v == nil {
			b := c.Bucket().Bucket(k)
			if b == nil {
				return 0, fmt.Errorf("key %x has no value and is no bucket", k)
			}
			n, err := walk(b.Cursor(), depth+1)
			if err != nil {
				return 0, err
			}
			sum += n
			continue
		}
		if len(v) > 0 { // the value's last byte: a length beyond the mapping faults here
			sum += uint64(v[len(v)-1])
		}
	}
	return sum, nil
}

// openLocked opens the file and locks it, shared for reading, exclusively for
// writing. bbolt then locks the same open file again, which succeeds at once;
// closing the database releases the lock.
func openLocked(name string, flag int, perm os.FileMode, timeout time.Duration) (*os.File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	how := syscall.LOCK_EX
	if flag&(os.O_WRONLY|os.O_RDWR) == 0 {
		how = syscall.LOCK_SH
	}
	if err := lock(f, how, timeout); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// lock takes a flock on f, waiting at most timeout. The kernel wakes a
// blocked flock as soon as the holder unlocks. On timeout the waiting
// goroutine stays blocked until the holder lets go; since it holds f's
// descriptor open, the lock it then gets is released at once, when the
// descriptor closes.
func lock(f *os.File, how int, timeout time.Duration) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	flock := func(flags int) error {
		var err error
		if cerr := rc.Control(func(fd uintptr) {
			for err = syscall.EINTR; err == syscall.EINTR; {
				err = syscall.Flock(int(fd), flags)
			}
		}); cerr != nil {
			return cerr
		}
		return err
	}
	if err := flock(how | syscall.LOCK_NB); !errors.Is(err, syscall.EWOULDBLOCK) {
		return err
	}
	got := make(chan error, 1)
	go func() { got <- flock(how) }()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case err := <-got:
		return err
	case <-t.C:
		return fmt.Errorf("another process kept it locked for %v; retry, and if it lasts, find that process with `fuser -v %s`", timeout, f.Name())
	}
}
