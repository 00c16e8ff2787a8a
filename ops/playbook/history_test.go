package playbook

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/vigilops/vigil/ops/boltfile"
)

// record writes a finished run as the service does: its record while it
// runs, its events in batches of five, then its outcome.
func record(h *History, id string, events int) error {
	r := Run{ID: id, Playbook: "site.yml", State: Running}
	if err := h.Put(r); err != nil {
		return err
	}
	var batch []Event
	for seq := 1; seq <= events; seq++ {
		batch = append(batch, Event{Seq: seq, Kind: KindResult, Host: "web-1", Status: StatusOK, Task: fmt.Sprint("task ", seq)})
		if len(batch) == 5 || seq == events {
			if err := h.Append(id, batch); err != nil {
				return err
			}
			batch = nil
		}
	}
	r.State, r.Events = Succeeded, events
	return h.Put(r)
}

// states maps each run of h to its state.
func states(t *testing.T, h *History) map[string]State {
	t.Helper()
	runs, err := h.Runs(0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]State{}
	for _, r := range runs {
		out[r.ID] = r.State
	}
	return out
}

// storedRun reads a run's record as it is on disk.
func storedRun(t *testing.T, path, id string) stored {
	t.Helper()
	var s stored
	if err := (boltfile.File{Path: path}).View(func(tx *bolt.Tx) error {
		return json.Unmarshal(tx.Bucket(runsBucket).Get([]byte(id)), &s)
	}); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTwoHistoriesShareAFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "runs.db")
	var hs [2]*History
	for i := range hs {
		h, err := OpenHistory(path)
		if err != nil {
			t.Fatalf("history %d on a file in use: %v", i, err)
		}
		defer h.Close()
		hs[i] = h
	}
	// Both record at once; each commit waits for the other's.
	var wg sync.WaitGroup
	errs := make([]error, len(hs))
	for i, h := range hs {
		wg.Go(func() {
			for n := range 4 {
				if err := record(h, fmt.Sprintf("%d-%d", n, i), 23); err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("history %d: %v", i, err)
		}
	}
	for i, h := range hs {
		got := states(t, h)
		if len(got) != 8 {
			t.Errorf("history %d reads %d runs %v, want both's 8", i, len(got), got)
		}
		for id, st := range got {
			if st != Succeeded {
				t.Errorf("history %d: run %s is %s", i, id, st)
			}
		}
		other := fmt.Sprintf("3-%d", 1-i)
		evs, err := h.Events(other, Filter{}, 0, 0)
		if err != nil || len(evs) != 23 || evs[22].Seq != 23 {
			t.Errorf("history %d reads %d events of the other's run %s (%v), want 23", i, len(evs), other, err)
		}
		if r, err := h.Get(other); err != nil || r.Events != 23 {
			t.Errorf("history %d: Get(%s) = %+v, %v", i, other, r, err)
		}
	}
}

// sleeper starts a process that lives until the test ends or it is killed,
// and returns it as a run's owner.
func sleeper(t *testing.T) (*exec.Cmd, owner) {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	start, ok := startTicks(cmd.Process.Pid)
	if !ok {
		t.Fatalf("no start time for pid %d", cmd.Process.Pid)
	}
	return cmd, owner{PID: cmd.Process.Pid, Start: start}
}

func TestOnlyRunsWithoutALiveOwnerAreInterrupted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "runs.db")
	live, liveOwner := sleeper(t)
	dead, deadOwner := sleeper(t)
	dead.Process.Kill()
	dead.Wait()
	me := self()
	reused := me
	reused.Start++ // this pid, but started at another time: another process
	put := map[string]stored{
		"1-dead":    {Run: Run{ID: "1-dead", State: Running}, Owner: &deadOwner},
		"2-live":    {Run: Run{ID: "2-live", State: Running}, Owner: &liveOwner},
		"3-legacy":  {Run: Run{ID: "3-legacy", State: Running}}, // written before runs had owners
		"4-self":    {Run: Run{ID: "4-self", State: Running}, Owner: &me},
		"5-reused":  {Run: Run{ID: "5-reused", State: Running}, Owner: &reused},
		"6-done":    {Run: Run{ID: "6-done", State: Succeeded}},
		"7-nolinux": {Run: Run{ID: "7-nolinux", State: Running}, Owner: &owner{PID: liveOwner.PID}},
	}
	if err := (boltfile.File{Path: path}).Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(runsBucket)
		if err != nil {
			return err
		}
		for id, s := range put {
			v, _ := json.Marshal(s)
			if err := b.Put([]byte(id), v); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	h, err := OpenHistory(path)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	want := map[string]State{"1-dead": Interrupted, "2-live": Running, "3-legacy": Interrupted, "4-self": Running,
		"5-reused": Interrupted, "6-done": Succeeded, "7-nolinux": Running}
	got := states(t, h)
	for id, st := range want {
		if got[id] != st {
			t.Errorf("after open, run %s is %q, want %q", id, got[id], st)
		}
		if s := storedRun(t, path, id); s.State != st {
			t.Errorf("after open, run %s is stored %q, want %q", id, s.State, st)
		}
	}
	if s := storedRun(t, path, "1-dead"); s.Error == "" || s.Owner != nil {
		t.Errorf("interrupted run stored as %+v, want an error and no owner", s)
	}

	// The owner dies while this history is open: its run reads as
	// interrupted at once, and is stored so by the next open.
	live.Process.Kill()
	live.Wait()
	if r, err := h.Get("2-live"); err != nil || r.State != Interrupted {
		t.Errorf("run of a dead owner reads %q (%v), want interrupted", r.State, err)
	}
	if storedRun(t, path, "2-live").State != Running {
		t.Error("a read rewrote the file")
	}
	if _, err := OpenHistory(path); err != nil {
		t.Fatal(err)
	}
	if s := storedRun(t, path, "2-live"); s.State != Interrupted {
		t.Errorf("after reopening, the dead owner's run is stored %q", s.State)
	}
	// A finished run drops its owner.
	if err := h.Put(Run{ID: "4-self", State: Succeeded}); err != nil {
		t.Fatal(err)
	}
	if s := storedRun(t, path, "4-self"); s.Owner != nil {
		t.Errorf("finished run keeps its owner %+v", s.Owner)
	}
}

func TestClosedHistoryRefuses(t *testing.T) {
	h, err := OpenHistory(filepath.Join(t.TempDir(), "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	if err := h.Put(Run{ID: "1"}); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Put after Close: %v", err)
	}
	if _, err := h.Runs(0); err == nil {
		t.Error("Runs after Close succeeded")
	}
}

const historyHelperEnv = "VIGIL_PLAYBOOK_HELPER_HISTORY"

// TestHelperHistory is the child of TestTwoProcessesShareHistory: it records
// three runs, starts a fourth that it never finishes, waits to read the
// parent's three runs, then waits to be killed.
func TestHelperHistory(t *testing.T) {
	path := os.Getenv(historyHelperEnv)
	if path == "" {
		t.Skip("run by TestTwoProcessesShareHistory")
	}
	fail := func(what string, err error) {
		fmt.Println(what+":", err)
		os.Exit(2)
	}
	h, err := OpenHistory(path)
	if err != nil {
		fail("open", err)
	}
	for n := range 3 {
		if err := record(h, fmt.Sprintf("%d-child", n), 12); err != nil {
			fail("record", err)
		}
	}
	if err := h.Put(Run{ID: "9-child-live", State: Running}); err != nil {
		fail("put", err)
	}
	if err := h.Append("9-child-live", []Event{{Seq: 1, Kind: KindPlay, Play: "all"}}); err != nil {
		fail("append", err)
	}
	fmt.Println("live")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		runs, err := h.Runs(0)
		if err != nil {
			fail("runs", err)
		}
		parents := 0
		for _, r := range runs {
			if strings.HasSuffix(r.ID, "-parent") && r.State == Succeeded {
				parents++
			}
		}
		if parents == 3 || time.Now().After(deadline) {
			fmt.Println("saw", parents)
			break
		}
	}
	time.Sleep(time.Minute) // until killed
}

// TestTwoProcessesShareHistory records runs in this process and in a child
// at once: each reads the other's runs and events, a new history opened
// while the child's run is live leaves it running, and once the child is
// killed its run is interrupted.
func TestTwoProcessesShareHistory(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	path := filepath.Join(t.TempDir(), "runs.db")
	h, err := OpenHistory(path)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHistory$", "-test.v=false")
	cmd.Env = append(os.Environ(), historyHelperEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	defer deadline.Stop()

	for n := range 3 {
		if err := record(h, fmt.Sprintf("%d-parent", n), 12); err != nil {
			t.Fatal(err)
		}
	}
	lines := bufio.NewScanner(out)
	for _, want := range []string{"live", "saw 3"} {
		if !lines.Scan() || lines.Text() != want {
			t.Fatalf("child said %q (%v), want %q", lines.Text(), lines.Err(), want)
		}
	}

	// Another vigil starting now leaves the child's live run alone.
	again, err := OpenHistory(path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	got := states(t, again)
	if got["9-child-live"] != Running {
		t.Errorf("the child's live run is %q after another open, want running", got["9-child-live"])
	}
	for n := range 3 {
		id := fmt.Sprintf("%d-child", n)
		if got[id] != Succeeded {
			t.Errorf("the child's run %s reads %q here", id, got[id])
		}
		if evs, err := h.Events(id, Filter{}, 0, 0); err != nil || len(evs) != 12 {
			t.Errorf("%d events of the child's run %s (%v), want 12", len(evs), id, err)
		}
	}

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if r, err := h.Get("9-child-live"); err != nil || r.State != Interrupted {
		t.Errorf("the killed child's run reads %q (%v), want interrupted", r.State, err)
	}
	if _, err := OpenHistory(path); err != nil {
		t.Fatal(err)
	}
	if s := storedRun(t, path, "9-child-live"); s.State != Interrupted {
		t.Errorf("the killed child's run is stored %q after an open, want interrupted", s.State)
	}
	if evs, _ := h.Events("9-child-live", Filter{}, 0, 0); len(evs) != 1 {
		t.Errorf("the interrupted run kept %d events, want its 1", len(evs))
	}
}

// BenchmarkEventsPage reads a drill-down page (50 events from the middle of
// a 1,000-event run), opening and locking the file as every read does.
func BenchmarkEventsPage(b *testing.B) {
	h, err := OpenHistory(filepath.Join(b.TempDir(), "runs.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	if err := record(h, "1", 1000); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if evs, err := h.Events("1", Filter{}, 500, 50); err != nil || len(evs) != 50 {
			b.Fatal(len(evs), err)
		}
	}
}
