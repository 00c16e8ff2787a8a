package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/internal/labtest"
)

// The binary is built once per test process, with ldflags as a release has.
var (
	buildOnce sync.Once
	buildDir  string
	binPath   string
	buildErr  error
)

const (
	e2eVersion = "0.0.0-e2e"
	e2eCommit  = "e2e0000"
	e2eDate    = "2026-01-02T03:04:05Z"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// vigilBinary builds ./cmd/vigil into a temporary directory the first time
// it is called.
func vigilBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		out, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			buildErr = fmt.Errorf("go env GOMOD: %w", err)
			return
		}
		root := filepath.Dir(strings.TrimSpace(string(out)))
		if buildDir, buildErr = os.MkdirTemp("", "vigil-e2e-bin-"); buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "vigil")
		ldflags := fmt.Sprintf("-X main.version=%s -X main.commit=%s -X main.date=%s", e2eVersion, e2eCommit, e2eDate)
		cmd := exec.Command("go", "build", "-ldflags", ldflags, "-o", binPath, "./cmd/vigil")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/vigil: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func needTmux(t testing.TB) {
	t.Helper()
	labtest.Tool(t, "tmux", "tmux")
}

// sandbox is a fresh home for one vigil: XDG directories and a config file.
type sandbox struct {
	dir, config, state string
}

func newSandbox(t testing.TB, config string) sandbox {
	t.Helper()
	dir := t.TempDir()
	s := sandbox{dir: dir, config: filepath.Join(dir, "config.yaml"), state: filepath.Join(dir, "state")}
	for _, d := range []string{filepath.Join(dir, "config", "vigil"), s.state} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(s.config, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

// env is the environment vigil runs with inside tmux: nothing from the
// developer's own session leaks in.
func (s sandbox) env() []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + s.dir,
		"USER=e2e",
		"LANG=C.UTF-8",
		"TERM=xterm-256color",
		"XDG_CONFIG_HOME=" + filepath.Join(s.dir, "config"),
		"XDG_STATE_HOME=" + s.state,
	}
}

// tmux drives one private tmux server (its own socket) with one window.
type tmux struct {
	t      testing.TB
	socket string
	env    []string
	target string
	// status receives the exit status of the program started in the pane.
	status string
}

// startTmux starts a private server whose only pane idles until a program
// is respawned into it, so that the server's own start is not timed. Panes
// stay after their program exits. The server is killed in cleanup.
func startTmux(t testing.TB, env []string, width, height int) *tmux {
	t.Helper()
	tm := &tmux{
		t:      t,
		socket: fmt.Sprintf("vigil-e2e-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6),
		env:    env,
		target: "e2e:0.0",
		status: filepath.Join(t.TempDir(), "status"),
	}
	tm.run("-f", "/dev/null", "new-session", "-d", "-s", "e2e", "-x", fmt.Sprint(width), "-y", fmt.Sprint(height), "sleep", "3600")
	socketPath := strings.TrimSpace(tm.run("display-message", "-p", "#{socket_path}"))
	t.Cleanup(func() {
		_, _ = tm.exec("kill-server")
		os.Remove(socketPath) // kill-server leaves the socket file behind
	})
	tm.run("set-option", "-g", "remain-on-exit", "on")
	tm.run("set-option", "-g", "default-terminal", "xterm-256color")
	return tm
}

func (tm *tmux) exec(args ...string) (string, error) {
	cmd := exec.Command("tmux", append([]string{"-u", "-L", tm.socket}, args...)...)
	cmd.Env = tm.env
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return out.String(), err
}

func (tm *tmux) run(args ...string) string {
	tm.t.Helper()
	out, err := tm.exec(args...)
	if err != nil {
		tm.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// respawn replaces whatever runs in the pane with argv and returns the
// moment just before tmux was asked to start it. A shell around argv
// writes its exit status to tm.status: tmux's own #{pane_dead_status}
// sometimes stays empty, the process left unreaped.
func (tm *tmux) respawn(argv ...string) time.Time {
	tm.t.Helper()
	if err := os.Remove(tm.status); err != nil && !errors.Is(err, fs.ErrNotExist) {
		tm.t.Fatal(err)
	}
	args := []string{"respawn-pane", "-k", "-t", tm.target}
	for _, kv := range tm.env {
		args = append(args, "-e", kv)
	}
	args = append(args, "sh", "-c", `"$@"; echo $? >'`+tm.status+`'`, "sh")
	start := time.Now()
	tm.run(append(args, argv...)...)
	return start
}

func (tm *tmux) capture() string {
	tm.t.Helper()
	return tm.run("capture-pane", "-p", "-t", tm.target)
}

// captureStyled is the screen with its SGR escape sequences.
func (tm *tmux) captureStyled() string {
	tm.t.Helper()
	return tm.run("capture-pane", "-p", "-e", "-t", tm.target)
}

// typeText sends text literally, one key per character.
func (tm *tmux) typeText(text string) {
	tm.t.Helper()
	tm.run("send-keys", "-t", tm.target, "-l", text)
}

// keys sends tmux key names (Enter, Escape, Tab, q).
func (tm *tmux) keys(keys ...string) {
	tm.t.Helper()
	tm.run(append([]string{"send-keys", "-t", tm.target}, keys...)...)
}

func (tm *tmux) resize(width, height int) {
	tm.t.Helper()
	tm.run("resize-window", "-t", "e2e:0", "-x", fmt.Sprint(width), "-y", fmt.Sprint(height))
}

// waitFor polls the screen until ok accepts it, and fails the test with the
// last screen after timeout.
func (tm *tmux) waitFor(what string, timeout time.Duration, ok func(screen string) bool) string {
	tm.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		screen := tm.capture()
		if ok(screen) {
			return screen
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("waiting for %s: not on screen after %v; last screen:\n%s", what, timeout, screen)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitText waits until every one of texts is on screen.
func (tm *tmux) waitText(timeout time.Duration, texts ...string) string {
	tm.t.Helper()
	return tm.waitFor(fmt.Sprintf("%q", texts), timeout, func(s string) bool {
		for _, x := range texts {
			if !strings.Contains(s, x) {
				return false
			}
		}
		return true
	})
}

// exitStatus waits for the program in the pane to end and returns its
// exit status (128+N for death by signal N).
func (tm *tmux) exitStatus(timeout time.Duration) int {
	tm.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		data, err := os.ReadFile(tm.status)
		if err == nil && bytes.HasSuffix(data, []byte("\n")) {
			status, err := strconv.Atoi(strings.TrimSpace(string(data)))
			if err != nil {
				tm.t.Fatalf("exit status %q is not a number", data)
			}
			return status
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("vigil still running %v after it was asked to quit; screen:\n%s", timeout, tm.capture())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// firstFrame starts vigil in the pane and returns the time from asking
// tmux to start it to the first screen on which every one of texts shows,
// polled as fast as tmux answers.
func (tm *tmux) firstFrame(argv []string, timeout time.Duration, texts ...string) (time.Duration, string) {
	tm.t.Helper()
	start := tm.respawn(argv...)
	screen := tm.waitText(timeout, texts...)
	return time.Since(start), screen
}
