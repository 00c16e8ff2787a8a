package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/vigilops/vigil/ops/access"
)

func openTemp(t *testing.T) (*Journal, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state", "journal.db")
	j, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j, path
}

func seqs(es []Entry) []uint64 {
	out := make([]uint64, len(es))
	for i, e := range es {
		out[i] = e.Seq
	}
	return out
}

func TestOpenCreatesPrivateFiles(t *testing.T) {
	_, path := openTemp(t)
	if boltOptions(false).NoSync {
		t.Error("the journal must fsync each commit")
	}
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", p, info.Mode().Perm(), want)
		}
	}
}

func TestAppendAssignsSeqAndTime(t *testing.T) {
	j, _ := openTemp(t)
	before := time.Now()
	a, err := j.Append(Entry{Actor: "alice", Action: "promote", Target: "prod/api", Result: OK})
	if err != nil {
		t.Fatal(err)
	}
	b, err := j.Append(Entry{Actor: "bob", Action: "ack", Target: "alert/HostDown", Result: OK})
	if err != nil {
		t.Fatal(err)
	}
	if a.Seq == 0 || b.Seq <= a.Seq {
		t.Errorf("seqs %d then %d, want increasing from 1", a.Seq, b.Seq)
	}
	if a.Time.Before(before) || a.Time.After(time.Now()) {
		t.Errorf("time %v not assigned to now", a.Time)
	}
	given := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	c, _ := j.Append(Entry{Time: given, Actor: "carol"})
	if !c.Time.Equal(given) {
		t.Errorf("a given time was replaced: %v", c.Time)
	}
}

// fill appends one entry per (actor, target), a minute apart from base.
func fill(t *testing.T, j *Journal, base time.Time, rows [][2]string) []Entry {
	t.Helper()
	var out []Entry
	for i, r := range rows {
		e, err := j.Append(Entry{Time: base.Add(time.Duration(i) * time.Minute), Actor: r[0], Action: "act", Target: r[1], Result: OK})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func TestQuery(t *testing.T) {
	j, _ := openTemp(t)
	base := time.Date(2026, 11, 29, 14, 0, 0, 0, time.UTC)
	es := fill(t, j, base, [][2]string{
		{"alice", "prod/api"},       // 14:00
		{"bob", "prod/apiserver"},   // 14:01
		{"alice", "prod/api/pod-1"}, // 14:02
		{"carol", "droplet/web-01"}, // 14:03
		{"alice", "test/api"},       // 14:04
		{"bob", "prod/api"},         // 14:05
	})
	at := func(m int) time.Time { return base.Add(time.Duration(m) * time.Minute) }
	tests := []struct {
		name string
		q    Query
		want []int // indexes into es, oldest first
	}{
		{"all", Query{}, []int{0, 1, 2, 3, 4, 5}},
		{"since is inclusive", Query{Since: at(3)}, []int{3, 4, 5}},
		{"until is exclusive", Query{Until: at(2)}, []int{0, 1}},
		{"range", Query{Since: at(1), Until: at(4)}, []int{1, 2, 3}},
		{"until past the end", Query{Until: at(60)}, []int{0, 1, 2, 3, 4, 5}},
		{"until before the start", Query{Until: at(-1)}, nil},
		{"actor", Query{Actor: "alice"}, []int{0, 2, 4}},
		{"target and its children, not its prefix", Query{Target: "prod/api"}, []int{0, 2, 5}},
		{"target child", Query{Target: "prod/api/pod-1"}, []int{2}},
		{"limit keeps the newest", Query{Limit: 2}, []int{4, 5}},
		{"limit with actor", Query{Actor: "alice", Limit: 2}, []int{2, 4}},
		{"limit above count", Query{Actor: "bob", Limit: 10}, []int{1, 5}},
		{"everything combined", Query{Since: at(1), Until: at(5), Actor: "alice", Target: "prod", Limit: 5}, []int{2}},
		{"no match", Query{Actor: "mallory"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := j.Query(tt.q)
			if err != nil {
				t.Fatal(err)
			}
			var want []uint64
			for _, i := range tt.want {
				want = append(want, es[i].Seq)
			}
			if !slices.Equal(seqs(got), want) {
				t.Errorf("got seqs %v, want %v", seqs(got), want)
			}
		})
	}
}

func TestOrderIsTimeThenSeq(t *testing.T) {
	j, _ := openTemp(t)
	base := time.Date(2026, 11, 29, 14, 0, 0, 0, time.UTC)
	// Written out of time order, and two in the same instant.
	late, _ := j.Append(Entry{Time: base.Add(time.Hour), Actor: "a"})
	same1, _ := j.Append(Entry{Time: base, Actor: "b"})
	same2, _ := j.Append(Entry{Time: base, Actor: "c"})
	early, _ := j.Append(Entry{Time: base.Add(-time.Hour), Actor: "d"})
	old, _ := j.Append(Entry{Time: time.Date(1969, 7, 20, 20, 17, 0, 0, time.UTC), Actor: "e"})
	got, err := j.Query(Query{})
	if err != nil {
		t.Fatal(err)
	}
	want := []uint64{old.Seq, early.Seq, same1.Seq, same2.Seq, late.Seq}
	if !slices.Equal(seqs(got), want) {
		t.Errorf("order %v, want %v", seqs(got), want)
	}
}

func TestEntriesSurviveReopen(t *testing.T) {
	j, path := openTemp(t)
	params := map[string]string{"from": "2.4.1", "to": "2.5.0"}
	first, _ := j.Append(Entry{Actor: "alice", Role: "admin", Key: "SHA256:abc", Action: "promote", Target: "prod/api", Parameters: params, Result: Failed, Error: "rollout stalled"})
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	got, err := j2.Query(Query{})
	if err != nil || len(got) != 1 {
		t.Fatalf("after reopen: %v, %v", got, err)
	}
	e := got[0]
	if !e.Time.Equal(first.Time) || e.Actor != "alice" || e.Role != "admin" || e.Key != "SHA256:abc" ||
		e.Action != "promote" || e.Target != "prod/api" || e.Parameters["to"] != "2.5.0" || e.Result != Failed || e.Error != "rollout stalled" {
		t.Errorf("entry changed on disk: %+v, wrote %+v", e, first)
	}
	next, _ := j2.Append(Entry{Actor: "bob"})
	if next.Seq <= first.Seq {
		t.Errorf("seq restarted: %d after %d", next.Seq, first.Seq)
	}
}

func TestSubscribe(t *testing.T) {
	j, _ := openTemp(t)
	feed, cancel := j.Subscribe()
	other, cancelOther := j.Subscribe()
	defer cancelOther()
	e, _ := j.Append(Entry{Actor: "alice", Action: "ack"})
	for _, ch := range []<-chan Entry{feed, other} {
		select {
		case got := <-ch:
			if got.Seq != e.Seq || got.Actor != "alice" {
				t.Errorf("received %+v, want %+v", got, e)
			}
		case <-time.After(time.Second):
			t.Fatal("no entry on the feed")
		}
	}
	cancel()
	cancel() // twice is harmless
	if _, open := <-feed; open {
		t.Error("feed still open after cancel")
	}
	j.Append(Entry{Actor: "bob"})
	if got := <-other; got.Actor != "bob" {
		t.Errorf("the remaining subscriber got %+v", got)
	}
}

func TestSlowSubscriberDoesNotBlockAppend(t *testing.T) {
	j, _ := openTemp(t)
	feed, cancel := j.Subscribe()
	defer cancel()
	done := make(chan error)
	go func() {
		for range subscriberBuffer + 5 {
			if _, err := j.Append(Entry{Actor: "alice"}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Append blocked on a subscriber that does not read")
	}
	if n := len(feed); n != subscriberBuffer {
		t.Errorf("feed holds %d entries, want a full buffer of %d", n, subscriberBuffer)
	}
	all, _ := j.Query(Query{})
	if len(all) != subscriberBuffer+5 {
		t.Errorf("journal holds %d entries, want every one appended", len(all))
	}
}

func TestCloseEndsSubscriptions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	j, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	feed, cancel := j.Subscribe()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if _, open := <-feed; open {
		t.Error("feed open after Close")
	}
	cancel() // after Close: harmless
	if _, err := j.Append(Entry{}); err == nil {
		t.Error("Append after Close succeeded")
	}
}

func TestRecord(t *testing.T) {
	viewer := access.Actor{Name: "vic", Role: access.Viewer, Source: "ssh", KeyFingerprint: "SHA256:xyz"}
	denied := &access.DeniedError{Actor: viewer, Action: access.Action{Name: "promote", MinRole: access.Operator}}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want Result
	}{
		{"success", context.Background(), nil, OK},
		{"role denied", context.Background(), fmt.Errorf("promote: %w", denied), Refused},
		{"read-only", context.Background(), fmt.Errorf("destroy: %w", access.ErrReadOnly), Refused},
		{"cancelled", context.Background(), fmt.Errorf("rollout: %w", context.Canceled), Cancelled},
		{"cancelled context, hidden cause", cancelled, errors.New("signal: killed"), Cancelled},
		{"deadline", context.Background(), context.DeadlineExceeded, Failed},
		{"failure", context.Background(), errors.New("droplet create: 422 region unavailable"), Failed},
	}
	j, _ := openTemp(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params := map[string]string{"env": "prod"}
			if err := j.Record(tt.ctx, viewer, "promote", "prod/api", params, tt.err); err != nil {
				t.Fatal(err)
			}
			got, err := j.Query(Query{Limit: 1})
			if err != nil || len(got) != 1 {
				t.Fatalf("query: %v %v", got, err)
			}
			e := got[0]
			if e.Result != tt.want {
				t.Errorf("result %q, want %q", e.Result, tt.want)
			}
			wantErr := ""
			if tt.err != nil {
				wantErr = tt.err.Error()
			}
			if e.Error != wantErr || e.Actor != "vic" || e.Role != "viewer" || e.Key != "SHA256:xyz" ||
				e.Action != "promote" || e.Target != "prod/api" || e.Parameters["env"] != "prod" {
				t.Errorf("recorded %+v", e)
			}
		})
	}
}

func BenchmarkAppend(b *testing.B) {
	j, err := Open(filepath.Join(b.TempDir(), "journal.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	e := Entry{Actor: "alice", Action: "promote", Target: "prod/api", Parameters: map[string]string{"to": "2.5.0"}, Result: OK}
	for b.Loop() {
		if _, err := j.Append(e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkQueryLimit(b *testing.B) {
	j, err := Open(filepath.Join(b.TempDir(), "journal.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	base := time.Now().Add(-time.Hour)
	// One transaction for the setup: per-entry fsyncs would dominate.
	if err := j.update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucket)
		for i := range 10000 {
			e := Entry{Seq: uint64(i + 1), Time: base.Add(time.Duration(i) * time.Millisecond), Actor: []string{"alice", "bob"}[i%2], Target: "prod/api", Result: OK}
			v, _ := json.Marshal(e)
			if err := bk.Put(key(e), v); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		es, err := j.Query(Query{Actor: "bob", Limit: 200})
		if err != nil || len(es) != 200 {
			b.Fatal(len(es), err)
		}
	}
}

// BenchmarkOpenChecked is Open of a 10,000-entry journal, whose whole file
// is checked once per process.
func BenchmarkOpenChecked(b *testing.B) {
	path := filepath.Join(b.TempDir(), "journal.db")
	j, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	base := time.Now().Add(-time.Hour)
	if err := j.update(func(tx *bolt.Tx) error {
		bk, idx := tx.Bucket(bucket), tx.Bucket(seqBucket)
		for i := range 10000 {
			e := Entry{Seq: uint64(i + 1), Time: base.Add(time.Duration(i) * time.Millisecond), Actor: "alice", Action: "promote", Target: "prod/api", Result: OK}
			v, _ := json.Marshal(e)
			if err := bk.Put(key(e), v); err != nil {
				return err
			}
			if err := idx.Put(seqKey(e.Seq), key(e)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	j.Close()
	for b.Loop() {
		j, err := Open(path)
		if err != nil || j.Damaged() != nil {
			b.Fatal(err, j.Damaged())
		}
		j.Close()
	}
}
