package smoke

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vigilops/vigil/lab/internal/daemon"
	"github.com/vigilops/vigil/lab/internal/labstate"
)

// TestLabIsDown checks what `vigil-lab down` promises: no lab process, no
// listening lab port, no env file, and `status` failing. It runs only with
// VIGIL_LAB_EXPECT_DOWN=1, after down:
//
//	cd lab && go run ./cmd/vigil-lab down && VIGIL_LAB_EXPECT_DOWN=1 go test ./smoke -run TestLabIsDown
func TestLabIsDown(t *testing.T) {
	if os.Getenv("VIGIL_LAB_EXPECT_DOWN") == "" {
		t.Skip("runs after `vigil-lab down`, with VIGIL_LAB_EXPECT_DOWN=1")
	}
	dir := labstate.Dir()
	if _, err := os.Stat(filepath.Join(dir, "lab.env")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s/lab.env is still there (err %v)", dir, err)
	}
	// Nothing of this lab's monitoring data is left for the next one.
	for _, d := range []string{"prometheus/data", "alertmanager/data"} {
		if _, err := os.Stat(filepath.Join(dir, d)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s/%s is still there (err %v): the next lab would show this one's series and silences", dir, d, err)
		}
	}
	for _, p := range (daemon.Set{Dir: dir}).Processes() {
		t.Errorf("still running: pid %d: %s", p.Pid, p.Cmdline)
	}
	ports, err := labstate.LoadPorts(dir)
	if err != nil {
		t.Fatalf("the lab's ports: %v (was the lab ever up in %s?)", err, dir)
	}
	var all []int
	for _, np := range ports.ByName() {
		all = append(all, np.Port)
	}
	open, err := daemon.Listening(all)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range open {
		t.Errorf("port %d still listening", p)
	}
	cmd := exec.Command("go", "run", "./cmd/vigil-lab", "status")
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("vigil-lab status after down: %v, want exit status 1\n%s", err, out)
	}
}
