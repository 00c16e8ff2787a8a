package playbook

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/vigilops/vigil/ops/inventory"
)

// NodeExporterPort is where each host's node exporter listens.
const NodeExporterPort = "9100"

// SDGroup is one entry of a Prometheus file_sd file.
type SDGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// FileSD lists one node exporter target per host with a public IPv4,
// labelled with its name (droplet), region, size and tags (comma separated,
// with leading and trailing commas so that a rule can match ,web,).
func FileSD(hosts []inventory.Host) []SDGroup {
	out := []SDGroup{}
	for _, h := range hosts {
		if h.PublicIPv4 == "" {
			continue
		}
		tags := ""
		if len(h.Tags) > 0 {
			tags = "," + strings.Join(h.Tags, ",") + ","
		}
		out = append(out, SDGroup{
			Targets: []string{h.PublicIPv4 + ":" + NodeExporterPort},
			Labels:  map[string]string{"droplet": h.Name, "region": h.Region, "size": h.Size, "tags": tags},
		})
	}
	slices.SortFunc(out, func(a, b SDGroup) int { return strings.Compare(a.Labels["droplet"], b.Labels["droplet"]) })
	return out
}

// WritePrometheusSD writes the file_sd file at path from the cloud's hosts,
// atomically: what `vigil inventory --prometheus-sd FILE` does.
func WritePrometheusSD(ctx context.Context, src HostLister, path string) (int, error) {
	hosts, err := src.Hosts(ctx, "")
	if err != nil {
		return 0, err
	}
	groups := FileSD(hosts)
	data, err := json.MarshalIndent(groups, "", "  ")
	if err != nil {
		return 0, err
	}
	if err := writeAtomic(path, append(data, '\n'), 0o644); err != nil {
		return 0, fmt.Errorf("write Prometheus file_sd %s: %w", path, err)
	}
	return len(groups), nil
}

// KeepPrometheusSD rewrites the file_sd file at path whenever changes
// signals a new inventory state (inventory.Service.Subscribe), with the
// hosts that hosts returns then, until ctx ends or changes is closed. It
// writes once at the start. A failed write is reported through onError and
// retried on the next change.
func KeepPrometheusSD(ctx context.Context, changes <-chan struct{}, hosts func() []inventory.Host, path string, onError func(error)) {
	last := []byte(nil)
	write := func() {
		data, err := json.MarshalIndent(FileSD(hosts()), "", "  ")
		if err == nil && string(data) == string(last) {
			return // Prometheus watches the file: leave it alone when nothing changed
		}
		if err == nil {
			err = writeAtomic(path, append(data, '\n'), 0o644)
		}
		if err != nil {
			if onError != nil {
				onError(fmt.Errorf("write Prometheus file_sd %s: %w", path, err))
			}
			return
		}
		last = data
	}
	write()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-changes:
			if !ok {
				return
			}
			write()
		}
	}
}
