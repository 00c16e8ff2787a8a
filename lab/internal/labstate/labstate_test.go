package labstate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A second lab's ports keep off the default lab's, and a port to avoid is
// never handed out.
func TestEnsurePortsAvoidsTheDefaultLab(t *testing.T) {
	base := t.TempDir()
	t.Setenv("XDG_STATE_HOME", base)
	t.Setenv("VIGIL_LAB_STATE", "")
	def, err := EnsurePorts(DefaultDir())
	if err != nil {
		t.Fatal(err)
	}
	second, err := EnsurePorts(filepath.Join(base, "second"))
	if err != nil {
		t.Fatal(err)
	}
	taken := map[int]bool{}
	for _, np := range def.ByName() {
		taken[np.Port] = true
	}
	for _, np := range second.ByName() {
		if taken[np.Port] {
			t.Fatalf("the second lab's %s takes port %d of the default lab", np.Name, np.Port)
		}
	}
	b, _ := os.ReadFile(PortsFile(filepath.Join(base, "second")))
	var kept Ports
	if err := json.Unmarshal(b, &kept); err != nil || kept != second {
		t.Fatalf("kept %+v (%v), chose %+v", kept, err, second)
	}

	all := map[int]bool{}
	for p := 1; p <= 65535; p++ {
		all[p] = true
	}
	if _, err := freePorts(2, all); err == nil || !strings.Contains(err.Error(), "ports to avoid") {
		t.Fatalf("every port to avoid: %v", err)
	}
}
