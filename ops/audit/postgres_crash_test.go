package audit

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigilops/vigil/internal/labtest"
)

const (
	pgHelperDSN   = "VIGIL_AUDIT_HELPER_PG_DSN"
	pgHelperName  = "VIGIL_AUDIT_HELPER_PG_NAME"
	pgHelperFrom  = "VIGIL_AUDIT_HELPER_PG_FROM"
	pgHelperCount = "VIGIL_AUDIT_HELPER_PG_COUNT"
)

// TestHelperPGWriter is a bastion process of the tests below: it appends
// entries NAME-FROM, NAME-FROM+1, … (their IDs) to the shared journal, up
// to COUNT of them or until killed, printing "i seq" once each Append has
// returned.
func TestHelperPGWriter(t *testing.T) {
	dsn := os.Getenv(pgHelperDSN)
	if dsn == "" {
		t.Skip("run by TestPostgresProcessesKilledAndRestarted and TestPostgresTwoProcesses")
	}
	name := os.Getenv(pgHelperName)
	from, _ := strconv.Atoi(os.Getenv(pgHelperFrom))
	count, _ := strconv.Atoi(os.Getenv(pgHelperCount))
	j, err := OpenPostgres(context.Background(), dsn)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	for i := from; count == 0 || i < from+count; i++ {
		e, err := j.Append(Entry{ID: fmt.Sprintf("%s-%d", name, i), Actor: name, Action: "scale", Target: fmt.Sprintf("prod/%d", i), Result: OK})
		if err != nil {
			fmt.Println("append:", err)
			os.Exit(2)
		}
		fmt.Println(i, e.Seq)
	}
	j.Close()
	os.Exit(0)
}

// pgWriter starts a writer process; lines gets its "i seq" lines.
func pgWriter(t *testing.T, dsn, name string, from, count int) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperPGWriter$", "-test.v=false")
	cmd.Env = append(os.Environ(), pgHelperDSN+"="+dsn, pgHelperName+"="+name,
		pgHelperFrom+"="+strconv.Itoa(from), pgHelperCount+"="+strconv.Itoa(count))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd, bufio.NewScanner(out)
}

func parseLine(t *testing.T, line string) (int, uint64) {
	t.Helper()
	f := strings.Fields(line)
	if len(f) != 2 {
		t.Fatalf("writer said %q", line)
	}
	i, err1 := strconv.Atoi(f[0])
	seq, err2 := strconv.ParseUint(f[1], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("writer said %q", line)
	}
	return i, seq
}

// A bastion killed with SIGKILL in the middle of its appends, then
// restarted: it sends again the entry it had not seen acknowledged (with
// its ID), and the journal holds every entry once, Seq 1..n without gaps.
func TestPostgresProcessesKilledAndRestarted(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dsn := labtest.PostgresDatabase(t)
	next := 0 // the first entry not reported written
	for round, after := range []int{1, 30, 80} {
		cmd, lines := pgWriter(t, dsn, "a", next, 0)
		n := 0
		timer := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
		for lines.Scan() {
			i, _ := parseLine(t, lines.Text())
			if i != next {
				t.Fatalf("round %d: writer reported entry %d, expected %d", round, i, next)
			}
			next++
			if n++; n == after {
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
			}
		}
		timer.Stop()
		_ = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("round %d: writer ended by %v, not killed", round, cmd.ProcessState)
		}
	}
	// The last restart writes the unacknowledged entry and two more.
	cmd, lines := pgWriter(t, dsn, "a", next, 3)
	for lines.Scan() {
		next++
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	j := openPG(t, dsn)
	all, err := j.Query(Query{})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	seqs := map[uint64]bool{}
	for _, e := range all {
		ids[e.ID]++
		seqs[e.Seq] = true
	}
	for id, n := range ids {
		if n > 1 {
			t.Errorf("entry %s stored %d times", id, n)
		}
	}
	for i := range next {
		if ids[fmt.Sprintf("a-%d", i)] != 1 {
			t.Errorf("entry a-%d reported written but not stored", i)
		}
	}
	for s := uint64(1); s <= uint64(len(all)); s++ {
		if !seqs[s] {
			t.Errorf("Seq %d missing: a killed append left a gap", s)
		}
	}
	t.Logf("%d entries through 3 kills, each once, Seq 1..%d", len(all), len(all))
}

// Two bastion processes appending at once: one order, every entry once,
// each process's entries in the order it wrote them.
func TestPostgresTwoProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dsn := labtest.PostgresDatabase(t)
	const each = 100
	var wg sync.WaitGroup
	got := map[string][]uint64{}
	var mu sync.Mutex
	for _, name := range []string{"a", "b"} {
		cmd, lines := pgWriter(t, dsn, name, 0, each)
		wg.Go(func() {
			var seqs []uint64
			for lines.Scan() {
				_, seq := parseLine(t, lines.Text())
				seqs = append(seqs, seq)
			}
			if err := cmd.Wait(); err != nil {
				t.Errorf("writer %s: %v", name, err)
			}
			mu.Lock()
			got[name] = seqs
			mu.Unlock()
		})
	}
	wg.Wait()
	all := map[uint64]string{}
	for name, seqs := range got {
		if len(seqs) != each {
			t.Fatalf("writer %s wrote %d entries, want %d", name, len(seqs), each)
		}
		for i, s := range seqs {
			if i > 0 && s <= seqs[i-1] {
				t.Fatalf("writer %s: entry %d got Seq %d after %d", name, i, s, seqs[i-1])
			}
			if other, dup := all[s]; dup {
				t.Fatalf("Seq %d given to %s and %s", s, other, name)
			}
			all[s] = name
		}
	}
	for s := uint64(1); s <= 2*each; s++ {
		if all[s] == "" {
			t.Fatalf("Seq %d unused", s)
		}
	}
	j := openPG(t, dsn)
	stored, err := j.Query(Query{})
	if err != nil || len(stored) != 2*each {
		t.Fatalf("%d stored (%v)", len(stored), err)
	}
}
