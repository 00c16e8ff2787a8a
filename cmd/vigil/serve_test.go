package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// lockedBuffer collects a command's stderr while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestServeCommand(t *testing.T) {
	dir := sandbox(t)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	sshPub, _ := gossh.NewPublicKey(pub)
	signer, _ := gossh.NewSignerFromKey(priv)
	cfg := filepath.Join(dir, "config.yaml")
	writeFile(t, cfg, `identity:
  name: local
serve:
  users:
    - name: alice
      role: operator
      keys: ["`+strings.TrimSpace(string(gossh.MarshalAuthorizedKey(sshPub)))+`"]
`)
	var stderr lockedBuffer
	cmd := newServeCmd(&globals{configPath: cfg})
	cmd.SetArgs([]string{"--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"})
	cmd.SetErr(&stderr)
	cmd.SetOut(io.Discard)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()

	addrs := regexp.MustCompile(`ssh on (\S+), /healthz and /metrics on http://(\S+) `)
	var m []string
	for deadline := time.Now().Add(10 * time.Second); m == nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not report its addresses; stderr:\n%s", stderr.String())
		}
		m = addrs.FindStringSubmatch(stderr.String())
	}
	resp, err := http.Get("http://" + m[2] + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/healthz: %v %v", resp, err)
	}
	resp.Body.Close()

	c, err := gossh.Dial("tcp", m[1], &gossh.ClientConfig{User: "alice", Auth: []gossh.AuthMethod{gossh.PublicKeys(signer)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey()})
	if err != nil {
		t.Fatalf("ssh: %v", err)
	}
	sess, _ := c.NewSession()
	out, _ := sess.CombinedOutput("")
	c.Close()
	if !strings.Contains(string(out), "you are alice (operator)") {
		t.Errorf("no-PTY answer = %q", out)
	}
	// The host key went to the state directory by default, private.
	info, err := os.Stat(filepath.Join(dir, "state", "vigil", "host_ed25519"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("host key: %v, %v", info, err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
	if !strings.Contains(stderr.String(), "vigil serve: stopped") {
		t.Errorf("stderr lacks the stop line:\n%s", stderr.String())
	}
}

func TestServeNeedsAServeSection(t *testing.T) {
	dir := sandbox(t)
	cfg := filepath.Join(dir, "config.yaml")
	writeFile(t, cfg, "identity:\n  name: local\n")
	cmd := newServeCmd(&globals{configPath: cfg})
	cmd.SetArgs(nil)
	cmd.SetErr(io.Discard)
	err := cmd.Execute()
	if err == nil || !strings.Contains(err.Error(), "no serve section") || !strings.Contains(err.Error(), cfg) {
		t.Errorf("err = %v, want one naming %s and the missing serve section", err, cfg)
	}
}
