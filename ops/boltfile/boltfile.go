// Package boltfile shares a bbolt file between the processes of one host.
// Each operation opens the file, locks it (exclusively to write, shared to
// read), runs one transaction and closes it, so no process holds the file
// between operations. Commits are fsynced before Update returns.
package boltfile

import (
	"errors"
	"fmt"
	"os"
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

func (f File) with(readOnly bool, fn func(*bolt.DB) error) error {
	db, err := bolt.Open(f.Path, 0o600, f.Options(readOnly))
	if err != nil {
		return err
	}
	err = fn(db)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return err
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
