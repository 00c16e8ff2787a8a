package monitoring

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/vigilops/vigil/lab/internal/labstate"
	"github.com/vigilops/vigil/lab/internal/needs"
)

func tool(t *testing.T, name string) string {
	t.Helper()
	pkg := "prometheus"
	if name != "promtool" && name != "prometheus" {
		pkg = "prometheus-alertmanager"
	}
	return needs.Tool(t, name, pkg)
}

// The alerting rules fire and stay quiet as intended (promtool unit tests).
func TestRules(t *testing.T) {
	out, err := exec.Command(tool(t, "promtool"), "test", "rules", "rules_test.yml").CombinedOutput()
	if err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}

// The written configurations are valid for the installed Prometheus and
// Alertmanager.
func TestWrittenConfigsAreValid(t *testing.T) {
	promtool, amtool := tool(t, "promtool"), tool(t, "amtool")
	f := Files{State: t.TempDir()}
	p := labstate.Ports{Prometheus: 9090, Alertmanager: 9093, Exporter: 9101}
	if err := f.Write(p); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "config", f.PrometheusConfig()).CombinedOutput(); err != nil {
		t.Fatalf("promtool check config: %v\n%s", err, out)
	}
	if out, err := exec.Command(amtool, "check-config", f.AlertmanagerConfig()).CombinedOutput(); err != nil {
		t.Fatalf("amtool check-config: %v\n%s", err, out)
	}
}

// The webhook token is written once, private, and Alertmanager's config
// sends it as a bearer token, at most 1,000 alerts a post.
func TestWebhookToken(t *testing.T) {
	f := Files{State: t.TempDir()}
	p := labstate.Ports{Prometheus: 9090, Alertmanager: 9093, Exporter: 9101}
	if err := f.Write(p); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(f.WebhookTokenFile())
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v, %v", info, err)
	}
	token, _ := os.ReadFile(f.WebhookTokenFile())
	if len(strings.TrimSpace(string(token))) != 64 {
		t.Fatalf("token %d bytes", len(token))
	}
	if err := f.Write(p); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(f.WebhookTokenFile()); string(again) != string(token) {
		t.Error("a second Write changed the token")
	}
	cfg, _ := os.ReadFile(f.AlertmanagerConfig())
	for _, want := range []string{"credentials_file: \"" + f.WebhookTokenFile() + "\"", "max_alerts: 1000"} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("alertmanager.yml lacks %s:\n%s", want, cfg)
		}
	}
}

// vigil's rule file is created valid and empty, listed in rule_files, and
// a second Write keeps the rules vigil wrote into it; Prometheus runs with
// its lifecycle API (POST /-/reload) and scrapes vigil serve.
func TestVigilRules(t *testing.T) {
	promtool := tool(t, "promtool")
	f := Files{State: t.TempDir()}
	p := labstate.Ports{Prometheus: 9090, Alertmanager: 9093, Exporter: 9101}
	if err := f.Write(p); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", f.VigilRules()).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules on the empty file: %v\n%s", err, out)
	}
	cfg, _ := os.ReadFile(f.PrometheusConfig())
	for _, want := range []string{"- \"" + f.VigilRules() + "\"", "job_name: vigil", "\"" + VigilMetricsTarget + "\""} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("prometheus.yml lacks %s:\n%s", want, cfg)
		}
	}
	if !slices.Contains(f.PrometheusArgs(p), "--web.enable-lifecycle") {
		t.Errorf("Prometheus runs without its lifecycle API: %v", f.PrometheusArgs(p))
	}
	written := "groups:\n  - name: vigil\n    rules:\n      - alert: X\n        expr: up == 0\n"
	if err := os.WriteFile(f.VigilRules(), []byte(written), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := f.Write(p); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(f.VigilRules()); string(got) != written {
		t.Errorf("a second Write replaced vigil's rules with %q", got)
	}
}
