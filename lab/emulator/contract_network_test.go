package emulator

import (
	"context"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/digitalocean/godo"
)

// recordingFilter keeps the last ruleset the emulator applied.
type recordingFilter struct {
	last   chan Ruleset
	closed bool
}

func (f *recordingFilter) Apply(rs Ruleset) error {
	select {
	case <-f.last:
	default:
	}
	f.last <- rs
	return nil
}

func (f *recordingFilter) Close() error { f.closed = true; return nil }

// TestContractNetwork drives the firewall, load balancer, domain, VPC and
// reserved IP endpoints through godo, success and error responses alike,
// and validates each exchange against DigitalOcean's spec.
func TestContractNetwork(t *testing.T) {
	_, router := loadSpec(t)
	filter := &recordingFilter{last: make(chan Ruleset, 1)}
	srv, err := New(Config{StateDir: t.TempDir(), Token: testToken, LabKey: testPubKey, ActionDelay: 50 * time.Millisecond, Logf: t.Logf, Filter: filter})
	if err != nil {
		t.Fatal(err)
	}
	c := &contract{t: t, router: router, next: srv, seen: map[string]bool{}}
	hs := httptest.NewServer(c)
	defer hs.Close()
	defer srv.Close()
	do := newClient(t, hs.URL, testToken)
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	want := func(status int, err error) {
		t.Helper()
		if !isStatus(err, status) {
			t.Fatalf("got %v, want status %d", err, status)
		}
	}

	// Two web droplets in the default VPC, one in a VPC of its own.
	v, _, err := do.VPCs.Create(ctx, &godo.VPCCreateRequest{Name: "data", RegionSlug: "fra1", IPRange: "10.120.0.0/20"})
	must(err)
	req := createReq("web-1", "web-2")
	req.Tags = []string{"web"}
	ds, resp, err := do.Droplets.CreateMultiple(ctx, req)
	must(err)
	db, dresp, err := do.Droplets.Create(ctx, &godo.DropletCreateRequest{
		Name: "db-1", Region: "fra1", Size: "s-1vcpu-1gb", Image: godo.DropletCreateImage{Slug: "debian-12-x64"}, VPCUUID: v.ID,
	})
	must(err)
	_, _, err = do.Droplets.Create(ctx, &godo.DropletCreateRequest{
		Name: "db-2", Region: "lon1", Size: "s-1vcpu-1gb", Image: godo.DropletCreateImage{Slug: "debian-12-x64"}, VPCUUID: v.ID,
	})
	want(422, err)
	for _, a := range append(resp.Links.Actions, dresp.Links.Actions...) {
		waitAction(t, do, a.ID)
	}
	if db.VPCUUID != v.ID || ds[0].VPCUUID == v.ID || ds[0].VPCUUID == "" {
		t.Errorf("vpc_uuid: db-1 %q (want %q), web-1 %q (want the default)", db.VPCUUID, v.ID, ds[0].VPCUUID)
	}
	vpcs, _, err := do.VPCs.List(ctx, nil)
	must(err)
	if len(vpcs) != len(regionSlugs)+1 {
		t.Errorf("%d VPCs, want a default per region and one more", len(vpcs))
	}
	_, _, err = do.VPCs.Get(ctx, v.ID)
	must(err)
	_, _, err = do.VPCs.Get(ctx, "0d3d9b59-ffff-4a57-a3e4-6a1bd3b1c1e5")
	want(404, err)
	_, _, err = do.VPCs.Update(ctx, v.ID, &godo.VPCUpdateRequest{Name: "data-fra1", Description: "databases"})
	must(err)
	_, _, err = do.VPCs.Set(ctx, v.ID, godo.VPCSetDescription("the databases"))
	must(err)
	members, _, err := do.VPCs.ListMembers(ctx, v.ID, nil, nil)
	must(err)
	if len(members) != 1 || members[0].Name != "db-1" {
		t.Errorf("members of %s: %+v", v.Name, members)
	}
	_, _, err = do.VPCs.Create(ctx, &godo.VPCCreateRequest{Name: "bad", RegionSlug: "fra1", IPRange: "8.8.8.0/24"})
	want(422, err)

	// Firewall: web from anywhere, SSH from the bastion.
	fw, _, err := do.Firewalls.Create(ctx, &godo.FirewallRequest{
		Name: "web",
		InboundRules: []godo.InboundRule{
			{Protocol: "tcp", PortRange: "80", Sources: &godo.Sources{Addresses: []string{"0.0.0.0/0", "::/0"}}},
			{Protocol: "tcp", PortRange: "22", Sources: &godo.Sources{Addresses: []string{"127.0.0.1"}}},
		},
		OutboundRules: []godo.OutboundRule{{Protocol: "tcp", PortRange: "all", Destinations: &godo.Destinations{Addresses: []string{"0.0.0.0/0"}}}},
		Tags:          []string{"web"},
	})
	must(err)
	_, _, err = do.Firewalls.Create(ctx, &godo.FirewallRequest{
		Name: "bad", Tags: []string{}, DropletIDs: []int{}, OutboundRules: []godo.OutboundRule{},
		InboundRules: []godo.InboundRule{{Protocol: "tcp", PortRange: "70000", Sources: &godo.Sources{Addresses: []string{"0.0.0.0/0"}}}},
	})
	want(422, err)
	_, _, err = do.Firewalls.Get(ctx, fw.ID)
	must(err)
	_, _, err = do.Firewalls.Get(ctx, "nope")
	want(404, err)
	_, _, err = do.Firewalls.List(ctx, nil)
	must(err)
	byDroplet, _, err := do.Firewalls.ListByDroplet(ctx, ds[0].ID, nil)
	must(err)
	if len(byDroplet) != 1 {
		t.Errorf("web-1 is covered by %d firewalls, want 1 (by its tag)", len(byDroplet))
	}
	_, err = do.Firewalls.AddDroplets(ctx, fw.ID, db.ID)
	must(err)
	_, err = do.Firewalls.RemoveDroplets(ctx, fw.ID, db.ID)
	must(err)
	_, err = do.Firewalls.AddTags(ctx, fw.ID, "api")
	must(err)
	_, err = do.Firewalls.RemoveTags(ctx, fw.ID, "api")
	must(err)
	rule := &godo.FirewallRulesRequest{InboundRules: []godo.InboundRule{{Protocol: "tcp", PortRange: "9100", Sources: &godo.Sources{Addresses: []string{"127.0.0.1/32"}}}}}
	_, err = do.Firewalls.AddRules(ctx, fw.ID, rule)
	must(err)
	_, err = do.Firewalls.RemoveRules(ctx, fw.ID, rule)
	must(err)
	_, _, err = do.Firewalls.Update(ctx, fw.ID, &godo.FirewallRequest{
		Name: "web", Tags: []string{"web"},
		InboundRules: []godo.InboundRule{
			{Protocol: "tcp", PortRange: "80", Sources: &godo.Sources{Addresses: []string{"0.0.0.0/0"}}},
			{Protocol: "tcp", PortRange: "22", Sources: &godo.Sources{Addresses: []string{"127.0.0.1"}}},
		},
	})
	must(err)

	// Load balancer over the two web droplets.
	lb, _, err := do.LoadBalancers.Create(ctx, &godo.LoadBalancerRequest{
		Name: "web-lb", Region: "fra1", DropletIDs: []int{ds[0].ID, ds[1].ID},
		ForwardingRules: []godo.ForwardingRule{{EntryProtocol: "http", EntryPort: 80, TargetProtocol: "http", TargetPort: 80}},
		HealthCheck:     &godo.HealthCheck{Protocol: "tcp", Port: 22, CheckIntervalSeconds: 3, ResponseTimeoutSeconds: 1, HealthyThreshold: 2, UnhealthyThreshold: 2},
	})
	must(err)
	if lb.IP == "" || len(lb.DropletIDs) != 2 {
		t.Errorf("load balancer %+v", lb)
	}
	_, _, err = do.LoadBalancers.Create(ctx, &godo.LoadBalancerRequest{
		Name: "x", Region: "fra1", DropletIDs: []int{1},
		ForwardingRules: []godo.ForwardingRule{{EntryProtocol: "http", EntryPort: 80, TargetProtocol: "http", TargetPort: 80}},
	})
	want(422, err)
	_, _, err = do.LoadBalancers.Get(ctx, lb.ID)
	must(err)
	_, _, err = do.LoadBalancers.Get(ctx, "nope")
	want(404, err)
	_, _, err = do.LoadBalancers.List(ctx, nil)
	must(err)
	_, err = do.LoadBalancers.RemoveDroplets(ctx, lb.ID, ds[1].ID)
	must(err)
	_, err = do.LoadBalancers.AddDroplets(ctx, lb.ID, ds[1].ID)
	must(err)
	fr := godo.ForwardingRule{EntryProtocol: "tcp", EntryPort: 2222, TargetProtocol: "tcp", TargetPort: 22}
	_, err = do.LoadBalancers.AddForwardingRules(ctx, lb.ID, fr)
	must(err)
	_, err = do.LoadBalancers.RemoveForwardingRules(ctx, lb.ID, fr)
	must(err)
	_, _, err = do.LoadBalancers.Update(ctx, lb.ID, &godo.LoadBalancerRequest{
		Name: "web-lb", Region: "fra1", Tag: "web",
		ForwardingRules: []godo.ForwardingRule{{EntryProtocol: "http", EntryPort: 80, TargetProtocol: "http", TargetPort: 80}},
		HealthCheck:     &godo.HealthCheck{Protocol: "tcp", Port: 22},
	})
	must(err)

	// A domain with a record per web droplet.
	_, _, err = do.Domains.Create(ctx, &godo.DomainCreateRequest{Name: "shop.example", IPAddress: lb.IP})
	must(err)
	_, _, err = do.Domains.Create(ctx, &godo.DomainCreateRequest{Name: "shop.example"})
	want(422, err)
	_, _, err = do.Domains.List(ctx, nil)
	must(err)
	_, _, err = do.Domains.Get(ctx, "shop.example")
	must(err)
	_, _, err = do.Domains.Get(ctx, "nope.example")
	want(404, err)
	rec, _, err := do.Domains.CreateRecord(ctx, "shop.example", &godo.DomainRecordEditRequest{Type: "A", Name: "web-1", Data: "127.0.10.2", TTL: 300})
	must(err)
	_, _, err = do.Domains.CreateRecord(ctx, "shop.example", &godo.DomainRecordEditRequest{Type: "CNAME", Name: "web-1", Data: "web-2.shop.example"})
	want(422, err)
	_, _, err = do.Domains.Records(ctx, "shop.example", nil)
	must(err)
	_, _, err = do.Domains.RecordsByTypeAndName(ctx, "shop.example", "A", "web-1.shop.example", nil)
	must(err)
	_, _, err = do.Domains.Record(ctx, "shop.example", rec.ID)
	must(err)
	_, _, err = do.Domains.EditRecord(ctx, "shop.example", rec.ID, &godo.DomainRecordEditRequest{Type: "A", Name: "web-1", Data: "127.0.10.3"})
	must(err)
	_, _, err = do.Domains.Record(ctx, "shop.example", 1)
	want(404, err)
	_, err = do.Domains.DeleteRecord(ctx, "shop.example", rec.ID)
	must(err)

	// A reserved IP moved between the droplets.
	rip, _, err := do.ReservedIPs.Create(ctx, &godo.ReservedIPCreateRequest{Region: "fra1"})
	must(err)
	_, _, err = do.ReservedIPs.Create(ctx, &godo.ReservedIPCreateRequest{Region: "xx1"})
	want(422, err)
	a, _, err := do.ReservedIPActions.Assign(ctx, rip.IP, ds[0].ID)
	must(err)
	_, _, err = do.ReservedIPActions.Get(ctx, rip.IP, a.ID)
	must(err)
	_, _, err = do.ReservedIPActions.List(ctx, rip.IP, nil)
	must(err)
	got, _, err := do.ReservedIPs.Get(ctx, rip.IP)
	must(err)
	if got.Droplet == nil || got.Droplet.ID != ds[0].ID {
		t.Errorf("reserved IP %s: droplet %+v, want %d", rip.IP, got.Droplet, ds[0].ID)
	}
	_, _, err = do.ReservedIPs.List(ctx, nil)
	must(err)
	_, _, err = do.ReservedIPActions.Unassign(ctx, rip.IP)
	must(err)
	_, _, err = do.ReservedIPActions.Unassign(ctx, rip.IP)
	want(422, err)
	_, _, err = do.ReservedIPActions.Assign(ctx, rip.IP, ds[1].ID)
	must(err)
	_, _, err = do.ReservedIPs.Get(ctx, "127.9.9.9")
	want(404, err)

	// What the packet filter was given: web-1 and web-2 guarded, the
	// reserved IP translated to web-2.
	deadline := time.After(5 * time.Second)
	for {
		var rs Ruleset
		select {
		case rs = <-filter.last:
		case <-deadline:
			t.Fatal("the packet filter was not given the firewall")
		}
		if len(rs.Guarded) == 2 && rs.NAT[rip.IP] != "" {
			if g := rs.Guarded[0]; len(g.Allow) != 2 || g.Allow[0].Sources != nil || g.Allow[1].Sources[0] != "127.0.0.1" {
				t.Errorf("web-1's allowances: %+v", g.Allow)
			}
			break
		}
	}

	_, err = do.ReservedIPs.Delete(ctx, rip.IP)
	must(err)
	_, err = do.Domains.Delete(ctx, "shop.example")
	must(err)
	_, err = do.LoadBalancers.Delete(ctx, lb.ID)
	must(err)
	_, err = do.Firewalls.Delete(ctx, fw.ID)
	must(err)
	_, err = do.VPCs.Delete(ctx, v.ID)
	want(403, err)
	_, err = do.Droplets.Delete(ctx, db.ID)
	must(err)
	_, err = do.VPCs.Delete(ctx, v.ID)
	must(err)

	for _, p := range c.problems {
		t.Error(p)
	}
	implemented := []string{
		"firewalls_list", "firewalls_create", "firewalls_get", "firewalls_update", "firewalls_delete",
		"firewalls_assign_droplets", "firewalls_delete_droplets", "firewalls_add_tags", "firewalls_delete_tags",
		"firewalls_add_rules", "firewalls_delete_rules", "droplets_list_firewalls",
		"loadBalancers_list", "loadBalancers_create", "loadBalancers_get", "loadBalancers_update", "loadBalancers_delete",
		"loadBalancers_add_droplets", "loadBalancers_remove_droplets", "loadBalancers_add_forwardingRules", "loadBalancers_remove_forwardingRules",
		"domains_list", "domains_create", "domains_get", "domains_delete",
		"domains_list_records", "domains_create_record", "domains_get_record", "domains_update_record", "domains_delete_record",
		"vpcs_list", "vpcs_create", "vpcs_get", "vpcs_update", "vpcs_patch", "vpcs_delete", "vpcs_list_members",
		"reservedIPs_list", "reservedIPs_create", "reservedIPs_get", "reservedIPs_delete",
		"reservedIPsActions_post", "reservedIPsActions_list", "reservedIPsActions_get",
		"firewalls_create 422", "firewalls_get 404", "loadBalancers_create 422", "loadBalancers_get 404",
		"domains_create_record 422", "domains_get_record 404", "vpcs_delete 403", "reservedIPsActions_post 422",
	}
	var missed []string
	for _, op := range implemented {
		if !c.seen[op] {
			missed = append(missed, op)
		}
	}
	if len(missed) > 0 {
		seen := make([]string, 0, len(c.seen))
		for k := range c.seen {
			seen = append(seen, k)
		}
		sort.Strings(seen)
		t.Errorf("not exercised: %v\nseen: %s", missed, strings.Join(seen, " "))
	}
}
