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
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/themes"
	"github.com/vigilops/vigil/ui/app"
	"github.com/vigilops/vigil/ui/common"
)

// startAlertmanager runs an Alertmanager of the test's own that notifies
// hook at once (group_wait 0s), and returns its URL.
func startAlertmanager(t *testing.T, hook string) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus-alertmanager")
	if err != nil {
		t.Skip("prometheus-alertmanager is not installed: apt-get install prometheus-alertmanager")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`
route: {receiver: vigil, group_wait: 0s, group_interval: 1s, repeat_interval: 1h}
receivers:
- name: vigil
  webhook_configs: [{url: %q, send_resolved: true}]
`, hook)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	url := "http://" + addr
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if res, err := http.Get(url + "/-/ready"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return url
			}
		}
	}
	t.Fatalf("alertmanager on %s not ready after 20 s", addr)
	return ""
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
	amURL := startAlertmanager(t, hook.URL)
	ac, err := alertmanager.New([]string{amURL})
	if err != nil {
		t.Fatal(err)
	}
	j, err := audit.Open(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	svc, err = incident.New(incident.Options{Alertmanager: ac, ParseMatchers: alertmanager.ParseMatchers, Journal: j, Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	svc.Refresh(context.Background()) // the one poll: the alert must come through the webhook
	theme, err := themes.Load("dark", "")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Identity: config.Identity{Name: "ana", Role: "operator"}, Alertmanager: &config.Alertmanager{URLs: []string{amURL}}}
	m := &probe{Model: app.New(app.Options{Config: cfg, Theme: theme, Actor: access.Actor{Name: "ana", Role: access.Operator},
		Journal: j, Services: &common.Services{Incident: svc}, Now: time.Now})}
	defer m.Close()
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 30),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.ASCII)))
	tm.Send(keyMsg("4"))
	m.waitFor(t, 5*time.Second, "No alert is firing")

	body := `[{"labels":{"alertname":"WebhookProbe","severity":"critical","namespace":"prod","deployment":"api"},` +
		`"annotations":{"summary":"sent by the webhook test"}}]`
	sent := time.Now()
	res, err := http.Post(amURL+"/api/v2/alerts", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("posting the alert to Alertmanager: %s", res.Status)
	}
	m.waitFor(t, 5*time.Second, "WebhookProbe", "prod/api", "firing")
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
