package logs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	oplogs "github.com/vigilops/vigil/ops/logs"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/uitest"
)

func screen(e *env) string { return ansi.Strip(e.m.View()) }

// TestFollowsEveryPodAsSternDoes: a jump to ENV/APP follows every pod of
// the workload from the service's since; pods added and gone are said,
// each pod's lines carry its name, and the header counts the pods.
func TestFollowsEveryPodAsSternDoes(t *testing.T) {
	e := setup(t, 100, 120, 12)
	f := e.open(t, "prod/api")
	if f.W.Namespace != "shop-prod" || f.W.Name != "api" || !f.Q.Follow || f.Q.Previous || f.Q.Since != oplogs.DefaultSince || f.Q.Pod != "" {
		t.Fatalf("follow of %+v with %+v", f.W, f.Q)
	}
	e.send(t, f, Added("api-1", "app"), Added("api-2", "app"), Text("api-1", "app", 1, "hello from one"), Text("api-2", "app", 2, "hello from two"))
	s := screen(e)
	for _, want := range []string{"prod/api · 2 pods · since 15m", "● following", "+ api-1 › app", "+ api-2 › app", "api-1 hello from one", "api-2 hello from two"} {
		if !strings.Contains(s, want) {
			t.Fatalf("%q not on screen:\n%s", want, s)
		}
	}
	if st := e.m.Status(); st != "4/100 lines · 0 dropped" {
		t.Fatalf("status %q", st)
	}
	e.send(t, f, Gone("api-1", "app"), Text("api-2", "app", 3, "still here"))
	s = screen(e)
	if !strings.Contains(s, "- api-1 › app (deleted: its log ends here)") || !strings.Contains(s, "1 pod ·") || !strings.Contains(s, "api-2 still here") {
		t.Fatalf("the pod's leaving:\n%s", s)
	}
	// A second container is named in the prefix; narrower, a pod goes by
	// its suffix.
	e.send(t, f, Added("api-2", "sidecar"), Text("api-2", "sidecar", 4, "proxy up"))
	if s = screen(e); !strings.Contains(s, "api-2 sidecar proxy up") || !strings.Contains(s, "api-2 app still here") {
		t.Fatalf("containers:\n%s", s)
	}
	e.m.SetSize(80, 12)
	if s = screen(e); !strings.Contains(s, "\n2 sidecar proxy up") {
		t.Fatalf("narrow:\n%s", s)
	}
	// The prefix and the timestamps are toggles.
	e.Press("p", "t")
	s = screen(e)
	if !strings.Contains(s, "\n"+t0.Add(40*time.Millisecond).Format(timeFormat)+" proxy up") {
		t.Fatalf("no prefix, timestamps:\n%s", s)
	}
}

// TestPodColoursComeFromThePalette: two pods get their colours from the
// theme's signal colours, and keep them.
func TestPodColoursComeFromThePalette(t *testing.T) {
	e := setup(t, 100, 100, 12)
	if len(e.ctx.Styles.Pods) < 4 {
		t.Fatalf("%d pod colours in the dark theme", len(e.ctx.Styles.Pods))
	}
	a, b := e.m.podStyle("api-7669c8588-bl6q8").Render("x"), e.m.podStyle("api-7669c8588-lr5j7").Render("x")
	if a == "x" || b == "x" {
		t.Fatal("pods are not coloured")
	}
	if a != e.m.podStyle("api-7669c8588-bl6q8").Render("x") {
		t.Fatal("a pod's colour changes")
	}
}

// TestPausedOrScrolledUpCountsNewLines: as less +F, new lines do not move
// a paused or scrolled-up view; they are counted, and G or f brings the
// view back to the newest.
func TestPausedOrScrolledUpCountsNewLines(t *testing.T) {
	e := setup(t, 1000, 80, 6) // a header and 5 lines
	f := e.open(t, "prod/api")
	for i := range 20 {
		e.send(t, f, Text("api-1", "app", i, Access(i)))
	}
	if !strings.Contains(screen(e), "/api/orders/1019 ") {
		t.Fatalf("the newest line is not shown:\n%s", screen(e))
	}
	e.Press("f")
	before := screen(e)
	e.send(t, f, Text("api-1", "app", 20, Access(20)), Text("api-1", "app", 21, Access(21)))
	s := screen(e)
	if !strings.Contains(s, "‖ paused · 2 new (f)") || strings.Contains(s, "/api/orders/1021 ") {
		t.Fatalf("paused:\n%s", s)
	}
	if body(before) != body(s) {
		t.Fatalf("the paused view moved:\n%s\nthen\n%s", before, s)
	}
	e.Press("f")
	if s = screen(e); !strings.Contains(s, "● following") || !strings.Contains(s, "/api/orders/1021 ") {
		t.Fatalf("following again:\n%s", s)
	}
	// Scrolled up: counted, G goes back.
	e.Press("k", "k")
	e.send(t, f, Text("api-1", "app", 22, Access(22)))
	if s = screen(e); !strings.Contains(s, "↑ 1 new (G)") || strings.Contains(s, "/api/orders/1022 ") {
		t.Fatalf("scrolled up:\n%s", s)
	}
	if on, n := e.m.Following(); on || n != 1 {
		t.Fatalf("following %v, %d unseen", on, n)
	}
	e.Press("G")
	if s = screen(e); !strings.Contains(s, "● following") || !strings.Contains(s, "/api/orders/1022 ") {
		t.Fatalf("after G:\n%s", s)
	}
	// g shows the oldest line held.
	e.Press("g")
	if s = screen(e); !strings.Contains(s, "/api/orders/1000 ") {
		t.Fatalf("after g:\n%s", s)
	}
}

func body(s string) string {
	_, b, _ := strings.Cut(s, "\n")
	return b
}

// TestFilterKeepsHidesAndRefusesABadRegex: the filter bar's regex keeps
// the lines it matches, !regex hides, and a regex that does not compile
// says why and changes nothing.
func TestFilterKeepsHidesAndRefusesABadRegex(t *testing.T) {
	e := setup(t, 1000, 160, 30)
	f := e.open(t, "prod/api")
	for i := range 10 {
		text := Access(i)
		if i%3 == 0 {
			text = Error(i)
		}
		e.send(t, f, Text("api-1", "app", i, text))
	}
	e.m.SetFilter("level=error")
	if got := len(e.m.Lines()); got != 4 {
		t.Fatalf("%d lines kept by level=error:\n%s", got, screen(e))
	}
	if !strings.Contains(screen(e), "/level=error 4 of 10") {
		t.Fatalf("the header does not say the filter:\n%s", screen(e))
	}
	// New lines go through the filter too.
	e.send(t, f, Text("api-1", "app", 10, Error(10)), Text("api-1", "app", 11, Access(11)))
	if got := len(e.m.Lines()); got != 5 {
		t.Fatalf("%d lines after two more", got)
	}
	e.m.SetFilter("level=(")
	if got := len(e.m.Lines()); got != 5 || e.m.Filter() != "level=error" {
		t.Fatalf("a bad regex changed the view: %d lines, filter %q", got, e.m.Filter())
	}
	if s := screen(e); !strings.Contains(s, `include "level=(" is not a valid regular expression: missing closing ) in`) || !strings.Contains(s, "the filter is unchanged") {
		t.Fatalf("no clear message:\n%s", s)
	}
	e.m.SetFilter("!level=error")
	if got := len(e.m.Lines()); got != 7 || strings.Contains(screen(e), "not a valid") {
		t.Fatalf("%d lines without the errors:\n%s", got, screen(e))
	}
	e.m.SetFilter("orders !level=error")
	if got := len(e.m.Lines()); got != 7 {
		t.Fatalf("%d lines with orders and not errors", got)
	}
	e.m.SetFilter("")
	if got := len(e.m.Lines()); got != 12 {
		t.Fatalf("%d lines unfiltered", got)
	}
	// e keeps the error lines.
	e.Press("e")
	if got := len(e.m.Lines()); got != 5 || !strings.Contains(screen(e), "errors 5 of 12") {
		t.Fatalf("%d error lines:\n%s", got, screen(e))
	}
	// With a filter, both apply.
	e.m.SetFilter("1010")
	if got := len(e.m.Lines()); got != 1 || !strings.Contains(screen(e), "/1010 errors 1 of 12") {
		t.Fatalf("%d error lines with 1010:\n%s", got, screen(e))
	}
	e.m.SetFilter("")
	e.Press("e")
	if got := len(e.m.Lines()); got != 12 {
		t.Fatalf("e again leaves %d lines", got)
	}
}

// TestTheBufferIsBoundedAndSaysWhatItDropped: a buffer of 100 lines given
// 150 holds the newest 100 and counts 50 dropped, filtered or not.
func TestTheBufferIsBoundedAndSaysWhatItDropped(t *testing.T) {
	e := setup(t, 100, 100, 10)
	f := e.open(t, "prod/api")
	e.m.SetFilter("level=error")
	var lines []oplogs.Line
	for i := range 150 {
		text := Access(i)
		if i%2 == 0 {
			text = Error(i)
		}
		lines = append(lines, Text("api-1", "app", i, text))
	}
	e.send(t, f, lines...)
	if st := e.m.Status(); st != "100/100 lines · 50 dropped" {
		t.Fatalf("status %q", st)
	}
	got := e.m.Lines()
	if len(got) != 50 || !strings.Contains(got[0], "/api/orders/1050 ") || !strings.Contains(got[49], "/api/orders/1148 ") {
		t.Fatalf("%d lines kept, from %q", len(got), got[0])
	}
	e.m.SetFilter("")
	if got := e.m.Lines(); len(got) != 100 || !strings.Contains(got[0], "/api/orders/1050 ") {
		t.Fatalf("%d lines unfiltered", len(got))
	}
	// The errors key's marks follow the ring: 30 more lines, all access
	// lines, take the place of old ones, errors among them.
	lines = lines[:0]
	for i := 150; i < 180; i++ {
		lines = append(lines, Text("api-1", "app", i, Access(i)))
	}
	e.send(t, f, lines...)
	e.Press("e")
	if got := e.m.Lines(); len(got) != 35 || !strings.Contains(got[0], "/api/orders/1080 ") || !strings.Contains(got[34], "/api/orders/1148 ") {
		t.Fatalf("%d error lines after the ring turned: %q", len(got), got)
	}
}

// TestAPIDownSaysSoAndResumes: an interrupted stream's error shows at the
// top with the time of its last data until that stream gives lines again.
func TestAPIDownSaysSoAndResumes(t *testing.T) {
	e := setup(t, 100, 200, 10)
	f := e.open(t, "prod/api")
	e.send(t, f, Added("api-1", "app"), Text("api-1", "app", 1, Access(1)), Failed("api-1", "app", "14:02:31"))
	s := screen(e)
	if !strings.Contains(strings.Split(s, "\n")[1], "✖ log of api-1/app interrupted") || !strings.Contains(s, "(last data at 14:02:31); retrying") {
		t.Fatalf("the outage is not said at the top:\n%s", s)
	}
	e.send(t, f, Text("api-1", "app", 2, Access(2)))
	if s = screen(e); strings.Contains(strings.Split(s, "\n")[1], "✖") {
		t.Fatalf("the outage is still said after new data:\n%s", s)
	}
	if !strings.Contains(s, "! log of api-1/app interrupted") {
		t.Fatalf("the error line left the log:\n%s", s)
	}
}

// TestOneFollowAtATime: a new target ends the follow of the last and
// empties the buffer; esc after a jump ends the follow, releases the
// buffer and goes back.
func TestOneFollowAtATime(t *testing.T) {
	e := setup(t, 100, 100, 10)
	first := e.open(t, "prod/api")
	e.send(t, first, Text("api-1", "app", 1, "from api"))
	second := e.open(t, "dev/web/web-1/nginx")
	if first.Ctx.Err() == nil || e.src.Live() != 1 {
		t.Fatalf("the first follow goes on: %d live", e.src.Live())
	}
	if second.Q.Pod != "web-1" || second.Q.Container != "nginx" || second.W.Name != "web" {
		t.Fatalf("second follow %+v %+v", second.W, second.Q)
	}
	if e.m.Buffer().Len() != 0 || strings.Contains(screen(e), "from api") {
		t.Fatalf("the first target's lines stay:\n%s", screen(e))
	}
	cmd := e.m.Update(uitest.Key("esc"))
	if cmd == nil {
		t.Fatal("esc after a jump does not go back")
	}
	if _, ok := cmd().(common.BackMsg); !ok {
		t.Fatal("esc after a jump does not go back")
	}
	if second.Ctx.Err() == nil || e.src.Live() != 0 || e.m.Buffer() != nil {
		t.Fatal("closing the view leaves the follow or the buffer")
	}
	if _, open := e.m.Target(); open || !strings.Contains(screen(e), "No logs open") {
		t.Fatalf("closed view:\n%s", screen(e))
	}
	// A follow that answers after the view closed is ended at once.
	e.open(t, "prod/api")
	e.m.closeView()
	e.Drive(nil)
	if e.src.Live() != 0 {
		t.Fatal("a follow outlives the view")
	}
}

// TestStaleFollowIsEnded: a follow started for a target the view left
// before it answered is ended when it answers.
func TestStaleFollowIsEnded(t *testing.T) {
	e := setup(t, 100, 100, 10)
	a := e.m.Open(Target{Env: "prod", App: "api"})
	b := e.m.Open(Target{Env: "prod", App: "web"})
	e.Drive(tea.Batch(a, b))
	if n := len(e.src.Follows()); n != 2 || e.src.Live() != 1 {
		t.Fatalf("%d follows, %d live", n, e.src.Live())
	}
	if e.src.Last(t).W.Name == "api" && e.src.Last(t).Ctx.Err() == nil {
		t.Fatal("api's follow is the live one")
	}
}

// TestSinceAndPrevious: d asks how far back, P reads the previous
// containers whole; each restarts the follow, a bad duration changes
// nothing.
func TestSinceAndPrevious(t *testing.T) {
	e := setup(t, 100, 100, 10)
	f := e.open(t, "prod/api")
	e.send(t, f, Text("api-1", "app", 1, "old"))
	e.Press("d")
	e.Type("5m")
	e.Press("enter")
	e.waitFor(t, "the follow since 5m", func() bool { return e.src.Last(t).Q.Since == 5*time.Minute })
	if f.Ctx.Err() == nil || strings.Contains(screen(e), "old") || !strings.Contains(screen(e), "since 5m") {
		t.Fatalf("the follow since 15m goes on:\n%s", screen(e))
	}
	n := len(e.src.Follows())
	e.Press("d")
	e.Type("soon")
	e.Press("enter")
	if toast, _ := last[common.ToastMsg](e); !strings.Contains(toast.Text, `"soon" is not a duration`) || len(e.src.Follows()) != n {
		t.Fatalf("a bad duration: %q, %d follows", toast.Text, len(e.src.Follows()))
	}
	e.Press("P")
	e.waitFor(t, "the previous containers", func() bool { return e.src.Last(t).Q.Previous })
	if q := e.src.Last(t).Q; q.Follow {
		t.Fatalf("the previous containers are followed: %+v", q)
	}
	prev := e.src.Last(t)
	e.send(t, prev, Text("api-1", "app", 1, "panic: crash"))
	if !strings.Contains(screen(e), "previous containers") || !strings.Contains(screen(e), "panic: crash") {
		t.Fatalf("previous:\n%s", screen(e))
	}
}

// TestWrap: w wraps a long line into rows instead of cutting it.
func TestWrap(t *testing.T) {
	e := setup(t, 100, 40, 10)
	f := e.open(t, "prod/api")
	e.Press("p")
	e.send(t, f, Text("api-1", "app", 1, strings.Repeat("a", 50)+"TAIL"))
	if strings.Contains(screen(e), "TAIL") {
		t.Fatalf("the line is not cut:\n%s", screen(e))
	}
	e.Press("w")
	if !strings.Contains(screen(e), "aaaaaaaaaaTAIL") {
		t.Fatalf("the line is not wrapped:\n%s", screen(e))
	}
	if err := uitest.Fits(e.m.View(), 40, 10); err != nil {
		t.Fatal(err)
	}
	// A huge line is drawn in part.
	e.send(t, f, Text("api-1", "app", 2, strings.Repeat("x", 1<<20)))
	if s := screen(e); !strings.Contains(s, "… (1,032,192 byt") || strings.Count(s, "\n") != 9 {
		t.Fatalf("a 1 MB line:\n%s", s)
	}
	e.Press("w")
	if s := screen(e); strings.Contains(s, "more)") || strings.Count(s, "xxxx…") != 1 {
		t.Fatalf("a 1 MB line, cut:\n%s", s)
	}
}

// TestSaveWritesTheShownLines: s writes the lines the filter keeps, as
// drawn, to ENV-APP-TIME.log under XDG_STATE_HOME/vigil/excerpts.
func TestSaveWritesTheShownLines(t *testing.T) {
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	e := setup(t, 100, 100, 10)
	f := e.open(t, "prod/api")
	e.send(t, f, Text("api-1", "app", 1, Access(1)), Text("api-2", "app", 2, Error(2)), Text("api-1", "app", 3, Access(3)))
	e.m.SetFilter("level=error")
	e.Press("s")
	toast, _ := last[common.ToastMsg](e)
	path := filepath.Join(state, "vigil", "excerpts", "prod-api-"+t0.UTC().Format("20060102T150405Z")+".log")
	if toast.Text != "saved 1 lines to "+path {
		t.Fatalf("toast %q", toast.Text)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "api-2 app "+Error(2)+"\n" {
		t.Fatalf("saved %q", b)
	}
	// Under vigil serve the file would be the bastion's: refused.
	e.ctx.Actor.Source = "ssh"
	e.Press("s")
	if toast, _ := last[common.ToastMsg](e); !strings.Contains(toast.Text, "for the local console") {
		t.Fatalf("save over ssh: %q", toast.Text)
	}
}

// TestCopyTheLinesOnScreen: c puts the lines drawn now, as drawn without
// colour, on the clipboard with OSC 52: the page shown when paused, the
// tail when following, what the filter keeps; a page larger than 64 kB
// is cut at a line and says so.
func TestCopyTheLinesOnScreen(t *testing.T) {
	e := setup(t, 100, 100, 6)
	f := e.open(t, "prod/api")
	for i := 1; i <= 20; i++ {
		e.send(t, f, Text("api-1", "app", i, Access(i)))
	}
	rows := e.m.bodyRows()
	e.Press("c")
	clip, _ := last[uitest.Clipboard](e)
	want := ""
	for i := 21 - rows; i <= 20; i++ {
		want += "api-1 app " + Access(i) + "\n"
	}
	if string(clip) != want {
		t.Fatalf("following, copied %q, want the last %d lines %q", clip, rows, want)
	}
	if toast, _ := last[common.ToastMsg](e); toast.Text != fmt.Sprintf("copied %d lines to the clipboard (OSC 52: the terminal must allow it)", rows) {
		t.Fatalf("toast %q", toast.Text)
	}
	e.Press("g", "c")
	if clip, _ := last[uitest.Clipboard](e); !strings.HasPrefix(string(clip), "api-1 app "+Access(1)+"\n") || strings.Count(string(clip), "\n") != rows {
		t.Fatalf("at the top, copied %q", clip)
	}
	e.m.SetFilter("level=error")
	e.Press("c")
	if toast, _ := last[common.ToastMsg](e); toast.Text != "nothing to copy: no line is shown" {
		t.Fatalf("nothing shown: %q", toast.Text)
	}
	e.m.SetFilter("")
	e.Press("G")
	for i := 21; i <= 30; i++ {
		e.send(t, f, Text("api-1", "app", i, strings.Repeat("y", 20<<10)))
	}
	e.Press("c")
	if clip, _ := last[uitest.Clipboard](e); len(clip) > copyLimit || strings.Count(string(clip), "\n") != 3 {
		t.Fatalf("copied %d bytes in %d lines", len(clip), strings.Count(string(clip), "\n"))
	}
	if toast, _ := last[common.ToastMsg](e); toast.Text != fmt.Sprintf("copied the first 3 of %d lines to the clipboard (64 kB at most; OSC 52: the terminal must allow it)", rows) {
		t.Fatalf("toast %q", toast.Text)
	}
}

// TestBadTargets: a target that names no workload, or one the service
// does not know, says so.
func TestBadTargets(t *testing.T) {
	e := setup(t, 100, 100, 10)
	e.jump("api")
	if toast, _ := last[common.ToastMsg](e); !strings.Contains(toast.Text, "name a workload as ENV/APP") {
		t.Fatalf("toast %q", toast.Text)
	}
	e.jump("prod/missing")
	if s := screen(e); !strings.Contains(s, `cannot follow prod/missing: deployment "missing" not found in shop-prod`) {
		t.Fatalf("no error:\n%s", s)
	}
	e.jump("qa/api")
	if s := screen(e); !strings.Contains(s, `no environment "qa"`) {
		t.Fatalf("no error:\n%s", s)
	}
}

// TestFitsEverySize: the view keeps to its cells from 20x5 up.
func TestFitsEverySize(t *testing.T) {
	for _, size := range [][2]int{{20, 5}, {80, 24}, {120, 40}} {
		e := setup(t, 100, size[0], size[1])
		f := e.open(t, "prod/api")
		e.send(t, f, Added("api-7669c8588-bl6q8", "app"), Text("api-7669c8588-bl6q8", "app", 1, Error(1)), Failed("api-7669c8588-bl6q8", "app", "14:02:31"))
		e.m.SetFilter("(")
		for _, k := range []string{"", "w", "t", "f", "d"} {
			if k != "" {
				e.Press(k)
			}
			if err := uitest.Fits(e.m.View(), size[0], size[1]); err != nil {
				t.Fatalf("after %q: %v", k, err)
			}
		}
	}
}

// TestAlertTime: opened from an alert, a pauses the view on the first line
// at or after the alert's start; the header says that time.
func TestAlertTime(t *testing.T) {
	e := setup(t, 1000, 100, 10)
	at := t0.Add(2 * time.Second)
	f := e.open(t, "prod/api@"+at.Format(time.RFC3339))
	if f.W.Name != "api" {
		t.Fatalf("follow of %+v", f.W)
	}
	var lines []oplogs.Line
	for i := range 500 {
		lines = append(lines, Text("api-1", "app", i, Access(i)))
	}
	e.send(t, f, lines...)
	if s := screen(e); !strings.Contains(s, "alert "+at.Format(time.TimeOnly)+" (a)") {
		t.Fatalf("no alert time in the header:\n%s", s)
	}
	e.Press("a")
	if on, _ := e.m.Following(); on || !strings.Contains(strings.Split(screen(e), "\n")[1], "/api/orders/1200 ") {
		t.Fatalf("a does not show the alert's lines (following %v):\n%s", on, screen(e))
	}
	// Without an alert, a says so.
	e.open(t, "prod/api")
	e.Press("a")
	if toast, _ := last[common.ToastMsg](e); !strings.Contains(toast.Text, "not opened from an alert") {
		t.Fatalf("a without an alert: %q", toast.Text)
	}
	// An alert older than the oldest line held.
	f = e.open(t, "prod/api@"+t0.Add(-time.Hour).Format(time.RFC3339))
	e.send(t, f, lines[:20]...)
	e.Press("a")
	if toast, _ := last[common.ToastMsg](e); !strings.Contains(toast.Text, "before the oldest line held: d reads further back") {
		t.Fatalf("an old alert: %q", toast.Text)
	}
	e.jump("prod/api@yesterday")
	if toast, _ := last[common.ToastMsg](e); !strings.Contains(toast.Text, "not RFC 3339") {
		t.Fatalf("a bad time: %q", toast.Text)
	}
}
