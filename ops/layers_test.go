package ops_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLayers keeps the dependency arrows of the README's layout: cmd →
// serve → ui → ops ← integrations. ops imports no UI and no SDK;
// integrations import no UI; the UI reaches systems only through ops, and
// knows nothing of the server that may host it.
func TestLayers(t *testing.T) {
	serve := "github.com/vigilops/vigil/serve"
	ui := []string{"github.com/vigilops/vigil/ui", "charm.land/", "github.com/charmbracelet/", serve}
	sdk := []string{"k8s.io/", "sigs.k8s.io/", "github.com/digitalocean/", "github.com/prometheus/", "github.com/vigilops/vigil/integrations"}
	check(t, "../ops/...", append(ui, sdk...))
	check(t, "../integrations/...", ui)
	check(t, "../ui/...", append(sdk, serve))
	// A pane reaches another only through the shell (ui/app): what panes
	// share lives in ui/common, ui/components and ui/styles.
	panes := []string{"activity", "alerts", "environments", "inventory", "rollouts", "runs", "welcome", "monitoring"}
	for _, p := range panes {
		var others []string
		for _, o := range panes {
			if o != p {
				others = append(others, "github.com/vigilops/vigil/ui/"+o)
			}
		}
		check(t, "../ui/"+p+"/...", others)
	}
}

func check(t *testing.T, pattern string, forbidden []string) {
	t.Helper()
	out, err := exec.Command("go", "list", "-e", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, pattern).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "matched no packages") {
			return
		}
		t.Fatalf("go list %s: %v\n%s", pattern, err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		for _, dep := range fields[1:] {
			for _, f := range forbidden {
				if strings.HasPrefix(dep, f) {
					t.Errorf("%s depends on %s: ops imports no UI or SDK package, integrations no UI, ui no SDK, integration or serve, a pane no other pane", fields[0], dep)
				}
			}
		}
	}
}
