package emulator

import (
	"context"
	"sync"
	"testing"

	"github.com/digitalocean/godo"

	"github.com/vigilops/vigil/lab/hosts"
)

// recordingHosts records the specs of the hosts started.
type recordingHosts struct {
	mu    sync.Mutex
	specs map[string]hosts.Spec
}

func (r *recordingHosts) Start(s hosts.Spec) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.specs[s.Name] = s
	return nil
}
func (r *recordingHosts) Stop(int) error   { return nil }
func (r *recordingHosts) Remove(int) error { return nil }
func (r *recordingHosts) Close() error     { return nil }

// TestNoExporterTag: a droplet tagged no-node-exporter gets a host without
// its node exporter; the others get one.
func TestNoExporterTag(t *testing.T) {
	rec := &recordingHosts{specs: map[string]hosts.Spec{}}
	l := startLab(t, "", func(c *Config) { c.Hosts = rec })
	for _, d := range []struct {
		name string
		tags []string
	}{{"bare-1", []string{NoExporterTag, "web"}}, {"web-1", []string{"web"}}} {
		_, resp, err := l.client.Droplets.Create(context.Background(), &godo.DropletCreateRequest{
			Name: d.name, Region: "ams3", Size: "s-1vcpu-1gb", Image: godo.DropletCreateImage{Slug: "debian-12-x64"}, Tags: d.tags,
		})
		if err != nil {
			t.Fatal(err)
		}
		waitAction(t, l.client, resp.Links.Actions[0].ID)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if s, ok := rec.specs["bare-1"]; !ok || !s.NoExporter {
		t.Fatalf("bare-1: %+v", s)
	}
	if s, ok := rec.specs["web-1"]; !ok || s.NoExporter {
		t.Fatalf("web-1: %+v", s)
	}
}
