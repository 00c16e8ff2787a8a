package boltfile

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

var counter = []byte("counter")

// add increments the counter in f by one.
func add(f File) error {
	return f.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(counter)
		if err != nil {
			return err
		}
		n := uint64(0)
		if v := b.Get(counter); v != nil {
			n = binary.BigEndian.Uint64(v)
		}
		return b.Put(counter, binary.BigEndian.AppendUint64(nil, n+1))
	})
}

func read(t *testing.T, f File) uint64 {
	t.Helper()
	var n uint64
	if err := f.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(counter).Get(counter); v != nil {
			n = binary.BigEndian.Uint64(v)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOptionsFsyncAndLock(t *testing.T) {
	o := File{}.Options(false)
	if o.NoSync || o.OpenFile == nil || o.Timeout != DefaultLockTimeout {
		t.Fatalf("options %+v: want fsynced commits, the lock hook and the default timeout", o)
	}
}

func TestUpdateCreatesAPrivateFileAndViewNeedsOne(t *testing.T) {
	f := File{Path: filepath.Join(t.TempDir(), "state.db")}
	if err := f.View(func(*bolt.Tx) error { return nil }); !os.IsNotExist(err) {
		t.Fatalf("View of a missing file: %v, want not-exist", err)
	}
	if err := add(f); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(f.Path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", info.Mode().Perm())
	}
	if n := read(t, f); n != 1 {
		t.Errorf("counter %d after one Update, want 1", n)
	}
}

// Each operation opens the file on its own descriptor, so concurrent
// writers, here goroutines, are ordered by the file lock: no increment is
// lost.
func TestConcurrentUpdatesAreOrdered(t *testing.T) {
	f := File{Path: filepath.Join(t.TempDir(), "state.db")}
	const writers, each = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for range writers {
		wg.Go(func() {
			for range each {
				errs <- add(f)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := read(t, f); n != writers*each {
		t.Fatalf("counter %d, want %d", n, writers*each)
	}
}

// holdLock locks path as another process's operation would.
func holdLock(t *testing.T, path string, how int) (release func()) {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(fh.Fd()), how); err != nil {
		t.Fatal(err)
	}
	return func() { fh.Close() }
}

func TestLockWaitIsBoundedAndNamesTheFile(t *testing.T) {
	f := File{Path: filepath.Join(t.TempDir(), "state.db"), LockTimeout: 200 * time.Millisecond}
	if err := add(f); err != nil {
		t.Fatal(err)
	}
	release := holdLock(t, f.Path, syscall.LOCK_EX)
	start := time.Now()
	err := add(f)
	waited := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), f.Path) || !strings.Contains(err.Error(), "locked for 200ms") {
		t.Fatalf("Update of a locked file: %v", err)
	}
	if waited < f.LockTimeout || waited > 3*time.Second {
		t.Errorf("Update gave up after %v, want about %v", waited, f.LockTimeout)
	}
	if err := f.View(func(*bolt.Tx) error { return nil }); err == nil {
		t.Error("View succeeded while another process wrote")
	}
	release()

	// Readers share the file; a writer waits for them.
	release = holdLock(t, f.Path, syscall.LOCK_SH)
	if n := read(t, f); n != 1 {
		t.Errorf("counter %d beside another reader, want 1", n)
	}
	if err := add(f); err == nil {
		t.Error("Update succeeded while another process read")
	}
	release()

	// A waiting Update goes on as soon as the holder lets go.
	release = holdLock(t, f.Path, syscall.LOCK_EX)
	f.LockTimeout = 0 // the default
	time.AfterFunc(100*time.Millisecond, release)
	if err := add(f); err != nil {
		t.Fatalf("Update after the holder let go: %v", err)
	}
	if n := read(t, f); n != 2 {
		t.Errorf("counter %d, want 2", n)
	}
}

// TestDamagedFile: Check passes a sound file and names a damaged one; a
// read that panics on a damaged page is an error, and the file's lock is
// released with it, so the next operation does not wait.
func TestDamagedFile(t *testing.T) {
	f := File{Path: filepath.Join(t.TempDir(), "state.db"), LockTimeout: time.Second}
	for range 200 {
		if err := add(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(counter)
		for i := range 2000 {
			if err := b.Put(binary.BigEndian.AppendUint64(nil, uint64(i)), make([]byte, 100)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := f.Check(); err != nil {
		t.Fatalf("Check of a sound file: %v", err)
	}
	good, err := os.ReadFile(f.Path)
	if err != nil {
		t.Fatal(err)
	}
	// Invert the headers of every page past the metas: whichever are live,
	// the tree is broken.
	bad := append([]byte(nil), good...)
	for off := 8192; off+16 <= len(bad); off += 4096 {
		for k := off; k < off+16; k++ {
			bad[k] ^= 0xff
		}
	}
	d := File{Path: filepath.Join(t.TempDir(), "bad.db"), LockTimeout: time.Second}
	if err := os.WriteFile(d.Path, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	err = d.Check()
	if !IsCorrupt(err) || !strings.Contains(err.Error(), d.Path) {
		t.Fatalf("Check of a damaged file: %v", err)
	}
	err = d.View(func(tx *bolt.Tx) error {
		return tx.Bucket(counter).ForEach(func(k, v []byte) error { return nil })
	})
	if !IsCorrupt(err) {
		t.Fatalf("a read of damaged pages: %v, want a *CorruptError", err)
	}
	start := time.Now()
	if err := d.Update(func(*bolt.Tx) error { return nil }); (err != nil && strings.Contains(err.Error(), "locked")) || time.Since(start) > 500*time.Millisecond {
		t.Fatalf("the lock was kept after the panic: %v after %v", err, time.Since(start))
	}
}
