package inventory_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ops/network"
	"github.com/vigilops/vigil/ui/common"
	uinv "github.com/vigilops/vigil/ui/inventory"
)

// netCloud is an in-memory network.Cloud.
type netCloud struct {
	mu      sync.Mutex
	fws     []network.Firewall
	domains []network.Domain
	records []network.Record
	n       int
}

var _ network.Cloud = (*netCloud)(nil)

func (c *netCloud) Firewalls(context.Context) ([]network.Firewall, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.fws), nil
}
func (c *netCloud) CreateFirewall(_ context.Context, f network.Firewall) (network.Firewall, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	f.ID, f.Status = fmt.Sprint("fw-", c.n), "succeeded"
	c.fws = append(c.fws, f)
	return f, nil
}
func (c *netCloud) UpdateFirewall(_ context.Context, f network.Firewall) (network.Firewall, error) {
	return f, nil
}
func (c *netCloud) DeleteFirewall(context.Context, string) error { return nil }
func (c *netCloud) LoadBalancers(context.Context) ([]network.LoadBalancer, error) {
	return []network.LoadBalancer{{ID: "lb-1", Name: "shop-lb", IP: "127.1.1.2", Region: "ams3", HostIDs: []int{1, 2},
		Forwarding:  []network.Forwarding{{EntryProtocol: "http", EntryPort: 80, TargetProtocol: "http", TargetPort: 80}},
		HealthCheck: network.HealthCheck{Protocol: "tcp", Port: 22},
		Backends:    []network.Backend{{HostID: 1, Health: network.Healthy}, {HostID: 2, Health: network.Unknown}}}}, nil
}
func (c *netCloud) CreateLoadBalancer(_ context.Context, lb network.LoadBalancer) (network.LoadBalancer, error) {
	return lb, nil
}
func (c *netCloud) DeleteLoadBalancer(context.Context, string) error                { return nil }
func (c *netCloud) AddBackends(context.Context, string, []int) error                { return nil }
func (c *netCloud) RemoveBackends(context.Context, string, []int) error             { return nil }
func (c *netCloud) VPCs(context.Context) ([]network.VPC, error)                     { return nil, nil }
func (c *netCloud) CreateVPC(_ context.Context, v network.VPC) (network.VPC, error) { return v, nil }
func (c *netCloud) DeleteVPC(context.Context, string) error                         { return nil }
func (c *netCloud) ReservedIPs(context.Context) ([]network.ReservedIP, error) {
	return []network.ReservedIP{{IP: "127.1.1.130", Region: "ams3", HostID: 1}}, nil
}
func (c *netCloud) CreateReservedIP(context.Context, string) (network.ReservedIP, error) {
	return network.ReservedIP{}, nil
}
func (c *netCloud) DeleteReservedIP(context.Context, string) error      { return nil }
func (c *netCloud) AssignReservedIP(context.Context, string, int) error { return nil }
func (c *netCloud) Domains(context.Context) ([]network.Domain, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.domains), nil
}
func (c *netCloud) CreateDomain(_ context.Context, name string) (network.Domain, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.domains = append(c.domains, network.Domain{Name: name})
	return network.Domain{Name: name}, nil
}
func (c *netCloud) DeleteDomain(context.Context, string) error { return nil }
func (c *netCloud) Records(_ context.Context, d string) ([]network.Record, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []network.Record
	for _, r := range c.records {
		if r.Domain == d {
			out = append(out, r)
		}
	}
	return out, nil
}
func (c *netCloud) CreateRecord(_ context.Context, r network.Record) (network.Record, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	r.ID = c.n
	c.records = append(c.records, r)
	return r, nil
}
func (c *netCloud) UpdateRecord(_ context.Context, r network.Record) (network.Record, error) {
	return r, nil
}
func (c *netCloud) DeleteRecord(_ context.Context, d string, id int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.records = slices.DeleteFunc(c.records, func(r network.Record) bool { return r.ID == id })
	return nil
}

// setupNet is setup with a network service over a netCloud.
func setupNet(t *testing.T, opts ...func(*inventory.Options)) (*env, *netCloud) {
	t.Helper()
	e := setup(t, fleet(), 120, 16, opts...)
	nc := &netCloud{}
	svc := network.New(nc, e.journal, network.Options{
		Bastion: "127.0.0.1", Domain: "shop.example",
		Templates: []config.FirewallTemplate{{Name: "web", Rules: []string{"80 from anywhere", "22 from bastion"}, Tags: []string{"web"}}},
		Hosts:     func() []inventory.Host { return e.svc.State().Hosts },
	})
	if err := svc.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.ctx.Services.Network = svc
	e.m.Close()
	e.m = uinv.New(e.ctx, e.svc, uinv.NewKeyMap())
	e.Driver.Update = e.m.Update
	t.Cleanup(e.m.Close)
	e.m.SetSize(120, 16)
	e.Drive(e.m.Init())
	return e, nc
}

func TestNetworkViewPlansAndConfirms(t *testing.T) {
	e, nc := setupNet(t)
	e.Press("N")
	v := e.m.View()
	if !strings.Contains(v, "[firewalls]") || !strings.Contains(v, "No firewall") {
		t.Fatalf("network view:\n%s", v)
	}
	e.Press("a")
	e.Type("web")
	e.Press("enter")
	c, ok := last[common.ConfirmMsg](e)
	if !ok || !strings.Contains(c.Title, "opens tcp 80 to the world") ||
		!strings.Contains(c.Body, "+ firewall web on web-01, web-02 (tags web)") || !strings.Contains(c.Body, "+ inbound tcp 22 from 127.0.0.1") {
		t.Fatalf("firewall plan: %+v", c)
	}
	if len(nc.fws) != 0 {
		t.Fatal("created before confirmation")
	}
	e.Drive(c.OnYes)
	if len(nc.fws) != 1 {
		t.Fatalf("firewalls after yes: %+v", nc.fws)
	}
	if v := e.m.View(); !strings.Contains(v, "web-01, web-02") || !strings.Contains(v, "tcp 80 from anywhere") {
		t.Errorf("firewall row:\n%s", v)
	}
	entries, _ := e.journal.Query(audit.Query{Target: "firewall:web"})
	if len(entries) != 1 || entries[0].Action != "firewall.create" {
		t.Errorf("journal: %+v", entries)
	}

	e.Press("l") // load balancers: web-02 is off, so unhealthy
	if v := e.m.View(); !strings.Contains(v, "[load balancers]") || !strings.Contains(v, "web-01 ✓, web-02 ✗ (host is off)") {
		t.Errorf("load balancers:\n%s", v)
	}
	e.Press("l", "a")
	e.Type("web-01")
	e.Press("enter")
	c, _ = last[common.ConfirmMsg](e)
	if c.Title != "Point web-01.shop.example at 127.0.1.11?" || !strings.Contains(c.Body, "+ domain shop.example") {
		t.Fatalf("record plan: %+v", c)
	}
	e.Drive(c.OnYes)
	if v := e.m.View(); !strings.Contains(v, "web-01.shop.example") {
		t.Errorf("domains:\n%s", v)
	}

	// The host detail says its network.
	e.m.SetSize(120, 40)
	e.Press("N", "j", "enter")
	v = view(e)
	for _, want := range []string{"firewalls", "web (tcp 80 from anywhere", "reserved IP  127.1.1.130", "web-01.shop.example A", "shop-lb"} {
		if !strings.Contains(v, want) {
			t.Errorf("%q missing from web-01's detail:\n%s", want, v)
		}
	}

	// Destroying web-01 offers to remove its record once it is gone.
	e.Press("esc", "D")
	c, _ = last[common.ConfirmMsg](e)
	e.Drive(c.OnYes)
	c, _ = last[common.ConfirmMsg](e)
	if !strings.Contains(c.Title, "web-01 is destroyed; remove its DNS records too") || !strings.Contains(c.Body, "- record web-01.shop.example A 127.0.1.11") {
		t.Fatalf("no offer to remove the record: %+v", c)
	}
	e.Drive(c.OnYes)
	if len(nc.records) != 0 {
		t.Errorf("records left: %+v", nc.records)
	}
}

func TestNetworkViewRefusesCuttingBastionSSH(t *testing.T) {
	e, nc := setupNet(t)
	e.Press("N", "X") // no firewall under the cursor: nothing
	// :firewall-rule through the palette spec, as a user would.
	for _, s := range e.m.Commands() {
		if s.Name == "check" {
			cmd, err := s.Run([]string{"web-01", "nope"})
			if err == nil || cmd != nil {
				t.Errorf(":check web-01 nope: %v", err)
			}
		}
	}
	nc.fws = []network.Firewall{{ID: "f", Name: "web", Tags: []string{"web"}, Inbound: []network.Rule{
		{Protocol: "tcp", Ports: "22", Peers: network.Peers{Addresses: []string{"127.0.0.1"}}},
	}}}
	e.ctx.Services.Network.Refresh(context.Background())
	for _, s := range e.m.Commands() {
		if s.Name == "firewall-unrule" {
			cmd, err := s.Run(strings.Fields("web 22 from bastion"))
			if err != nil {
				t.Fatal(err)
			}
			e.Drive(cmd)
		}
	}
	toast, _ := last[common.ToastMsg](e)
	if !strings.Contains(fmt.Sprint(toast), "would cut SSH from the bastion (127.0.0.1) to web-01, web-02") {
		t.Errorf("toast: %+v", toast)
	}
	entries, _ := e.journal.Query(audit.Query{Target: "firewall:web"})
	if len(entries) != 1 || entries[0].Result == audit.OK {
		t.Errorf("the refusal is not journaled: %+v", entries)
	}
}

func TestTemplateWithRecordOffersIt(t *testing.T) {
	e, nc := setupNet(t, func(o *inventory.Options) { o.Templates[0].Record = true })
	e.Press("n")
	e.Press("ctrl+u") // clear the template name the prompt starts with
	e.Type("web new-01")
	e.Press("enter")
	c, ok := last[common.ConfirmMsg](e)
	if !ok || !strings.HasPrefix(c.Title, "Point new-01.shop.example at 127.0.9.") || !strings.Contains(c.Body, "+ record new-01.shop.example A 127.0.9.") {
		t.Fatalf("no record offered for the new host: %+v (toasts %v)", c, e.Msgs)
	}
	e.Drive(c.OnYes)
	if len(nc.records) != 1 || nc.records[0].Name != "new-01" {
		t.Errorf("records: %+v", nc.records)
	}
}
