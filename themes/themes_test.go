package themes

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/internal/yamlbound/bombs"
)

func TestEveryEmbeddedTheme(t *testing.T) {
	names := Names()
	for _, want := range []string{"dark", "light", "high-contrast", "colorblind"} {
		if !slices.Contains(names, want) {
			t.Errorf("no embedded theme %q in %v", want, names)
		}
	}
	if !slices.IsSorted(names) {
		t.Errorf("Names() not sorted: %v", names)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			th, err := Load(name, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if th.Name != name {
				t.Errorf("theme in %s.yaml is named %q", name, th.Name)
			}
			if err := Validate(th); err != nil {
				t.Error(err)
			}
			styles := th.Styles()
			if len(styles) != 22 {
				t.Errorf("%d sections, want 22", len(styles))
			}
			for _, s := range styles {
				if th.Resolve(s.Style.FG) == "" {
					t.Errorf("%s has no foreground colour", s.Path)
				}
			}
			// Severities must not differ by hue alone in any theme: critical
			// at least carries an attribute that warning and info lack.
			if attrs(th.Severity.Critical) == attrs(th.Severity.Warning) && attrs(th.Severity.Critical) == attrs(th.Severity.Info) {
				t.Error("severities differ only by colour")
			}
		})
	}
}

func attrs(s Style) string {
	return fmt.Sprint(s.Bold, s.Italic, s.Underline, s.Reverse, s.Faint)
}

func TestColorblindThemeUsesOkabeItoAndAttributes(t *testing.T) {
	th, err := Load("colorblind", "")
	if err != nil {
		t.Fatal(err)
	}
	okabeIto := []string{"#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7"}
	for _, s := range th.Styles() {
		for _, c := range []string{s.Style.FG, s.Style.BG} {
			hex := th.Resolve(c)
			if c == "" || slices.Contains(okabeIto, hex) || isGrey(hex) {
				continue
			}
			t.Errorf("%s uses %s, outside the Okabe–Ito palette and greys", s.Path, hex)
		}
	}
	for _, group := range [][]Style{
		{th.Severity.Critical, th.Severity.Warning, th.Severity.Info},
		{th.Status.Crit, th.Status.Warn, th.Status.OK, th.Status.Unknown},
		{th.Diff.Add, th.Diff.Remove},
	} {
		seen := map[string]bool{}
		for _, s := range group {
			if seen[attrs(s)] {
				t.Errorf("two styles of %+v share attributes %s: they differ only by hue", group, attrs(s))
			}
			seen[attrs(s)] = true
		}
	}
}

func isGrey(hex string) bool { return len(hex) == 7 && hex[1:3] == hex[3:5] && hex[3:5] == hex[5:7] }

func TestResolveAndParseHex(t *testing.T) {
	th := &Theme{Palette: map[string]string{"accent": "#7AA2F7", "bad": "blue"}}
	for in, want := range map[string]string{"accent": "#7aa2f7", "#ABCDEF": "#abcdef", "#000000": "#000000", "bad": "", "blue": "", "": "", "#abc": ""} {
		if got := th.Resolve(in); got != want {
			t.Errorf("Resolve(%q) = %q, want %q", in, got, want)
		}
	}
	r, g, b, err := ParseHex("#0a80ff")
	if err != nil || r != 0x0a || g != 0x80 || b != 0xff {
		t.Errorf("ParseHex(#0a80ff) = %d %d %d %v", r, g, b, err)
	}
	for _, bad := range []string{"", "#", "0a80ff", "#0a80f", "#0a80ff0", "#0a80fg", "#+a80ff", "#-a80ff", " #0a80ff"} {
		if _, _, _, err := ParseHex(bad); err == nil {
			t.Errorf("ParseHex(%q) accepted", bad)
		}
	}
}

func FuzzParseHex(f *testing.F) {
	for _, s := range []string{"#000000", "#FfAa09", "#12345", "#1234567", "#-12345", "#0x1234", "", "#ééé"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, g, b, err := ParseHex(s)
		if err != nil {
			if !strings.Contains(err.Error(), "#rrggbb") {
				t.Errorf("error does not say the expected form: %v", err)
			}
			return
		}
		if back := fmt.Sprintf("#%02x%02x%02x", r, g, b); back != strings.ToLower(s) {
			t.Errorf("ParseHex(%q) = %s", s, back)
		}
	})
}

func writeTheme(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// complete returns the embedded dark theme's YAML renamed, a valid base for
// user theme tests.
func complete(t *testing.T, name string) string {
	b, err := embedded.ReadFile("dark.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Replace(string(b), "name: dark", "name: "+name, 1)
}

func TestUserThemes(t *testing.T) {
	dir := t.TempDir()
	writeTheme(t, dir, "solar", complete(t, "solar"))
	writeTheme(t, dir, "dark", strings.Replace(complete(t, "dark"), `accent: "#7aa2f7"`, `accent: "#ff0000"`, 1))
	writeTheme(t, dir, "mine", "extends: light\nname: mine\npalette:\n  accent: \"#00ff00\"\nbody: {fg: accent, bold: true}\n")
	writeTheme(t, dir, "nameless", "extends: dark\n")

	solar, err := Load("solar", dir)
	if err != nil || solar.Name != "solar" {
		t.Fatalf("new user theme: %v", err)
	}
	dark, err := Load("dark", dir)
	if err != nil || dark.Resolve("accent") != "#ff0000" {
		t.Fatalf("user dark does not override the embedded one: %v", err)
	}
	mine, err := Load("mine", dir)
	if err != nil {
		t.Fatal(err)
	}
	light, _ := Load("light", "")
	if mine.Resolve("accent") != "#00ff00" || mine.Body != (Style{FG: "accent", Bold: true}) {
		t.Errorf("extends: written values not applied: accent %s body %+v", mine.Resolve("accent"), mine.Body)
	}
	if mine.Resolve("crit") != light.Resolve("crit") || mine.Status != light.Status || mine.Dark != light.Dark {
		t.Errorf("extends: values from light lost: %+v", mine)
	}
	if light.Resolve("accent") == "#00ff00" {
		t.Error("extending light changed the embedded light theme")
	}
	if n, err := Load("nameless", dir); err != nil || n.Name != "nameless" {
		t.Errorf("a theme without a name takes its file's: %v %v", n, err)
	}
	if got := Available(dir); !slices.Equal(got, []string{"colorblind", "dark", "high-contrast", "light", "mine", "nameless", "solar"}) {
		t.Errorf("Available = %v", got)
	}
	if def, err := Load("", ""); err != nil || def.Name != Default {
		t.Errorf("empty name: %v %v", def, err)
	}
}

func TestBadUserThemes(t *testing.T) {
	dir := t.TempDir()
	base := complete(t, "x")
	tests := []struct {
		name, body string
		want       []string
	}{
		{"unknown-colour", strings.Replace(base, "body: {fg: fg}", "body: {fg: chartreuse}", 1),
			[]string{`theme "unknown-colour"`, "body.fg", `"chartreuse"`, "palette:", "unknown-colour.yaml"}},
		{"missing-section", strings.Replace(base, "  crit: {fg: crit, bold: true}\n", "", 1),
			[]string{`theme "missing-section"`, "status.crit: section is missing"}},
		{"bad-palette", strings.Replace(base, `accent: "#7aa2f7"`, `accent: "#7aa2f"`, 1),
			[]string{"palette.accent", `"#7aa2f" is not a #rrggbb colour`, "border.focused.fg"}},
		{"bad-yaml", "name: x\npalette: {bg: \"#000000\"\nbody: {fg: bg}\n",
			[]string{`theme "bad-yaml"`, "bad-yaml.yaml", "line 1: did not find expected"}},
		{"misnamed", complete(t, "other"), []string{"misnamed.yaml says name: other"}},
		{"unknown-key", base + "bdy: {fg: fg}\n",
			[]string{`theme "unknown-key"`, "field bdy not found"}},
		{"wrong-type", strings.Replace(base, "bold: true", "bold: very", 1),
			[]string{`theme "wrong-type"`, "very"}},
		{"extends-missing", "extends: nosuch\n", []string{`extends "nosuch"`, `unknown theme "nosuch"`}},
		{"loop-a", "extends: loop-b\n", []string{"more than 4 themes deep"}},
		{"loop-b", "extends: loop-a\n", []string{"more than 4 themes deep"}},
	}
	for _, tt := range tests {
		writeTheme(t, dir, tt.name, strings.Replace(tt.body, "name: x", "name: "+tt.name, 1))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th, err := Load(tt.name, dir)
			if err == nil {
				t.Fatalf("accepted: %+v", th)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
	for _, name := range []string{"nosuch", "../etc/passwd", "Dark"} {
		if _, err := Load(name, dir); err == nil {
			t.Errorf("Load(%q) succeeded", name)
		}
	}
	_, err := Load("nosuch", dir)
	if !strings.Contains(err.Error(), "colorblind, dark, extends-missing, high-contrast") || !strings.Contains(err.Error(), filepath.Join(dir, "nosuch.yaml")) {
		t.Errorf("unknown theme error does not help: %v", err)
	}
}

func TestValidateReportsEverything(t *testing.T) {
	err := Validate(&Theme{Palette: map[string]string{"a": "red"}})
	if err == nil {
		t.Fatal("an empty theme validated")
	}
	msg := err.Error()
	for _, w := range []string{"name is missing", "palette.a", "body: section is missing", "status_bar: section is missing", "dialog.title"} {
		if !strings.Contains(msg, w) {
			t.Errorf("missing %q in:\n%s", w, msg)
		}
	}
}

func TestUserDir(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", "/xdg")
	if got := UserDir(); got != "/xdg/vigil/themes" {
		t.Errorf("UserDir() = %q", got)
	}
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("HOME", "/home/ana")
	if got := UserDir(); got != "/home/ana/.config/vigil/themes" {
		t.Errorf("UserDir() = %q", got)
	}
}

// TestBombsRejected: a user theme that expands past any reasonable size
// through aliases or merge keys is refused at once, naming the file.
func TestBombsRejected(t *testing.T) {
	dir := t.TempDir()
	writeTheme(t, dir, "laughs", strings.Replace(bombs.BillionLaughs, "bomb:", "palette:\n  x:", 1))
	writeTheme(t, dir, "merges", strings.Replace(bombs.MergeBomb, "bomb:", "palette:", 1))
	for _, name := range []string{"laughs", "merges"} {
		t.Run(name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				_, err := Load(name, dir)
				done <- err
			}()
			select {
			case err := <-done:
				want := filepath.Join(dir, name+".yaml") + "): line 5: its aliases and merge keys (<<) expand to more than 100000 values"
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("got %v, want …%s…", err, want)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("still decoding after 5s")
			}
		})
	}
}
