package inventory_test

import (
	"context"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/vigilops/vigil/internal/testclock"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ops/network"
	"github.com/vigilops/vigil/ui/common"
)

// TestGoldenNetwork draws the network view's firewalls and load balancers
// in the shell at 120×40.
func TestGoldenNetwork(t *testing.T) {
	cfg := &config.Config{Identity: config.Identity{Name: "alice", Role: "operator"}, DigitalOcean: &config.DigitalOcean{}}
	now := func() time.Time { return t0 }
	for _, c := range []struct{ name, keys, want string }{
		{"firewalls", "N", "tcp 22 from 127.0.0.1"},
		{"loadbalancers", "N l", "web-02 ✗ (host is off)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := setup(t, fleet(), 80, 24)
			nc := &netCloud{fws: []network.Firewall{{ID: "fw-1", Name: "web", Status: "succeeded", Tags: []string{"web"},
				Inbound: []network.Rule{
					{Protocol: "tcp", Ports: "80", Peers: network.Peers{Addresses: []string{"0.0.0.0/0", "::/0"}}},
					{Protocol: "tcp", Ports: "22", Peers: network.Peers{Addresses: []string{"127.0.0.1"}}},
				},
				Outbound: []network.Rule{{Protocol: "tcp", Ports: "all", Peers: network.Peers{Addresses: []string{"0.0.0.0/0"}}}}}}}
			svc := network.New(nc, e.journal, network.Options{Bastion: "127.0.0.1", Now: now,
				Hosts: func() []inventory.Host { return e.svc.State().Hosts }})
			if err := svc.Refresh(context.Background()); err != nil {
				t.Fatal(err)
			}
			s := newShell(t, cfg, &common.Services{Inventory: e.svc, Network: svc}, e.journal, now, 120, 40)
			s.waitFor(20*time.Second, "web-01", "do ●")
			s.keys(c.keys)
			s.waitFor(20*time.Second, c.want, "check a port")
			golden.RequireEqual(t, testclock.Unshift(s.final()))
		})
	}
}
