package kubernetes_test

import (
	"context"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/vigilops/vigil/ops/logs"
)

// BenchmarkFollowChattyOnTheLab follows, for 30 s, a workload of three
// pods that log 2,000 lines a second in all (the lab's "chatty" tag: its
// files rotate every 20 s or so), from kwok through the API server into a
// view's buffer of 50,000 lines: the lines received a second, the lag from
// a line's time to its arrival (p50, p99), the CPU this process used, the
// heap once the buffer is full, and the lines missed (a container's lines
// more than a second apart).
func BenchmarkFollowChattyOnTheLab(b *testing.B) {
	kubeconfig := lab(b)
	for b.Loop() {
		b.StopTimer()
		f := newFixture(b, kubeconfig, "dev")
		f.deploy("dev", "api", "1.0.0-chatty", 3)
		f.start()
		f.waitHealthy("dev", "api", "1.0.0-chatty")
		before := heapInUse()
		b.StartTimer()

		ctx, cancel := context.WithCancel(f.ctx)
		ch, err := f.client.Follow(ctx, logs.Workload{Namespace: f.env("dev").Namespace, Name: "api"}, logs.Query{Follow: true, Since: time.Second})
		if err != nil {
			b.Fatal(err)
		}
		buf := logs.NewBuffer(0)
		var lags []time.Duration
		last := map[string]time.Time{}
		var gaps, n int
		perPod := map[string]int{}
		cpu0 := cpuTime()
		start := time.Now()
		deadline := time.After(30 * time.Second)
	read:
		for {
			select {
			case l := <-ch:
				if l.Kind != logs.KindLine {
					buf.Append(l)
					continue
				}
				now := time.Now()
				buf.Append(l)
				n++
				if n%20 == 0 {
					lags = append(lags, now.Sub(l.Time))
				}
				k := l.Pod + "/" + l.Container
				perPod[k]++
				if p := last[k]; !p.IsZero() && l.Time.Sub(p) > time.Second {
					gaps++
				}
				last[k] = l.Time
			case <-deadline:
				break read
			}
		}
		elapsed := time.Since(start)
		cpu := cpuTime() - cpu0
		held := heapInUse()
		cancel()
		for range ch {
		}
		slices.Sort(lags)
		b.Logf("lines per container: %v; events: %v", perPod, events(buf))
		b.ReportMetric(float64(n)/elapsed.Seconds(), "lines/s")
		b.ReportMetric(float64(lags[len(lags)/2].Milliseconds()), "ms-lag-p50")
		b.ReportMetric(float64(lags[len(lags)*99/100].Milliseconds()), "ms-lag-p99")
		b.ReportMetric(float64(cpu)/float64(elapsed)*100, "%-core")
		b.ReportMetric((float64(held)-float64(before))/(1<<20), "MB-heap@50000")
		b.ReportMetric(float64(buf.Dropped()), "dropped")
		b.ReportMetric(float64(gaps), "gaps")
		runtime.KeepAlive(buf)
	}
}

func events(buf *logs.Buffer) []string {
	var out []string
	buf.Lines(0, buf.Len(), func(_ int, l logs.Line) bool {
		if l.Kind != logs.KindLine {
			out = append(out, l.Kind.String()+" "+l.Text)
		}
		return true
	})
	return out
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
