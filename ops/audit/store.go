package audit

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
)

// lockTimeout bounds how long an operation waits for the other processes'
// operations on the journal to end. Each holds the file for one commit or one
// read, a millisecond or so; waiting longer means one of them is stuck.
var lockTimeout = 5 * time.Second

// boltOptions opens the file for one operation. Commits are fsynced (NoSync
// is off). The lock is taken by openLocked, which waits in the kernel rather
// than polling as bbolt does every 50 ms: a process appending in a loop
// releases the file for microseconds between commits, which a poll would
// almost never catch.
func boltOptions(readOnly bool) *bolt.Options {
	return &bolt.Options{ReadOnly: readOnly, Timeout: lockTimeout, OpenFile: openLocked}
}

// update runs fn in a write transaction, holding the file exclusively from
// open to close; the commit is on disk when it returns nil.
func (j *Journal) update(fn func(*bolt.Tx) error) error {
	return j.with(false, func(db *bolt.DB) error { return db.Update(fn) })
}

// view runs fn in a read transaction, sharing the file with other readers.
func (j *Journal) view(fn func(*bolt.Tx) error) error {
	return j.with(true, func(db *bolt.DB) error { return db.View(fn) })
}

func (j *Journal) with(readOnly bool, fn func(*bolt.DB) error) error {
	db, err := bolt.Open(j.path, 0o600, boltOptions(readOnly))
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
func openLocked(name string, flag int, perm os.FileMode) (*os.File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	how := syscall.LOCK_EX
	if flag&(os.O_WRONLY|os.O_RDWR) == 0 {
		how = syscall.LOCK_SH
	}
	if err := lock(f, how, lockTimeout); err != nil {
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
