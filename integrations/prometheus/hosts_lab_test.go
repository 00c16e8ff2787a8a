package prometheus

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/integrations/digitalocean"
	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/inventory"
)

// exported reads a metric straight from a node exporter: the value of its
// first sample, and whether it exports it at all.
func exported(t *testing.T, instance, metric string) (float64, bool) {
	t.Helper()
	resp, err := http.Get("http://" + instance + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		if n, _, _ := strings.Cut(name, "{"); n == metric {
			v, _ := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v, true
		}
	}
	return 0, false
}

// TestLabHostFigures creates a droplet on the lab's emulator (a real node
// exporter, scraped through the lab's file_sd file), reads its figures
// from the lab's Prometheus and checks them against the exporter itself;
// then powers it off: the host is down, with Prometheus's scrape error and
// a last successful scrape that stays put while time goes on.
func TestLabHostFigures(t *testing.T) {
	env := labtest.Env(t, "VIGIL_LAB_PROMETHEUS_URL", "DIGITALOCEAN_API_URL", "DIGITALOCEAN_ACCESS_TOKEN")
	c, err := New(env["VIGIL_LAB_PROMETHEUS_URL"])
	if err != nil {
		t.Fatal(err)
	}
	cloud, err := digitalocean.New(digitalocean.Options{APIURL: env["DIGITALOCEAN_API_URL"], Token: env["DIGITALOCEAN_ACCESS_TOKEN"], PollInterval: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	name := fmt.Sprintf("hf%d-1", time.Now().UnixNano()%1e9)
	hosts, err := cloud.Create(ctx, inventory.CreateRequest{Names: []string{name}, Region: "fra1", Size: "s-1vcpu-1gb", Image: "debian-12-x64", Tags: []string{"hostfigures-test"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cloud.Destroy(context.Background(), hosts[0].ID); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})

	window := func() inventory.Window {
		now := time.Now()
		return inventory.Window{Start: now.Add(-5 * time.Minute), End: now, Step: 5 * time.Second}
	}
	var f inventory.HostFigures
	deadline := time.Now().Add(90 * time.Second)
	for {
		f, err = c.HostFigures(ctx, name, window())
		if err != nil {
			t.Fatal(err)
		}
		if f.Up && len(f.CPU) > 0 && len(f.Memory) > 0 && len(f.Disks) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no figures of %s within 90s: %+v", name, f)
		}
		time.Sleep(time.Second)
	}
	if !f.Scraped || f.Instance == "" || f.LastScrape.IsZero() || f.SinceScrape(time.Now()) > 30*time.Second {
		t.Fatalf("scrape state %+v", f)
	}
	if total, _ := exported(t, f.Instance, "node_memory_MemTotal_bytes"); f.MemoryTotal != total || total == 0 {
		t.Errorf("memory total %v, the exporter says %v", f.MemoryTotal, total)
	}
	if f.CPUs < 1 {
		t.Errorf("%d CPUs", f.CPUs)
	}
	for _, s := range [][]inventory.Point{f.CPU, f.Memory} {
		for _, p := range s {
			if p.Value < 0 || p.Value > 1 {
				t.Fatalf("a fraction out of range: %+v", p)
			}
		}
	}
	if !slices.ContainsFunc(f.Disks, func(d inventory.Disk) bool { return d.Mount == "/" && d.Size > 0 && len(d.Used) > 0 }) {
		t.Errorf("no root filesystem: %+v", f.Disks)
	}
	if len(f.Load1) == 0 || len(f.Load15) == 0 {
		t.Errorf("load %+v %+v", f.Load1, f.Load15)
	}
	// Network figures, or the word that the exporter has none.
	if _, ok := exported(t, f.Instance, "node_network_receive_bytes_total"); ok != (len(f.NetRx) > 0) || ok == slices.Contains(f.Missing, "network") {
		t.Errorf("network exported %v; rx %d points, missing %v", ok, len(f.NetRx), f.Missing)
	}

	if err := cloud.Act(ctx, hosts[0].ID, inventory.ActionRequest{Kind: inventory.PowerOff}, nil); err != nil {
		t.Fatal(err)
	}
	off := time.Now()
	deadline = time.Now().Add(60 * time.Second)
	for {
		f, err = c.HostFigures(ctx, name, window())
		if err != nil {
			t.Fatal(err)
		}
		if f.Scraped && !f.Up {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not down within 60s of its power-off: %+v", name, f)
		}
		time.Sleep(time.Second)
	}
	if f.ScrapeError == "" || f.LastScrape.IsZero() || f.LastScrape.After(off.Add(time.Second)) {
		t.Fatalf("down: error %q, last scrape %v (powered off at %v)", f.ScrapeError, f.LastScrape, off)
	}
	last := f.LastScrape
	time.Sleep(6 * time.Second)
	if f, err = c.HostFigures(ctx, name, window()); err != nil || !f.LastScrape.Equal(last) || f.Up {
		t.Fatalf("still down: last scrape %v (was %v), up %v, %v", f.LastScrape, last, f.Up, err)
	}
}
