package emulator

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestMainNeedsStateDirAndToken(t *testing.T) {
	err := Main([]string{"--no-hosts", "--token", "x"})
	if err == nil || !strings.Contains(err.Error(), "--state-dir") {
		t.Fatalf("Main without --state-dir: %v", err)
	}
}

// TestMainServesUntilSIGTERM runs Main as the lab does and stops it the way
// `vigil-lab down` does; the state is on disk afterwards.
func TestMainServesUntilSIGTERM(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	key := filepath.Join(dir, "lab.pub")
	os.WriteFile(key, []byte(testPubKey+"\n"), 0o644)
	done := make(chan error, 1)
	go func() {
		done <- Main([]string{"--listen", addr, "--state-dir", dir, "--token", testToken, "--ssh-pubkey", key,
			"--file-sd", filepath.Join(dir, "sd.json"), "--no-hosts"})
	}()
	c := newClient(t, "http://"+addr, testToken)
	deadline := time.Now().Add(5 * time.Second)
	for {
		keys, _, err := c.Keys.List(context.Background(), nil)
		if err == nil {
			if len(keys) != 1 || keys[0].PublicKey != testPubKey {
				t.Fatalf("lab key: %+v", keys)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Main does not serve on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Main after SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Main still runs 10 s after SIGTERM")
	}
	for _, f := range []string{stateFile, "sd.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s after shutdown: %v", f, err)
		}
	}
}
