// Package smoke drives the lab's real components end to end. Its tests find
// the lab through the env file that `vigil-lab up` writes, and skip when no
// lab is up (or fail, when VIGIL_LAB_REQUIRED is set, as make test does).
package smoke

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilops/vigil/lab/internal/needs"
)

// labKeys are the settings every lab.env holds.
var labKeys = []string{
	"KUBECONFIG", "VIGIL_LAB_PROMETHEUS_URL", "VIGIL_LAB_ALERTMANAGER_URL",
	"DIGITALOCEAN_API_URL", "DIGITALOCEAN_ACCESS_TOKEN", "VIGIL_LAB_SSH_KEY",
	"VIGIL_LAB_STATE", "VIGIL_CONFIG",
}

// labEnv returns the lab's env file as a map, all labKeys present. It skips
// the test when no lab is up.
func labEnv(t *testing.T) map[string]string {
	t.Helper()
	path := filepath.Join(stateDir(), "lab.env")
	env, err := readEnvFile(path)
	if err != nil {
		noLab(t, "no lab env file ("+err.Error()+"): run `make lab-up` first")
	}
	var missing []string
	for _, k := range labKeys {
		if env[k] == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		noLab(t, path+" lacks "+strings.Join(missing, ", ")+": run `make lab-up` again")
	}
	return env
}

func noLab(t *testing.T, msg string) {
	t.Helper()
	needs.Missing(t, msg)
}

// stateDir mirrors vigil-lab's choice: $VIGIL_LAB_STATE, else
// $XDG_STATE_HOME/vigil-lab, else ~/.local/state/vigil-lab.
func stateDir() string {
	if d := os.Getenv("VIGIL_LAB_STATE"); d != "" {
		return d
	}
	base := os.Getenv("XDG_STATE_HOME")
	if base == "" {
		home, _ := os.UserHomeDir()
		base = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(base, "vigil-lab")
}

func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = v
		}
	}
	return env, sc.Err()
}
