package logs

import (
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	oplogs "github.com/vigilops/vigil/ops/logs"
	"github.com/vigilops/vigil/ui/uitest"
)

// perFrame is what a follow of 2,000 lines a second brings in one frame
// at 60 frames a second.
const perFrame = 2000 / 60

// benchLines are n lines of three pods as the lab's api prints them under
// a bad release: access lines, a fifth of them failed with their error.
func benchLines(n int) []oplogs.Line {
	pods := []string{"api-7669c8588-bl6q8", "api-7669c8588-lr5j7", "api-7669c8588-nkjfz"}
	out := make([]oplogs.Line, n)
	for i := range out {
		text := Access(i)
		if i%5 == 4 {
			text = Error(i)
		}
		out[i] = oplogs.Line{Pod: pods[i%3], Container: "app", Time: t0.Add(time.Duration(i) * 500 * time.Microsecond), Text: strings.Clone(text)}
	}
	return out
}

// fullView is a view at 120x40 following prod/api whose buffer of 50,000
// lines is full, as after 25 s of 2,000 lines a second.
func fullView(b *testing.B, filter string) (*env, []oplogs.Line) {
	e := setup(b, oplogs.DefaultCapacity, 118, 36) // the pane's cells in a 120x40 terminal
	e.open(b, "prod/api")
	lines := benchLines(oplogs.DefaultCapacity + 10*perFrame*60)
	if filter == "e" {
		e.m.errorsOnly = true
		e.m.refilter()
	} else {
		e.m.SetFilter(filter)
	}
	gen := e.m.gen
	for i := 0; i < oplogs.DefaultCapacity; i += 1000 {
		e.m.Update(linesMsg{gen: gen, lines: lines[i : i+1000]})
	}
	e.m.View()
	return e, lines[oplogs.DefaultCapacity:]
}

// BenchmarkFrame is one frame of a follow of 2,000 lines a second: the
// frame's 33 lines into a full buffer (as many dropped), then the view
// drawn. Divided by 33, the cost of a line.
func BenchmarkFrame(b *testing.B) {
	for _, c := range []struct{ name, filter string }{{"all", ""}, {"errors", "e"}, {"regex", "level=error"}} {
		b.Run(c.name, func(b *testing.B) {
			e, more := fullView(b, c.filter)
			gen, i := e.m.gen, 0
			for b.Loop() {
				if i+perFrame > len(more) {
					i = 0
				}
				e.m.Update(linesMsg{gen: gen, lines: more[i : i+perFrame]})
				_ = e.m.View()
				i += perFrame
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/perFrame, "ns/line")
		})
	}
}

// BenchmarkKeypress is a key's cost while the lines come: each op is a
// frame's lines, then a key and the frame it draws: scrolling (up, up,
// down, to the newest), pausing and following again, wrap on and off, the
// errors key on and off (the 50,000 lines filtered again each time).
// p99-ms and max-ms are of the key and its frame.
func BenchmarkKeypress(b *testing.B) {
	for _, c := range []struct{ name, keys string }{
		{"scroll", "k k j G"}, {"pause", "f f"}, {"wrap", "w w"}, {"errors", "e e"},
	} {
		b.Run(c.name, func(b *testing.B) {
			e, more := fullView(b, "")
			var keys []tea.KeyPressMsg
			for _, k := range strings.Fields(c.keys) {
				keys = append(keys, uitest.Key(k))
			}
			gen, i, k := e.m.gen, 0, 0
			var took []time.Duration
			for b.Loop() {
				if i+perFrame > len(more) {
					i = 0
				}
				e.m.Update(linesMsg{gen: gen, lines: more[i : i+perFrame]})
				i += perFrame
				start := time.Now()
				e.m.Update(keys[k%len(keys)])
				_ = e.m.View()
				took = append(took, time.Since(start))
				k++
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "max-ms")
		})
	}
}

// TestViewMemory: a view holding 50,000 lab-like lines takes at most
// 60 MB, and gives it back when it closes.
func TestViewMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap")
	}
	e := setup(t, oplogs.DefaultCapacity, 118, 36)
	e.open(t, "prod/api")
	before := heapInUse()
	// The lines' texts are the view's own, as a stream's reader makes them.
	lines := benchLines(oplogs.DefaultCapacity)
	gen := e.m.gen
	for i := 0; i < len(lines); i += 1000 {
		e.m.Update(linesMsg{gen: gen, lines: lines[i : i+1000]})
	}
	e.m.View()
	lines = nil
	held := int64(heapInUse()) - int64(before)
	t.Logf("a view of 50,000 lines holds %.1f MB", float64(held)/(1<<20))
	if held > 60<<20 {
		t.Fatalf("%d MB for 50,000 lines", held>>20)
	}
	e.m.closeView()
	if after := int64(heapInUse()) - int64(before); after > held/10 {
		t.Fatalf("%.1f MB held after the view closed", float64(after)/(1<<20))
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
