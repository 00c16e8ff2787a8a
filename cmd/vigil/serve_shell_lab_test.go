package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/vigilops/vigil/integrations/digitalocean"
	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/inventory"
)

// TestLabServeShell is the bastion's shell: `vigil serve` over the lab's
// emulator, an operator connected with a real SSH client and a terminal;
// in the Inventory pane, s on a droplet of the test's own opens a shell
// there, run by the bastion with the session as its terminal: a command
// typed in it answers, exit brings the console back, and the shell's
// start and end are journaled as the operator's.
func TestLabServeShell(t *testing.T) {
	env := labtest.Env(t, "DIGITALOCEAN_API_URL", "DIGITALOCEAN_ACCESS_TOKEN", "VIGIL_LAB_SSH_KEY")
	dir := sandbox(t)
	token := filepath.Join(dir, "token")
	writeFile(t, token, env["DIGITALOCEAN_ACCESS_TOKEN"])
	journalPath := filepath.Join(dir, "state", "journal.db")
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	sshPub, _ := gossh.NewPublicKey(pub)
	signer, _ := gossh.NewSignerFromKey(priv)
	cfg := filepath.Join(dir, "vigil.yaml")
	writeFile(t, cfg, fmt.Sprintf("identity: {name: local}\ndigitalocean:\n  api_url: %q\n  token: {file: %q}\nansible:\n  playbook_dir: %q\n  user: root\n  private_key: %q\naudit:\n  path: %q\n"+
		"serve:\n  users:\n    - name: alice\n      role: operator\n      keys: [%q]\n",
		env["DIGITALOCEAN_API_URL"], token, dir, env["VIGIL_LAB_SSH_KEY"], journalPath, strings.TrimSpace(string(gossh.MarshalAuthorizedKey(sshPub)))))

	cloud, err := digitalocean.New(digitalocean.Options{APIURL: env["DIGITALOCEAN_API_URL"], Token: env["DIGITALOCEAN_ACCESS_TOKEN"], PollInterval: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tag := fmt.Sprintf("vs%d", time.Now().UnixNano()%1e9)
	t.Cleanup(func() {
		hs, _ := cloud.Hosts(context.Background(), tag)
		for _, h := range hs {
			if err := cloud.Destroy(context.Background(), h.ID); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	name := tag + "-a"
	created, err := cloud.Create(ctx, inventory.CreateRequest{Names: []string{name}, Region: "fra1", Size: "s-1vcpu-1gb", Image: "debian-12-x64", Tags: []string{tag}})
	if err != nil {
		t.Fatal(err)
	}
	h := created[0]
	for h.PublicIPv4 == "" || h.Status != "active" {
		time.Sleep(300 * time.Millisecond)
		if h, err = cloud.Host(ctx, h.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := inventory.ProbeSSH(ctx, h.PublicIPv4); err != nil {
		t.Fatal(err)
	}
	// A new droplet answers on port 22 a moment before it takes the lab's
	// key, as a real one does before cloud-init is done: setup waits.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		login := exec.CommandContext(ctx, "ssh", "-i", env["VIGIL_LAB_SSH_KEY"], "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
			"-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "root@"+h.PublicIPv4, "true")
		out, err := login.CombinedOutput()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no login on %s within 30s: %v %s", h.PublicIPv4, err, out)
		}
	}

	var stderr lockedBuffer
	cmd := newServeCmd(&globals{configPath: cfg})
	cmd.SetArgs([]string{"--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"})
	cmd.SetErr(&stderr)
	cmd.SetOut(io.Discard)
	sctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(sctx) }()
	stopped := false
	stopServe := func() {
		if stopped {
			return
		}
		stopped = true
		stop()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	}
	defer stopServe()
	addrs := regexp.MustCompile(`ssh on (\S+), `)
	var m []string
	for deadline := time.Now().Add(10 * time.Second); m == nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not report its address; stderr:\n%s", stderr.String())
		}
		m = addrs.FindStringSubmatch(stderr.String())
	}

	c, err := gossh.Dial("tcp", m[1], &gossh.ClientConfig{User: "alice", Auth: []gossh.AuthMethod{gossh.PublicKeys(signer)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var out lockedBuffer
	sess.Stdout, sess.Stderr = &out, &out
	in, _ := sess.StdinPipe()
	if err := sess.RequestPty("xterm-256color", 40, 140, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	// waitAfter waits for want in what the client received after from bytes.
	waitAfter := func(from int, timeout time.Duration, want string) int {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for {
			s := out.String()
			if i := strings.Index(s[min(from, len(s)):], want); i >= 0 {
				return from + i + len(want)
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %q within %s; the client received after that point:\n%q\nserve said:\n%s", want, timeout, s[min(from, len(s)):], stderr.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	at := waitAfter(0, 30*time.Second, name)
	io.WriteString(in, "/"+name+"\r")
	// The filter holds the droplet, and the filter bar is closed (the
	// pane's help is back at the bottom): s is on the droplet.
	// (A frame sends only what changed, in no set order.)
	at = max(waitAfter(at, 10*time.Second, "filter "+name), waitAfter(at, 10*time.Second, "select the host"))
	io.WriteString(in, "s")
	// The console leaves the alternate screen to the shell, whose prompt
	// comes from the droplet.
	at = waitAfter(at, 15*time.Second, "\x1b[?1049l")
	at = waitAfter(at, 5*time.Second, "vigil: ssh to "+name+" ("+h.PublicIPv4+")")
	at = waitAfter(at, 30*time.Second, "# ")
	io.WriteString(in, "echo vigil-$((6*7))\r")
	at = waitAfter(at, 10*time.Second, "vigil-42")
	io.WriteString(in, "exit\r")
	waitAfter(at, 15*time.Second, "\x1b[?1049h")
	time.Sleep(300 * time.Millisecond)
	io.WriteString(in, "q")
	if err := sess.Wait(); err != nil {
		t.Fatalf("the session after q: %v", err)
	}
	stopServe()

	j, err := audit.Open(journalPath)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	es, err := j.Query(audit.Query{Target: "host/" + name})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Actor+" "+e.Action+" "+string(e.Result)+" "+e.Parameters["ip"])
	}
	want := []string{"alice open a shell on a host ok " + h.PublicIPv4, "alice end a shell on a host ok " + h.PublicIPv4}
	if !slices.Equal(got, want) {
		t.Fatalf("journal of %s:\n%q\nwant\n%q", name, got, want)
	}
}
