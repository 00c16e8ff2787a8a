package components

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/themes"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/styles"
	"github.com/vigilops/vigil/ui/uitest"
)

func testStyles(t *testing.T) *styles.Styles {
	t.Helper()
	th, err := themes.Load("dark", "")
	if err != nil {
		t.Fatal(err)
	}
	return styles.New(th, false)
}

func typeIn(update func(tea.Msg) tea.Cmd, s string) {
	for _, r := range s {
		update(uitest.Key(string(r)))
	}
}

// testRegistry has theme (with completion), quit and a command that fails.
func testRegistry(ran *[]string) *Registry {
	r := &Registry{}
	r.Add(Spec{Name: "theme", Args: "NAME", Help: "switch theme",
		Complete: func(i int) []string {
			if i == 0 {
				return []string{"dark", "light", "high-contrast", "my theme"}
			}
			return nil
		},
		Run: func(args []string) (tea.Cmd, error) {
			*ran = append(*ran, "theme "+strings.Join(args, ","))
			return nil, nil
		}})
	r.Add(Spec{Name: "quit", Help: "quit", Run: func([]string) (tea.Cmd, error) {
		*ran = append(*ran, "quit")
		return nil, nil
	}})
	r.Add(Spec{Name: "fail", Help: "always fails", Run: func([]string) (tea.Cmd, error) {
		return nil, errors.New("it failed: try again")
	}})
	return r
}

func TestRegistryComplete(t *testing.T) {
	r := testRegistry(new([]string))
	cases := []struct {
		line string
		want []string
	}{
		{"", []string{"theme", "quit", "fail"}},
		{"th", []string{"theme"}},
		{":qu", []string{"quit"}},
		{"theme ", []string{"theme dark", "theme light", "theme high-contrast", "theme 'my theme'"}},
		{"theme li", []string{"theme light"}},
		{"theme hc", []string{"theme high-contrast"}},
		{"theme dark ", nil},
		{"quit ", nil},
		{"nope ", nil},
		{`theme "unterminated`, nil},
	}
	for _, c := range cases {
		if got := r.Complete(c.line); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Complete(%q) = %q, want %q", c.line, got, c.want)
		}
	}
}

// Issue 12: a command that does not exist says so, and offers close
// names only: :ssh must not suggest :snapshot, neither on enter nor while
// typed.
func TestUnknownCommandOffersOnlyCloseNames(t *testing.T) {
	r := &Registry{}
	for _, n := range []string{"snapshot", "stop", "scale", "theme"} {
		r.Add(Spec{Name: n, Run: func([]string) (tea.Cmd, error) { return nil, nil }})
	}
	_, err := r.Run("ssh web-01")
	if err == nil || !strings.Contains(err.Error(), `unknown command "ssh"`) || strings.Contains(err.Error(), "did you mean") {
		t.Errorf(":ssh: %v", err)
	}
	if got := r.Complete("ssh"); len(got) != 0 {
		t.Errorf("typing ssh offers %q", got)
	}
	if _, err := r.Run("snapshoot"); err == nil || !strings.Contains(err.Error(), "did you mean :snapshot?") {
		t.Errorf(":snapshoot: %v", err)
	}
	if got := r.Complete("stp"); !reflect.DeepEqual(got, []string{"stop"}) {
		t.Errorf("typing stp offers %q, want the close stop", got)
	}
	if got := r.Complete("s"); !reflect.DeepEqual(got, []string{"snapshot", "stop", "scale"}) {
		t.Errorf("typing s offers %q", got)
	}
}

func TestRegistryRunErrors(t *testing.T) {
	r := testRegistry(new([]string))
	_, err := r.Run("thme dark")
	if err == nil || !strings.Contains(err.Error(), "did you mean :theme?") {
		t.Errorf("misspelt command: %v", err)
	}
	_, err = r.Run("zzz")
	if err == nil || !strings.Contains(err.Error(), `unknown command "zzz"`) || !strings.Contains(err.Error(), "theme, quit, fail") {
		t.Errorf("unknown command: %v", err)
	}
	if _, err := r.Run(`theme "x`); err == nil || !strings.Contains(err.Error(), "unterminated") {
		t.Errorf("bad quoting: %v", err)
	}
}

func TestPaletteRunCompleteHistory(t *testing.T) {
	var ran []string
	p := NewPalette(testRegistry(&ran), NewPaletteKeys(), testStyles(t))
	p.Open()
	typeIn(p.Update, "th")
	if got := p.Matches(); !reflect.DeepEqual(got, []string{"theme"}) {
		t.Fatalf("matches for th: %q", got)
	}
	p.Update(uitest.Key("tab"))
	if p.Value() != "theme" {
		t.Fatalf("tab completed to %q", p.Value())
	}
	typeIn(p.Update, " ")
	p.Update(uitest.Key("tab"))
	p.Update(uitest.Key("tab")) // again: the next match
	if p.Value() != "theme light" {
		t.Fatalf("tab tab completed to %q", p.Value())
	}
	p.Update(uitest.Key("enter"))
	if p.Active() || !reflect.DeepEqual(ran, []string{"theme light"}) {
		t.Fatalf("after enter: active %v, ran %q", p.Active(), ran)
	}

	p.Open()
	typeIn(p.Update, "quit")
	p.Update(uitest.Key("enter"))
	p.Open()
	typeIn(p.Update, "dra")
	p.Update(uitest.Key("up"))
	if p.Value() != "quit" {
		t.Fatalf("up: %q", p.Value())
	}
	p.Update(uitest.Key("up"))
	if p.Value() != "theme light" {
		t.Fatalf("up up: %q", p.Value())
	}
	p.Update(uitest.Key("up")) // at the oldest: stays
	p.Update(uitest.Key("down"))
	p.Update(uitest.Key("down"))
	if p.Value() != "dra" {
		t.Fatalf("down back to the draft: %q", p.Value())
	}
	p.Update(uitest.Key("esc"))
	if p.Active() || len(p.History()) != 2 {
		t.Fatalf("esc: active %v, history %q", p.Active(), p.History())
	}

	p.Open()
	typeIn(p.Update, "fail")
	msg := p.Update(uitest.Key("enter"))()
	if toast, ok := msg.(common.ToastMsg); !ok || toast.Level != common.Error || toast.Text != "it failed: try again" {
		t.Fatalf("a failing command gives %#v, want an error toast", msg)
	}
}

func TestConfirm(t *testing.T) {
	st := testStyles(t)
	keys := NewConfirmKeys()

	c, _ := NewConfirm(common.ConfirmMsg{Title: "Roll back prod/api?"}, keys, st)
	if d, _ := c.Update(uitest.Key("x")); d != Pending {
		t.Fatal("x decided")
	}
	if d, _ := c.Update(uitest.Key("y")); d != Accepted {
		t.Fatal("y did not accept")
	}
	c, _ = NewConfirm(common.ConfirmMsg{Title: "Roll back prod/api?"}, keys, st)
	if d, _ := c.Update(uitest.Key("n")); d != Rejected {
		t.Fatal("n did not reject")
	}
	if !strings.Contains(c.View(80, st), "Roll back prod/api?") {
		t.Fatal("the title is not shown")
	}

	c, _ = NewConfirm(common.ConfirmMsg{Title: "Destroy web-02?", TypeName: "web-02"}, keys, st)
	for _, r := range "web-0" {
		if d, _ := c.Update(uitest.Key(string(r))); d != Pending {
			t.Fatalf("typing %q decided", r)
		}
	}
	if d, _ := c.Update(uitest.Key("enter")); d != Pending || !c.Mismatch {
		t.Fatal("a partial name was accepted")
	}
	if !strings.Contains(c.View(80, st), "that is not the name") {
		t.Fatal("the mismatch is not shown")
	}
	c.Update(uitest.Key("2"))
	if d, _ := c.Update(uitest.Key("enter")); d != Accepted {
		t.Fatal("the exact name was not accepted")
	}

	// y and n are letters of names, not answers, in the typed variant.
	c, _ = NewConfirm(common.ConfirmMsg{Title: "Destroy y?", TypeName: "y"}, keys, st)
	if d, _ := c.Update(uitest.Key("y")); d != Pending {
		t.Fatal("y answered the type-the-name dialog")
	}
	if d, _ := c.Update(uitest.Key("esc")); d != Rejected {
		t.Fatal("esc did not cancel")
	}
}

func TestToasts(t *testing.T) {
	st := testStyles(t)
	var ts Toasts
	var cmds []tea.Cmd
	for _, s := range []string{"one", "two\nlines", "three", "four"} {
		cmds = append(cmds, ts.Push(common.ToastMsg{Level: common.Info, Text: s}))
	}
	if got := ts.Texts(); !reflect.DeepEqual(got, []string{"two lines", "three", "four"}) {
		t.Fatalf("toasts %q: want the newest three, on one line each", got)
	}
	if ts.Update(tea.KeyPressMsg{}) {
		t.Fatal("a key was taken for an expiry")
	}
	// Expire "three": its command is the third Push's.
	if !ts.Update(toastExpiredMsg{id: 3}) || !reflect.DeepEqual(ts.Texts(), []string{"two lines", "four"}) {
		t.Fatalf("after expiry: %q", ts.Texts())
	}
	for _, l := range strings.Split(ts.View(20, st), "\n") {
		if w := len([]rune(stripANSI(l))); w > 20 {
			t.Fatalf("toast line %q wider than 20", l)
		}
	}
	if cmds[0] == nil {
		t.Fatal("no expiry command")
	}
}

func TestFilterBar(t *testing.T) {
	f := NewFilterBar(NewFilterKeys(), testStyles(t))
	f.Open("actor:bob", "actor:NAME")
	f.Update(uitest.Key("x"))
	if f.Value() != "actor:bobx" {
		t.Fatalf("typing gave %q", f.Value())
	}
	f.Update(uitest.Key("enter"))
	if f.Active() || f.Value() != "actor:bobx" {
		t.Fatal("enter should keep the filter and close the bar")
	}
	f.Open("actor:bob", "actor:NAME")
	f.Update(uitest.Key("esc"))
	if f.Active() || f.Value() != "" {
		t.Fatalf("esc left %q, want the filter cleared", f.Value())
	}
}

func TestOverlayAndBar(t *testing.T) {
	bg := "abcdefgh\nijklmnop\nqrstuvwx"
	if got := Overlay(bg, "XY\nZW", 3, 1); stripANSI(got) != "abcdefgh\nijkXYnop\nqrsZWvwx" {
		t.Errorf("Overlay = %q", stripANSI(got))
	}
	if got := Overlay("ab", "XYZ", 4, 0); stripANSI(got) != "ab  XYZ" {
		t.Errorf("Overlay past the end = %q", stripANSI(got))
	}
	if got := Bar("left", "right", 12); got != "left   right" {
		t.Errorf("Bar = %q", got)
	}
	if got := Bar("a long left side", "right", 12); got != "a lon… right" {
		t.Errorf("Bar cut = %q", got)
	}
	if got := Bar("left", "a very long right", 5); got != "right" {
		t.Errorf("Bar right only = %q", got)
	}
}

// TestTabsCompactWhenNarrow: every title when they fit; narrower, the
// inactive tabs keep their key and badge, the active one its title.
func TestTabsCompactWhenNarrow(t *testing.T) {
	st := testStyles(t)
	tabs := []Tab{{Key: "1", Title: "Inventory"}, {Key: "2", Title: "Environments"}, {Key: "4", Title: "Alerts", Badge: "2 crit"},
		{Key: "6", Title: "Runs"}, {Key: "7", Title: "Logs"}}
	if got := stripANSI(Tabs(tabs, 4, 80, st)); got != " 1 Inventory  2 Environments  4 Alerts 2 crit  6 Runs  7 Logs " {
		t.Errorf("wide: %q", got)
	}
	if got := stripANSI(Tabs(tabs, 4, 40, st)); got != " 1  2  4 2 crit  6  7 Logs " {
		t.Errorf("narrow: %q", got)
	}
	if got := stripANSI(Tabs(tabs, 4, 12, st)); got != " 1  2  4 2 …" {
		t.Errorf("too narrow: %q", got)
	}
}

func stripANSI(s string) string { return ansi.Strip(s) }

func TestWidth(t *testing.T) {
	for _, s := range []string{
		"", "plain", "\x1b[1;38;2;1;2;3mbold\x1b[m tail", "wide 日本", "ellipsis…", "\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\",
		"tab\there", "\x1b[", "a\x1b[38;5", "emoji 👍🏽",
	} {
		if got, want := Width(s), ansi.StringWidth(s); got != want {
			t.Errorf("Width(%q) = %d, ansi.StringWidth says %d", s, got, want)
		}
	}
}

// FuzzWidth checks the fast path of Width against ansi.StringWidth.
func FuzzWidth(f *testing.F) {
	f.Add("\x1b[1mbold\x1b[m plain")
	f.Add("日本\x1b[38;2;1;2;3m…")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := Width(s), ansi.StringWidth(s); got != want {
			t.Fatalf("Width(%q) = %d, ansi.StringWidth says %d", s, got, want)
		}
	})
}

func TestSpark(t *testing.T) {
	nan := math.NaN()
	for _, c := range []struct {
		values []float64
		lo, hi float64
		want   string
	}{
		{[]float64{0, 0.5, 1}, 0, 1, "▁▅█"},
		{[]float64{0, nan, 2, 4}, 0, 0, "▁ ▅█"}, // its own maximum on top, a gap blank
		{[]float64{3, 3}, 0, 0, "██"},           // flat: the top
		{[]float64{0, 0}, 0, 0, "▁▁"},           // all zero: the bottom
		{[]float64{-1, 2}, 0, 1, "▁█"},          // clamped
		{nil, 0, 1, ""},
	} {
		if got := Spark(c.values, c.lo, c.hi); got != c.want {
			t.Errorf("Spark(%v, %g, %g) = %q, want %q", c.values, c.lo, c.hi, got, c.want)
		}
	}
}
