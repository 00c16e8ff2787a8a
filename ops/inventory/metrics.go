package inventory

import (
	"context"
	"errors"
	"time"
)

// HostMetrics reads a host's node exporter figures from the monitoring
// system (Prometheus): the host is the target labelled droplet=NAME, as
// vigil's file_sd file (and the lab's) labels it.
type HostMetrics interface {
	// HostFigures returns host's figures over w as range series, and its
	// scrape state at w.End.
	HostFigures(ctx context.Context, host string, w Window) (HostFigures, error)
}

// Window is the span and resolution of a host's series.
type Window struct {
	Start, End time.Time
	Step       time.Duration
}

// LastHour is the hour up to now at 30-second steps (120 points): what the
// host detail graphs.
func LastHour(now time.Time) Window {
	return Window{Start: now.Add(-time.Hour), End: now, Step: 30 * time.Second}
}

// Point is one value of a series.
type Point struct {
	Time  time.Time `json:"t"`
	Value float64   `json:"v"`
}

// Last returns the newest point of a series.
func Last(s []Point) (Point, bool) {
	if len(s) == 0 {
		return Point{}, false
	}
	return s[len(s)-1], true
}

// HostFigures are the node exporter's figures of one host. A series is
// empty when the window holds no sample of it (the host was down, or its
// exporter does not export it: see Missing).
type HostFigures struct {
	Host   string `json:"host"`
	Window Window `json:"window"`
	// Instance is the scraped address (host:9100).
	Instance string `json:"instance,omitempty"`
	// Up is whether the last scrape succeeded; Scraped is false when
	// Prometheus has no target for the host.
	Up      bool `json:"up"`
	Scraped bool `json:"scraped"`
	// LastScrape is the time of the last successful scrape (zero when none
	// in the window); ScrapeError is Prometheus's last scrape error.
	LastScrape  time.Time `json:"last_scrape,omitzero"`
	ScrapeError string    `json:"scrape_error,omitempty"`

	// CPU is the busy fraction of all CPUs (0–1); CPUs their count.
	CPU  []Point `json:"cpu"`
	CPUs int     `json:"cpus"`
	// Memory is the used fraction (1 − available/total); MemoryTotal bytes.
	Memory      []Point `json:"memory"`
	MemoryTotal float64 `json:"memory_total"`
	// Disks are the filesystems, by mount point.
	Disks []Disk `json:"disks"`
	// Load1, Load5 and Load15 are the load averages.
	Load1  []Point `json:"load1"`
	Load5  []Point `json:"load5"`
	Load15 []Point `json:"load15"`
	// NetRx and NetTx are bytes per second, every device but loopback.
	NetRx []Point `json:"net_rx"`
	NetTx []Point `json:"net_tx"`
	// Missing names the figures the exporter does not export at all
	// ("network" without its netdev collector), so that an empty graph
	// says why.
	Missing []string `json:"missing,omitempty"`
}

// SinceScrape is how long ago the last successful scrape was, at now; -1
// when there was none in the window.
func (f HostFigures) SinceScrape(now time.Time) time.Duration {
	if f.LastScrape.IsZero() {
		return -1
	}
	return now.Sub(f.LastScrape)
}

// Disk is one filesystem of a host.
type Disk struct {
	Mount  string  `json:"mount"`
	Device string  `json:"device"`
	FSType string  `json:"fstype"`
	Size   float64 `json:"size"` // bytes, at the window's end
	// Used is the used fraction (1 − available/size).
	Used []Point `json:"used"`
}

// ErrNoMetrics says no monitoring system is configured.
var ErrNoMetrics = errors.New("no Prometheus is configured (prometheus.url): host figures need one")

// HostFigures reads the figures of the host named name over the last hour.
// It works for a host the inventory no longer lists too (a HostDown alert
// may outlive it).
func (s *Service) HostFigures(ctx context.Context, name string) (HostFigures, error) {
	if s.opt.Metrics == nil {
		return HostFigures{}, ErrNoMetrics
	}
	return s.opt.Metrics.HostFigures(ctx, name, LastHour(s.opt.Now()))
}
