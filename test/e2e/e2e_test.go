// Package e2e drives the built vigil binary: its command line directly,
// and its console inside a private tmux server, asserting on what
// capture-pane shows.
package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
)

const e2eConfig = `identity:
  name: e2e-alice
  role: operator
theme: dark
`

// The binary reports the version, commit and date it was linked with.
func TestBuiltVersion(t *testing.T) {
	out, err := exec.Command(vigilBinary(t), "version").CombinedOutput()
	if err != nil {
		t.Fatalf("vigil version: %v\n%s", err, out)
	}
	for _, want := range []string{"vigil " + e2eVersion + "\n", "commit " + e2eCommit + "\n", "built  " + e2eDate + "\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("vigil version lacks %q:\n%s", want, out)
		}
	}
}

func consoleArgv(bin string, s sandbox) []string {
	return []string{bin, "--config", s.config}
}

// TestE2EConsole runs the console as an administrator would: first frame,
// a pane switch, help, the palette and a live theme switch, a resize to
// the smallest supported size and back, and quit.
func TestE2EConsole(t *testing.T) {
	needTmux(t)
	bin := vigilBinary(t)
	s := newSandbox(t, e2eConfig)
	tm := startTmux(t, s.env(), 120, 40)
	const wait = 5 * time.Second

	elapsed, screen := tm.firstFrame(consoleArgv(bin, s), wait, "e2e-alice · operator")
	t.Logf("process start → first painted frame: %v", elapsed.Round(100*time.Microsecond))
	// With no integration configured, vigil opens on its welcome screen.
	screen = tm.waitText(wait, "Welcome to vigil", "vigil config init", "make demo")
	assertFits(t, screen, 120, 40)

	// tab moves to the next pane: the audit journal's timeline.
	tm.keys("Tab")
	screen = tm.waitText(wait, "Activity · 0 entries", "Nothing journaled yet")
	if strings.Contains(screen, "Welcome to vigil") {
		t.Fatalf("tab left the welcome screen showing:\n%s", screen)
	}

	// ? opens the help of the current pane; esc closes it.
	tm.keys("?")
	tm.waitText(wait, "Help · Activity", "older entry", "quit", "? or esc closes")
	tm.keys("Escape")
	tm.waitFor("help closed", wait, func(s string) bool {
		return !strings.Contains(s, "Help · Activity") && strings.Contains(s, "Nothing journaled yet")
	})

	// : opens the palette, which completes commands; :theme light switches
	// the colours live.
	darkSGR := sgrSet(tm.captureStyled())
	tm.keys(":")
	tm.waitText(wait, "theme NAME", "switch the colour theme")
	tm.typeText("theme light")
	tm.waitFor("the typed command", wait, func(s string) bool { return hasLine(s, ":theme light") })
	tm.keys("Enter")
	tm.waitText(wait, "✓ theme light")
	lightSGR := sgrSet(tm.captureStyled())
	if sameSet(darkSGR, lightSGR) {
		t.Errorf("the screen kept the same colours after :theme light: %v", lightSGR)
	}

	// The smallest supported size renders inside the window, and the
	// layout comes back whole.
	tm.resize(40, 10)
	screen = tm.waitFor("a 40×10 layout", wait, func(s string) bool {
		return strings.Contains(s, "e2e-alice") && strings.Contains(s, "╰") && maxWidth(s) <= 40
	})
	assertFits(t, screen, 40, 10)
	tm.resize(120, 40)
	screen = tm.waitFor("the 120×40 layout again", wait, func(s string) bool {
		return strings.Contains(s, "Activity · 0 entries") && maxWidth(s) == 120
	})
	assertFits(t, screen, 120, 40)

	tm.keys("q")
	if status := tm.exitStatus(wait); status != 0 {
		t.Fatalf("vigil exited with status %d; screen:\n%s", status, tm.capture())
	}
	if log := readLog(t, s); !strings.Contains(log, "console stopped") || strings.Contains(log, "level=ERROR") {
		t.Errorf("the log does not show a clean stop:\n%s", log)
	}
}

// TestE2EFlags checks that the persistent flags and NO_COLOR reach the
// console: the read-only marker, no colour at all, the chosen theme, and
// the log where --log-file says.
func TestE2EFlags(t *testing.T) {
	needTmux(t)
	bin := vigilBinary(t)
	s := newSandbox(t, e2eConfig)
	tm := startTmux(t, append(s.env(), "NO_COLOR=1"), 100, 30)
	const wait = 5 * time.Second
	logPath := filepath.Join(s.dir, "custom.log")

	tm.firstFrame(append(consoleArgv(bin, s), "--read-only", "--theme", "high-contrast", "--log-file", logPath),
		wait, "READ-ONLY", "e2e-alice · operator", "Welcome to vigil")
	if colours := colourSGR(tm.captureStyled()); len(colours) > 0 {
		t.Errorf("NO_COLOR is set but the screen uses colours: %q", colours)
	}
	tm.keys("q")
	if status := tm.exitStatus(wait); status != 0 {
		t.Fatalf("vigil exited with status %d; screen:\n%s", status, tm.capture())
	}
	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatalf("--log-file was not used: %v", err)
	}
	for _, want := range []string{"console starting", "read_only=true", "theme=high-contrast", "actor=e2e-alice", "console stopped"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("log lacks %q:\n%s", want, data)
		}
	}
	if _, err := os.Stat(filepath.Join(s.state, "vigil", "vigil.log")); err == nil {
		t.Errorf("the default log was written although --log-file was given")
	}
}

// colourSGR lists the SGR sequences of a styled screen that set a
// foreground or background colour.
func colourSGR(styled string) []string {
	var out []string
	for _, seq := range sgr.FindAllString(styled, -1) {
		for p := range strings.FieldsFuncSeq(seq[2:len(seq)-1], func(r rune) bool { return r == ';' || r == ':' }) {
			n, _ := strconv.Atoi(p)
			if n >= 30 && n <= 48 && n != 39 || n >= 90 && n <= 107 && n != 99 {
				out = append(out, seq)
				break
			}
		}
	}
	return out
}

// assertFits checks that a screen uses the whole window without
// overflowing it and shows no Go panic.
func assertFits(t *testing.T, screen string, width, height int) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(screen, "\n"), "\n")
	if len(lines) != height {
		t.Errorf("the screen has %d lines, want %d:\n%s", len(lines), height, screen)
	}
	if w := maxWidth(screen); w > width {
		t.Errorf("a line is %d cells wide in a %d-cell window:\n%s", w, width, screen)
	}
	if strings.Contains(screen, "panic:") || strings.Contains(screen, "goroutine ") {
		t.Errorf("vigil panicked:\n%s", screen)
	}
}

// maxWidth is the width in cells of the widest line.
func maxWidth(screen string) int {
	w := 0
	for line := range strings.SplitSeq(screen, "\n") {
		w = max(w, ansi.StringWidth(line))
	}
	return w
}

func hasLine(screen, text string) bool {
	for line := range strings.SplitSeq(screen, "\n") {
		if strings.TrimSpace(line) == text {
			return true
		}
	}
	return false
}

// sgrSet is the set of SGR sequences (colours and attributes) on a screen.
func sgrSet(styled string) map[string]bool {
	set := map[string]bool{}
	for _, m := range sgr.FindAllString(styled, -1) {
		set[m] = true
	}
	return set
}

var sgr = regexp.MustCompile(`\x1b\[[0-9;:]*m`)

func sameSet(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// BenchmarkFirstFrame measures process start to first painted frame: each
// iteration starts vigil in a tmux pane and polls capture-pane until the
// status bar shows.
func BenchmarkFirstFrame(b *testing.B) {
	needTmux(b)
	bin := vigilBinary(b)
	benchFirstFrame(b, bin, newSandbox(b, e2eConfig), "e2e-alice")
}

// benchFirstFrame starts vigil in s b.N times and reports the mean time to
// a frame showing want.
func benchFirstFrame(b *testing.B, bin string, s sandbox, want string) {
	tm := startTmux(b, s.env(), 120, 40)
	var total time.Duration
	b.ResetTimer()
	for range b.N {
		elapsed, _ := tm.firstFrame(consoleArgv(bin, s), 5*time.Second, want)
		total += elapsed
		b.StopTimer()
		tm.keys("q")
		tm.exitStatus(5 * time.Second)
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/first-frame")
}

func readLog(t *testing.T, s sandbox) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(s.state, "vigil", "vigil.log"))
	if err != nil {
		t.Fatalf("the console left no log: %v", err)
	}
	return string(data)
}
