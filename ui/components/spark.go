package components

import (
	"math"
	"strings"
)

// sparkBlocks are the eight heights of a sparkline's cells.
var sparkBlocks = []rune("▁▂▃▄▅▆▇█")

// Spark draws values as a one-line sparkline, a cell each, scaled from lo
// (the lowest block) to hi (the highest); a NaN value is a gap (a blank
// cell), as when a host was not scraped. With hi ≤ lo, the values' own
// maximum is the top. A few lines, no library: the chart libraries of the
// v2 stack draw boxes, not one line.
func Spark(values []float64, lo, hi float64) string {
	if hi <= lo {
		hi = math.Inf(-1)
		for _, v := range values {
			if !math.IsNaN(v) {
				hi = max(hi, v)
			}
		}
		if hi <= lo {
			hi = lo + 1
		}
	}
	var b strings.Builder
	top := len(sparkBlocks) - 1
	for _, v := range values {
		if math.IsNaN(v) {
			b.WriteByte(' ')
			continue
		}
		i := int(math.Round((v - lo) / (hi - lo) * float64(top)))
		b.WriteRune(sparkBlocks[max(min(i, top), 0)])
	}
	return b.String()
}
