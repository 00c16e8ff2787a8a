package audit

import (
	bolt "go.etcd.io/bbolt"

	"github.com/vigilops/vigil/ops/boltfile"
)

// lockTimeout bounds how long an operation waits for the other processes'
// operations on the journal to end (tests shorten it).
var lockTimeout = boltfile.DefaultLockTimeout

// file is the journal's file, opened and locked per operation.
func (j *Journal) file() boltfile.File {
	return boltfile.File{Path: j.path, LockTimeout: lockTimeout}
}

// boltOptions are what each operation opens the journal with: fsynced
// commits, and the file lock that orders the processes.
func boltOptions(readOnly bool) *bolt.Options {
	return boltfile.File{LockTimeout: lockTimeout}.Options(readOnly)
}

// update runs fn in a write transaction, holding the file exclusively from
// open to close; the commit is on disk when it returns nil.
func (j *Journal) update(fn func(*bolt.Tx) error) error { return j.file().Update(fn) }

// view runs fn in a read transaction, sharing the file with other readers.
func (j *Journal) view(fn func(*bolt.Tx) error) error { return j.file().View(fn) }
