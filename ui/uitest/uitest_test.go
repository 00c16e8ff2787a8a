package uitest

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
)

func TestKey(t *testing.T) {
	tests := []struct {
		name string
		want tea.KeyPressMsg
	}{
		{"enter", tea.KeyPressMsg{Code: tea.KeyEnter}},
		{"space", tea.KeyPressMsg{Code: ' ', Text: " "}},
		{"pgdown", tea.KeyPressMsg{Code: tea.KeyPgDown}},
		{"ctrl+u", tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl}},
		{"G", tea.KeyPressMsg{Code: 'G', Text: "G"}},
		{"é", tea.KeyPressMsg{Code: 'é', Text: "é"}},
	}
	for _, tt := range tests {
		if got := Key(tt.name); got.Code != tt.want.Code || got.Text != tt.want.Text || got.Mod != tt.want.Mod {
			t.Errorf("Key(%q) = %+v, want %+v", tt.name, got, tt.want)
		}
		if got := Key(tt.name).String(); got != tt.name {
			t.Errorf("Key(%q) reads as %q", tt.name, got)
		}
	}
}

func TestKeyRefusesUnknownNames(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), `"pagedown"`) {
			t.Fatalf("Key(pagedown) panicked with %v, want a panic naming it", r)
		}
	}()
	Key("pagedown")
}

func TestFits(t *testing.T) {
	tests := []struct {
		view string
		w, h int
		bad  string
	}{
		{"", 0, 0, ""},
		{"ab\ncd", 2, 2, ""},
		{"ab\ncd\nef", 2, 2, "3 lines"},
		{"ab\ncde", 2, 2, "line 1 is 3 wide"},
		{"\x1b[31mab\x1b[m\n日本", 4, 2, ""},
		{"日本語", 5, 1, "line 0 is 6 wide"},
	}
	for _, tt := range tests {
		err := Fits(tt.view, tt.w, tt.h)
		if (err == nil) != (tt.bad == "") || err != nil && !strings.Contains(err.Error(), tt.bad) {
			t.Errorf("Fits(%q, %d, %d) = %v, want %q", tt.view, tt.w, tt.h, err, tt.bad)
		}
	}
}

func TestASCIIDropsColoursKeepsBold(t *testing.T) {
	if got := ASCII(t, "\x1b[1;38;2;1;2;3mhi\x1b[m"); got != "\x1b[1mhi\x1b[m" {
		t.Errorf("ASCII = %q", got)
	}
}

// counter is a console in small: every key counts, and the count shows.
type counter struct{ n int }

func (c *counter) Init() tea.Cmd { return nil }
func (c *counter) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if _, ok := msg.(tea.KeyPressMsg); ok {
		c.n++
	}
	return c, nil
}
func (c *counter) View() tea.View {
	return tea.NewView(strings.Repeat("\x1b[31mkeys\x1b[m ", c.n) + "\nend")
}

func TestProbeKeepsTheLastFrame(t *testing.T) {
	p := &Probe{Model: &counter{}}
	if m, _ := p.Update(Key("j")); m != p {
		t.Fatalf("Update returned %T, not the probe", m)
	}
	p.Update(Key("j"))
	p.View()
	if got := p.Screen(); got != "keys keys \nend" {
		t.Fatalf("screen %q", got)
	}
	if got := p.WaitFor(t, time.Second, "keys keys", "end"); got != "keys keys \nend" {
		t.Errorf("WaitFor returned %q", got)
	}
	if got := p.WaitForLine(t, time.Second, "keys", "keys keys"); got != "keys keys " {
		t.Errorf("WaitForLine returned %q", got)
	}
}
