package audit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/internal/testclock"
	"github.com/vigilops/vigil/ops/access"
)

// openPG opens the shared journal in a database of the test's own in the
// lab's PostgreSQL, closed at cleanup.
func openPG(t testing.TB, dsn string) *Journal {
	t.Helper()
	j, err := OpenPostgres(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

// The shared journal answers as the bbolt one: Seq from 1 without gaps,
// queries by actor, target (and its children), time range and limit,
// oldest first; parameters and nanoseconds kept.
func TestPostgresAppendAndQuery(t *testing.T) {
	j := openPG(t, labtest.PostgresDatabase(t))
	now := testclock.Epoch()
	j.Now = func() time.Time { return now }
	in := []Entry{
		{Actor: "alice", Action: "scale", Target: "prod/api", Parameters: map[string]string{"replicas": "3"}, Result: OK},
		{Actor: "bob", Action: "restart", Target: "prod/api-gateway", Result: Failed, Error: "boom"},
		{Actor: "alice", Action: "rollback", Target: "prod/api/2", Result: Refused, Time: now.Add(-time.Hour + 7)},
		{Actor: "carol", Action: "scale", Target: "dev/web", Result: OK, Time: now.Add(time.Minute)},
	}
	for i, e := range in {
		got, err := j.Append(e)
		if err != nil {
			t.Fatal(err)
		}
		if got.Seq != uint64(i+1) || got.ID == "" {
			t.Fatalf("entry %d: seq %d id %q", i, got.Seq, got.ID)
		}
	}
	seqs := func(es []Entry) string {
		var b strings.Builder
		for _, e := range es {
			fmt.Fprintf(&b, "%d ", e.Seq)
		}
		return strings.TrimSpace(b.String())
	}
	for _, c := range []struct {
		q    Query
		want string
	}{
		{Query{}, "3 1 2 4"}, // time order, then Seq
		{Query{Actor: "alice"}, "3 1"},
		{Query{Target: "prod/api"}, "3 1"},
		{Query{Since: now}, "1 2 4"},
		{Query{Until: now}, "3"},
		{Query{Limit: 2}, "2 4"},
		{Query{Since: now, Until: now.Add(1)}, "1 2"},
	} {
		got, err := j.Query(c.q)
		if err != nil {
			t.Fatal(err)
		}
		if seqs(got) != c.want {
			t.Errorf("%+v: %s, want %s", c.q, seqs(got), c.want)
		}
	}
	all, _ := j.Query(Query{Actor: "alice", Limit: 1})
	if len(all) != 1 || all[0].Parameters["replicas"] != "3" || !all[0].Time.Equal(now) {
		t.Fatalf("stored as %+v", all)
	}
	early, _ := j.Query(Query{Until: now})
	if len(early) != 1 || early[0].Time.UnixNano() != now.Add(-time.Hour+7).UnixNano() {
		t.Fatalf("nanoseconds lost: %+v", early)
	}
	if j.Writable() != nil || !j.Shared() || strings.Contains(j.Where(), "@") {
		t.Fatalf("writable %v, shared %v, where %q", j.Writable(), j.Shared(), j.Where())
	}
}

// An append retried with the ID of one that was stored (its answer lost)
// returns the stored entry: nothing is written twice.
func TestPostgresAppendIsIdempotent(t *testing.T) {
	dsn := labtest.PostgresDatabase(t)
	a, b := openPG(t, dsn), openPG(t, dsn)
	first, err := a.Append(Entry{ID: "retry-1", Actor: "alice", Action: "scale", Target: "prod/api", Result: OK})
	if err != nil {
		t.Fatal(err)
	}
	again, err := b.Append(Entry{ID: "retry-1", Actor: "alice", Action: "scale", Target: "prod/api", Result: OK})
	if err != nil {
		t.Fatal(err)
	}
	next, err := a.Append(Entry{Actor: "alice", Action: "other", Target: "prod/api", Result: OK})
	if err != nil {
		t.Fatal(err)
	}
	all, err := b.Query(Query{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Seq != first.Seq || len(all) != 2 || next.Seq != 2 {
		t.Fatalf("first %d, again %d, next %d; %d stored", first.Seq, again.Seq, next.Seq, len(all))
	}
}

// Two bastions appending at once: one order, Seq 1..n without gaps, and
// each bastion's feed carries every entry once, in that order; an entry
// written through A reaches B's feed within a second.
func TestPostgresTwoBastionsOneOrder(t *testing.T) {
	dsn := labtest.PostgresDatabase(t)
	a, b := openPG(t, dsn), openPG(t, dsn)
	feeds := map[string][]uint64{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	const each = 60
	for name, j := range map[string]*Journal{"a": a, "b": b} {
		ch, cancel := j.Subscribe()
		defer cancel()
		wg.Go(func() {
			for e := range ch {
				mu.Lock()
				feeds[name] = append(feeds[name], e.Seq)
				n := len(feeds[name])
				mu.Unlock()
				if n == 2*each {
					return
				}
			}
		})
	}
	var writers sync.WaitGroup
	for name, j := range map[string]*Journal{"a": a, "b": b} {
		writers.Go(func() {
			for i := range each {
				if _, err := j.Append(Entry{Actor: name, Action: "scale", Target: fmt.Sprintf("prod/%d", i), Result: OK}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	writers.Wait()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		mu.Lock()
		t.Fatalf("feeds incomplete after 10 s: a %d, b %d entries", len(feeds["a"]), len(feeds["b"]))
	}
	for name, got := range feeds {
		for i, seq := range got {
			if seq != uint64(i+1) {
				t.Fatalf("%s's feed: position %d holds Seq %d: %v", name, i, seq, got)
			}
		}
	}
	all, err := a.Query(Query{})
	if err != nil || len(all) != 2*each {
		t.Fatalf("%d stored (%v)", len(all), err)
	}

	// The delay from A's append to B's feed.
	ch, cancel := b.Subscribe()
	defer cancel()
	var worst time.Duration
	for range 20 {
		start := time.Now()
		e, err := a.Append(Entry{Actor: "a", Action: "ping", Target: "feed", Result: OK})
		if err != nil {
			t.Fatal(err)
		}
		for got := range ch {
			if got.Seq == e.Seq {
				break
			}
		}
		worst = max(worst, time.Since(start))
	}
	t.Logf("append through A to B's feed: worst of 20 %s", worst)
	if worst > time.Second {
		t.Errorf("an entry took %s to reach the other bastion's feed, want ≤ 1 s", worst)
	}
}

// outage is how long TestPostgresOutage keeps PostgreSQL stopped.
const outage = 20 * time.Second

// PostgreSQL stopped: appends are refused with the reason, at once once the
// outage is known, and never stored later; reads answer from the entries
// seen; with the server back everything resumes by itself, the feed
// catching up with what the other bastion wrote first.
func TestPostgresOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("stops the lab's PostgreSQL")
	}
	dsn := labtest.PostgresDatabase(t)
	a, b := openPG(t, dsn), openPG(t, dsn)
	if _, err := a.Append(Entry{Actor: "alice", Action: "scale", Target: "prod/api", Result: OK}); err != nil {
		t.Fatal(err)
	}
	ch, cancel := b.Subscribe()
	defer cancel()
	health, unsub := b.SubscribeWritable()
	defer unsub()
	woken := func(what string) {
		t.Helper()
		select {
		case <-health:
		case <-time.After(10 * time.Second):
			t.Fatalf("B's health subscription not woken %s", what)
		}
	}

	start := labtest.StopPostgres(t)
	stopped := time.Now()
	_, err := a.Append(Entry{ID: "during-outage", Actor: "alice", Action: "restart", Target: "prod/api", Result: OK})
	var un *UnavailableError
	if !errors.As(err, &un) || !access.IsRefusal(err) {
		t.Fatalf("append with the server stopped: %v, want a refusal saying it is unreachable", err)
	}
	if strings.Contains(err.Error(), "postgres://vigil:") || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("the refusal: %v", err)
	}
	t.Logf("first append refused after %s: %v", time.Since(stopped).Round(time.Millisecond), err)
	// Both bastions say so, B without writing anything.
	deadline := time.Now().Add(10 * time.Second)
	for b.Writable() == nil {
		if time.Now().After(deadline) {
			t.Fatal("B does not notice the outage within 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("B noticed the outage after %s", time.Since(stopped).Round(time.Millisecond))
	woken("by the outage")
	refusedAt := time.Now()
	if _, err := b.Append(Entry{Actor: "bob", Action: "scale", Target: "prod/web", Result: OK}); !errors.As(err, &un) {
		t.Fatalf("B appends during the outage: %v", err)
	} else if time.Since(refusedAt) > 100*time.Millisecond {
		t.Errorf("a known outage took %s to refuse", time.Since(refusedAt))
	}
	// Reads keep being served.
	got, err := a.Query(Query{Actor: "alice"})
	if err != nil || len(got) != 1 || got[0].Action != "scale" {
		t.Fatalf("read during the outage: %+v, %v", got, err)
	}
	time.Sleep(time.Until(stopped.Add(outage))) // the 20 s down
	start()
	back := time.Now()
	for a.Writable() != nil || b.Writable() != nil {
		if time.Since(back) > 10*time.Second {
			t.Fatalf("not resumed 10 s after the server came back: a %v, b %v", a.Writable(), b.Writable())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("both writable again %s after the server came back", time.Since(back).Round(time.Millisecond))
	woken("by the return")
	e, err := a.Append(Entry{Actor: "alice", Action: "restart", Target: "prod/api", Result: OK})
	if err != nil {
		t.Fatal(err)
	}
	// (The first entry may come through too: it was appended just before
	// B subscribed.)
	timeout := time.After(5 * time.Second)
	for resumed := false; !resumed; {
		select {
		case got := <-ch:
			if got.Seq > e.Seq || got.Seq < e.Seq && got.Action != "scale" {
				t.Fatalf("B's feed after the outage: %+v, want Seq %d", got, e.Seq)
			}
			resumed = got.Seq == e.Seq
		case <-timeout:
			t.Fatal("B's feed did not resume")
		}
	}
	all, err := b.Query(Query{})
	if err != nil || len(all) != 2 {
		t.Fatalf("after the outage %d entries (%v), want 2: nothing refused was stored", len(all), err)
	}
}

// Recorded actions carry the actor and classify the error, as with bbolt.
func TestPostgresRecord(t *testing.T) {
	j := openPG(t, labtest.PostgresDatabase(t))
	actor := access.Actor{Name: "alice", Role: access.Operator, KeyFingerprint: "SHA256:x"}
	if err := j.Record(context.Background(), actor, "scale", "prod/api", nil, errors.New("boom")); err != nil {
		t.Fatal(err)
	}
	got, err := j.Query(Query{})
	if err != nil || len(got) != 1 || got[0].Result != Failed || got[0].Key != "SHA256:x" || got[0].Error != "boom" {
		t.Fatalf("%+v, %v", got, err)
	}
}

// A DSN that does not parse, or a wrong password, is reported without the
// password.
func TestPostgresErrorsHideThePassword(t *testing.T) {
	dsn := labtest.PostgresDatabase(t)
	bad := strings.Replace(dsn, "vigil:", "vigil:", 1)
	i := strings.Index(bad, ":") + 3
	user, rest, _ := strings.Cut(bad[i:], "@")
	wrong := bad[:i] + strings.Split(user, ":")[0] + ":s3cretWrongPassw0rd@" + rest
	_, err := OpenPostgres(context.Background(), wrong)
	if err == nil || strings.Contains(err.Error(), "s3cretWrongPassw0rd") {
		t.Fatalf("wrong password: %v", err)
	}
	_, err = OpenPostgres(context.Background(), "postgres://vigil:s3cretWrongPassw0rd@127.0.0.1:notaport/x")
	if err == nil || strings.Contains(err.Error(), "s3cretWrongPassw0rd") {
		t.Fatalf("bad DSN: %v", err)
	}
}

// A bbolt journal copied into the shared one keeps every entry and its
// Seq; running the copy again copies nothing; appends continue after it;
// a Seq taken by another entry fails the whole import.
func TestPostgresImportFromBolt(t *testing.T) {
	src, _ := openTemp(t)
	now := testclock.Epoch()
	for i := range 5 {
		// Times out of Seq order: the copy follows Seq.
		if _, err := src.Append(Entry{Time: now.Add(time.Duration(5-i) * time.Minute), Actor: "alice", Action: "scale", Target: fmt.Sprintf("prod/%d", i), Parameters: map[string]string{"n": fmt.Sprint(i)}, Result: OK}); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := src.Query(Query{})
	if err != nil {
		t.Fatal(err)
	}
	dsn := labtest.PostgresDatabase(t)
	dst := openPG(t, dsn)
	r, err := dst.Import(entries)
	if err != nil || r != (ImportReport{Read: 5, Copied: 5, Total: 5}) {
		t.Fatalf("import: %+v, %v", r, err)
	}
	r, err = dst.Import(entries)
	if err != nil || r != (ImportReport{Read: 5, Present: 5, Total: 5}) {
		t.Fatalf("import again: %+v, %v", r, err)
	}
	got, err := dst.Query(Query{})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range got {
		w := entries[i]
		if e.Seq != w.Seq || !e.Time.Equal(w.Time) || e.Target != w.Target || e.Parameters["n"] != w.Parameters["n"] {
			t.Fatalf("entry %d: %+v, want %+v", i, e, w)
		}
	}
	next, err := dst.Append(Entry{Actor: "bob", Action: "restart", Target: "prod/api", Result: OK})
	if err != nil || next.Seq != 6 {
		t.Fatalf("append after the import: %+v, %v", next, err)
	}
	clash := []Entry{{Seq: 6, Time: now, Actor: "mallory", Action: "x", Target: "y", Result: OK}, {Seq: 7, Time: now, Actor: "m", Action: "x", Target: "y", Result: OK}}
	if _, err := dst.Import(clash); err == nil || !strings.Contains(err.Error(), "sequence number 6 is taken") {
		t.Fatalf("a clashing import: %v", err)
	}
	if all, _ := dst.Query(Query{}); len(all) != 6 {
		t.Fatalf("a failed import left %d entries, want 6", len(all))
	}
}

// BenchmarkAppendPostgres is BenchmarkAppend against the lab's PostgreSQL:
// one transaction per entry, committed (synchronous_commit on) before
// Append returns.
func BenchmarkAppendPostgres(b *testing.B) {
	j := openPG(b, labtest.PostgresDatabase(b))
	e := Entry{Actor: "alice", Action: "promote", Target: "prod/api", Parameters: map[string]string{"to": "2.5.0"}, Result: OK}
	for b.Loop() {
		if _, err := j.Append(e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFeedFromOtherBastionPostgres is BenchmarkFeedFromOtherJournal
// through PostgreSQL: another bastion's Append to the entry on this one's
// feed (NOTIFY, then the catch-up query), the Append included.
func BenchmarkFeedFromOtherBastionPostgres(b *testing.B) {
	dsn := labtest.PostgresDatabase(b)
	j, other := openPG(b, dsn), openPG(b, dsn)
	feed, cancel := j.Subscribe()
	defer cancel()
	e := Entry{Actor: "bob", Action: "ack", Target: "alert/HostDown", Result: OK}
	for b.Loop() {
		want, err := other.Append(e)
		if err != nil {
			b.Fatal(err)
		}
		if got := <-feed; got.Seq != want.Seq {
			b.Fatalf("feed gave %d, want %d", got.Seq, want.Seq)
		}
	}
}

// BenchmarkOpenPostgres is the time to start against the shared journal:
// connect, check the migrations, read the newest entries (1,000 here),
// start the feed.
func BenchmarkOpenPostgres(b *testing.B) {
	dsn := labtest.PostgresDatabase(b)
	seed := openPG(b, dsn)
	for i := range 1000 {
		if _, err := seed.Append(Entry{Actor: "alice", Action: "scale", Target: fmt.Sprintf("prod/%d", i), Result: OK}); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		j, err := OpenPostgres(context.Background(), dsn)
		if err != nil {
			b.Fatal(err)
		}
		j.Close()
	}
}
