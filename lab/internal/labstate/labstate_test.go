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

// A ports file kept by a lab from before PostgreSQL and the second
// Alertmanager is completed with free ports for them, every other port kept.
func TestEnsurePortsAddsPostgresToAnOlderFile(t *testing.T) {
	base := t.TempDir()
	t.Setenv("XDG_STATE_HOME", base)
	dir := filepath.Join(base, "old")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	old := `{"apiserver": 40001, "etcd": 40002, "etcd_peer": 40003, "kwok_controller": 40004,
"kube_controller_manager": 40005, "kube_scheduler": 40006, "prometheus": 40007,
"alertmanager": 40008, "exporter": 40009, "emulator": 40010}`
	if err := os.WriteFile(PortsFile(dir), []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPorts(dir); err != nil {
		t.Fatalf("an older file is refused: %v", err)
	}
	p, err := EnsurePorts(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, port := range []int{p.Postgres, p.Alertmanager2, p.AlertmanagerGossip, p.Alertmanager2Gossip} {
		if port <= 0 || port >= 40001 && port <= 40010 {
			t.Fatalf("later ports %+v", p)
		}
	}
	if p.APIServer != 40001 || p.Emulator != 40010 {
		t.Fatalf("the other ports changed: %+v", p)
	}
	again, err := LoadPorts(dir)
	if err != nil || again != p {
		t.Fatalf("kept %+v (%v), chose %+v", again, err, p)
	}
}
