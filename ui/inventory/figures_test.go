package inventory_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ui/common"
)

// metrics is a HostMetrics that answers figs, or waits for its context
// when block is set; it records the hosts asked and how each read ended.
type metrics struct {
	mu    sync.Mutex
	figs  map[string]inventory.HostFigures
	block bool
	asked []string
	ended []error
}

func (f *metrics) HostFigures(ctx context.Context, host string, w inventory.Window) (inventory.HostFigures, error) {
	f.mu.Lock()
	f.asked = append(f.asked, host)
	block := f.block
	x, ok := f.figs[host]
	f.mu.Unlock()
	if block {
		<-ctx.Done()
		f.mu.Lock()
		f.ended = append(f.ended, ctx.Err())
		f.mu.Unlock()
		return inventory.HostFigures{}, ctx.Err()
	}
	if !ok {
		return inventory.HostFigures{Host: host, Window: w}, nil // no target
	}
	x.Window = w
	return x, nil
}

// series is values at 10-minute steps ending at t0: a cell each in the
// detail's graph of the hour.
func series(values ...float64) []inventory.Point {
	out := make([]inventory.Point, len(values))
	for i, v := range values {
		out[i] = inventory.Point{Time: t0.Add(-time.Duration(len(values)-1-i) * 10 * time.Minute), Value: v}
	}
	return out
}

func TestDetailShowsTheHostsFigures(t *testing.T) {
	m := &metrics{figs: map[string]inventory.HostFigures{"web-01": {
		Host: "web-01", Instance: "127.0.1.11:9100", Up: true, Scraped: true, LastScrape: t0.Add(-12 * time.Second),
		CPU: series(0.1, 0.2, 0.23), CPUs: 2, Memory: series(0.4, 0.41), MemoryTotal: 2 << 30,
		Load1: series(0.5, 0.52), Load5: series(0.3), Load15: series(0.2),
		NetRx: series(1000, 1536), NetTx: series(10, 300),
		Disks:   []inventory.Disk{{Mount: "/", Size: 25 << 30, Used: series(0.5, 0.52)}},
		Missing: []string{"pressure"},
	}}}
	e := setup(t, fleet(), 120, 50, func(o *inventory.Options) { o.Metrics = m })
	e.Drive(e.m.Update(common.GotoMsg{Pane: common.InventoryPane, Target: "web-01"}))
	v := ansi.Strip(e.m.View())
	for _, want := range []string{
		"scrape       127.0.1.11:9100 · up · last scrape 12s ago",
		"CPU           23% of 2 CPUs",
		"memory        41% of 2.0 GiB",
		"load         0.52 0.30 0.20",
		"network rx   1.5 KiB/s",
		"network tx   300 B/s",
		"disk /        52% of 25.0 GiB",
		"not exported by this node exporter: pressure",
	} {
		if !strings.Contains(v, want) {
			t.Errorf("no %q in the detail:\n%s", want, v)
		}
	}
	// The graphs: CPU and memory from 0 to 100 %, the rates from 0 to their maximum.
	graphs := map[string]string{"CPU ": "▂ ▂ ▃", "memory ": "▄ ▄", "network tx ": "▁ █"}
	for _, l := range strings.Split(v, "\n") {
		for p, g := range graphs {
			if strings.HasPrefix(l, p) && !strings.HasSuffix(strings.TrimRight(l, " "), strings.Join(strings.Split(g, " "), strings.Repeat(" ", 9))) {
				t.Errorf("graph of %s: %q, want the cells %s ten minutes apart", p, l, g)
			}
		}
	}

	// An exporter without its netdev collector says so instead of the network.
	m.mu.Lock()
	f := m.figs["web-01"]
	f.Missing = []string{"network"}
	m.figs["web-01"] = f
	m.mu.Unlock()
	e.Press("esc")
	e.Drive(e.m.Update(common.GotoMsg{Pane: common.InventoryPane, Target: "web-01"}))
	if v := ansi.Strip(e.m.View()); !strings.Contains(v, "network      not exported by this node exporter (its netdev collector is off)") || strings.Contains(v, "network rx") {
		t.Fatalf("network not exported:\n%s", v)
	}

	// Another host without a target in Prometheus says so.
	e.Press("esc")
	e.Drive(e.m.Update(common.GotoMsg{Pane: common.InventoryPane, Target: "web-02"}))
	if v := ansi.Strip(e.m.View()); !strings.Contains(v, "no metrics: Prometheus scrapes no node exporter for this host") {
		t.Fatalf("no 'no metrics':\n%s", v)
	}
}

// A read still in flight when the detail closes is cancelled.
func TestClosingTheDetailCancelsItsRead(t *testing.T) {
	m := &metrics{block: true}
	e := setup(t, fleet(), 120, 50, func(o *inventory.Options) { o.Metrics = m })
	e.Drive(e.m.Update(common.GotoMsg{Pane: common.InventoryPane, Target: "web-01"}))
	if v := ansi.Strip(e.m.View()); !strings.Contains(v, "reading the figures from Prometheus…") {
		t.Fatalf("no reading:\n%s", v)
	}
	e.Press("esc")
	deadline := time.Now().Add(5 * time.Second)
	for {
		m.mu.Lock()
		ended := append([]error(nil), m.ended...)
		m.mu.Unlock()
		if len(ended) == 1 && ended[0] == context.Canceled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the read was not cancelled: %v", ended)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
