package ops_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLayers keeps the dependency arrows of DESIGN.md: ops imports no UI and
// no SDK; integrations import no UI.
func TestLayers(t *testing.T) {
	ui := []string{"github.com/vigilops/vigil/ui", "charm.land/", "github.com/charmbracelet/"}
	sdk := []string{"k8s.io/", "sigs.k8s.io/", "github.com/digitalocean/", "github.com/prometheus/", "github.com/vigilops/vigil/integrations"}
	check(t, "../ops/...", append(ui, sdk...))
	check(t, "../integrations/...", ui)
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
					t.Errorf("%s depends on %s: ops must not import UI or SDK packages, integrations must not import UI", fields[0], dep)
				}
			}
		}
	}
}
