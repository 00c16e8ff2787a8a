package alertmanager_test

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/vigilops/vigil/internal/labtest"
)

// proc is a Prometheus or Alertmanager server a test starts on its own
// loopback port, to stop and start it again without touching the lab's.
type proc struct {
	t    testing.TB
	name string
	args []string
	url  string
	log  string // the server's output, shown when the test fails
	cmd  *exec.Cmd
}

// freeAddr returns a loopback address nothing listens on now.
func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func binary(t testing.TB, name string) string {
	pkg := "prometheus-alertmanager"
	if name == "prometheus" || name == "promtool" {
		pkg = "prometheus"
	}
	return labtest.Tool(t, name, pkg)
}

// startAlertmanager runs Alertmanager with config on addr, without gossip.
func startAlertmanager(t testing.TB, addr, config string) *proc {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, name: binary(t, "prometheus-alertmanager"), url: "http://" + addr, log: filepath.Join(dir, "log"), args: []string{
		"--config.file=" + cfg, "--storage.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr, "--cluster.listen-address=",
	}}
	p.start()
	return p
}

// startPrometheus runs Prometheus with config and rules on addr.
func startPrometheus(t testing.TB, addr, config, rules string) *proc {
	dir := t.TempDir()
	for name, body := range map[string]string{"prometheus.yml": config, "rules.yml": rules} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := &proc{t: t, name: binary(t, "prometheus"), url: "http://" + addr, log: filepath.Join(dir, "log"), args: []string{
		"--config.file=" + filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr,
		// Alerts evaluated before the Alertmanager is discovered are
		// otherwise sent again only a minute later.
		"--rules.alert.resend-delay=1s",
	}}
	p.start()
	return p
}

func (p *proc) start() {
	p.t.Helper()
	p.cmd = exec.Command(p.name, p.args...)
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := os.OpenFile(p.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	defer out.Close()
	p.cmd.Stdout, p.cmd.Stderr = out, out
	if err := p.cmd.Start(); err != nil {
		p.t.Fatalf("starting %s: %v", p.name, err)
	}
	p.t.Cleanup(func() {
		p.stop()
		if p.t.Failed() {
			b, _ := os.ReadFile(p.log)
			p.t.Logf("%s output:\n%s", p.name, b[max(0, len(b)-3000):])
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get(p.url + "/-/ready"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.t.Fatalf("%s on %s not ready after 20 s", p.name, p.url)
}

// stop ends the server and waits for it; stopping twice is harmless.
func (p *proc) stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
	p.cmd = nil
}
