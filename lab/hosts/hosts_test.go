package hosts

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/lab/internal/needs"
)

// newManager skips unless the machine can run hosts (root, sshd, exporter).
func newManager(t *testing.T) *Manager {
	t.Helper()
	m, err := NewManager(t.TempDir())
	if err != nil {
		needs.Missing(t, "droplet hosts cannot run here: "+err.Error())
	}
	needs.Tool(t, "ssh", "openssh-client")
	t.Cleanup(func() { m.Close() })
	return m
}

func clientKey(t *testing.T) (priv, pub string) {
	t.Helper()
	priv = filepath.Join(t.TempDir(), "id")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", priv).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	b, err := os.ReadFile(priv + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return priv, strings.TrimSpace(string(b))
}

func sshRun(t *testing.T, key, ip, command string) (string, error) {
	t.Helper()
	out, err := exec.Command("ssh", "-i", key, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5",
		"root@"+ip, command).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
	if err == nil {
		c.Close()
	}
	return err == nil
}

func TestHostLifecycle(t *testing.T) {
	m := newManager(t)
	key, pub := clientKey(t)
	a := Spec{ID: 1, Name: "web-1", IP: "127.0.99.2", AuthorizedKeys: []string{pub}}
	b := Spec{ID: 2, Name: "web-2", IP: "127.0.99.3", AuthorizedKeys: []string{pub}}
	for _, s := range []Spec{a, b} {
		start := time.Now()
		if err := m.Start(s); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s up in %s", s.Name, time.Since(start).Round(time.Millisecond))
	}
	if err := m.Start(a); err != nil {
		t.Fatalf("starting a running host again: %v", err)
	}

	out, err := sshRun(t, key, a.IP, "hostname; echo one > /root/marker; cat /root/marker")
	if err != nil || out != "web-1\none" {
		t.Fatalf("ssh to web-1: %q %v", out, err)
	}
	// web-2 has its own filesystem view: web-1's file is not there.
	if out, err := sshRun(t, key, b.IP, "hostname; test -e /root/marker && echo leaked || echo clean"); err != nil || out != "web-2\nclean" {
		t.Fatalf("ssh to web-2: %q %v", out, err)
	}
	if _, err := os.Stat("/root/marker"); err == nil {
		t.Fatal("a write on web-1 reached the machine's /root")
	}
	if b, err := os.ReadFile(filepath.Join(m.Dir, "1/upper/root/marker")); err != nil || string(b) != "one\n" {
		t.Fatalf("web-1's upper dir: %q %v", b, err)
	}
	res, err := http.Get("http://" + a.IP + ":9100/metrics")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("node exporter: %v", err)
	}
	res.Body.Close()

	// A session left open must not outlive its host.
	hold := exec.Command("ssh", "-i", key, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "root@"+a.IP, "sleep 300")
	if err := hold.Start(); err != nil {
		t.Fatal(err)
	}
	defer hold.Process.Kill()
	time.Sleep(500 * time.Millisecond)

	if err := m.Stop(a.ID); err != nil {
		t.Fatal(err)
	}
	if listening(a.IP+":22") || listening(a.IP+":9100") {
		t.Fatal("web-1 still listens after Stop")
	}
	if left := chrooted(filepath.Join(m.Dir, "1/root")); len(left) > 0 {
		t.Fatalf("processes left in web-1: %v", left)
	}
	if !listening(b.IP + ":22") {
		t.Fatal("stopping web-1 stopped web-2")
	}
	// Its filesystem survives a power cycle.
	if err := m.Start(a); err != nil {
		t.Fatal(err)
	}
	if out, err := sshRun(t, key, a.IP, "cat /root/marker"); err != nil || out != "one" {
		t.Fatalf("after restart: %q %v", out, err)
	}
	if err := m.Remove(a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(m.Dir, "1")); !os.IsNotExist(err) {
		t.Fatalf("web-1's dir after Remove: %v", err)
	}
	m.Close()
	if listening(b.IP + ":22") {
		t.Fatal("web-2 still listens after Close")
	}
}

// chrooted lists the pids whose root is dir.
func chrooted(dir string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if r, err := os.Readlink(filepath.Join("/proc", e.Name(), "root")); err == nil && r == dir {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestStartFailsCleanlyWhenTheAddressIsTaken(t *testing.T) {
	m := newManager(t)
	ln, err := net.Listen("tcp", "127.0.99.9:22")
	if err != nil {
		t.Fatalf("cannot take the address: %v", err)
	}
	defer ln.Close()
	err = m.Start(Spec{ID: 9, Name: "busy", IP: "127.0.99.9"})
	if err == nil || !strings.Contains(err.Error(), "host.log") {
		t.Fatalf("Start on a taken address: %v", err)
	}
	if left := chrooted(filepath.Join(m.Dir, "9/root")); len(left) > 0 {
		t.Fatalf("processes left after a failed start: %v", left)
	}
	if listening("127.0.99.9:9100") {
		t.Fatal("the exporter runs after a failed start")
	}
}
