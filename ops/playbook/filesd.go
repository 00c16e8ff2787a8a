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
