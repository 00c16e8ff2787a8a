package components

import (
	"slices"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ui/uitest"
)

type app struct{ name, env, version, health string }

func appTable() *Table[app] {
	return &Table[app]{
		Columns: []Column[app]{
			{Title: "APP", Value: func(a app) string { return a.name }, Min: 6},
			{Title: "ENV", Value: func(a app) string { return a.env }, Min: 3},
			{Title: "VERSION", Value: func(a app) string { return a.version }, Min: 8, CutLast: true},
			{Title: "HEALTH", Value: func(a app) string { return a.health }, Min: 4, Flex: 1},
		},
		Key:  func(a app) string { return a.env + "/" + a.name },
		Less: func(a, b app) bool { return a.name < b.name },
	}
}

var apps = []app{
	{"web", "prod", "2.5.1-bad-build-with-a-long-tag", "stalled"},
	{"api", "prod", "2.4.1", "healthy"},
	{"worker", "test", "3.1.1", "healthy"},
}

func screenOf(t *testing.T, tb *Table[app]) []string {
	t.Helper()
	return strings.Split(ansi.Strip(tb.View(testStyles(t))), "\n")
}

// With room, every value shows whole and the flex column takes the rest.
func TestTableColumnsTakeTheWidthTheyNeed(t *testing.T) {
	tb := appTable()
	tb.SetRows(apps)
	tb.SetSize(80, 10)
	lines := screenOf(t, tb)
	if len(lines) != 4 || !strings.Contains(lines[2], "web    prod 2.5.1-bad-build-with-a-long-tag stalled") {
		t.Fatalf("rows sorted, values whole:\n%s", strings.Join(lines, "\n"))
	}
	for _, l := range lines {
		if w := ansi.StringWidth(l); w != 80 {
			t.Errorf("a line of %d cells, want 80: %q", w, l)
		}
	}
}

// Short of room, the other columns are cut to their minimum before the
// version is; then columns are left out from the right.
func TestTableCutsVersionsLast(t *testing.T) {
	tb := appTable()
	tb.SetRows(apps)
	tb.SetSize(48, 10) // 6+4+31+7 and 3 spaces = 51
	lines := screenOf(t, tb)
	if !strings.Contains(lines[2], "2.5.1-bad-build-with-a-long-tag") {
		t.Fatalf("the version is cut while HEALTH has room above its minimum:\n%s", strings.Join(lines, "\n"))
	}
	if w := tb.Widths(); w[3] != 4 {
		t.Errorf("widths %v: HEALTH should be at its minimum, 4", w)
	}
	tb.SetSize(30, 10)
	if w := tb.Widths(); !slices.Equal(w, []int{6, 3, 14, 4}) {
		t.Errorf("at 30 cells, widths %v: the others at their minimum, then the version cut to what is left", w)
	}
	tb.SetSize(20, 10)
	if w := tb.Widths(); !slices.Equal(w, []int{6, 3, 8, 0}) {
		t.Errorf("at 20 cells, widths %v: every column at its minimum, HEALTH left out", w)
	}
	for _, l := range screenOf(t, tb) {
		if ansi.StringWidth(l) > 20 {
			t.Errorf("%q is wider than 20", l)
		}
	}
}

// The cursor stays on its row when rows arrive above it, when the filter
// changes, and moves with the keys.
func TestTableCursorFollowsTheRowNotTheIndex(t *testing.T) {
	tb := appTable()
	tb.SetRows(apps)
	tb.SetSize(80, 10)
	nav := testNav()
	tb.KeyPress(uitest.Key("j"), nav) // api → web
	if r, _ := tb.Selected(); r.name != "web" {
		t.Fatalf("selected %v after j", r)
	}
	tb.SetRows(append([]app{{"auth", "prod", "1.0", "healthy"}, {"admin", "prod", "1.0", "healthy"}}, apps...))
	if r, _ := tb.Selected(); r.name != "web" {
		t.Fatalf("rows added above: selected %v, want web still", r)
	}
	in := func(env string) func(app) bool { return func(a app) bool { return a.env == env } }
	tb.SetFilter(in("prod"))
	if r, _ := tb.Selected(); r.name != "web" || tb.Len() != 4 {
		t.Fatalf("filtered to prod: selected %v of %d rows", r, tb.Len())
	}
	tb.SetFilter(in("test"))
	if r, _ := tb.Selected(); r.name != "worker" {
		t.Fatalf("the selected row filtered out: selected %v, want the first shown", r)
	}
	if tb.Select("prod/api") {
		t.Fatal("selected a row the filter hides")
	}
	tb.SetFilter(nil)
	if !tb.Select("prod/api") {
		t.Fatal("cannot select a shown row")
	}
	tb.SetRows(nil)
	if _, ok := tb.Selected(); ok || len(screenOf(t, tb)) != 1 {
		t.Fatal("an empty table selects nothing and shows its header only")
	}
}

// Only the rows in view are drawn, and the cursor's row is always one.
func TestTableDrawsTheRowsInView(t *testing.T) {
	tb := appTable()
	var many []app
	for i := range 500 {
		many = append(many, app{name: strings.Repeat("a", 1+i%7) + string(rune('a'+i%26)), env: "prod", version: "1", health: "ok"})
	}
	tb.Less = nil
	tb.SetRows(many)
	tb.SetSize(60, 11)
	tb.KeyPress(uitest.Key("G"), testNav())
	lines := screenOf(t, tb)
	if len(lines) != 11 {
		t.Fatalf("%d lines, want a header and 10 rows", len(lines))
	}
	if r, _ := tb.Selected(); !strings.HasPrefix(lines[10], r.name+" ") {
		t.Fatalf("the last row shown is %q, the selected is %q", lines[10], r.name)
	}
}
