package alerts_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/vigilops/vigil/integrations/alertmanager"
	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ui/app"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/uitest"
)

// amProc is an Alertmanager of the test's own, on a loopback port it
// keeps across a stop and a start.
type amProc struct {
	t    *testing.T
	args []string
	url  string
	cmd  *exec.Cmd
}

// startAlertmanager runs an Alertmanager with config, without gossip.
func startAlertmanager(t *testing.T, config string) *amProc {
	t.Helper()
	bin := labtest.Tool(t, "prometheus-alertmanager", "prometheus-alertmanager")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &amProc{t: t, url: "http://" + addr, args: []string{bin, "--config.file=" + cfg,
		"--storage.path=" + filepath.Join(dir, "data"), "--web.listen-address=" + addr, "--cluster.listen-address="}}
	p.start()
	t.Cleanup(p.stop)
	return p
}

func (p *amProc) start() {
	p.t.Helper()
	p.cmd = exec.Command(p.args[0], p.args[1:]...)
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if res, err := http.Get(p.url + "/-/ready"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
	}
	p.t.Fatalf("alertmanager on %s not ready after 20 s", p.url)
}

// stop ends the server; stopping twice is harmless.
func (p *amProc) stop() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	_ = p.cmd.Wait()
	p.cmd = nil
}

// postAlert sends an alert to Alertmanager as Prometheus would.
func postAlert(t *testing.T, amURL, labels string) {
	t.Helper()
	res, err := http.Post(amURL+"/api/v2/alerts", "application/json", strings.NewReader(`[{"labels":`+labels+`}]`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("posting the alert to Alertmanager: %s", res.Status)
	}
}

// console opens the shell with the Alerts pane over svc in a teatest program.
func console(t *testing.T, svc *incident.Service, j *audit.Journal, cfg *config.Config) (*uitest.Probe, *teatest.TestModel) {
	t.Helper()
	theme := uitest.Theme(t)
	console := app.New(app.Options{Config: cfg, Theme: theme, Actor: access.Actor{Name: "ana", Role: access.Operator},
		Journal: j, Services: &common.Services{Incident: svc}, Now: time.Now})
	t.Cleanup(console.Close)
	m := &uitest.Probe{Model: console}
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 30),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.ASCII)))
	tm.Send(uitest.Key("4"))
	return m, tm
}

func journal(t *testing.T) *audit.Journal {
	t.Helper()
	j, err := audit.Open(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

// TestWebhookToScreen measures the webhook path end to end: from an alert
// posted to a real Alertmanager to the Alerts pane drawing it, with
// polling too slow to play a part (the figure: under 1 s).
func TestWebhookToScreen(t *testing.T) {
	var svc *incident.Service
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		svc.WebhookHandler().ServeHTTP(w, r)
	}))
	defer hook.Close()
	am := startAlertmanager(t, fmt.Sprintf(`
route: {receiver: vigil, group_wait: 0s, group_interval: 1s, repeat_interval: 1h}
receivers:
- name: vigil
  webhook_configs: [{url: %q, send_resolved: true}]
`, hook.URL))
	ac, err := alertmanager.New([]string{am.url})
	if err != nil {
		t.Fatal(err)
	}
	j := journal(t)
	svc, err = incident.New(incident.Options{Alertmanager: ac, ParseMatchers: alertmanager.ParseMatchers, Journal: j, Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	svc.Refresh(context.Background()) // the one poll: the alert must come through the webhook
	m, tm := console(t, svc, j, &config.Config{Identity: config.Identity{Name: "ana", Role: "operator"},
		Alertmanager: &config.Alertmanager{URLs: []string{am.url}}})
	m.WaitForLine(t, 5*time.Second, "No alert is firing")

	sent := time.Now()
	postAlert(t, am.url, `{"alertname":"WebhookProbe","severity":"critical","namespace":"prod","deployment":"api"}`)
	m.WaitForLine(t, 5*time.Second, "WebhookProbe", "prod/api", "firing")
	took := time.Since(sent)
	t.Logf("alert posted to Alertmanager → drawn by the Alerts pane: %s", took.Round(time.Millisecond))
	if took > time.Second {
		t.Fatalf("the webhook path to the screen took %s, want under 1 s", took)
	}
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}

// TestOutageShowsStaleDataAndRecovers stops Alertmanager mid-session: the
// pane keeps the last alerts with their age and the error, polling goes
// on, and once Alertmanager is back the pane is current again.
func TestOutageShowsStaleDataAndRecovers(t *testing.T) {
	am := startAlertmanager(t, "route: {receiver: none}\nreceivers: [{name: none}]\n")
	ac, err := alertmanager.New([]string{am.url})
	if err != nil {
		t.Fatal(err)
	}
	j := journal(t)
	svc, err := incident.New(incident.Options{Alertmanager: ac, ParseMatchers: alertmanager.ParseMatchers, Journal: j,
		Interval: 300 * time.Millisecond, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go svc.Run(ctx)
	postAlert(t, am.url, `{"alertname":"OutageProbe","severity":"warning","droplet":"web-02"}`)
	m, tm := console(t, svc, j, &config.Config{Identity: config.Identity{Name: "ana", Role: "operator"},
		Alertmanager: &config.Alertmanager{URLs: []string{am.url}}})
	m.WaitForLine(t, 10*time.Second, "OutageProbe", "web-02", "firing")

	am.stop()
	m.WaitForLine(t, 10*time.Second, "Alertmanager unreachable, showing data from", "ago, retrying")
	if !strings.Contains(m.Screen(), "connection refused") {
		t.Fatalf("the error is not shown:\n%s", m.Screen())
	}
	m.WaitForLine(t, time.Second, "OutageProbe", "web-02", "firing")
	m.WaitForLine(t, 5*time.Second, "am ✗") // the status bar's health

	am.start() // alerts live in memory: Prometheus would send them again
	postAlert(t, am.url, `{"alertname":"OutageProbe","severity":"warning","droplet":"web-02"}`)
	m.WaitForLine(t, 10*time.Second, "am ●")
	if strings.Contains(m.Screen(), "unreachable") {
		t.Fatalf("still stale after recovery:\n%s", m.Screen())
	}
	m.WaitForLine(t, 5*time.Second, "OutageProbe", "web-02", "firing")
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}
