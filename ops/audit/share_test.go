package audit

import (
	"bufio"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// receive reads one entry from feed, failing after a few seconds.
func receive(t *testing.T, feed <-chan Entry) Entry {
	t.Helper()
	select {
	case e, ok := <-feed:
		if !ok {
			t.Fatal("feed closed")
		}
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no entry on the feed")
	}
	return Entry{}
}

// quiet fails when feed delivers anything within a short while.
func quiet(t *testing.T, feed <-chan Entry) {
	t.Helper()
	select {
	case e := <-feed:
		t.Fatalf("unexpected entry on the feed: %+v", e)
	case <-time.After(200 * time.Millisecond):
	}
}

func TestTwoJournalsShareAFile(t *testing.T) {
	a, path := openTemp(t)
	b, err := Open(path)
	if err != nil {
		t.Fatalf("second Open of a journal in use: %v", err)
	}
	defer b.Close()
	var want []uint64
	for i := range 6 {
		j := []*Journal{a, b}[i%2]
		e, err := j.Append(Entry{Actor: fmt.Sprint("actor", i%2), Action: "act"})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, e.Seq)
	}
	for i := 1; i < len(want); i++ {
		if want[i] <= want[i-1] {
			t.Fatalf("seqs from two journals %v, want strictly increasing", want)
		}
	}
	for _, j := range []*Journal{a, b} {
		got, err := j.Query(Query{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(seqs(got), want) {
			t.Errorf("one journal reads %v, want both's entries %v", seqs(got), want)
		}
	}
}

func TestFeedCarriesOtherJournalsEntries(t *testing.T) {
	a, path := openTemp(t)
	b, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Append(Entry{Actor: "before"}); err != nil {
		t.Fatal(err)
	}
	feed, cancel := a.Subscribe()
	defer cancel()

	other, _ := b.Append(Entry{Actor: "bob", Action: "ack", Target: "alert/HostDown"})
	if got := receive(t, feed); got.Seq != other.Seq || got.Actor != "bob" || got.Target != "alert/HostDown" {
		t.Fatalf("received %+v, want the other journal's %+v", got, other)
	}
	// This journal's own entry comes once, though the watch sees it too.
	own, _ := a.Append(Entry{Actor: "alice"})
	if got := receive(t, feed); got.Seq != own.Seq {
		t.Fatalf("received %+v, want this journal's %+v", got, own)
	}
	next, _ := b.Append(Entry{Actor: "carol"})
	if got := receive(t, feed); got.Seq != next.Seq {
		t.Fatalf("received seq %d (%s), want %d: an entry came twice or out of turn", got.Seq, got.Actor, next.Seq)
	}
	quiet(t, feed)
}

func TestFeedStopsWithItsLastSubscriber(t *testing.T) {
	j, path := openTemp(t)
	_, c1 := j.Subscribe()
	_, c2 := j.Subscribe()
	j.mu.Lock()
	f := j.feed
	j.mu.Unlock()
	if f == nil {
		t.Fatal("no watch on the file while subscribed")
	}
	c1()
	j.mu.Lock()
	still := j.feed == f
	j.mu.Unlock()
	if !still {
		t.Error("the watch ended while a subscriber remains")
	}
	c2()
	select {
	case <-f.done:
	default:
		t.Error("the watch goes on after the last cancel")
	}
	// A new subscription watches again.
	feed, c3 := j.Subscribe()
	defer c3()
	other, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	e, _ := other.Append(Entry{Actor: "dave"})
	if got := receive(t, feed); got.Seq != e.Seq {
		t.Errorf("after resubscribing, received %+v, want %+v", got, e)
	}
}

// holdLock locks the journal file as another process's operation would.
func holdLock(t *testing.T, path string, how int) (release func()) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		t.Fatal(err)
	}
	return func() { f.Close() }
}

func TestLockWaitIsBounded(t *testing.T) {
	j, path := openTemp(t)
	defer func(d time.Duration) { lockTimeout = d }(lockTimeout)
	lockTimeout = 300 * time.Millisecond

	release := holdLock(t, path, syscall.LOCK_EX)
	start := time.Now()
	_, err := j.Append(Entry{Actor: "alice"})
	waited := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "locked for 300ms") || !strings.Contains(err.Error(), "fuser") {
		t.Fatalf("Append on a locked journal: %v", err)
	}
	if waited < lockTimeout || waited > 3*time.Second {
		t.Errorf("Append gave up after %v, want about %v", waited, lockTimeout)
	}
	if _, err := j.Query(Query{}); err == nil || !strings.Contains(err.Error(), "locked for") {
		t.Errorf("Query during another's append: %v", err)
	}
	release()

	// Readers share the file; a writer waits for them.
	release = holdLock(t, path, syscall.LOCK_SH)
	if _, err := j.Query(Query{}); err != nil {
		t.Errorf("Query beside another reader: %v", err)
	}
	if _, err := j.Append(Entry{Actor: "alice"}); err == nil {
		t.Error("Append succeeded while another process read")
	}
	release()

	// A waiting Append goes on as soon as the holder lets go.
	release = holdLock(t, path, syscall.LOCK_EX)
	lockTimeout = 5 * time.Second
	time.AfterFunc(100*time.Millisecond, release)
	start = time.Now()
	e, err := j.Append(Entry{Actor: "alice"})
	if err != nil {
		t.Fatalf("Append after the holder let go: %v", err)
	}
	t.Logf("Append waited %v for a lock released after 100ms", time.Since(start))
	if got, _ := j.Query(Query{}); len(got) != 1 || got[0].Seq != e.Seq {
		t.Errorf("journal holds %v, want only the entry appended after the wait", seqs(got))
	}
}

const shareEnv = "VIGIL_AUDIT_HELPER_SHARE"

// TestHelperSharer is the child of TestTwoProcesses: it appends entries as
// "child", printing each Seq, then waits to read the parent's entries.
func TestHelperSharer(t *testing.T) {
	spec := os.Getenv(shareEnv)
	if spec == "" {
		t.Skip("run by TestTwoProcesses")
	}
	var path string
	var mine, theirs int
	if _, err := fmt.Sscanf(spec, "%d %d %s", &mine, &theirs, &path); err != nil {
		fmt.Println("bad spec:", err)
		os.Exit(2)
	}
	j, err := Open(path)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	for i := range mine {
		e, err := j.Append(Entry{Actor: "child", Action: "scale", Target: fmt.Sprintf("prod/api/%d", i), Result: OK})
		if err != nil {
			fmt.Println("append:", err)
			os.Exit(2)
		}
		fmt.Println("seq", e.Seq)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		es, err := j.Query(Query{Actor: "parent"})
		if err != nil {
			fmt.Println("query:", err)
			os.Exit(2)
		}
		if len(es) == theirs || time.Now().After(deadline) {
			fmt.Println("saw", len(es))
			os.Exit(0)
		}
	}
}

// TestTwoProcesses has a child append in a loop while this process
// subscribes, queries and appends to the same file: both succeed, each
// reads the other's entries, and the feed carries the child's entries once.
func TestTwoProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	const mine, theirs = 100, 300 // this process's entries, the child's
	j, path := openTemp(t)
	feed, cancel := j.Subscribe()
	var fed []Entry
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		for e := range feed {
			fed = append(fed, e)
		}
	}()

	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperSharer$", "-test.v=false")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d %d %s", shareEnv, theirs, mine, path))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	defer deadline.Stop()

	// Append and query while the child appends.
	var wg sync.WaitGroup
	var slowest time.Duration
	var appendErr error
	wg.Go(func() {
		for i := range mine {
			start := time.Now()
			if _, err := j.Append(Entry{Actor: "parent", Action: "ack", Target: fmt.Sprintf("alert/%d", i)}); err != nil {
				appendErr = err
				return
			}
			slowest = max(slowest, time.Since(start))
			if i%10 == 0 {
				if _, err := j.Query(Query{Actor: "child", Limit: 50}); err != nil {
					appendErr = err
					return
				}
			}
		}
	})

	reported := map[uint64]bool{}
	saw := -1
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		f := strings.Fields(lines.Text())
		n, err := strconv.Atoi(f[len(f)-1])
		switch {
		case len(f) == 2 && f[0] == "seq" && err == nil:
			reported[uint64(n)] = true
		case len(f) == 2 && f[0] == "saw" && err == nil:
			saw = n
		default:
			t.Fatalf("child said %q", lines.Text())
		}
	}
	wg.Wait()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	if appendErr != nil {
		t.Fatalf("this process, beside the child: %v", appendErr)
	}
	if len(reported) != theirs || saw != mine {
		t.Fatalf("child appended %d of %d entries and read %d of this process's %d", len(reported), theirs, saw, mine)
	}
	t.Logf("slowest Append beside the child: %v", slowest)

	// The feed has every child entry once, and this process's own once.
	for wait := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		j.mu.Lock()
		f := j.feed
		done := f != nil && f.seen >= slices.Max(slices.Collect(maps.Keys(reported)))
		j.mu.Unlock()
		if done || time.Now().After(wait) {
			break
		}
	}
	cancel()
	<-collected
	count := map[string]int{}
	got := map[uint64]int{}
	for _, e := range fed {
		count[e.Actor]++
		got[e.Seq]++
	}
	for seq, n := range got {
		if n != 1 {
			t.Errorf("entry %d came %d times on the feed", seq, n)
		}
	}
	for seq := range reported {
		if got[seq] == 0 {
			t.Errorf("the child's entry %d never came on the feed", seq)
		}
	}
	if count["child"] != theirs || count["parent"] != mine {
		t.Errorf("feed carried %v, want %d child and %d parent entries", count, theirs, mine)
	}

	all, err := j.Query(Query{})
	if err != nil {
		t.Fatal(err)
	}
	unique := map[uint64]bool{}
	for _, e := range all {
		unique[e.Seq] = true
	}
	if len(all) != mine+theirs || len(unique) != len(all) {
		t.Errorf("journal holds %d entries (%d distinct seqs), want %d", len(all), len(unique), mine+theirs)
	}
}

// BenchmarkFeedFromOtherJournal is the time from another Journal's Append on
// the same file to the entry on this one's feed, the Append included.
func BenchmarkFeedFromOtherJournal(b *testing.B) {
	path := filepath.Join(b.TempDir(), "journal.db")
	j, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	other, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer other.Close()
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

// TestFileRemovedWhileOpen: nothing holds the file between operations, so
// an administrator may move it away; the next Append starts a new one.
func TestFileRemovedWhileOpen(t *testing.T) {
	j, path := openTemp(t)
	feed, cancel := j.Subscribe()
	defer cancel()
	if _, err := j.Append(Entry{Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	receive(t, feed)
	if err := os.Rename(path, path+".old"); err != nil {
		t.Fatal(err)
	}
	e, err := j.Append(Entry{Actor: "bob"})
	if err != nil {
		t.Fatalf("Append after the file moved away: %v", err)
	}
	if got := receive(t, feed); got.Seq != e.Seq || got.Actor != "bob" {
		t.Errorf("feed gave %+v, want %+v", got, e)
	}
	got, err := j.Query(Query{})
	if err != nil || len(got) != 1 || got[0].Actor != "bob" {
		t.Errorf("new file holds %+v (%v), want bob's entry alone", got, err)
	}
	quiet(t, feed)
}
