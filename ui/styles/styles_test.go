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
		// The logs view's pod colours: several, distinct, none the text's
		// or the background's; one plain style without colour.
		if len(s.Pods) < 3 {
			t.Errorf("%s: %d pod colours", name, len(s.Pods))
		}
		seen := map[string]bool{s.Body.Render("x"): true, s.Muted.Render("x"): true}
		for _, p := range s.Pods {
			out := p.Render("x")
			if seen[out] || !colourSGR.MatchString(out) {
				t.Errorf("%s: pod colour %q repeats, or is the text's or muted's", name, out)
			}
			seen[out] = true
		}
		if len(n.Pods) != 1 || colourSGR.MatchString(n.Pods[0].Render("x")) {
			t.Errorf("%s: pod colours with NO_COLOR: %d", name, len(n.Pods))
		}
	}
}
