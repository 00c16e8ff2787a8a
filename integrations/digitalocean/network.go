package digitalocean

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/digitalocean/godo"

	"github.com/vigilops/vigil/ops/network"
)

var _ network.Cloud = (*Client)(nil)

// Firewalls, load balancers, domains, VPCs and reserved IPs, through godo
// (and so through the transport's retries and rate limits).

func peersOut(p network.Peers) (addrs []string, ids []int, tags, lbs []string) {
	return p.Addresses, p.HostIDs, p.Tags, p.LoadBalancerIDs
}

func firewallRequest(f network.Firewall) *godo.FirewallRequest {
	req := &godo.FirewallRequest{
		Name: f.Name, DropletIDs: nonNilInts(f.HostIDs), Tags: nonNilStrings(f.Tags),
		InboundRules: []godo.InboundRule{}, OutboundRules: []godo.OutboundRule{},
	}
	for _, r := range f.Inbound {
		a, ids, tags, lbs := peersOut(r.Peers)
		req.InboundRules = append(req.InboundRules, godo.InboundRule{
			Protocol: r.Protocol, PortRange: r.Ports,
			Sources: &godo.Sources{Addresses: a, DropletIDs: ids, Tags: tags, LoadBalancerUIDs: lbs},
		})
	}
	for _, r := range f.Outbound {
		a, ids, tags, lbs := peersOut(r.Peers)
		req.OutboundRules = append(req.OutboundRules, godo.OutboundRule{
			Protocol: r.Protocol, PortRange: r.Ports,
			Destinations: &godo.Destinations{Addresses: a, DropletIDs: ids, Tags: tags, LoadBalancerUIDs: lbs},
		})
	}
	return req
}

func nonNilInts(v []int) []int {
	if v == nil {
		return []int{}
	}
	return v
}

func nonNilStrings(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

func firewall(f *godo.Firewall) network.Firewall {
	out := network.Firewall{ID: f.ID, Name: f.Name, Status: f.Status, HostIDs: f.DropletIDs, Tags: f.Tags}
	out.Created, _ = time.Parse(time.RFC3339, f.Created)
	for _, r := range f.InboundRules {
		rule := network.Rule{Protocol: r.Protocol, Ports: r.PortRange}
		if s := r.Sources; s != nil {
			rule.Peers = network.Peers{Addresses: s.Addresses, HostIDs: s.DropletIDs, Tags: s.Tags, LoadBalancerIDs: s.LoadBalancerUIDs}
		}
		out.Inbound = append(out.Inbound, rule)
	}
	for _, r := range f.OutboundRules {
		rule := network.Rule{Protocol: r.Protocol, Ports: r.PortRange}
		if d := r.Destinations; d != nil {
			rule.Peers = network.Peers{Addresses: d.Addresses, HostIDs: d.DropletIDs, Tags: d.Tags, LoadBalancerIDs: d.LoadBalancerUIDs}
		}
		out.Outbound = append(out.Outbound, rule)
	}
	return out
}

func (c *Client) Firewalls(ctx context.Context) ([]network.Firewall, error) {
	var out []network.Firewall
	err := walk(ctx, func(opt *godo.ListOptions) (*godo.Response, error) {
		fs, resp, err := c.api.Firewalls.List(ctx, opt)
		for i := range fs {
			out = append(out, firewall(&fs[i]))
		}
		return resp, err
	})
	if err != nil {
		return nil, apiError("list firewalls", err)
	}
	return out, nil
}

func (c *Client) CreateFirewall(ctx context.Context, f network.Firewall) (network.Firewall, error) {
	got, _, err := c.api.Firewalls.Create(ctx, firewallRequest(f))
	if err != nil {
		return network.Firewall{}, apiError("create firewall "+f.Name, err)
	}
	return firewall(got), nil
}

func (c *Client) UpdateFirewall(ctx context.Context, f network.Firewall) (network.Firewall, error) {
	got, _, err := c.api.Firewalls.Update(ctx, f.ID, firewallRequest(f))
	if err != nil {
		return network.Firewall{}, apiError("update firewall "+f.Name, err)
	}
	return firewall(got), nil
}

func (c *Client) DeleteFirewall(ctx context.Context, id string) error {
	if _, err := c.api.Firewalls.Delete(ctx, id); err != nil {
		return apiError("delete firewall "+id, err)
	}
	return nil
}

// healthLB is a load balancer with the lab emulator's droplet_health
// extension; DigitalOcean's API has no per-backend health, so there every
// backend's health is Unknown and ops/network judges it itself.
type healthLB struct {
	godo.LoadBalancer
	DropletHealth *[]struct {
		DropletID int    `json:"droplet_id"`
		Status    string `json:"status"`
		Reason    string `json:"reason"`
	} `json:"droplet_health"`
}

func loadBalancer(h *healthLB) network.LoadBalancer {
	lb := h.LoadBalancer
	out := network.LoadBalancer{
		ID: lb.ID, Name: lb.Name, IP: lb.IP, Status: lb.Status, HostIDs: lb.DropletIDs, Tag: lb.Tag, VPCID: lb.VPCUUID,
	}
	if lb.Region != nil {
		out.Region = lb.Region.Slug
	}
	out.Created, _ = time.Parse(time.RFC3339, lb.Created)
	for _, f := range lb.ForwardingRules {
		out.Forwarding = append(out.Forwarding, network.Forwarding{
			EntryProtocol: f.EntryProtocol, EntryPort: f.EntryPort, TargetProtocol: f.TargetProtocol, TargetPort: f.TargetPort,
		})
	}
	if hc := lb.HealthCheck; hc != nil {
		out.HealthCheck = network.HealthCheck{Protocol: hc.Protocol, Port: hc.Port, Path: hc.Path}
	}
	health := map[int]network.Backend{}
	if h.DropletHealth != nil {
		for _, b := range *h.DropletHealth {
			health[b.DropletID] = network.Backend{HostID: b.DropletID, Health: b.Status, Reason: b.Reason}
		}
	}
	for _, id := range lb.DropletIDs {
		b, ok := health[id]
		if !ok {
			b = network.Backend{HostID: id, Health: network.Unknown}
		}
		out.Backends = append(out.Backends, b)
	}
	return out
}

func (c *Client) LoadBalancers(ctx context.Context) ([]network.LoadBalancer, error) {
	var out []network.LoadBalancer
	err := walk(ctx, func(opt *godo.ListOptions) (*godo.Response, error) {
		req, err := c.api.NewRequest(ctx, http.MethodGet, fmt.Sprintf("v2/load_balancers?page=%d&per_page=%d", opt.Page, opt.PerPage), nil)
		if err != nil {
			return nil, err
		}
		var root struct {
			LoadBalancers []healthLB  `json:"load_balancers"`
			Links         *godo.Links `json:"links"`
			Meta          *godo.Meta  `json:"meta"`
		}
		resp, err := c.api.Do(ctx, req, &root)
		if err != nil {
			return resp, err
		}
		resp.Links, resp.Meta = root.Links, root.Meta
		for i := range root.LoadBalancers {
			out = append(out, loadBalancer(&root.LoadBalancers[i]))
		}
		return resp, nil
	})
	if err != nil {
		return nil, apiError("list load balancers", err)
	}
	return out, nil
}

func (c *Client) CreateLoadBalancer(ctx context.Context, lb network.LoadBalancer) (network.LoadBalancer, error) {
	req := &godo.LoadBalancerRequest{Name: lb.Name, Region: lb.Region, DropletIDs: lb.HostIDs, Tag: lb.Tag, VPCUUID: lb.VPCID}
	for _, f := range lb.Forwarding {
		req.ForwardingRules = append(req.ForwardingRules, godo.ForwardingRule{
			EntryProtocol: f.EntryProtocol, EntryPort: f.EntryPort, TargetProtocol: f.TargetProtocol, TargetPort: f.TargetPort,
		})
	}
	if hc := lb.HealthCheck; hc.Protocol != "" {
		req.HealthCheck = &godo.HealthCheck{Protocol: hc.Protocol, Port: hc.Port, Path: hc.Path}
	}
	got, _, err := c.api.LoadBalancers.Create(ctx, req)
	if err != nil {
		return network.LoadBalancer{}, apiError("create load balancer "+lb.Name, err)
	}
	return loadBalancer(&healthLB{LoadBalancer: *got}), nil
}

func (c *Client) DeleteLoadBalancer(ctx context.Context, id string) error {
	if _, err := c.api.LoadBalancers.Delete(ctx, id); err != nil {
		return apiError("delete load balancer "+id, err)
	}
	return nil
}

func (c *Client) AddBackends(ctx context.Context, lbID string, hostIDs []int) error {
	if _, err := c.api.LoadBalancers.AddDroplets(ctx, lbID, hostIDs...); err != nil {
		return apiError("add backends to load balancer "+lbID, err)
	}
	return nil
}

func (c *Client) RemoveBackends(ctx context.Context, lbID string, hostIDs []int) error {
	if _, err := c.api.LoadBalancers.RemoveDroplets(ctx, lbID, hostIDs...); err != nil {
		return apiError("remove backends from load balancer "+lbID, err)
	}
	return nil
}

func (c *Client) Domains(ctx context.Context) ([]network.Domain, error) {
	var out []network.Domain
	err := walk(ctx, func(opt *godo.ListOptions) (*godo.Response, error) {
		ds, resp, err := c.api.Domains.List(ctx, opt)
		for _, d := range ds {
			out = append(out, network.Domain{Name: d.Name, TTL: d.TTL})
		}
		return resp, err
	})
	if err != nil {
		return nil, apiError("list domains", err)
	}
	return out, nil
}

func (c *Client) CreateDomain(ctx context.Context, name string) (network.Domain, error) {
	d, _, err := c.api.Domains.Create(ctx, &godo.DomainCreateRequest{Name: name})
	if err != nil {
		return network.Domain{}, apiError("create domain "+name, err)
	}
	return network.Domain{Name: d.Name, TTL: d.TTL}, nil
}

func (c *Client) DeleteDomain(ctx context.Context, name string) error {
	if _, err := c.api.Domains.Delete(ctx, name); err != nil {
		return apiError("delete domain "+name, err)
	}
	return nil
}

func record(domain string, r godo.DomainRecord) network.Record {
	return network.Record{ID: r.ID, Domain: domain, Type: r.Type, Name: r.Name, Data: r.Data, TTL: r.TTL}
}

func (c *Client) Records(ctx context.Context, domain string) ([]network.Record, error) {
	var out []network.Record
	err := walk(ctx, func(opt *godo.ListOptions) (*godo.Response, error) {
		rs, resp, err := c.api.Domains.Records(ctx, domain, opt)
		for _, r := range rs {
			out = append(out, record(domain, r))
		}
		return resp, err
	})
	if err != nil {
		return nil, apiError("list records of "+domain, err)
	}
	return out, nil
}

func (c *Client) CreateRecord(ctx context.Context, r network.Record) (network.Record, error) {
	got, _, err := c.api.Domains.CreateRecord(ctx, r.Domain, &godo.DomainRecordEditRequest{Type: r.Type, Name: r.Name, Data: r.Data, TTL: r.TTL})
	if err != nil {
		return network.Record{}, apiError("create record "+r.FQDN(), err)
	}
	return record(r.Domain, *got), nil
}

func (c *Client) UpdateRecord(ctx context.Context, r network.Record) (network.Record, error) {
	got, _, err := c.api.Domains.EditRecord(ctx, r.Domain, r.ID, &godo.DomainRecordEditRequest{Type: r.Type, Name: r.Name, Data: r.Data, TTL: r.TTL})
	if err != nil {
		return network.Record{}, apiError("update record "+r.FQDN(), err)
	}
	return record(r.Domain, *got), nil
}

func (c *Client) DeleteRecord(ctx context.Context, domain string, id int) error {
	if _, err := c.api.Domains.DeleteRecord(ctx, domain, id); err != nil {
		return apiError(fmt.Sprintf("delete record %d of %s", id, domain), err)
	}
	return nil
}

func (c *Client) VPCs(ctx context.Context) ([]network.VPC, error) {
	var out []network.VPC
	err := walk(ctx, func(opt *godo.ListOptions) (*godo.Response, error) {
		vs, resp, err := c.api.VPCs.List(ctx, opt)
		for _, v := range vs {
			out = append(out, network.VPC{ID: v.ID, Name: v.Name, Region: v.RegionSlug, IPRange: v.IPRange, Default: v.Default})
		}
		return resp, err
	})
	if err != nil {
		return nil, apiError("list VPCs", err)
	}
	return out, nil
}

func (c *Client) CreateVPC(ctx context.Context, v network.VPC) (network.VPC, error) {
	got, _, err := c.api.VPCs.Create(ctx, &godo.VPCCreateRequest{Name: v.Name, RegionSlug: v.Region, IPRange: v.IPRange})
	if err != nil {
		return network.VPC{}, apiError("create VPC "+v.Name, err)
	}
	return network.VPC{ID: got.ID, Name: got.Name, Region: got.RegionSlug, IPRange: got.IPRange, Default: got.Default}, nil
}

func (c *Client) DeleteVPC(ctx context.Context, id string) error {
	if _, err := c.api.VPCs.Delete(ctx, id); err != nil {
		return apiError("delete VPC "+id, err)
	}
	return nil
}

func reservedIP(r *godo.ReservedIP) network.ReservedIP {
	out := network.ReservedIP{IP: r.IP}
	if r.Region != nil {
		out.Region = r.Region.Slug
	}
	if r.Droplet != nil {
		out.HostID = r.Droplet.ID
	}
	return out
}

func (c *Client) ReservedIPs(ctx context.Context) ([]network.ReservedIP, error) {
	var out []network.ReservedIP
	err := walk(ctx, func(opt *godo.ListOptions) (*godo.Response, error) {
		rs, resp, err := c.api.ReservedIPs.List(ctx, opt)
		for i := range rs {
			out = append(out, reservedIP(&rs[i]))
		}
		return resp, err
	})
	if err != nil {
		return nil, apiError("list reserved IPs", err)
	}
	return out, nil
}

func (c *Client) CreateReservedIP(ctx context.Context, region string) (network.ReservedIP, error) {
	r, _, err := c.api.ReservedIPs.Create(ctx, &godo.ReservedIPCreateRequest{Region: region})
	if err != nil {
		return network.ReservedIP{}, apiError("reserve an IP in "+region, err)
	}
	return reservedIP(r), nil
}

func (c *Client) DeleteReservedIP(ctx context.Context, ip string) error {
	if _, err := c.api.ReservedIPs.Delete(ctx, ip); err != nil {
		return apiError("release reserved IP "+ip, err)
	}
	return nil
}

func (c *Client) AssignReservedIP(ctx context.Context, ip string, hostID int) error {
	var act *godo.Action
	var err error
	op := fmt.Sprintf("assign reserved IP %s to droplet %d", ip, hostID)
	if hostID == 0 {
		op = "unassign reserved IP " + ip
		act, _, err = c.api.ReservedIPActions.Unassign(ctx, ip)
	} else {
		act, _, err = c.api.ReservedIPActions.Assign(ctx, ip, hostID)
	}
	if err != nil {
		return apiError(op, err)
	}
	if act == nil {
		return errors.New(op + ": no action returned")
	}
	return c.wait(ctx, op, act, nil)
}

// vpcID resolves a template's VPC, a name or an ID, in region; "" stays "",
// the region's default.
func (c *Client) vpcID(ctx context.Context, nameOrID, region string) (string, error) {
	if nameOrID == "" {
		return "", nil
	}
	vs, err := c.VPCs(ctx)
	if err != nil {
		return "", err
	}
	for _, v := range vs {
		if (v.ID == nameOrID || v.Name == nameOrID) && v.Region == region {
			return v.ID, nil
		}
	}
	return "", fmt.Errorf("VPC %q: no VPC of that name or ID in %s; create it, or fix the template's vpc", nameOrID, region)
}
