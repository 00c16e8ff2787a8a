package incident_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/vigilops/vigil/ops/incident"
)

// fiveThousand fills a fixture with 5,000 active alerts spread over
// namespaces, workloads, alert names and severities.
func fiveThousand(b *testing.B) *fixture {
	f := newFixture(b)
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
	f.am.set(alerts, nil)
	return f
}

// BenchmarkRefresh5000 is one poll's merge, correlation and sort.
func BenchmarkRefresh5000(b *testing.B) {
	f := fiveThousand(b)
	ctx := context.Background()
	for b.Loop() {
		f.svc.Refresh(ctx)
	}
}

// BenchmarkFilter5000 is what typing in the filter costs: parse the
// matchers, filter and group 5,000 alerts (target: under 5 ms).
func BenchmarkFilter5000(b *testing.B) {
	f := fiveThousand(b)
	f.svc.Refresh(context.Background())
	snap := f.svc.Snapshot()
	for b.Loop() {
		ms, err := f.svc.ParseFilter(`severity="critical",namespace=~"prod.*"`)
		if err != nil {
			b.Fatal(err)
		}
		if v := snap.View(ms, "namespace"); len(v.Alerts) == 0 {
			b.Fatal("filter matched nothing")
		}
	}
}

// BenchmarkHeld5000 reports the heap a service holding 5,000 alerts keeps
// (heap-MB), after garbage collection.
func BenchmarkHeld5000(b *testing.B) {
	var before, after runtime.MemStats
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&before)
		f := fiveThousand(b)
		f.svc.Refresh(context.Background())
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(f)
	}
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "heap-MB")
}
