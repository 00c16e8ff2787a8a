package digitalocean_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ops/network"
)

// TestLabNetworkTwoHostsBehindALoadBalancer is issue 15's network test,
// against the lab's emulator and its real hosts: two hosts created behind a
// load balancer with a firewall and a DNS record; a port the firewall does
// not allow really refuses although the node exporter listens on it; a
// rule that would cut the bastion's SSH is refused; a taken name is a
// conflict; a backend whose host is powered off shows unhealthy, and one
// removed is gone. Each step's time is logged (README figures).
func TestLabNetworkTwoHostsBehindALoadBalancer(t *testing.T) {
	l := newLab(t)
	tag := fmt.Sprintf("nt%d", time.Now().UnixNano()%1e9)
	l.cleanupTag(t, tag)
	journal, err := audit.Open(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { journal.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	step := time.Now()
	took := func(what string) {
		t.Logf("%-44s %6.2fs", what, time.Since(step).Seconds())
		step = time.Now()
	}

	inv := inventory.New(l.client, journal, inventory.Options{
		PollInterval: 300 * time.Millisecond, SSHTimeout: time.Minute,
		Templates: []inventory.Template{{Name: "web", Region: "ams3", Size: "s-1vcpu-1gb", Image: "debian-12-x64", SSHKeys: []string{"vigil-lab"}, Tags: []string{tag}}},
	})
	names := []string{tag + "-a", tag + "-b"}
	hosts, err := inv.Create(ctx, alice, "web", names, nil)
	if err != nil {
		t.Fatal(err)
	}
	took("create 2 hosts, SSH answering")
	a, b := hosts[0], hosts[1]
	lbName, domain := tag+"-lb", tag+".lab"

	net := network.New(l.client, journal, network.Options{
		Bastion: "127.0.0.1", Domain: domain,
		Templates: []config.FirewallTemplate{
			{Name: tag + "-web", Rules: []string{"80,443 from anywhere", "22 from bastion, lb:" + lbName}, Tags: []string{tag}},
			{Name: tag + "-locked", Rules: []string{"80 from anywhere"}, Tags: []string{tag}},
		},
		Hosts: func() []inventory.Host { return inv.State().Hosts },
	})
	t.Cleanup(func() { cleanupNetwork(t, l, net, tag) })
	must := func(p network.Plan, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if err := net.Apply(ctx, alice, p); err != nil {
			t.Fatalf("%s: %v", p.Title, err)
		}
	}
	if err := net.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if h := net.Host(a); h.VPC.ID == "" || !h.VPC.Default || h.VPC.Region != "ams3" {
		t.Errorf("%s's VPC: %+v", a.Name, h.VPC)
	}

	// Before any firewall the node exporter answers on both hosts.
	r, err := net.Check(ctx, a.Name, 9100)
	if err != nil || !r.Allowed || !r.Answers {
		t.Fatalf("9100 before the firewall: %+v %v", r, err)
	}

	must(net.PlanCreateLoadBalancer(lbName, names, []network.Forwarding{{EntryProtocol: "tcp", EntryPort: 22, TargetProtocol: "tcp", TargetPort: 22}},
		network.HealthCheck{Protocol: "tcp", Port: 22}))
	took("load balancer over both")
	backends := func() []network.Backend {
		t.Helper()
		if err := errors.Join(inv.Refresh(ctx), net.Refresh(ctx)); err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(net.State().LoadBalancers, func(lb network.LoadBalancer) bool { return lb.Name == lbName })
		if i < 0 {
			t.Fatalf("no load balancer %s", lbName)
		}
		return net.Backends(net.State().LoadBalancers[i])
	}
	for _, be := range backends() {
		if be.Health != network.Healthy {
			t.Errorf("backend %d before the firewall: %+v", be.HostID, be)
		}
	}

	// A template that would cut the bastion's SSH is refused, and nothing changes.
	p, err := net.PlanFirewallTemplate(tag + "-locked")
	if err != nil {
		t.Fatal(err)
	}
	if err := net.Apply(ctx, alice, p); !access.IsRefusal(err) || !strings.Contains(err.Error(), "would cut SSH from the bastion (127.0.0.1)") {
		t.Fatalf("locked template: %v", err)
	}
	p, err = net.PlanFirewallTemplate(tag + "-web")
	if err != nil {
		t.Fatal(err)
	}
	if !p.Action.Dangerous || !strings.Contains(p.Danger, "opens tcp 80, tcp 443 to the world") {
		t.Errorf("the web template's plan is not dangerous: %+v", p)
	}
	must(p, nil)
	took("firewall from the template")

	// 9100 is not in the rules: it refuses for real, though the exporter
	// runs (the lab applies a firewall before its API answers).
	if r, err = net.Check(ctx, a.Name, 9100); err != nil {
		t.Fatal(err)
	}
	if r.Allowed || r.Answers || r.ProbeErr != "connection refused" {
		t.Fatalf("9100 behind the firewall: %s", r.Verdict())
	}
	t.Log(r.Verdict())
	if r, _ := net.Check(ctx, a.Name, 22); !r.Allowed || !r.Answers {
		t.Fatalf("22 from the bastion: %s", r.Verdict())
	}
	took("a port closed by the firewall refuses")
	for _, be := range backends() {
		if be.Health != network.Healthy {
			t.Errorf("backend %d behind the firewall, the load balancer allowed: %+v", be.HostID, be)
		}
	}

	// A DNS record per host; the second one's name taken is a conflict.
	must(net.PlanHostRecord(a.Name, "", ""))
	must(net.PlanHostRecord(b.Name, "", ""))
	p, err = net.PlanHostRecord(b.Name, a.Name, "")
	if err != nil || !p.Conflict() || !strings.Contains(p.Danger, a.Name+"."+domain+" exists already as A "+a.PublicIPv4) {
		t.Fatalf("taken name: %v %+v", err, p)
	}
	if got := net.RecordsOf(a); len(got) != 1 || got[0].FQDN() != a.Name+"."+domain {
		t.Errorf("records of %s: %+v", a.Name, got)
	}
	took("DNS records, and a conflict")

	// b powered off: its backend turns unhealthy.
	if err := inv.Act(ctx, alice, b, inventory.ActionRequest{Kind: inventory.PowerOff}, nil); err != nil {
		t.Fatal(err)
	}
	for _, be := range backends() {
		want := network.Healthy
		if be.HostID == b.ID {
			want = network.Unhealthy
		}
		if be.Health != want {
			t.Errorf("backend %d after %s powered off: %+v, want %s", be.HostID, b.Name, be, want)
		}
	}
	took("host powered off shows unhealthy")

	// a removed from the load balancer: a dangerous plan, and it is gone.
	p, err = net.PlanRemoveBackend(lbName, a.Name)
	if err != nil || !p.Action.Dangerous {
		t.Fatalf("remove backend: %v %+v", err, p)
	}
	must(p, nil)
	if be := backends(); len(be) != 1 || be[0].HostID != b.ID || be[0].Health != network.Unhealthy {
		t.Errorf("backends after %s removed: %+v", a.Name, be)
	}
	took("a backend removed")

	// Everything was journaled, the refusal included.
	entries, err := journal.Query(audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		if strings.Contains(e.Action, ".") && !strings.HasPrefix(e.Action, "create") {
			got = append(got, e.Action)
		}
	}
	for _, want := range []string{"lb.create", "firewall.create", "dns.record.create", "lb.backend.remove"} {
		if !slices.Contains(got, want) {
			t.Errorf("journal lacks %s: %v", want, got)
		}
	}
}

// cleanupNetwork deletes what the test made: its load balancers, firewalls
// and domain.
func cleanupNetwork(t *testing.T, l lab, net *network.Service, tag string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := net.Refresh(ctx); err != nil {
		t.Errorf("cleanup: %v", err)
	}
	admin := access.Actor{Name: "cleanup", Role: access.Admin}
	st := net.State()
	for _, lb := range st.LoadBalancers {
		if strings.HasPrefix(lb.Name, tag) {
			p, _ := net.PlanDeleteLoadBalancer(lb.Name)
			if err := net.Apply(ctx, admin, p); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	}
	for _, f := range st.Firewalls {
		if strings.HasPrefix(f.Name, tag) {
			p, _ := net.PlanDeleteFirewall(f.Name)
			if err := net.Apply(ctx, admin, p); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	}
	if err := l.client.DeleteDomain(ctx, tag+".lab"); err != nil {
		t.Errorf("cleanup: %v", err)
	}
}
