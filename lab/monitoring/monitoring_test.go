package monitoring

import (
	"os/exec"
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
