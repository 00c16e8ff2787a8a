package chart

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

func TestCanvasDots(t *testing.T) {
	c := NewCanvas(2, 1)
	c.Set(0, 0) // top-left dot of cell 0
	c.Set(3, 3) // bottom-right dot of cell 1
	c.Set(9, 9) // outside: ignored
	if got := c.Row(0); got != "\u2801\u2880" {
		t.Fatalf("row %q (%U)", got, []rune(got))
	}
	c = NewCanvas(1, 1)
	c.Line(0, 3, 1, 0) // a rising diagonal lights the whole cell's edge path
	if got := []rune(c.Row(0))[0]; got != 0x2800+0x40+0x04+0x10+0x08 && got != 0x2800+0x40+0x04+0x20+0x08 && got != 0x2800+0x40+0x02+0x10+0x08 {
		t.Fatalf("diagonal %U", got)
	}
}

// TestDrawKnownSeries checks where known data lands: a step from 0 to 10
// halfway, its threshold, a marker, the labels and the width of every line.
func TestDrawKnownSeries(t *testing.T) {
	th := 5.0
	var pts []Point
	for x := 0; x <= 10; x++ {
		y := 0.0
		if x > 5 {
			y = 10
		}
		pts = append(pts, Point{float64(x), y})
	}
	ch := Draw([][]Point{pts}, Options{Width: 14, Height: 6, XMin: 0, XMax: 10, Threshold: &th,
		Markers: []float64{10}, XLabel: func(x float64) string { return map[float64]string{0: "a", 10: "b"}[x] }})
	if ch.YMin != 0 || ch.YMax != 10 || len(ch.Lines) != 6 {
		t.Fatalf("y %v–%v, %d lines:\n%s", ch.YMin, ch.YMax, len(ch.Lines), strings.Join(ch.Lines, "\n"))
	}
	for i, l := range ch.Lines {
		if w := ansi.StringWidth(l); w != 14 {
			t.Errorf("line %d is %d wide: %q", i, w, l)
		}
	}
	plot := func(row int) []rune { return []rune(ch.Lines[row])[ch.PlotLeft:] }
	// 4 rows × 4 dots: y=10 is dot row 0 (cell row 0), y=0 dot row 15 (cell row 3).
	// x=0..5 fill the left half of the plot (11 cells × 2 dots, x scaled by 2.1).
	if !strings.HasPrefix(ch.Lines[0], "10┤") || !strings.HasPrefix(ch.Lines[3], " 0┤") {
		t.Errorf("y labels:\n%s", strings.Join(ch.Lines, "\n"))
	}
	if r := plot(3)[0]; r != 0x2800+0x40+0x80 {
		t.Errorf("x=0,y=0 is %U, want the bottom dots of the first cell", r)
	}
	if r := plot(0)[10]; r != 0x2800+0x01+0x08 {
		t.Errorf("x=10,y=10 is %U, want the top dots of the last cell", r)
	}
	if plot(1)[0] != '┄' && plot(2)[0] != '┄' {
		t.Errorf("no threshold dashes at y=5:\n%s", strings.Join(ch.Lines, "\n"))
	}
	if axis := ch.Lines[4]; !strings.HasSuffix(axis, "▲") || !strings.Contains(axis, "└") {
		t.Errorf("axis %q: want the marker at its right end", axis)
	}
	if l := ch.Lines[5]; strings.TrimSpace(l) != "a         b" {
		t.Errorf("x labels %q", l)
	}
}

func TestDrawGapsAndDegenerateInput(t *testing.T) {
	// Two points far apart are not joined when Gap says they are a hole.
	pts := []Point{{0, 1}, {10, 1}}
	joined := Draw([][]Point{pts}, Options{Width: 12, Height: 4, XMax: 10})
	holed := Draw([][]Point{pts}, Options{Width: 12, Height: 4, XMax: 10, Gap: 2})
	count := func(c Chart) int {
		n := 0
		for _, l := range c.Lines[:2] {
			for _, r := range []rune(l)[c.PlotLeft:] {
				if r >= 0x2801 && r <= 0x28ff {
					n++
				}
			}
		}
		return n
	}
	if count(joined) <= 2 || count(holed) != 2 {
		t.Fatalf("joined has %d cells lit, holed %d (want 2)", count(joined), count(holed))
	}
	// A flat series gets a range around it; no data at all gets 0–1.
	if c := Draw([][]Point{pts}, Options{Width: 12, Height: 4, XMax: 10}); c.YMin >= 1 || c.YMax <= 1 {
		t.Fatalf("flat series range %v–%v", c.YMin, c.YMax)
	}
	if c := Draw(nil, Options{Width: 12, Height: 4, XMax: 10}); c.YMin != 0 || c.YMax != 1 || len(c.Lines) != 4 {
		t.Fatalf("empty chart %v–%v, %d lines", c.YMin, c.YMax, len(c.Lines))
	}
	if c := Draw([][]Point{pts}, Options{Width: 3, Height: 2, XMax: 10}); len(c.Lines) != 0 {
		t.Fatalf("a chart too small to draw drew %q", c.Lines)
	}
}

func TestLabel(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 0.25: "0.25", 0.123456: "0.123", 1500: "1.5k", 1234: "1.23k", 3.2e6: "3.2M", -2e9: "-2G", 42: "42"} {
		if got := Label(v); got != want {
			t.Errorf("Label(%v) = %q, want %q", v, got, want)
		}
	}
}

// Spans shade the axis under their X range, clipped to the axis, markers
// on top, and say where they are for colouring.
func TestDrawSpans(t *testing.T) {
	pts := []Point{{0, 0}, {10, 1}}
	ch := Draw([][]Point{pts}, Options{Width: 13, Height: 4, XMin: 0, XMax: 10,
		Spans: []Span{{From: 5, To: 20}, {From: -3, To: 0}, {From: 11, To: 12}}, Markers: []float64{10}})
	axis := ch.Lines[len(ch.Lines)-2]
	// Label width 1 ("1", "0"), then └, then 11 cells: X 0–10 over dots 0–21.
	if want := " └━────━━━━━▲"; axis != want {
		t.Fatalf("axis %q, want %q", axis, want)
	}
	if len(ch.SpanCols) != 2 || ch.SpanCols[0] != [2]int{2 + 5, 2 + 10} || ch.SpanCols[1] != [2]int{2, 2} {
		t.Errorf("span columns %v", ch.SpanCols)
	}
	for _, l := range ch.Lines {
		if ansi.StringWidth(l) != 13 {
			t.Errorf("line %q is %d wide", l, ansi.StringWidth(l))
		}
	}
}
