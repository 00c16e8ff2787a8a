package network

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/internal/testclock"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/inventory"
)

// fakeCloud keeps the network in memory and counts the calls that change it.
type fakeCloud struct {
	fws     []Firewall
	lbs     []LoadBalancer
	domains []Domain
	records []Record
	vpcs    []VPC
	rips    []ReservedIP
	calls   []string
	nextID  int
}

func (f *fakeCloud) id() string { f.nextID++; return fmt.Sprint("id-", f.nextID) }

func (f *fakeCloud) Firewalls(context.Context) ([]Firewall, error) { return slices.Clone(f.fws), nil }
func (f *fakeCloud) CreateFirewall(_ context.Context, fw Firewall) (Firewall, error) {
	f.calls = append(f.calls, "create firewall "+fw.Name)
	fw.ID = f.id()
	f.fws = append(f.fws, fw)
	return fw, nil
}
func (f *fakeCloud) UpdateFirewall(_ context.Context, fw Firewall) (Firewall, error) {
	f.calls = append(f.calls, "update firewall "+fw.Name)
	for i := range f.fws {
		if f.fws[i].ID == fw.ID {
			f.fws[i] = fw
		}
	}
	return fw, nil
}
func (f *fakeCloud) DeleteFirewall(_ context.Context, id string) error {
	f.calls = append(f.calls, "delete firewall "+id)
	f.fws = slices.DeleteFunc(f.fws, func(x Firewall) bool { return x.ID == id })
	return nil
}
func (f *fakeCloud) LoadBalancers(context.Context) ([]LoadBalancer, error) {
	return slices.Clone(f.lbs), nil
}
func (f *fakeCloud) CreateLoadBalancer(_ context.Context, lb LoadBalancer) (LoadBalancer, error) {
	f.calls = append(f.calls, "create lb "+lb.Name)
	lb.ID = f.id()
	for _, id := range lb.HostIDs {
		lb.Backends = append(lb.Backends, Backend{HostID: id, Health: Healthy})
	}
	f.lbs = append(f.lbs, lb)
	return lb, nil
}
func (f *fakeCloud) DeleteLoadBalancer(_ context.Context, id string) error {
	f.calls = append(f.calls, "delete lb "+id)
	return nil
}
func (f *fakeCloud) AddBackends(_ context.Context, id string, hosts []int) error {
	f.calls = append(f.calls, fmt.Sprint("add backends ", hosts))
	return nil
}
func (f *fakeCloud) RemoveBackends(_ context.Context, id string, hosts []int) error {
	f.calls = append(f.calls, fmt.Sprint("remove backends ", hosts))
	return nil
}
func (f *fakeCloud) Domains(context.Context) ([]Domain, error) { return slices.Clone(f.domains), nil }
func (f *fakeCloud) CreateDomain(_ context.Context, name string) (Domain, error) {
	f.calls = append(f.calls, "create domain "+name)
	f.domains = append(f.domains, Domain{Name: name})
	return Domain{Name: name}, nil
}
func (f *fakeCloud) DeleteDomain(context.Context, string) error { return nil }
func (f *fakeCloud) Records(_ context.Context, d string) ([]Record, error) {
	var out []Record
	for _, r := range f.records {
		if r.Domain == d {
			out = append(out, r)
		}
	}
	return out, nil
}
func (f *fakeCloud) CreateRecord(_ context.Context, r Record) (Record, error) {
	f.calls = append(f.calls, "create record "+r.FQDN()+" "+r.Data)
	r.ID = len(f.records) + 1
	f.records = append(f.records, r)
	return r, nil
}
func (f *fakeCloud) UpdateRecord(_ context.Context, r Record) (Record, error) {
	f.calls = append(f.calls, fmt.Sprintf("update record %d %s", r.ID, r.Data))
	for i := range f.records {
		if f.records[i].ID == r.ID {
			f.records[i] = r
		}
	}
	return r, nil
}
func (f *fakeCloud) DeleteRecord(_ context.Context, d string, id int) error {
	f.calls = append(f.calls, fmt.Sprintf("delete record %d", id))
	f.records = slices.DeleteFunc(f.records, func(r Record) bool { return r.ID == id })
	return nil
}
func (f *fakeCloud) VPCs(context.Context) ([]VPC, error)             { return f.vpcs, nil }
func (f *fakeCloud) CreateVPC(_ context.Context, v VPC) (VPC, error) { return v, nil }
func (f *fakeCloud) DeleteVPC(context.Context, string) error         { return nil }
func (f *fakeCloud) ReservedIPs(context.Context) ([]ReservedIP, error) {
	return slices.Clone(f.rips), nil
}
func (f *fakeCloud) CreateReservedIP(context.Context, string) (ReservedIP, error) {
	return ReservedIP{}, nil
}
func (f *fakeCloud) DeleteReservedIP(context.Context, string) error { return nil }
func (f *fakeCloud) AssignReservedIP(_ context.Context, ip string, host int) error {
	f.calls = append(f.calls, fmt.Sprintf("assign %s %d", ip, host))
	for i := range f.rips {
		if f.rips[i].IP == ip {
			f.rips[i].HostID = host
		}
	}
	return nil
}

type entry struct {
	action, target string
	err            error
}

type fakeJournal struct{ entries []entry }

func (j *fakeJournal) Record(_ context.Context, _ access.Actor, action, target string, _ map[string]string, err error) error {
	j.entries = append(j.entries, entry{action, target, err})
	return nil
}

type fakeProber map[string]error

func (p fakeProber) Probe(_ context.Context, addr string, port int) error {
	if err, ok := p[fmt.Sprintf("%s:%d", addr, port)]; ok {
		return err
	}
	return errors.New("dial tcp: connection refused")
}

var (
	alice = access.Actor{Name: "alice", Role: access.Operator, Source: "local"}
	web1  = inventory.Host{ID: 1, Name: "web-1", Status: "active", Region: "fra1", PublicIPv4: "203.0.113.21", Tags: []string{"web"}, VPCID: "vpc-fra1"}
	web2  = inventory.Host{ID: 2, Name: "web-2", Status: "active", Region: "fra1", PublicIPv4: "203.0.113.22", Tags: []string{"web"}, VPCID: "vpc-fra1"}
	db1   = inventory.Host{ID: 3, Name: "db-1", Status: "off", Region: "fra1", PublicIPv4: "203.0.113.23", Tags: []string{"db"}}
)

func newTestService(t *testing.T, cloud *fakeCloud, prober fakeProber) (*Service, *fakeJournal) {
	t.Helper()
	j := &fakeJournal{}
	now := testclock.Epoch()
	s := New(cloud, j, Options{
		Bastion: "198.51.100.7", Domain: "shop.example",
		Templates: []config.FirewallTemplate{
			{Name: "web", Rules: []string{"80,443 from anywhere", "22 from bastion"}, Tags: []string{"web"}},
			{Name: "locked", Rules: []string{"80 from anywhere"}, Tags: []string{"web"}},
			{Name: "internal", Rules: []string{"5432 from tag:web", "22 from bastion"}, Tags: []string{"db"}},
		},
		Hosts:  func() []inventory.Host { return []inventory.Host{web1, web2, db1} },
		Prober: prober,
		Now:    func() time.Time { return now },
	})
	if err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, j
}

func TestFirewallTemplatePlanOpensToTheWorldAndKeepsBastionSSH(t *testing.T) {
	cloud := &fakeCloud{}
	s, j := newTestService(t, cloud, nil)
	p, err := s.PlanFirewallTemplate("web")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"+ firewall web on web-1, web-2 (tags web)",
		"+ inbound tcp 80 from anywhere",
		"+ inbound tcp 443 from anywhere",
		"+ inbound tcp 22 from 198.51.100.7",
	}
	if got := p.Lines(); !slices.Equal(got, want) {
		t.Errorf("plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !p.Action.Dangerous || p.Danger != "opens tcp 80, tcp 443 to the world" || p.Refusal != nil {
		t.Errorf("action %+v, danger %q, refusal %v", p.Action, p.Danger, p.Refusal)
	}
	if c := p.Confirmation(); !c.Needed() || !strings.Contains(c.Title, "opens tcp 80, tcp 443 to the world") {
		t.Errorf("confirmation %+v", c)
	}
	if err := s.Apply(context.Background(), alice, p); err != nil {
		t.Fatal(err)
	}
	if len(cloud.fws) != 1 || len(j.entries) != 1 || j.entries[0] != (entry{"firewall.create", "firewall:web", nil}) {
		t.Fatalf("firewalls %+v, journal %+v", cloud.fws, j.entries)
	}
	// The same template again: nothing to change.
	p, _ = s.PlanFirewallTemplate("web")
	if !p.Empty() || p.Lines()[0] != "nothing to change" {
		t.Errorf("second plan: %v", p.Lines())
	}
}

func TestFirewallThatCutsBastionSSHIsRefused(t *testing.T) {
	cloud := &fakeCloud{}
	s, j := newTestService(t, cloud, nil)
	p, err := s.PlanFirewallTemplate("locked")
	if err != nil {
		t.Fatal(err)
	}
	if p.Refusal == nil || !strings.Contains(p.Refusal.Error(), "would cut SSH from the bastion (198.51.100.7) to web-1, web-2") {
		t.Fatalf("refusal: %v", p.Refusal)
	}
	err = s.Apply(context.Background(), alice, p)
	if !access.IsRefusal(err) || len(cloud.calls) != 0 {
		t.Fatalf("apply: %v, calls %v", err, cloud.calls)
	}
	if len(j.entries) != 1 || j.entries[0].err == nil {
		t.Errorf("the refusal is not journaled: %+v", j.entries)
	}
	// Removing the SSH rule from a firewall that has it is refused too.
	p, _ = s.PlanFirewallTemplate("web")
	if err := s.Apply(context.Background(), alice, p); err != nil {
		t.Fatal(err)
	}
	p, err = s.PlanRemoveRule("web", "22 from bastion")
	if err != nil || p.Refusal == nil {
		t.Fatalf("removing the bastion's SSH rule: %v, refusal %v", err, p.Refusal)
	}
	// A viewer may not change firewalls at all.
	bob := access.Actor{Name: "bob", Role: access.Viewer}
	p, _ = s.PlanAddRule("web", "8080 from 10.0.0.0/8")
	if err := s.Apply(context.Background(), bob, p); !access.IsRefusal(err) {
		t.Errorf("viewer: %v", err)
	}
}

func TestRecordConflictIsNotOverwrittenSilently(t *testing.T) {
	cloud := &fakeCloud{domains: []Domain{{Name: "shop.example"}}, records: []Record{{ID: 1, Domain: "shop.example", Type: "A", Name: "web-1", Data: "203.0.113.99", TTL: 300}}}
	s, j := newTestService(t, cloud, nil)
	p, err := s.PlanHostRecord("web-1", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if !p.Conflict() || !p.Action.Dangerous {
		t.Fatalf("plan %v is no conflict", p.Lines())
	}
	if !strings.Contains(p.Danger, "web-1.shop.example exists already as A 203.0.113.99 (ID 1), not A 203.0.113.21: replacing it needs confirmation") {
		t.Errorf("conflict message: %q", p.Danger)
	}
	if len(cloud.calls) != 0 {
		t.Fatalf("planning changed the cloud: %v", cloud.calls)
	}
	if err := s.Apply(context.Background(), alice, p); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cloud.calls, []string{"update record 1 203.0.113.21"}) || j.entries[0].action != "dns.record.replace" {
		t.Errorf("calls %v, journal %+v", cloud.calls, j.entries)
	}
	// A new name in a new domain creates both, without danger.
	p, _ = s.PlanHostRecord("web-2", "www", "other.example")
	if p.Action.Dangerous || !slices.Equal(p.Lines(), []string{"+ domain other.example", "+ record www.other.example A 203.0.113.22"}) {
		t.Errorf("plan %v", p.Lines())
	}
	if got := s.RecordsOf(web1); len(got) != 1 || got[0].FQDN() != "web-1.shop.example" {
		t.Errorf("records of web-1: %+v", got)
	}
	rm := s.PlanRemoveHostRecords(web1)
	if !rm.Action.Dangerous || !slices.Equal(rm.Lines(), []string{"- record web-1.shop.example A 203.0.113.21"}) {
		t.Errorf("remove plan %v", rm.Lines())
	}
}

func TestBackendRemovalIsDangerousAndHealthFollowsHosts(t *testing.T) {
	cloud := &fakeCloud{}
	s, _ := newTestService(t, cloud, nil)
	p, err := s.PlanCreateLoadBalancer("web-lb", []string{"web-1", "web-2", "db-1"}, []Forwarding{{"http", 80, "http", 80}}, HealthCheck{Protocol: "tcp", Port: 22})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(context.Background(), alice, p); err != nil {
		t.Fatal(err)
	}
	lb := s.State().LoadBalancers[0]
	lb.Backends[2].Health = Unknown // as DigitalOcean says nothing
	health := s.Backends(lb)
	if health[2].Health != Unhealthy || health[2].Reason != "host is off" {
		t.Errorf("db-1, powered off: %+v", health[2])
	}
	p, err = s.PlanRemoveBackend("web-lb", "web-2")
	if err != nil {
		t.Fatal(err)
	}
	if !p.Action.Dangerous || p.Danger != "web-2 stops receiving traffic; 1 healthy backend(s) left" {
		t.Errorf("plan %+v", p)
	}
	if _, err := s.PlanAddBackend("web-lb", "nope"); err == nil {
		t.Error("an unknown host was planned")
	}
	if _, err := ParseForwarding("http:80:http:8080"); err != nil {
		t.Error(err)
	}
	if _, err := ParseForwarding("http:eighty"); err == nil {
		t.Error("a bad forwarding parsed")
	}
}

func TestCheckSaysWhyAndProbes(t *testing.T) {
	cloud := &fakeCloud{fws: []Firewall{{ID: "f", Name: "web", Tags: []string{"web"}, Inbound: []Rule{
		{Protocol: "tcp", Ports: "80", Peers: Peers{Addresses: anywhere}},
		{Protocol: "tcp", Ports: "22", Peers: Peers{Addresses: []string{"198.51.100.7"}}},
	}}}}
	s, _ := newTestService(t, cloud, fakeProber{"203.0.113.21:22": nil})
	ctx := context.Background()
	r, err := s.Check(ctx, "web-1", 22)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Allowed || !r.Answers || r.Why != "web: tcp 22 from 198.51.100.7" {
		t.Errorf("22: %+v", r)
	}
	r, _ = s.Check(ctx, "web-1", 5432)
	if r.Allowed || r.Answers || r.Why != "no rule of web allows tcp 5432 from the bastion (198.51.100.7)" || r.ProbeErr != "connection refused" {
		t.Errorf("5432: %+v", r)
	}
	if !strings.Contains(r.Verdict(), "web-1:5432 (203.0.113.21) closed — refused by the firewalls") {
		t.Errorf("verdict %q", r.Verdict())
	}
	r, _ = s.Check(ctx, "db-1", 5432)
	if !r.Allowed || r.Why != "no firewall covers db-1" {
		t.Errorf("db-1: %+v", r)
	}
	hn := s.Host(web1)
	if len(hn.Firewalls) != 1 || hn.Firewalls[0].Name != "web" {
		t.Errorf("web-1's network: %+v", hn)
	}
}

func TestReservedIPAssignMovesAndSays(t *testing.T) {
	cloud := &fakeCloud{rips: []ReservedIP{{IP: "198.51.100.50", Region: "fra1", HostID: 1}}}
	s, j := newTestService(t, cloud, nil)
	p, err := s.PlanAssignIP("198.51.100.50", "web-2")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Lines(), []string{"~ reserved IP 198.51.100.50: web-1 → web-2", "! web-1 stops receiving the traffic sent to 198.51.100.50"}) {
		t.Errorf("plan %v", p.Lines())
	}
	if err := s.Apply(context.Background(), alice, p); err != nil {
		t.Fatal(err)
	}
	if s.ReservedIPOf(web2) != "198.51.100.50" || j.entries[0].action != "reserved_ip.assign" {
		t.Errorf("after: %v %+v", s.State().ReservedIPs, j.entries)
	}
	if _, err := s.PlanAssignIP("198.51.100.50", "nope"); err == nil {
		t.Error("unknown host")
	}
}

func TestCNAMEOverAnARecordIsAConflict(t *testing.T) {
	cloud := &fakeCloud{domains: []Domain{{Name: "shop.example"}}, records: []Record{{ID: 1, Domain: "shop.example", Type: "A", Name: "www", Data: "203.0.113.21", TTL: 300}}}
	s, _ := newTestService(t, cloud, nil)
	p, err := s.PlanRecord(Record{Type: "CNAME", Name: "www.shop.example", Data: "web-1.shop.example.", TTL: 300}, "")
	if err != nil || !p.Conflict() || !strings.Contains(p.Danger, "www.shop.example exists already as A 203.0.113.21 (ID 1), not CNAME web-1.shop.example.") {
		t.Fatalf("plan %+v, %v", p, err)
	}
	// Another A record beside an A record is no conflict for a CNAME-less name.
	p, _ = s.PlanRecord(Record{Type: "TXT", Name: "www", Data: "v=spf1 -all"}, "")
	if p.Conflict() || len(p.Create) != 1 {
		t.Errorf("TXT beside A: %v", p.Lines())
	}
	// The A record's host: a CNAME to it counts as pointing at it.
	cloud.records = append(cloud.records, Record{ID: 2, Domain: "shop.example", Type: "A", Name: "web-1", Data: web1.PublicIPv4},
		Record{ID: 3, Domain: "shop.example", Type: "CNAME", Name: "shop", Data: "web-1.shop.example."})
	s.Refresh(context.Background())
	var names []string
	for _, r := range s.RecordsOf(web1) {
		names = append(names, r.FQDN())
	}
	if !slices.Equal(names, []string{"web-1.shop.example", "www.shop.example", "shop.shop.example"}) {
		t.Errorf("records of web-1: %v", names)
	}
}
