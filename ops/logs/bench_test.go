package logs

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/internal/testclock"
	"github.com/vigilops/vigil/ops/release"
)

// labLine is a line as the lab's pods print them (lab/podlogs): about 70
// bytes, the length of a typical access log line.
func labLine(i int) string {
	return fmt.Sprintf(`10.0.%d.%d - - "GET /api/orders/%d HTTP/1.1" 200 %d %dms`, i%4, 2+i%250, 1000+i%9000, 200+i%4000, 5+i%60)
}

// fillLines makes n lines of three pods, each with a text of its own (as a
// stream's reader allocates them).
func fillLines(n int) []Line {
	pods := []string{"api-7669c8588-bl6q8", "api-7669c8588-lr5j7", "api-7669c8588-nkjfz"}
	at := testclock.Epoch()
	out := make([]Line, n)
	for i := range out {
		out[i] = Line{Pod: pods[i%3], Container: "api", Time: at.Add(time.Duration(i) * 500 * time.Microsecond), Text: strings.Clone(labLine(i))}
	}
	return out
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// BenchmarkBufferAppend: one line into a full buffer of 50,000 (the oldest
// dropped).
func BenchmarkBufferAppend(b *testing.B) {
	lines := fillLines(DefaultCapacity + 1000)
	buf := NewBuffer(0)
	for _, l := range lines[:DefaultCapacity] {
		buf.Append(l)
	}
	i := 0
	for b.Loop() {
		buf.Append(lines[i%len(lines)])
		i++
	}
}

// BenchmarkPipeline: lines of three pods through the service (include and
// exclude regexes) into a view's buffer, as a logs view follows them. At
// 2,000 lines a second the pipeline costs %-core@2000/s of one core.
func BenchmarkPipeline(b *testing.B) {
	lines := fillLines(20_000)
	src := &endless{lines: lines}
	svc := New(src, []release.Env{{Name: "prod", Namespace: "prod"}}, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := svc.Follow(ctx, Query{Env: "prod", App: "api", Follow: true, Include: `HTTP/1\.1" [25]00`, Exclude: "healthz"})
	if err != nil {
		b.Fatal(err)
	}
	buf := NewBuffer(0)
	start := time.Now()
	n := 0
	for b.Loop() {
		buf.Append(<-ch)
		n++
	}
	perLine := time.Since(start) / time.Duration(max(n, 1))
	b.ReportMetric(float64(perLine.Nanoseconds())*2000/1e9*100, "%-core@2000/s")
}

// endless plays its lines again and again until ctx ends.
type endless struct{ lines []Line }

func (e *endless) Follow(ctx context.Context, _ Workload, _ Query) (<-chan Line, error) {
	ch := make(chan Line, 256)
	go func() {
		defer close(ch)
		for i := 0; ; i++ {
			select {
			case ch <- e.lines[i%len(e.lines)]:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}

// BenchmarkMemory50000: the heap a view's buffer holds at 50,000 lines of
// the lab's pods (target ≤ 60 MB), and what is left after Reset.
func BenchmarkMemory50000(b *testing.B) {
	for b.Loop() {
		held, left := memory50000(b)
		b.ReportMetric(held/(1<<20), "MB@50000")
		b.ReportMetric(left/(1<<20), "MB-after-reset")
	}
}

func memory50000(tb testing.TB) (held, left float64) {
	tb.Helper()
	before := heapInUse()
	buf := NewBuffer(0)
	for _, l := range fillLines(DefaultCapacity + 10_000) {
		buf.Append(l)
	}
	if buf.Len() != DefaultCapacity || buf.Dropped() != 10_000 {
		tb.Fatalf("len %d dropped %d", buf.Len(), buf.Dropped())
	}
	full := heapInUse()
	buf.Reset()
	after := heapInUse()
	runtime.KeepAlive(buf)
	return float64(full) - float64(before), float64(after) - float64(before)
}

// TestMemory50000 keeps the buffer's heap at 50,000 lines within the
// issue's 60 MB, and checks Reset gives it back.
func TestMemory50000(t *testing.T) {
	held, left := memory50000(t)
	if held > 60<<20 {
		t.Fatalf("50,000 lines hold %.1f MB, over 60 MB", held/(1<<20))
	}
	if left > 1<<20 {
		t.Fatalf("%.1f MB still held after Reset", left/(1<<20))
	}
}
