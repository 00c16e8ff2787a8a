package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/audit"
)

// serveUser is a user of the e2e server with an OpenSSH key pair.
type serveUser struct {
	name, role, key, fingerprint string
}

func newServeUser(t *testing.T, dir, name, role string) serveUser {
	t.Helper()
	key := filepath.Join(dir, name+"_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name+"@e2e", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	out, err := exec.Command("ssh-keygen", "-l", "-E", "sha256", "-f", key+".pub").Output()
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(out)) // 256 SHA256:… comment (ED25519)
	return serveUser{name: name, role: role, key: key, fingerprint: fields[1]}
}

func (u serveUser) authorizedLine(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(u.key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// serveProc is a running `vigil serve`.
type serveProc struct {
	cmd    *exec.Cmd
	port   string
	stderr *lineLog
	done   chan error
}

// lineLog keeps a process's output for assertions.
type lineLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lineLog) add(s string) { l.mu.Lock(); l.b.WriteString(s + "\n"); l.mu.Unlock() }
func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startServe(t *testing.T, bin string, s sandbox, port string) *serveProc {
	t.Helper()
	cmd := exec.Command(bin, "--config", s.config, "serve", "--http-listen", "127.0.0.1:"+freePort(t))
	cmd.Env = s.env()
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serveProc{cmd: cmd, port: port, stderr: &lineLog{}, done: make(chan error, 1)}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pipe)
		once := sync.Once{}
		for sc.Scan() {
			p.stderr.add(sc.Text())
			if strings.Contains(sc.Text(), "vigil serve: ssh on") {
				once.Do(func() { close(ready) })
			}
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		t.Fatalf("vigil serve did not start; stderr:\n%s", p.stderr)
	}
	return p
}

// sshArgv is an OpenSSH command line for user u against the server.
func (p *serveProc) sshArgv(key, login string, extra ...string) []string {
	argv := []string{"ssh", "-p", p.port, "-i", key,
		"-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "ConnectTimeout=10"}
	argv = append(argv, extra...)
	return append(argv, login+"@127.0.0.1")
}

// TestE2EServe drives `vigil serve` with the real OpenSSH client: an
// operator and a viewer in two tmux windows see each other; an unknown key,
// a password and a session without a terminal are answered as they should
// be; the journal names each session's user and key; SIGTERM tells the
// sessions and stops cleanly.
func TestE2EServe(t *testing.T) {
	needTmux(t)
	labtest.Tool(t, "ssh", "openssh-client")
	bin := vigilBinary(t)
	dir := t.TempDir()
	alice := newServeUser(t, dir, "alice", "operator")
	bob := newServeUser(t, dir, "bob", "viewer")
	stranger := newServeUser(t, dir, "stranger", "viewer")
	port := freePort(t)
	s := newSandbox(t, fmt.Sprintf(`identity:
  name: local
serve:
  listen: 127.0.0.1:%s
  users:
    - name: alice
      role: operator
      keys: [%q]
    - name: bob
      role: viewer
      keys: [%q]
`, port, alice.authorizedLine(t), bob.authorizedLine(t)))
	srv := startServe(t, bin, s, port)
	const wait = 10 * time.Second

	// Without a terminal: who you are, and how to connect.
	out, err := exec.Command(srv.sshArgv(alice.key, "alice", "-T")[0], srv.sshArgv(alice.key, "alice", "-T")[1:]...).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "you are alice (operator), key "+alice.fingerprint) || !strings.Contains(string(out), "ssh -t -p "+port) {
		t.Errorf("ssh -T: %v\n%s", err, out)
	}
	// An unknown key is refused, with a message that names it.
	argv := srv.sshArgv(stranger.key, "stranger", "-o", "BatchMode=yes")
	out, err = exec.Command(argv[0], append(argv[1:], "true")...).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "the key "+stranger.fingerprint+" is not allowed here") ||
		!strings.Contains(string(out), "Permission denied (publickey)") {
		t.Errorf("unknown key: %v\n%s", err, out)
	}
	// Passwords are not even offered.
	argv = srv.sshArgv(alice.key, "alice", "-o", "BatchMode=yes", "-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password,keyboard-interactive")
	out, err = exec.Command(argv[0], append(argv[1:], "true")...).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Permission denied (publickey)") {
		t.Errorf("password: %v\n%s", err, out)
	}

	// The operator connects, then the viewer; each sees the other.
	ta := startTmux(t, s.env(), 120, 36)
	ta.respawn(srv.sshArgv(alice.key, "alice", "-tt")...)
	ta.waitText(wait, "alice · operator")
	tb := startTmux(t, s.env(), 120, 36)
	tb.respawn(srv.sshArgv(bob.key, "bob", "-tt")...)
	tb.waitText(wait, "bob · viewer", "also here: alice (operator")
	ta.waitText(wait, "bob (viewer")

	// The operator acts: to the journal's timeline, and a theme of their own.
	ta.keys("5")
	ta.waitText(wait, "Activity", "session.open")
	ta.typeText(":")
	ta.typeText("theme light")
	ta.keys("Enter")
	ta.waitText(wait, "theme light")
	// The viewer sees everything: the same timeline, with alice's session.
	tb.keys("5")
	screen := tb.waitText(wait, "Activity", "alice")
	if strings.Contains(screen, "theme light") {
		t.Errorf("alice's theme leaked into bob's session:\n%s", screen)
	}

	ta.keys("q")
	if status := ta.exitStatus(wait); status != 0 {
		t.Errorf("alice's ssh exited %d; screen:\n%s", status, ta.capture())
	}
	tb.waitText(wait, "alice left")

	// SIGTERM: bob's session is told and closed; the server stops cleanly.
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	tb.waitText(wait, "the server is shutting down")
	select {
	case err := <-srv.done:
		srv.done <- err // for the cleanup
		if err != nil {
			t.Errorf("vigil serve exited with %v; stderr:\n%s", err, srv.stderr)
		}
	case <-time.After(40 * time.Second):
		t.Fatalf("vigil serve did not stop on SIGTERM; stderr:\n%s", srv.stderr)
	}

	// The journal names each session's user and key.
	auditCmd := exec.Command(bin, "--config", s.config, "audit", "--json")
	auditCmd.Env = s.env()
	auditOut, err := auditCmd.Output()
	if err != nil {
		t.Fatalf("vigil audit: %v", err)
	}
	var got []audit.Entry
	dec := json.NewDecoder(strings.NewReader(string(auditOut)))
	for {
		var e audit.Entry
		if err := dec.Decode(&e); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("vigil audit --json: %v\n%s", err, auditOut)
		}
		got = append(got, e)
	}
	want := map[string]bool{}
	for _, e := range got {
		switch {
		case e.Actor == "alice" && e.Key == alice.fingerprint && e.Role == "operator" && e.Result == audit.OK:
			want["alice "+e.Action+" "+e.Parameters["reason"]] = true
		case e.Actor == "bob" && e.Key == bob.fingerprint && e.Role == "viewer" && e.Result == audit.OK:
			want["bob "+e.Action+" "+e.Parameters["reason"]] = true
			if e.Action != "session.open" && e.Action != "session.close" {
				t.Errorf("the viewer changed something: %+v", e)
			}
		default:
			t.Errorf("unexpected journal entry %+v", e)
		}
	}
	for _, w := range []string{"alice session.open ", "alice session.close quit", "bob session.open ", "bob session.close shutdown"} {
		if !want[w] {
			t.Errorf("journal lacks %q; entries: %+v", w, got)
		}
	}
}
