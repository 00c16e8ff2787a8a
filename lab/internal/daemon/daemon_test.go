package daemon

import (
	"os"
	"strings"
	"testing"
	"time"
)

// A daemon runs detached with its pid file and log; Stop ends its whole
// process group, children included, and nothing naming the dir is left.
func TestStartStop(t *testing.T) {
	s := Set{Dir: t.TempDir()}
	// The dir is on the command line, as for every lab daemon; the shell
	// starts a child that must die with it.
	argv := []string{"sh", "-c", `echo started; sh -c 'sleep 60; :' "$0" & wait`, s.Dir}
	pid, err := s.Start("napper", argv)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := s.Pid("napper"); !ok || got != pid {
		t.Fatalf("Pid = %d, %v; want %d, true", got, ok, pid)
	}
	if _, err := s.Start("napper", argv); err == nil {
		t.Fatal("a second Start of a running daemon succeeded")
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(s.Processes()) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("processes naming the dir: %v, want the shell and its sleep", s.Processes())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := s.Stop("napper", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Pid("napper"); ok {
		t.Fatal("still running after Stop")
	}
	// The orphaned sleep is reparented, so give it a moment to be gone.
	deadline = time.Now().Add(5 * time.Second)
	for len(s.Processes()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("left after Stop: %+v", s.Processes())
		}
		time.Sleep(20 * time.Millisecond)
	}
	log, err := os.ReadFile(s.LogFile("napper"))
	if err != nil || !strings.Contains(string(log), "started") {
		t.Fatalf("log %q, %v; want the daemon's output", log, err)
	}
	if err := s.Stop("napper", time.Second); err != nil {
		t.Fatalf("stopping a stopped daemon: %v", err)
	}
}

// A pid file naming a process of another dir (a reused pid) is not ours.
func TestPidOfAnotherProcessIsNotOurs(t *testing.T) {
	s := Set{Dir: t.TempDir()}
	if err := os.MkdirAll(s.Dir+"/run", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.pidFile("x"), []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Pid("x"); ok {
		t.Fatal("pid 1 taken for a lab daemon")
	}
}
