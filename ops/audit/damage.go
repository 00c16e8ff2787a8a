package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/vigilops/vigil/ops/boltfile"
)

// DamagedError says that the journal's file is damaged: it failed the
// consistency check when it was opened, a read met a damaged page, or some
// entries could not be decoded. A damaged journal is read-only.
type DamagedError struct {
	Path string
	// Cause is what the check or the read found; nil when only entries
	// were unreadable.
	Cause error
	// Unreadable lists the entries, or the parts of the file, that could
	// not be read and were skipped.
	Unreadable []string
}

func (e *DamagedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "journal %s is damaged", e.Path)
	if e.Cause != nil {
		var c *boltfile.CorruptError
		if errors.As(e.Cause, &c) {
			fmt.Fprintf(&b, " (%s)", strings.Join(c.Problems, "; "))
		} else {
			fmt.Fprintf(&b, " (%v)", e.Cause)
		}
	}
	if n := len(e.Unreadable); n > 0 {
		fmt.Fprintf(&b, "; %d unreadable part(s) skipped: %s", n, strings.Join(e.Unreadable[:min(n, 3)], "; "))
		if n > 3 {
			b.WriteString("; …")
		}
	}
	b.WriteString(". It is read-only: run `vigil audit --repair` to move it aside (it is kept) and copy every readable entry into a new file, or move it aside yourself and vigil starts a new one")
	return b.String()
}

// Damaged returns the *DamagedError found when the journal was opened or
// since, or nil while the journal is sound.
func (j *Journal) Damaged() error {
	if d := j.damage(); d != nil {
		return d
	}
	return nil
}

func (j *Journal) damage() *DamagedError {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.damaged
}

// setDamaged makes the journal read-only for the rest of the process.
func (j *Journal) setDamaged(cause error) *DamagedError {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.damaged == nil {
		j.damaged = &DamagedError{Path: j.path, Cause: cause}
	}
	return j.damaged
}

// try runs fn, turning a panic (or, under boltfile's guard, a fault) of
// bbolt's on a damaged page into an error.
func try(fn func()) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("bbolt panicked: %v", p)
		}
	}()
	fn()
	return nil
}

// raw is an entry as stored: its key and its value, copied out of the file.
type raw struct{ k, v []byte }

// salvage reads every entry it can from tx: the entries bucket from both
// ends, then through the sequence index for what lies between damaged
// pages, each step guarded so that one damaged page costs only what it
// holds. It returns the entries in key order, and what it could not read.
func salvage(tx *bolt.Tx) (out []raw, unreadable []string) {
	b, idx := tx.Bucket(bucket), tx.Bucket(seqBucket)
	if b == nil {
		return nil, nil
	}
	seen := map[string]bool{}
	add := func(k, v []byte) {
		if !seen[string(k)] {
			seen[string(k)] = true
			out = append(out, raw{bytes.Clone(k), bytes.Clone(v)})
		}
	}
	// Forward, then backward until the forward pass's last key.
	var last []byte
	c := b.Cursor()
	var k, v []byte
	err := try(func() { k, v = c.First() })
	for err == nil && k != nil {
		if last != nil && bytes.Compare(k, last) <= 0 {
			// A damaged branch can lead back into the tree: stop.
			err = fmt.Errorf("key %x out of order", k)
			break
		}
		add(k, v)
		last = bytes.Clone(k)
		err = try(func() { k, v = c.Next() })
	}
	if err != nil {
		unreadable = append(unreadable, fmt.Sprintf("entries after %x: %v", last, err))
		c = b.Cursor()
		err = try(func() { k, v = c.Last() })
		var prev []byte
		for err == nil && k != nil && (last == nil || bytes.Compare(k, last) > 0) {
			if prev != nil && bytes.Compare(k, prev) >= 0 {
				err = fmt.Errorf("key %x out of order", k)
				break
			}
			add(k, v)
			prev = bytes.Clone(k)
			err = try(func() { k, v = c.Prev() })
		}
		if err != nil {
			unreadable = append(unreadable, fmt.Sprintf("entries read backwards, before %x: %v", k, err))
		}
		// The index names keys; each is looked up on its own.
		if idx != nil {
			ic := idx.Cursor()
			var sk, sv []byte
			var prevSeq []byte
			ierr := try(func() { sk, sv = ic.First() })
			for ierr == nil && sk != nil {
				if prevSeq != nil && bytes.Compare(sk, prevSeq) <= 0 {
					ierr = fmt.Errorf("sequence %x out of order", sk)
					break
				}
				prevSeq = bytes.Clone(sk)
				if !seen[string(sv)] {
					key := bytes.Clone(sv)
					var val []byte
					if gerr := try(func() { val = b.Get(key) }); gerr == nil && val != nil {
						add(key, val)
					}
				}
				ierr = try(func() { sk, sv = ic.Next() })
			}
			if ierr != nil {
				unreadable = append(unreadable, fmt.Sprintf("sequence index after %x: %v", sk, ierr))
			}
		}
	}
	slices.SortFunc(out, func(x, y raw) int { return bytes.Compare(x.k, y.k) })
	return out, unreadable
}

// decodeAll decodes salvaged entries, listing those that do not decode.
func decodeAll(rs []raw) (es []Entry, unreadable []string) {
	for _, r := range rs {
		var e Entry
		if err := json.Unmarshal(r.v, &e); err != nil {
			unreadable = append(unreadable, fmt.Sprintf("entry %x: %v", r.k, err))
			continue
		}
		es = append(es, e)
	}
	return es, unreadable
}

// salvageFile reads every entry it can from the file at path.
func salvageFile(path string) (rs []raw, unreadable []string, err error) {
	err = boltfile.File{Path: path, LockTimeout: lockTimeout}.View(func(tx *bolt.Tx) error {
		rs, unreadable = salvage(tx)
		return nil
	})
	return rs, unreadable, err
}

// RepairReport says what Repair did.
type RepairReport struct {
	Aside      string   // where the damaged file now is
	Copied     int      // entries copied into the new file
	Unreadable []string // what could not be read and was left behind
}

// Repair moves the journal at path aside (to path.damaged-TIME, kept) and
// copies every entry it can read into a new file at path, with their
// sequence numbers. The file is moved first, so that a process appending
// meanwhile starts the new file rather than writing to the damaged one.
func Repair(path string, now time.Time) (RepairReport, error) {
	r := RepairReport{Aside: path + ".damaged-" + now.UTC().Format("20060102T150405Z")}
	if err := os.Rename(path, r.Aside); err != nil {
		return r, fmt.Errorf("move the journal aside: %w", err)
	}
	rs, unreadable, err := salvageFile(r.Aside)
	if err != nil {
		// Nothing in it can be read at all (random bytes, a truncated
		// header): the new file starts empty.
		unreadable = append(unreadable, err.Error())
	}
	es, bad := decodeAll(rs)
	r.Unreadable = append(unreadable, bad...)
	err = boltfile.File{Path: path, LockTimeout: lockTimeout}.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucket)
		if err != nil {
			return err
		}
		idx, err := tx.CreateBucketIfNotExists(seqBucket)
		if err != nil {
			return err
		}
		top := b.Sequence()
		for _, e := range es {
			k := key(e)
			v, err := json.Marshal(e)
			if err != nil {
				return err
			}
			if err := b.Put(k, v); err != nil {
				return err
			}
			// An entry appended by another process since the move keeps
			// its sequence number.
			if idx.Get(seqKey(e.Seq)) == nil {
				if err := idx.Put(seqKey(e.Seq), k); err != nil {
					return err
				}
			}
			top = max(top, e.Seq)
		}
		return b.SetSequence(top)
	})
	if err != nil {
		return r, fmt.Errorf("write the new journal %s: %w", path, err)
	}
	r.Copied = len(es)
	return r, nil
}

// Writable returns nil when the journal can be appended to: it is not
// damaged and its file, when it exists, opens for writing. It writes
// nothing. The shared journal (PostgreSQL) is writable unless its server
// was found unreachable and has not answered since: an *UnavailableError,
// a refusal that says why.
func (j *Journal) Writable() error {
	if j.remote != nil {
		return j.remote.writable()
	}
	if d := j.damage(); d != nil {
		return d
	}
	f, err := os.OpenFile(j.path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil // Append creates it
	}
	if err != nil {
		return fmt.Errorf("journal %s cannot be written: %w", j.path, err)
	}
	return f.Close()
}
