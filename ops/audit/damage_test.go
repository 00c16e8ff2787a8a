package audit

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// damaged is a corrupted copy of a real journal.
type damaged struct {
	name string
	data []byte
}

// realJournal writes n entries and returns the file's bytes.
func realJournal(t *testing.T, n int) []byte {
	t.Helper()
	j, path := openTemp(t)
	t0 := time.Now().Add(-time.Hour)
	for i := range n {
		if _, err := j.Append(Entry{Time: t0.Add(time.Duration(i) * time.Second), Actor: fmt.Sprintf("user-%03d", i),
			Action: "promote", Target: "prod/api", Result: OK, Parameters: map[string]string{"version": strings.Repeat("v", 40)}}); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// corruptions makes the damaged copies of good, deterministically:
// truncations, random bytes, 16 bytes inverted at 20 offsets past the meta
// pages, 50 bytes flipped at random, and one entry made undecodable.
func corruptions(good []byte) []damaged {
	rng := rand.New(rand.NewPCG(11, 7))
	clone := func() []byte { return bytes.Clone(good) }
	var out []damaged
	for _, n := range []int{100, 4096 + 100, 8192, len(good) / 2, len(good) - 1} {
		out = append(out, damaged{fmt.Sprintf("truncated to %d", n), clone()[:n]})
	}
	random := make([]byte, len(good))
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	out = append(out, damaged{"random bytes", random})
	pages := clone()
	copy(pages[8192:], random[8192:])
	out = append(out, damaged{"random pages behind good metas", pages})
	// Past the two meta pages, up to where the file grows in steps (unused).
	const from = 8192
	end := len(bytes.TrimRight(good, "\x00"))
	for i := range 20 {
		b := clone()
		off := from + i*(end-from-16)/19
		for k := off; k < off+16; k++ {
			b[k] ^= 0xff
		}
		out = append(out, damaged{fmt.Sprintf("16 bytes inverted at %d", off), b})
	}
	for i := range 3 {
		b := clone()
		lo := from
		if i == 2 {
			lo = 0 // the metas too
		}
		for range 50 {
			b[lo+rng.IntN(end-lo)] ^= byte(1 + rng.IntN(255))
		}
		out = append(out, damaged{fmt.Sprintf("50 bytes flipped (%d)", i), b})
	}
	b := clone()
	at := bytes.Index(b, []byte(`{"seq":150,`))
	b[at] = 'X'
	out = append(out, damaged{"one entry undecodable", b})
	return out
}

// TestDamagedJournals puts every corrupted copy through Open, Query,
// Append and Repair: none panics or faults, a damaged file is never written,
// errors name the file and the repair, and what is readable is read.
func TestDamagedJournals(t *testing.T) {
	const n = 300
	good := realJournal(t, n)
	copies := corruptions(good)
	if len(copies) < 21 {
		t.Fatalf("%d copies", len(copies))
	}
	detected, salvaged := 0, 0
	for _, c := range copies {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "journal.db")
			if err := os.WriteFile(path, c.data, 0o600); err != nil {
				t.Fatal(err)
			}
			j, err := Open(path)
			if err != nil {
				// Only a file too broken to hold a journal at all may fail
				// Open, with the file named.
				if !strings.Contains(err.Error(), path) {
					t.Fatalf("Open: %v", err)
				}
				return
			}
			defer j.Close()
			es, qerr := j.Query(Query{})
			var d *DamagedError
			if qerr != nil {
				if !errors.As(qerr, &d) {
					t.Fatalf("Query: %v, want a *DamagedError", qerr)
				}
				if msg := qerr.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "vigil audit --repair") {
					t.Fatalf("Query error does not name the file and the repair: %v", msg)
				}
				detected++
				salvaged += len(es)
			}
			if c.name == "one entry undecodable" {
				if len(es) != n-1 || d == nil || len(d.Unreadable) != 1 {
					t.Fatalf("%d entries, %v: want %d and the one unreadable reported", len(es), qerr, n-1)
				}
			}
			if j.Damaged() != nil {
				_, err := j.Append(Entry{Actor: "x", Action: "a", Target: "t", Result: OK})
				if !errors.As(err, &d) {
					t.Fatalf("Append on a damaged journal: %v", err)
				}
				if now, _ := os.ReadFile(path); !bytes.Equal(now, c.data) {
					t.Fatal("a damaged journal was written to")
				}
			}
			if qerr == nil {
				// The damage is in free pages, or the slack the file
				// grows by: every entry is there.
				if len(es) != n {
					t.Fatalf("no damage reported, but %d entries of %d", len(es), n)
				}
				return
			}
			r, err := Repair(path, time.Now())
			if err != nil {
				t.Fatalf("Repair: %v", err)
			}
			if kept, _ := os.ReadFile(r.Aside); !bytes.Equal(kept, c.data) {
				t.Fatal("the damaged file was not kept as it was")
			}
			j2, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer j2.Close()
			after, err := j2.Query(Query{})
			if err != nil || len(after) != r.Copied || r.Copied < len(es) {
				t.Fatalf("after repair: %d entries, %v; copied %d, read %d before", len(after), err, r.Copied, len(es))
			}
			e, err := j2.Append(Entry{Actor: "x", Action: "a", Target: "t", Result: OK})
			if err != nil {
				t.Fatalf("Append after repair: %v", err)
			}
			if len(after) > 0 && e.Seq <= after[len(after)-1].Seq {
				t.Fatalf("seq %d after repair reuses a number (last %d)", e.Seq, after[len(after)-1].Seq)
			}
		})
	}
	t.Logf("%d of %d copies reported damaged; %d entries read from them", detected, len(copies), salvaged)
	// The others hit free pages (bbolt copies pages on write) or slack.
	if detected < len(copies)/2 || salvaged == 0 {
		t.Errorf("%d of %d copies reported damaged, %d entries read from them", detected, len(copies), salvaged)
	}
}
