// Package uitest is what the UI packages' tests share: key presses by name,
// the dark theme, a driver of a pane's commands, a console that keeps its
// last frame, views in the ASCII profile, and the check that a view fits
// its size. Only tests import it.
package uitest

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/themes"
)

var named = map[string]tea.Key{
	"enter":     {Code: tea.KeyEnter},
	"esc":       {Code: tea.KeyEscape},
	"tab":       {Code: tea.KeyTab},
	"backspace": {Code: tea.KeyBackspace},
	"space":     {Code: tea.KeySpace, Text: " "},
	"up":        {Code: tea.KeyUp},
	"down":      {Code: tea.KeyDown},
	"left":      {Code: tea.KeyLeft},
	"right":     {Code: tea.KeyRight},
	"home":      {Code: tea.KeyHome},
	"end":       {Code: tea.KeyEnd},
	"pgup":      {Code: tea.KeyPgUp},
	"pgdown":    {Code: tea.KeyPgDown},
}

// Key is the press of k: a named key (enter, esc, tab, backspace, space,
// the arrows, home, end, pgup, pgdown), ctrl+ a character, or a character.
// Any other name panics, so that a test does not press what it did not mean.
func Key(k string) tea.KeyPressMsg {
	if key, ok := named[k]; ok {
		return tea.KeyPressMsg(key)
	}
	if c, ok := strings.CutPrefix(k, "ctrl+"); ok && utf8.RuneCountInString(c) == 1 {
		r, _ := utf8.DecodeRuneInString(c)
		return tea.KeyPressMsg{Code: r, Mod: tea.ModCtrl}
	}
	if utf8.RuneCountInString(k) != 1 {
		panic(fmt.Sprintf("uitest.Key: no key is called %q: name one of the named keys, ctrl+C or one character", k))
	}
	r, _ := utf8.DecodeRuneInString(k)
	return tea.KeyPressMsg{Code: r, Text: k}
}

// ASCII is s as a terminal with the ASCII profile shows it: no colours,
// the text attributes kept, as the golden files hold it.
func ASCII(t testing.TB, s string) string {
	t.Helper()
	var b bytes.Buffer
	w := &colorprofile.Writer{Forward: &b, Profile: colorprofile.ASCII}
	if _, err := w.WriteString(s); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// Fits reports a view with more lines than h, or a line wider than w.
func Fits(view string, w, h int) error {
	if view == "" {
		return nil
	}
	lines := strings.Split(view, "\n")
	if len(lines) > h {
		return fmt.Errorf("at %dx%d: %d lines", w, h, len(lines))
	}
	for i, l := range lines {
		if lw := ansi.StringWidth(l); lw > w {
			return fmt.Errorf("at %dx%d: line %d is %d wide: %q", w, h, i, lw, ansi.Strip(l))
		}
	}
	return nil
}

// Probe wraps a program's model and keeps the last frame it drew, without
// its colours, so that a test can wait for text on screen: the program's
// output carries only the cells that changed. The model must change in
// place (a pointer), as the console does.
type Probe struct {
	tea.Model
	mu   sync.Mutex
	last string
}

// Update hands msg to the model, and keeps the probe as the program's model.
func (p *Probe) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	_, cmd := p.Model.Update(msg)
	return p, cmd
}

// View draws the model and keeps the frame.
func (p *Probe) View() tea.View {
	v := p.Model.View()
	p.mu.Lock()
	p.last = ansi.Strip(v.Content)
	p.mu.Unlock()
	return v
}

// Screen is the last frame drawn, without colours.
func (p *Probe) Screen() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

// WaitFor waits up to timeout until every one of wants is on screen, and
// returns the screen.
func (p *Probe) WaitFor(t testing.TB, timeout time.Duration, wants ...string) string {
	t.Helper()
	return p.wait(t, timeout, func(screen string) (string, bool) {
		return screen, containsAll(screen, wants)
	}, fmt.Sprintf("%q not on screen", wants))
}

// WaitForLine waits up to timeout until one line of the screen holds every
// one of wants, and returns that line.
func (p *Probe) WaitForLine(t testing.TB, timeout time.Duration, wants ...string) string {
	t.Helper()
	return p.wait(t, timeout, func(screen string) (string, bool) {
		for l := range strings.SplitSeq(screen, "\n") {
			if containsAll(l, wants) {
				return l, true
			}
		}
		return "", false
	}, fmt.Sprintf("no line with %q on screen", wants))
}

func (p *Probe) wait(t testing.TB, timeout time.Duration, found func(string) (string, bool), missing string) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		screen := p.Screen()
		if s, ok := found(screen); ok {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s after %s:\n%s", missing, timeout, screen)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func containsAll(s string, wants []string) bool {
	for _, w := range wants {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}

// Theme is the dark theme, the one sessions start with and goldens hold.
func Theme(t testing.TB) *themes.Theme {
	t.Helper()
	th, err := themes.Load("dark", "")
	if err != nil {
		t.Fatal(err)
	}
	return th
}
