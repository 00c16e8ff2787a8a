package alerts

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/vigilops/vigil/internal/testclock"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ui/uitest"
)

// demo fills f with the sketch's alerts, a rule with a threshold, a graph
// and a journaled promotion.
func demo(t testing.TB, f *fixture) {
	now := f.clock.Now()
	a1 := mkAlert("a1", "AppHighErrorRate", "critical", now.Add(-3*time.Minute), "namespace", "prod", "deployment", "api")
	a1.Annotations["description"] = "The api in prod answers more than 5% of its requests with a 5xx: look at the last release first."
	a1.Annotations["runbook_url"] = "https://runbooks.example/app-high-error-rate"
	f.am.set(a1,
		mkAlert("a2", "HostDown", "critical", now.Add(-time.Minute), "droplet", "web-02", "instance", "127.0.1.2:9100"),
		mkAlert("a3", "AppHighLatency", "warning", now.Add(-12*time.Minute), "namespace", "preprod", "deployment", "web"),
		mkAlert("a4", "AppHighLatency", "warning", now.Add(-40*time.Minute), "namespace", "prod", "deployment", "web"))
	thr := 0.05
	f.prom.rules = []incident.Rule{{Name: "AppHighErrorRate", Expr: "max by (namespace, deployment) (lab_error_ratio) > 0.05",
		ValueExpr: "max by (namespace, deployment) (lab_error_ratio)", Threshold: &thr, Op: ">"}}
	var pts []incident.Point
	for i := range 240 {
		v := 0.01 + float64(i%7)*0.002
		if i > 170 {
			v = 0.25
		}
		pts = append(pts, incident.Point{Time: now.Add(time.Duration(i-240) * 15 * time.Second), Value: v})
	}
	f.prom.series = []incident.Series{{Labels: map[string]string{"namespace": "prod", "deployment": "api"}, Points: pts}}
	if _, err := f.journal.Append(audit.Entry{Time: now.Add(-17 * time.Minute), Actor: "bob", Action: "release.promote",
		Target: "prod/api", Result: audit.OK, Parameters: map[string]string{"version": "2.5.0"}}); err != nil {
		t.Fatal(err)
	}
	f.poll()
}

// TestEverySize draws the list, the detail, the dialog and the silences at
// every size from 40×10 to 300×100: no line wider than the pane, no more
// lines than its height.
func TestEverySize(t *testing.T) {
	f := newFixture(t, access.Operator)
	demo(t, f)
	f.m.SetFilter(`severity=~"crit`) // the filter's error line too
	f.clock.Add(time.Second)
	f.am.err = fmt.Errorf("dial tcp 127.0.0.1:9093: connect: connection refused")
	f.poll() // and the stale banner
	views := []struct {
		name string
		open func()
	}{
		{"list", func() {}},
		{"detail", func() { f.keys("enter") }},
		{"dialog", func() { f.keys("esc", "a") }},
		{"silences", func() { f.keys("esc", "S") }},
	}
	stride := 1
	if testing.Short() {
		stride = 7
	}
	for _, v := range views {
		v.open()
		for w := 40; w <= 300; w += stride {
			for h := 10; h <= 100; h += stride {
				f.m.SetSize(w, h)
				if err := uitest.Fits(f.m.View(), w, h); err != nil {
					t.Fatal(v.name, err)
				}
			}
		}
	}
}

func TestGolden(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		name := fmt.Sprintf("%dx%d", size[0], size[1])
		for _, view := range []struct {
			name string
			keys []string
		}{
			{"list", []string{"home"}},
			{"by-namespace", []string{"home", "t"}},
			{"detail", []string{"home", "enter"}},
			{"ack", []string{"home", "a", "tab", "right"}},
		} {
			t.Run(name+"/"+view.name, func(t *testing.T) {
				f := newFixture(t, access.Operator)
				demo(t, f)
				f.m.SetSize(size[0], size[1])
				f.keys(view.keys...)
				golden.RequireEqual(t, testclock.Unshift(uitest.ASCII(t, f.m.View())))
			})
		}
	}
}

// BenchmarkView5000 is one frame of the list with 5,000 active alerts
// (target: under 2 ms).
func BenchmarkView5000(b *testing.B) {
	f := fiveThousand(b)
	f.m.SetSize(200, 50)
	f.m.View()
	for b.Loop() {
		f.m.View()
	}
}

// BenchmarkScroll5000 is a key press and the frame after it: the rows that
// scroll in are rendered, the others come from the cache.
func BenchmarkScroll5000(b *testing.B) {
	f := fiveThousand(b)
	f.m.SetSize(200, 50)
	down := uitest.Key("j")
	for b.Loop() {
		f.m.Update(down)
		f.m.View()
	}
}

// BenchmarkRefilter5000 is typing in the filter with 5,000 alerts: parse,
// filter, group, and the next frame (target: under 5 ms).
func BenchmarkRefilter5000(b *testing.B) {
	f := fiveThousand(b)
	f.m.SetSize(200, 50)
	filters := []string{`severity="critical",namespace=~"prod.*"`, `severity="critical",namespace=~"prod"`}
	i := 0
	for b.Loop() {
		f.m.SetFilter(filters[i%2])
		f.m.View()
		i++
	}
}

func fiveThousand(b *testing.B) *fixture {
	f := newFixture(b, access.Operator)
	now := f.clock.Now()
	sev := []string{"critical", "warning", "info"}
	ns := []string{"dev", "test", "preprod", "prod"}
	alerts := make([]incident.Alert, 5000)
	for i := range alerts {
		a := mkAlert(fmt.Sprintf("%016x", i), fmt.Sprintf("Alert%02d", i%20), sev[i%3], now.Add(-time.Duration(i)*time.Second),
			"namespace", ns[i%4], "deployment", fmt.Sprintf("app-%03d", i%400), "instance", fmt.Sprintf("10.0.%d.%d:9100", i/250, i%250))
		a.Annotations["description"] = "a description of the alert as long as a real one tends to be, with a runbook link"
		alerts[i] = a
	}
	f.am.set(alerts...)
	f.poll()
	return f
}

// BenchmarkHeld5000 reports the heap that the service and one pane
// holding 5,000 alerts keep (heap-MB), after garbage collection, with a
// frame drawn and every row of the list rendered once.
func BenchmarkHeld5000(b *testing.B) {
	var before, after runtime.MemStats
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&before)
		f := fiveThousand(b)
		f.m.SetSize(200, 50)
		for range len(f.m.lines) / 50 {
			f.m.View()
			f.m.moveCursor(50)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(f)
	}
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "heap-MB")
}
