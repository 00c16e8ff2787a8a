package audit

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

const helperEnv = "VIGIL_AUDIT_HELPER_JOURNAL"

// TestHelperWriter is the child of TestKillDuringWrites: it appends entries
// until killed, printing each Seq once Append has returned.
func TestHelperWriter(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		t.Skip("run by TestKillDuringWrites")
	}
	j, err := Open(path)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	params := map[string]string{"replicas": "3", "image": "registry.example/api:2.5.0"}
	for i := 0; ; i++ {
		e, err := j.Append(Entry{Actor: "writer", Action: "scale", Target: fmt.Sprintf("prod/api/%d", i), Parameters: params, Result: OK})
		if err != nil {
			fmt.Println("append:", err)
			os.Exit(2)
		}
		fmt.Println(e.Seq) // os.Stdout is unbuffered: the parent sees it at once
	}
}

// TestKillDuringWrites kills a writer with SIGKILL in the middle of its
// appends, several times over the same file, and checks that every entry it
// reported written is there and that the store is consistent.
func TestKillDuringWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	path := filepath.Join(t.TempDir(), "journal.db")
	reported := map[uint64]bool{}
	for round, after := range []int{1, 40, 150} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriter$", "-test.v=false")
		cmd.Env = append(os.Environ(), helperEnv+"="+path)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(out)
		n := 0
		deadline := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
		for lines.Scan() {
			seq, err := strconv.ParseUint(lines.Text(), 10, 64)
			if err != nil {
				t.Fatalf("round %d: child said %q", round, lines.Text())
			}
			reported[seq] = true
			if n++; n == after {
				// Kill it while it writes; lines already in the pipe still count.
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
			}
		}
		deadline.Stop()
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: child ended with %v after %d entries, not by SIGKILL", round, err, n)
		}
		if n < after {
			t.Fatalf("round %d: child wrote only %d entries", round, n)
		}

		j, err := Open(path)
		if err != nil {
			t.Fatalf("round %d: reopen after kill: %v", round, err)
		}
		all, err := j.Query(Query{})
		if err != nil {
			t.Fatalf("round %d: read after kill: %v", round, err)
		}
		present := map[uint64]bool{}
		for _, e := range all {
			present[e.Seq] = true
		}
		for seq := range reported {
			if !present[seq] {
				t.Errorf("round %d: entry %d was reported written but is gone", round, seq)
			}
		}
		if err := j.view(func(tx *bolt.Tx) error {
			for err := range tx.Check() {
				return err
			}
			return nil
		}); err != nil {
			t.Errorf("round %d: store inconsistent after kill: %v", round, err)
		}
		t.Logf("round %d: killed after %d reported entries; %d reported, %d stored", round, after, len(reported), len(all))
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
