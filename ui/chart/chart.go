// Package chart draws line charts in braille for the terminal: each cell
// holds 2×4 dots, so a 60-cell-wide chart shows 120 points across.
//
// It is written here because the charting library that fits terminals
// (github.com/NimbleMarkets/ntcharts, v0.4.0) is built on Bubble Tea and
// Lip Gloss v1, not on the v2 stack vigil uses.
package chart

import (
	"math"
	"strconv"
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// Point is one value of a series at X (for vigil, Unix seconds).
type Point struct{ X, Y float64 }

// Options says what to draw and in how many cells.
type Options struct {
	// Width and Height are the cells of the whole chart, axes and labels
	// included. Too small a size draws nothing.
	Width, Height int
	// XMin and XMax are the ends of the X axis.
	XMin, XMax float64
	// Gap is the longest X distance between two points that a line joins;
	// further apart, the series has a hole there. Zero joins every point.
	Gap float64
	// Threshold, when set, is drawn as a dashed line and kept in the Y range.
	Threshold *float64
	// Markers are X positions marked ▲ on the X axis.
	Markers []float64
	// Spans are X ranges shaded on the X axis (━), such as when a rule
	// would have fired; a marker wins over a span.
	Spans []Span
	// XLabel formats the labels at both ends of the X axis.
	XLabel func(x float64) string
}

// Span is a range of X, From to To inclusive.
type Span struct{ From, To float64 }

// Chart is a drawn chart: Plot rows, then the axis, then the labels.
type Chart struct {
	// Lines are the chart, each exactly Options.Width cells wide.
	Lines []string
	// YMin and YMax are the ends of the Y axis.
	YMin, YMax float64
	// PlotLeft is the column where the plot area starts.
	PlotLeft int
	// SpanCols are, for each span of Options.Spans within the X range,
	// its first and last cell on the axis row (Lines[len-2]), counted
	// from the start of the line: where a caller colours it.
	SpanCols [][2]int
}

// brailleBit is the bit of the dot at column x (0–1), row y (0–3) of a cell.
var brailleBit = [2][4]rune{{0x01, 0x02, 0x04, 0x40}, {0x08, 0x10, 0x20, 0x80}}

// Canvas is a grid of braille dots, w×h cells.
type Canvas struct {
	w, h  int
	cells []rune // dot bits per cell, row-major
}

// NewCanvas returns an empty canvas of w×h cells (2w×4h dots).
func NewCanvas(w, h int) *Canvas {
	return &Canvas{w: w, h: h, cells: make([]rune, w*h)}
}

// Set lights the dot at (x, y), y growing downwards; outside, it does nothing.
func (c *Canvas) Set(x, y int) {
	if x < 0 || y < 0 || x >= 2*c.w || y >= 4*c.h {
		return
	}
	c.cells[(y/4)*c.w+x/2] |= brailleBit[x%2][y%4]
}

// Line lights the dots from (x0, y0) to (x1, y1) (Bresenham).
func (c *Canvas) Line(x0, y0, x1, y1 int) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	err := dx + dy
	for {
		c.Set(x0, y0)
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * err
		if e2 >= dy {
			err += dy
			x0 += sx
		}
		if e2 <= dx {
			err += dx
			y0 += sy
		}
	}
}

// Empty reports whether no dot of cell (col, row) is lit.
func (c *Canvas) Empty(col, row int) bool { return c.cells[row*c.w+col] == 0 }

// Row returns row of cells as braille characters, blank where no dot is lit.
func (c *Canvas) Row(row int) string {
	var b strings.Builder
	for _, bits := range c.cells[row*c.w : (row+1)*c.w] {
		if bits == 0 {
			b.WriteByte(' ')
		} else {
			b.WriteRune(0x2800 + bits)
		}
	}
	return b.String()
}

// Draw draws series in the cells of o. Series with no point are skipped;
// with no point at all, the Y axis spans 0 to 1.
func Draw(series [][]Point, o Options) Chart {
	ymin, ymax := math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for _, p := range s {
			if !math.IsNaN(p.Y) && !math.IsInf(p.Y, 0) {
				ymin, ymax = min(ymin, p.Y), max(ymax, p.Y)
			}
		}
	}
	if t := o.Threshold; t != nil {
		ymin, ymax = min(ymin, *t), max(ymax, *t)
	}
	switch {
	case math.IsInf(ymin, 1):
		ymin, ymax = 0, 1
	case ymin == ymax:
		pad := math.Max(math.Abs(ymin)*0.1, 1)
		ymin, ymax = ymin-pad, ymax+pad
	}
	ch := Chart{YMin: ymin, YMax: ymax}

	top, bottom := Label(ymax), Label(ymin)
	lw := max(ansi.StringWidth(top), ansi.StringWidth(bottom))
	plotH := o.Height - 2 // the axis and its labels
	plotW := o.Width - lw - 1
	if plotH < 1 || plotW < 2 || o.XMax <= o.XMin {
		return ch
	}
	ch.PlotLeft = lw + 1

	c := NewCanvas(plotW, plotH)
	dotsW, dotsH := 2*plotW-1, 4*plotH-1
	px := func(x float64) int { return int(math.Round((x - o.XMin) / (o.XMax - o.XMin) * float64(dotsW))) }
	py := func(y float64) int { return int(math.Round((ymax - y) / (ymax - ymin) * float64(dotsH))) }
	for _, s := range series {
		havePrev := false
		var prev Point
		for _, p := range s {
			if math.IsNaN(p.Y) || math.IsInf(p.Y, 0) {
				havePrev = false
				continue
			}
			if havePrev && (o.Gap <= 0 || p.X-prev.X <= o.Gap) {
				c.Line(px(prev.X), py(prev.Y), px(p.X), py(p.Y))
			} else {
				c.Set(px(p.X), py(p.Y))
			}
			prev, havePrev = p, true
		}
	}

	thRow := -1
	if t := o.Threshold; t != nil {
		thRow = py(*t) / 4
	}
	for row := range plotH {
		label := ""
		switch row {
		case 0:
			label = top
		case plotH - 1:
			label = bottom
		}
		line := c.Row(row)
		if row == thRow {
			// The dashes go where no dot is, so the series stays readable.
			r := []rune(line)
			for i := range r {
				if r[i] == ' ' {
					r[i] = '┄'
				}
			}
			line = string(r)
		}
		ch.Lines = append(ch.Lines, pad(label, lw)+"┤"+line)
	}

	axis := []rune(strings.Repeat("─", plotW))
	for _, sp := range o.Spans {
		from, to := max(sp.From, o.XMin), min(sp.To, o.XMax)
		if from > to {
			continue
		}
		a, b := px(from)/2, px(to)/2
		for i := a; i <= b; i++ {
			axis[i] = '━'
		}
		ch.SpanCols = append(ch.SpanCols, [2]int{ch.PlotLeft + a, ch.PlotLeft + b})
	}
	for _, m := range o.Markers {
		if m >= o.XMin && m <= o.XMax {
			axis[px(m)/2] = '▲'
		}
	}
	ch.Lines = append(ch.Lines, strings.Repeat(" ", lw)+"└"+string(axis))

	labels := ""
	if o.XLabel != nil {
		l, r := o.XLabel(o.XMin), o.XLabel(o.XMax)
		if gap := plotW - ansi.StringWidth(l) - ansi.StringWidth(r); gap >= 1 {
			labels = l + strings.Repeat(" ", gap) + r
		}
	}
	ch.Lines = append(ch.Lines, strings.Repeat(" ", lw+1)+pad(labels, plotW))
	return ch
}

// Label formats a value of the Y axis in at most about six cells: 0.25,
// 1.5k, 3.2M.
func Label(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e9:
		return trim(v/1e9) + "G"
	case a >= 1e6:
		return trim(v/1e6) + "M"
	case a >= 1e3:
		return trim(v/1e3) + "k"
	}
	return trim(v)
}

// trim prints v with three significant digits, without trailing zeros.
func trim(v float64) string {
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func pad(s string, w int) string {
	if sw := ansi.StringWidth(s); sw < w {
		return strings.Repeat(" ", w-sw) + s
	}
	return s
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func sign(x int) int {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}
