package app

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/vigilops/vigil/internal/testclock"
)

// ascii downsamples a view to the ASCII profile: attributes, no colours.
func ascii(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	w := &colorprofile.Writer{Forward: &b, Profile: colorprofile.ASCII}
	if _, err := w.WriteString(s); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// step is keys to press and text to wait for on the screen afterwards:
// needed when the keys start a command whose result must be drawn.
type step struct {
	keys string // space-separated keys; "" to only wait
	size [2]int // a terminal size to resize to first, when set
	want string
}

// probe records the last frame drawn, so a test can wait for text on
// screen; the program's output only carries the cells that changed.
type probe struct {
	*Model
	mu   sync.Mutex
	last string
}

func (p *probe) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	_, cmd := p.Model.Update(msg)
	return p, cmd
}

func (p *probe) View() tea.View {
	v := p.Model.View()
	p.mu.Lock()
	p.last = ansi.Strip(v.Content)
	p.mu.Unlock()
	return v
}

func (p *probe) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		ok := strings.Contains(p.last, want)
		p.mu.Unlock()
		if ok {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%q not on screen after 5s:\n%s", want, p.last)
}

// runGolden compares the final view of play with its golden file.
func runGolden(t *testing.T, w, h int, steps ...step) {
	t.Helper()
	golden.RequireEqual(t, testclock.Unshift(play(t, w, h, steps...)))
}

// play runs the shell in a teatest program at w×h, plays steps, and
// returns the final view in the ASCII profile.
func play(t *testing.T, w, h int, steps ...step) string {
	t.Helper()
	m := &probe{Model: New(testOptions(t, nil))}
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(w, h),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.ASCII)))
	for _, s := range steps {
		if s.size != [2]int{} {
			tm.Send(tea.WindowSizeMsg{Width: s.size[0], Height: s.size[1]})
		}
		if s.keys != "" {
			for _, k := range strings.Fields(s.keys) {
				tm.Send(keyMsg(k))
			}
		}
		if s.want == "" {
			continue // keys are handled in order, before the quit that follows
		}
		m.waitFor(t, s.want)
	}
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*probe)
	return ascii(t, final.View().Content)
}

func TestGolden(t *testing.T) {
	for _, size := range []struct {
		name string
		w, h int
	}{{"80x24", 80, 24}, {"120x40", 120, 40}} {
		t.Run(size.name, func(t *testing.T) {
			t.Run("welcome", func(t *testing.T) {
				runGolden(t, size.w, size.h, step{want: "Welcome to vigil"})
			})
			t.Run("activity", func(t *testing.T) {
				runGolden(t, size.w, size.h, step{keys: "5", want: "4 entries"}, step{keys: "j"})
			})
			t.Run("details", func(t *testing.T) {
				runGolden(t, size.w, size.h, step{keys: "5", want: "4 entries"}, step{keys: "j j enter"})
			})
			t.Run("filter", func(t *testing.T) {
				runGolden(t, size.w, size.h, step{keys: "5", want: "4 entries"}, step{keys: "/ b o b", want: "filter bob"})
			})
			t.Run("help", func(t *testing.T) {
				runGolden(t, size.w, size.h, step{keys: "5", want: "4 entries"}, step{keys: "?"})
			})
			t.Run("palette", func(t *testing.T) {
				runGolden(t, size.w, size.h, step{keys: "5", want: "4 entries"}, step{keys: ": t h"})
			})
			t.Run("resize", func(t *testing.T) {
				// Through the smallest size and back: the same screen as "activity".
				got := play(t, size.w, size.h, step{keys: "5", want: "4 entries"}, step{keys: "j"},
					step{size: [2]int{40, 10}, want: "14:00 alice"}, step{size: [2]int{size.w, size.h}, want: "11-29 14:00:31"})
				want, err := os.ReadFile(filepath.Join("testdata", "TestGolden", size.name, "activity.golden"))
				if err != nil {
					t.Fatal(err)
				}
				if got = testclock.Unshift(got); got != string(want) {
					t.Fatalf("after a resize to 40x10 and back, the screen differs from activity.golden:\n%s", got)
				}
			})
			t.Run("theme", func(t *testing.T) {
				runGolden(t, size.w, size.h, step{keys: "5", want: "4 entries"},
					step{keys: ": t h e m e space l i g h t enter", want: "✓ theme light"})
			})
		})
	}
}
