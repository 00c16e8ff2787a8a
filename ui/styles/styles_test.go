package styles

import (
	"regexp"
	"testing"

	"github.com/vigilops/vigil/themes"
)

var colourSGR = regexp.MustCompile(`\x1b\[[0-9;]*(38|48);`)

// TestEveryTheme builds every embedded theme with and without colour.
func TestEveryTheme(t *testing.T) {
	for _, name := range themes.Names() {
		th, err := themes.Load(name, "")
		if err != nil {
			t.Fatal(err)
		}
		s := New(th, false)
		if s.Theme != name || !colourSGR.MatchString(s.StatusCrit.Render("x")) {
			t.Errorf("%s: crit has no colour: %q", name, s.StatusCrit.Render("x"))
		}
		n := New(th, true)
		for _, out := range []string{n.StatusCrit.Render("x"), n.TableSelected.Render("x"), n.Frame.Render("│"), n.BorderFocused.Render("x")} {
			if colourSGR.MatchString(out) {
				t.Errorf("%s: colour with NO_COLOR: %q", name, out)
			}
		}
		if sel := n.TableSelected.Render("x"); !regexp.MustCompile(`\x1b\[[0-9;]*7[;m]`).MatchString(sel) {
			t.Errorf("%s: selection not reversed without colour: %q", name, sel)
		}
	}
}
