package labtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// PostgresDatabase creates a database of its own for the test in the lab's
// PostgreSQL and returns its DSN; it is dropped at cleanup. The test skips
// without the lab (fails under VIGIL_LAB_REQUIRED). Tests share the server,
// never a database.
func PostgresDatabase(t testing.TB) string {
	t.Helper()
	admin := Env(t, "VIGIL_LAB_POSTGRES_DSN")["VIGIL_LAB_POSTGRES_DSN"]
	psql := Tool(t, "psql", "postgresql-client")
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "vigil_test_" + hex.EncodeToString(b)
	run := func(sql string) error {
		out, err := exec.Command(psql, admin, "-qc", sql).CombinedOutput()
		if err != nil {
			return fmt.Errorf("psql %q: %v: %s", sql, err, out)
		}
		return nil
	}
	if err := run("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// A server stopped by the test is back by now (StopPostgres's
		// cleanup runs first); WITH (FORCE) ends the connections left.
		if err := run("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Error(err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal("VIGIL_LAB_POSTGRES_DSN does not parse")
	}
	u.Path = "/" + name
	return u.String()
}

// StopPostgres stops the lab's PostgreSQL (fast shutdown: its clients are
// cut off) and returns the function that starts it again as it was.
// Cleanup starts it if the test did not.
func StopPostgres(t testing.TB) (start func()) {
	t.Helper()
	return StopDaemon(t, "postgres", syscall.SIGINT, func() { waitPostgres(t) })
}

// StopDaemon stops the lab daemon name (its pid file in STATE/run) with sig
// and waits for it to exit. The returned function starts it again as it
// was: same command line, same user, same pid and log files, so that
// `vigil-lab down` still finds it; then it calls ready. Cleanup starts it
// if the test did not.
func StopDaemon(t testing.TB, name string, sig syscall.Signal, ready func()) (start func()) {
	t.Helper()
	dir := StateDir()
	pidFile := filepath.Join(dir, "run", name+".pid")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("the lab's %s pid: %v", name, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		t.Fatalf("%s holds %q, not a pid", pidFile, b)
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		t.Fatalf("the lab's %s (pid %d) does not run: %v", name, pid, err)
	}
	argv := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
	uid, gid := procIDs(t, pid)
	if err := syscall.Kill(pid, sig); err != nil {
		t.Fatalf("stop %s (pid %d): %v", name, pid, err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s (pid %d) still runs 20 s after %s", name, pid, sig)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var once sync.Once
	start = func() {
		once.Do(func() {
			log, err := os.OpenFile(filepath.Join(dir, "logs", name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			defer log.Close()
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Dir = dir
			cmd.Stdout, cmd.Stderr = log, log
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
			if uint32(os.Geteuid()) != uid {
				cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uid, Gid: gid}
			}
			if err := cmd.Start(); err != nil {
				t.Fatalf("start %s again: %v", name, err)
			}
			if err := os.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
				t.Error(err)
			}
			// Not waited for: it outlives the test, as the lab's daemons do.
			_ = cmd.Process.Release()
			if ready != nil {
				ready()
			}
		})
	}
	t.Cleanup(start)
	return start
}

// waitPostgres waits until the lab's PostgreSQL accepts connections.
func waitPostgres(t testing.TB) {
	t.Helper()
	admin := Env(t, "VIGIL_LAB_POSTGRES_DSN")["VIGIL_LAB_POSTGRES_DSN"]
	psql := Tool(t, "psql", "postgresql-client")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		err := exec.CommandContext(ctx, psql, admin, "-qtAc", "SELECT 1").Run()
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("postgres did not come back: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// procIDs returns the real uid and gid of pid.
func procIDs(t testing.TB, pid int) (uint32, uint32) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	var uid, gid uint64
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 1 {
			switch f[0] {
			case "Uid:":
				uid, _ = strconv.ParseUint(f[1], 10, 32)
			case "Gid:":
				gid, _ = strconv.ParseUint(f[1], 10, 32)
			}
		}
	}
	return uint32(uid), uint32(gid)
}
