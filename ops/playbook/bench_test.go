package playbook

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/ops/inventory"
)

// synthetic emits plays of tasks × hosts results, each with a stdout of
// outputBytes, then the recap.
type synthetic struct {
	plays, tasks, hosts, outputBytes int
	atEnd                            func() // called before the run returns
}

func (s synthetic) Run(ctx context.Context, spec Spec, emit func(Event)) error {
	recap := map[string]Recap{}
	for p := range s.plays {
		emit(Event{Kind: KindPlay, Play: fmt.Sprintf("play %d", p)})
		for t := range s.tasks {
			task := fmt.Sprintf("task %d", t)
			emit(Event{Kind: KindTask, Task: task, TaskID: task})
			for h := range s.hosts {
				host := fmt.Sprintf("h%02d", h)
				emit(Event{Kind: KindResult, Task: task, Host: host, Status: StatusChanged, Stdout: strings.Repeat("x", s.outputBytes)})
				r := recap[host]
				r.OK++
				r.Changed++
				recap[host] = r
			}
		}
	}
	emit(Event{Kind: KindStats, Recap: recap})
	if s.atEnd != nil {
		s.atEnd()
	}
	return nil
}

func fleetOf(n int) []inventory.Host {
	hs := make([]inventory.Host, n)
	for i := range hs {
		hs[i] = inventory.Host{ID: i, Name: fmt.Sprintf("h%02d", i), PublicIPv4: fmt.Sprintf("127.0.80.%d", i+2)}
	}
	return hs
}

func runOnce(tb testing.TB, svc *Service) Run {
	id, err := svc.Start(context.Background(), ops, Request{Playbook: "site.yml"})
	if err != nil {
		tb.Fatal(err)
	}
	select {
	case <-svc.Done(id):
	case <-time.After(time.Minute):
		tb.Fatal("run did not end")
	}
	r, _ := svc.Run(id)
	return r
}

func syntheticService(tb testing.TB, s synthetic) *Service {
	tb.Helper()
	f := setup(tb, &replay{})
	f.svc.runner = s
	f.svc.opt.Hosts = func() []inventory.Host { return fleetOf(s.hosts) }
	return f.svc
}

// BenchmarkRun50x20 streams a run of 50 hosts × 20 tasks (1,000 results of
// 1 KiB output) through the run model and the history.
func BenchmarkRun50x20(b *testing.B) {
	svc := syntheticService(b, synthetic{plays: 1, tasks: 20, hosts: 50, outputBytes: 1024})
	b.ReportAllocs()
	for b.Loop() {
		if r := runOnce(b, svc); r.Events != 1+20+20*50+1 {
			b.Fatalf("%d events", r.Events)
		}
	}
}

// BenchmarkProgress50 is what a pane pays per frame for a live 50-host run.
func BenchmarkProgress50(b *testing.B) {
	tr := newTracker(Run{}, nil, 20)
	synthetic{plays: 1, tasks: 20, hosts: 50, outputBytes: 1024}.Run(context.Background(), Spec{}, tr.apply)
	b.ReportAllocs()
	for b.Loop() {
		if p := tr.progress(); len(p.Hosts) != 50 {
			b.Fatal(len(p.Hosts))
		}
	}
}

// TestRunMemoryBounded: a run ten times longer does not hold more memory;
// its events are on disk.
func TestRunMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("measures memory over a long run")
	}
	heap := func(s synthetic) uint64 {
		var before, after runtime.MemStats
		// Measure while the run is still live, after its last event.
		s.atEnd = func() {
			runtime.GC()
			runtime.ReadMemStats(&after)
		}
		svc := syntheticService(t, s)
		runtime.GC()
		runtime.ReadMemStats(&before)
		id, err := svc.Start(context.Background(), ops, Request{Playbook: "site.yml"})
		if err != nil {
			t.Fatal(err)
		}
		<-svc.Done(id)
		r, _ := svc.Run(id)
		if want := s.plays*(1+s.tasks+s.tasks*s.hosts) + 1; r.Events != want {
			t.Fatalf("%d events, want %d", r.Events, want)
		}
		if all, _ := svc.Events(id, Filter{}, 0, 0); len(all) != r.Events {
			t.Fatalf("%d events on disk, want %d", len(all), r.Events)
		}
		return after.HeapAlloc - min(after.HeapAlloc, before.HeapAlloc)
	}
	short := heap(synthetic{plays: 1, tasks: 20, hosts: 50, outputBytes: 4096})
	long := heap(synthetic{plays: 10, tasks: 20, hosts: 50, outputBytes: 4096})
	t.Logf("heap kept: %d KiB after 1,000 results, %d KiB after 10,000", short>>10, long>>10)
	if long > 4<<20 || long > 2*short+(1<<20) {
		t.Fatalf("heap kept grows with the run: %d KiB after 1,000 results, %d KiB after 10,000", short>>10, long>>10)
	}
}

func TestProgressKeepsRecentEvents(t *testing.T) {
	tr := newTracker(Run{}, nil, 0)
	synthetic{plays: 1, tasks: 20, hosts: 50}.Run(context.Background(), Spec{}, tr.apply)
	p := tr.progress()
	if len(p.Recent) != RecentEvents || p.Recent[len(p.Recent)-1].Kind != KindStats || p.Recent[0].Task != "task 16" {
		t.Fatalf("%d recent events, last %+v", len(p.Recent), p.Recent[len(p.Recent)-1])
	}
	if p.Run.Recap["h49"].Changed != 20 || p.Hosts["h07"].Done != 20 || p.Run.Tasks != 20 {
		t.Fatalf("progress %+v", p.Run)
	}
}
