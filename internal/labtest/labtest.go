// Package labtest lets integration tests find the lab that `make lab-up`
// brings up. Values come from the environment (make test exports the lab's
// env file) or from the env file in the lab's state directory.
package labtest

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// Env returns the lab's settings for keys, all of them non-empty. When the
// lab is not up the test is skipped, or fails if VIGIL_LAB_REQUIRED is set
// (make test sets it: there, a missing lab is an error, not a skip).
func Env(t testing.TB, keys ...string) map[string]string {
	t.Helper()
	file := fileValues()
	out := make(map[string]string, len(keys))
	var missing []string
	for _, k := range keys {
		v := os.Getenv(k)
		if v == "" {
			v = file[k]
		}
		if v == "" {
			missing = append(missing, k)
		}
		out[k] = v
	}
	if len(missing) > 0 {
		msg := "the lab is not up (" + strings.Join(missing, ", ") + " unset): run `make lab-up` first"
		if os.Getenv("VIGIL_LAB_REQUIRED") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return out
}

// StateDir is where the lab keeps its state and env file.
func StateDir() string {
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

func fileValues() map[string]string {
	vals := map[string]string{}
	f, err := os.Open(filepath.Join(StateDir(), "lab.env"))
	if err != nil {
		return vals
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			vals[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"'`)
		}
	}
	return vals
}

// Tool returns the path of a program a test needs. When it is missing the
// test is skipped, or fails under VIGIL_LAB_REQUIRED (make test installs
// every tool it names), with the line that installs it.
func Tool(t testing.TB, name, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		msg := name + " is not installed: apt-get install " + debianPackage
		if os.Getenv("VIGIL_LAB_REQUIRED") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

// Freeze stops the lab's kube-apiserver (SIGSTOP), as a hung server is:
// its connections stay open and nothing answers. The returned func, also
// run at cleanup, lets it go on (SIGCONT).
func Freeze(t testing.TB) (thaw func()) {
	t.Helper()
	f := filepath.Join(StateDir(), "kwok", "clusters", "vigil-lab", "pids", "kube-apiserver.pid")
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatalf("the lab's kube-apiserver pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		t.Fatalf("%s holds %q, not a pid", f, b)
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatalf("stop kube-apiserver (pid %d): %v", pid, err)
	}
	var once sync.Once
	thaw = func() {
		once.Do(func() {
			if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
				t.Errorf("continue kube-apiserver (pid %d): %v", pid, err)
			}
		})
	}
	t.Cleanup(thaw)
	return thaw
}
