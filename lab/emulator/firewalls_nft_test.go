package emulator

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/digitalocean/godo"
	"github.com/vigilops/vigil/lab/hosts"
	"github.com/vigilops/vigil/lab/internal/needs"
)

// refused tells whether a TCP connection to addr is refused outright.
func refused(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err == nil {
		c.Close()
		return false
	}
	return strings.Contains(err.Error(), "refused")
}

// TestFirewallsAreReal runs real hosts and nftables (root only): a port a
// firewall does not allow refuses connections although sshd listens on it,
// a load balancer's backend behind it turns unhealthy, and removing the
// firewall opens the port again; a reserved IP reaches its droplet.
func TestFirewallsAreReal(t *testing.T) {
	dir := t.TempDir()
	nf, err := NewNFTables("127.0.96")
	if err != nil {
		needs.Missing(t, err.Error())
	}
	l := startLab(t, dir, func(c *Config) {
		m, err := hosts.NewManager(filepath.Join(dir, "hosts"))
		if err != nil {
			needs.Missing(t, "droplet hosts cannot run here: "+err.Error())
		}
		c.IPBase, c.Hosts, c.MaxHosts, c.Filter = "127.0.96", m, 2, nf
	})
	ctx := context.Background()
	do := l.client
	d := createActive(t, do, createReq("fw-1"))[0]
	ip, _ := d.PublicIPv4()
	ssh := ip + ":22"
	if !listening(ssh) {
		t.Fatal("sshd does not answer before any firewall")
	}
	lb, _, err := do.LoadBalancers.Create(ctx, &godo.LoadBalancerRequest{
		Name: "lb", Region: d.Region.Slug, DropletIDs: []int{d.ID},
		ForwardingRules: []godo.ForwardingRule{{EntryProtocol: "tcp", EntryPort: 22, TargetProtocol: "tcp", TargetPort: 22}},
		HealthCheck:     &godo.HealthCheck{Protocol: "tcp", Port: 22},
	})
	if err != nil {
		t.Fatal(err)
	}
	health := func() backendHealth {
		var out struct {
			LB wireLB `json:"load_balancer"`
		}
		req, _ := do.NewRequest(ctx, "GET", "v2/load_balancers/"+lb.ID, nil)
		if _, err := do.Do(ctx, req, &out); err != nil || len(out.LB.DropletHealth) != 1 {
			t.Fatalf("load balancer health: %v %+v", err, out.LB.DropletHealth)
		}
		return out.LB.DropletHealth[0]
	}
	if h := health(); h.Status != "healthy" {
		t.Fatalf("backend before any firewall: %+v", h)
	}

	fw, _, err := do.Firewalls.Create(ctx, &godo.FirewallRequest{
		Name: "exporter-only", DropletIDs: []int{d.ID}, Tags: []string{}, OutboundRules: []godo.OutboundRule{},
		InboundRules: []godo.InboundRule{{Protocol: "tcp", PortRange: "9100", Sources: &godo.Sources{Addresses: []string{"0.0.0.0/0"}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Applied before the API answered: no wait.
	if !refused(ssh) {
		t.Fatal("port 22 answers behind a firewall that does not allow it")
	}
	if !listening(ip + ":9100") {
		t.Error("port 9100, allowed, does not answer")
	}
	if h := health(); h.Status != "unhealthy" || !strings.Contains(h.Reason, "refused") {
		t.Errorf("backend behind the firewall: %+v, want unhealthy, refused", h)
	}
	// Allowing the load balancer (not the world) makes the backend healthy
	// while the port stays closed to the bastion.
	if _, err := do.Firewalls.AddRules(ctx, fw.ID, &godo.FirewallRulesRequest{InboundRules: []godo.InboundRule{
		{Protocol: "tcp", PortRange: "22", Sources: &godo.Sources{LoadBalancerUIDs: []string{lb.ID}}},
	}}); err != nil {
		t.Fatal(err)
	}
	if h := health(); h.Status != "healthy" {
		t.Fatalf("backend once the load balancer is allowed: %+v", h)
	}
	if !refused(ssh) {
		t.Error("port 22 answers the bastion, which no rule allows")
	}

	rip, _, err := do.ReservedIPs.Create(ctx, &godo.ReservedIPCreateRequest{DropletID: d.ID})
	if err != nil {
		t.Fatal(err)
	}
	if !listening(rip.IP + ":9100") {
		t.Fatal("the reserved IP does not reach the droplet's exporter")
	}

	if _, err := do.Firewalls.Delete(ctx, fw.ID); err != nil {
		t.Fatal(err)
	}
	if !listening(ssh) {
		t.Fatal("port 22 does not answer once the firewall is gone")
	}

	a, _, err := do.DropletActions.PowerOff(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	waitAction(t, do, a.ID)
	if h := health(); h.Status != "unhealthy" || h.Reason != "droplet is off" {
		t.Errorf("backend powered off: %+v", h)
	}
	l.stop()
	if out, _ := nftList(); strings.Contains(out, nf.Table) {
		t.Errorf("table %s left behind after the emulator stopped", nf.Table)
	}
}
