package prometheus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/vigilops/vigil/ops/inventory"
)

var _ inventory.HostMetrics = (*Client)(nil)

// HostLabel is the label naming a host on its node exporter's target
// (ops/playbook's file_sd file writes it).
const HostLabel = "droplet"

// pseudoFS are filesystems the host detail leaves out: memory and kernel
// ones, whose use says nothing of the disks.
const pseudoFS = "tmpfs|devtmpfs|ramfs|squashfs|nsfs|fuse.lxcfs|autofs"

// hostQueries are the PromQL of each figure, with SEL the host's label
// matcher and R the rate window. A host listed by two file_sd files (the
// same target found twice under other labels) is folded by max.
func hostQueries(sel, r string) map[string]string {
	fs := sel + `,fstype!~"` + pseudoFS + `"`
	return map[string]string{
		"cpu":    `1 - avg(rate(node_cpu_seconds_total{mode="idle",` + sel + `}[` + r + `]))`,
		"memory": `max(1 - node_memory_MemAvailable_bytes{` + sel + `} / node_memory_MemTotal_bytes{` + sel + `})`,
		"disks":  `max by (mountpoint, device, fstype) (1 - node_filesystem_avail_bytes{` + fs + `} / node_filesystem_size_bytes{` + fs + `})`,
		"load1":  `max(node_load1{` + sel + `})`,
		"load5":  `max(node_load5{` + sel + `})`,
		"load15": `max(node_load15{` + sel + `})`,
		"rx":     `sum(max by (device) (rate(node_network_receive_bytes_total{device!="lo",` + sel + `}[` + r + `])))`,
		"tx":     `sum(max by (device) (rate(node_network_transmit_bytes_total{device!="lo",` + sel + `}[` + r + `])))`,
		// Instant, at the window's end.
		"cpus":       `count(count by (cpu) (node_cpu_seconds_total{` + sel + `}))`,
		"mem_total":  `max(node_memory_MemTotal_bytes{` + sel + `})`,
		"disk_sizes": `max by (mountpoint, device, fstype) (node_filesystem_size_bytes{` + fs + `})`,
	}
}

var instant = map[string]bool{"cpus": true, "mem_total": true, "disk_sizes": true}

// rateWindow is the span rates are taken over: two steps, and two minutes
// at least, so that a scrape interval of a minute still gives two samples.
func rateWindow(step time.Duration) string {
	return model.Duration(max(2*step, 2*time.Minute)).String()
}

// HostFigures implements inventory.HostMetrics: eleven queries at once,
// the raw `up` samples of the window (the last successful scrape to the
// second), and the target's state.
func (c *Client) HostFigures(ctx context.Context, host string, w inventory.Window) (inventory.HostFigures, error) {
	f := inventory.HostFigures{Host: host, Window: w}
	if w.Step <= 0 || !w.End.After(w.Start) {
		return f, fmt.Errorf("host figures of %s: an empty window %v", host, w)
	}
	sel := HostLabel + "=" + strconv.Quote(host)
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		res  = map[string]model.Value{}
	)
	run := func(name string, q func() (model.Value, error)) {
		wg.Go(func() {
			v, err := q()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, c.wrap(name+" of "+host, err))
				return
			}
			res[name] = v
		})
	}
	for name, expr := range hostQueries(sel, rateWindow(w.Step)) {
		run(name, func() (model.Value, error) {
			if instant[name] {
				v, _, _, err := c.api.Query(ctx, expr, w.End)
				return v, err
			}
			v, _, _, err := c.api.QueryRange(ctx, expr, v1.Range{Start: w.Start, End: w.End, Step: w.Step})
			return v, err
		})
	}
	span := model.Duration(w.End.Sub(w.Start)).String()
	run("up", func() (model.Value, error) {
		v, _, _, err := c.api.Query(ctx, "up{"+sel+"}["+span+"]", w.End)
		return v, err
	})
	var targets v1.TargetsResult
	wg.Go(func() {
		t, err := c.api.Targets(ctx)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, c.wrap("targets", err))
		}
		targets = t
	})
	wg.Wait()
	if len(errs) > 0 {
		return f, errors.Join(errs...)
	}

	for _, t := range targets.Active {
		if string(t.Labels[HostLabel]) != host {
			continue
		}
		// Two targets of one host (two file_sd files): the one scraped last.
		if f.Scraped && !t.LastScrape.After(f.LastScrape) {
			continue
		}
		f.Scraped, f.Instance = true, string(t.Labels[model.InstanceLabel])
		f.Up, f.ScrapeError = t.Health == v1.HealthGood, t.LastError
		if f.Up {
			f.LastScrape = t.LastScrape
		}
	}
	if m, ok := res["up"].(model.Matrix); ok {
		for _, s := range m {
			for _, p := range s.Values {
				if p.Value == 1 && p.Timestamp.Time().After(f.LastScrape) {
					f.LastScrape = p.Timestamp.Time()
				}
			}
		}
	}
	one := func(name string) []inventory.Point {
		m, _ := res[name].(model.Matrix)
		if len(m) == 0 {
			return []inventory.Point{}
		}
		return points(m[0].Values)
	}
	scalar := func(name string) float64 {
		if v, ok := res[name].(model.Vector); ok && len(v) > 0 {
			return float64(v[0].Value)
		}
		return 0
	}
	f.CPU, f.Memory = one("cpu"), one("memory")
	f.Load1, f.Load5, f.Load15 = one("load1"), one("load5"), one("load15")
	f.NetRx, f.NetTx = one("rx"), one("tx")
	f.CPUs, f.MemoryTotal = int(scalar("cpus")), scalar("mem_total")
	sizes := map[string]float64{}
	if v, ok := res["disk_sizes"].(model.Vector); ok {
		for _, s := range v {
			sizes[string(s.Metric["mountpoint"])+"\x00"+string(s.Metric["device"])] = float64(s.Value)
		}
	}
	f.Disks = []inventory.Disk{}
	if m, ok := res["disks"].(model.Matrix); ok {
		for _, s := range m {
			d := inventory.Disk{Mount: string(s.Metric["mountpoint"]), Device: string(s.Metric["device"]), FSType: string(s.Metric["fstype"]), Used: points(s.Values)}
			d.Size = sizes[d.Mount+"\x00"+d.Device]
			f.Disks = append(f.Disks, d)
		}
	}
	slices.SortFunc(f.Disks, func(a, b inventory.Disk) int { return strings.Compare(a.Mount, b.Mount) })
	// A host scraped fine without a figure does not export it.
	if f.Up {
		for _, m := range []struct {
			name  string
			empty bool
		}{
			{"cpu", len(f.CPU) == 0}, {"memory", len(f.Memory) == 0}, {"disks", len(f.Disks) == 0},
			{"load", len(f.Load1) == 0}, {"network", len(f.NetRx) == 0 && len(f.NetTx) == 0},
		} {
			if m.empty {
				f.Missing = append(f.Missing, m.name)
			}
		}
	}
	return f, nil
}

func points(ps []model.SamplePair) []inventory.Point {
	out := make([]inventory.Point, len(ps))
	for i, p := range ps {
		out[i] = inventory.Point{Time: p.Timestamp.Time(), Value: float64(p.Value)}
	}
	return out
}
