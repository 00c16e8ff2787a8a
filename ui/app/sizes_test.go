package app

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/internal/testclock"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/themes"
	"github.com/vigilops/vigil/ui/common"
)

var fixedNow = testclock.Epoch().Add(2*time.Minute + 31*time.Second)

// testJournal opens a journal in a temp dir with a few entries.
func testJournal(t testing.TB) *audit.Journal {
	t.Helper()
	j, err := audit.Open(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	j.Now = func() time.Time { return fixedNow }
	for _, e := range []audit.Entry{
		{Time: fixedNow.Add(-50 * time.Minute), Actor: "alice", Role: "operator", Action: "promote", Target: "prod/api", Parameters: map[string]string{"version": "2.5.0", "from": "preprod"}, Result: audit.OK},
		{Time: fixedNow.Add(-30 * time.Minute), Actor: "bob", Role: "admin", Action: "droplet.destroy", Target: "droplets/web-02", Result: audit.Failed, Error: "droplet web-02 is locked: unlock it first"},
		{Time: fixedNow.Add(-10 * time.Minute), Actor: "carol", Role: "viewer", Action: "silence.create", Target: "alerts/HostDown", Result: audit.Refused, Error: "carol is a viewer and may not silence.create"},
		{Time: fixedNow.Add(-2 * time.Minute), Actor: "alice", Role: "operator", Action: "rollback", Target: "prod/web", Parameters: map[string]string{"to": "1.8.3"}, Result: audit.OK},
	} {
		if _, err := j.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	return j
}

func testOptions(t testing.TB, cfg *config.Config) Options {
	t.Helper()
	if cfg == nil {
		cfg = &config.Config{Identity: config.Identity{Name: "alice", Role: "operator"}, Theme: "dark", Path: "/home/alice/.config/vigil/config.yaml"}
	}
	theme, err := themes.Load("dark", "")
	if err != nil {
		t.Fatal(err)
	}
	return Options{
		Config:  cfg,
		Theme:   theme,
		Actor:   access.Actor{Name: "alice", Role: access.Operator, Source: "local"},
		Journal: testJournal(t),
		Now:     func() time.Time { return fixedNow },
	}
}

// drive runs cmd's messages through m synchronously, as the program
// would, skipping ticks so the test does not sleep.
func drive(m *Model, cmd tea.Cmd) {
	queue := []tea.Cmd{cmd}
	for len(queue) > 0 && len(queue) < 100 {
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		done := make(chan tea.Msg, 1)
		go func() { done <- c() }()
		var msg tea.Msg
		select {
		case msg = <-done:
		case <-timeAfter():
			continue // a tick or a wait on the journal's feed
		}
		switch msg := msg.(type) {
		case nil:
		case tea.BatchMsg:
			queue = append(queue, msg...)
		default:
			if _, ok := msg.(tea.QuitMsg); ok {
				continue
			}
			_, next := m.Update(msg)
			queue = append(queue, next)
		}
	}
}

// timeAfter is how long a command may take before drive takes it for a
// tick or a wait on the journal's feed, and moves on.
func timeAfter() <-chan time.Time { return time.After(200 * time.Millisecond) }

func press(m *Model, keys ...string) {
	for _, k := range keys {
		drive(m, func() tea.Msg { return keyMsg(k) })
	}
}

func keyMsg(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "shift+tab":
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "pgdown":
		return tea.KeyPressMsg{Code: tea.KeyPgDown}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "space":
		return tea.KeyPressMsg{Code: ' ', Text: " "}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	}
	r := []rune(k)
	if len(r) != 1 {
		panic("keyMsg: unknown key " + k)
	}
	return tea.KeyPressMsg{Code: r[0], Text: k}
}

// send delivers keys without running the commands they return.
func send(m *Model, keys ...string) {
	for _, k := range keys {
		m.Update(keyMsg(k))
	}
}

func typeText(m *Model, s string) {
	for _, r := range s {
		press(m, string(r))
	}
}

func resize(m *Model, w, h int) {
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
}

func checkFits(t *testing.T, what string, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if view == "" {
		lines = nil
	}
	if len(lines) > h {
		t.Errorf("%s at %dx%d: %d lines", what, w, h, len(lines))
	}
	for i, l := range lines {
		if lw := ansi.StringWidth(l); lw > w {
			t.Errorf("%s at %dx%d: line %d is %d wide: %q", what, w, h, i, lw, ansi.Strip(l))
			return
		}
	}
}

// TestEverySize draws the shell, with each overlay, at many sizes,
// resizing one model through all of them.
func TestEverySize(t *testing.T) {
	opts := testOptions(t, nil)
	// Wide characters and a long error, to be cut at every width.
	if _, err := opts.Journal.Append(audit.Entry{Time: fixedNow, Actor: "渡辺", Action: "デプロイ", Target: "prod/🚀/api",
		Result: audit.Failed, Error: strings.Repeat("エラー ", 40)}); err != nil {
		t.Fatal(err)
	}
	m := New(opts)
	drive(m, m.Init())
	var sizes [][2]int
	for w := 1; w <= 300; w += 11 {
		for h := 1; h <= 100; h += 7 {
			sizes = append(sizes, [2]int{w, h})
		}
	}
	for w := range 13 {
		for h := range 7 {
			sizes = append(sizes, [2]int{w, h})
		}
	}
	sizes = append(sizes, [][2]int{{40, 10}, {80, 24}, {120, 40}, {200, 60}, {300, 100}, {0, 0}, {2, 1}, {39, 9}}...)
	overlays := []struct {
		name string
		on   func()
		off  func()
	}{
		{"plain", func() {}, func() {}},
		{"help", func() { send(m, "?") }, func() { send(m, "esc") }},
		{"palette", func() { send(m, ":", "t") }, func() { send(m, "esc") }},
		{"filter", func() { send(m, "/", "a", "l") }, func() { send(m, "esc") }},
		{"details", func() { send(m, "5", "enter") }, func() { send(m, "esc") }},
		{"welcome", func() { send(m, "shift+tab") }, func() { send(m, "5") }},
		{"toast", func() { m.Update(common.ToastMsg{Level: common.Error, Text: strings.Repeat("a long error ", 12)}) }, func() {}},
		{"confirm", func() {
			m.Update(common.ConfirmMsg{Title: "Destroy droplet web-02?", Body: "This deletes the droplet and its disk.", TypeName: "web-02"})
		}, func() { send(m, "esc") }},
	}
	for _, sz := range sizes {
		resize(m, sz[0], sz[1])
		for _, o := range overlays {
			o.on()
			checkFits(t, o.name, m.View().Content, sz[0], sz[1])
			o.off()
		}
	}
}
