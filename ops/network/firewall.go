package network

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/inventory"
)

var anywhere = []string{"0.0.0.0/0", "::/0"}

// Covers reports whether f applies to h, by ID or by tag.
func (f Firewall) Covers(h inventory.Host) bool {
	if slices.Contains(f.HostIDs, h.ID) {
		return true
	}
	for _, t := range f.Tags {
		if h.HasTag(t) {
			return true
		}
	}
	return false
}

// portSpan reads "80", "8000-9000", "all" or "" (every port).
func portSpan(ports string) (lo, hi int) {
	if ports == "" || ports == "all" || ports == "0" {
		return 1, 65535
	}
	a, b, isRange := strings.Cut(ports, "-")
	lo, _ = strconv.Atoi(a)
	hi = lo
	if isRange {
		hi, _ = strconv.Atoi(b)
	}
	return lo, hi
}

// OpenToWorld reports whether the rule lets anyone in.
func (r Rule) OpenToWorld() bool {
	return slices.ContainsFunc(r.Peers.Addresses, func(a string) bool { return slices.Contains(anywhere, a) })
}

// allows reports whether the rule lets protocol to port in from ip.
func (r Rule) allows(protocol string, port int, ip net.IP) bool {
	if r.Protocol != protocol {
		return false
	}
	if lo, hi := portSpan(r.Ports); port < lo || port > hi {
		return false
	}
	for _, a := range r.Peers.Addresses {
		if _, n, err := net.ParseCIDR(a); err == nil && n.Contains(ip) {
			return true
		}
		if p := net.ParseIP(a); p != nil && p.Equal(ip) {
			return true
		}
	}
	return false
}

// String is the rule as the plan shows it: "tcp 80 from anywhere".
func (r Rule) String() string {
	ports := r.Ports
	if r.Protocol == "icmp" {
		ports = ""
	} else if ports == "" || ports == "0" {
		ports = "all"
	}
	var peers []string
	for _, a := range r.Peers.Addresses {
		if !slices.Contains(anywhere, a) {
			peers = append(peers, a)
		}
	}
	if r.OpenToWorld() {
		peers = append([]string{"anywhere"}, peers...)
	}
	for _, t := range r.Peers.Tags {
		peers = append(peers, "tag:"+t)
	}
	for _, id := range r.Peers.HostIDs {
		peers = append(peers, "droplet:"+strconv.Itoa(id))
	}
	for _, id := range r.Peers.LoadBalancerIDs {
		peers = append(peers, "lb:"+id)
	}
	s := r.Protocol
	if ports != "" {
		s += " " + ports
	}
	return s + " from " + strings.Join(peers, ", ")
}

// bastionIP is the bastion's address (a CIDR's first address), or nil.
func (s *Service) bastionIP() net.IP {
	b := s.opt.Bastion
	if ip := net.ParseIP(b); ip != nil {
		return ip
	}
	if ip, _, err := net.ParseCIDR(b); err == nil {
		return ip
	}
	return nil
}

// allowed reports whether the firewalls covering h let protocol to port in
// from ip, and which firewall does: a host no firewall covers lets all in.
func allowed(fws []Firewall, h inventory.Host, protocol string, port int, ip net.IP) (ok bool, by string, covering []string) {
	for _, f := range fws {
		if !f.Covers(h) {
			continue
		}
		covering = append(covering, f.Name)
		for _, r := range f.Inbound {
			if !ok && r.allows(protocol, port, ip) {
				ok, by = true, f.Name+": "+r.String()
			}
		}
	}
	if len(covering) == 0 {
		return true, "no firewall covers " + h.Name, nil
	}
	return ok, by, covering
}

// sshCut names the hosts whose SSH from the bastion the change from
// before to after would cut.
func (s *Service) sshCut(before, after []Firewall) []string {
	ip := s.bastionIP()
	if ip == nil {
		return nil
	}
	var cut []string
	for _, h := range s.hosts() {
		was, _, _ := allowed(before, h, "tcp", 22, ip)
		now, _, _ := allowed(after, h, "tcp", 22, ip)
		if was && !now {
			cut = append(cut, h.Name)
		}
	}
	return cut
}

// FromTemplate builds the firewall a template describes.
func (s *Service) FromTemplate(name string) (Firewall, error) {
	i := slices.IndexFunc(s.opt.Templates, func(t config.FirewallTemplate) bool { return t.Name == name })
	if i < 0 {
		var names []string
		for _, t := range s.opt.Templates {
			names = append(names, t.Name)
		}
		return Firewall{}, fmt.Errorf("no firewall template %q in digitalocean.network.firewalls (there are: %s)", name, strings.Join(names, ", "))
	}
	t := s.opt.Templates[i]
	f := Firewall{Name: t.Name, Tags: slices.Clone(t.Tags), Outbound: []Rule{
		{Protocol: "tcp", Ports: "all", Peers: Peers{Addresses: anywhere}},
		{Protocol: "udp", Ports: "all", Peers: Peers{Addresses: anywhere}},
		{Protocol: "icmp", Peers: Peers{Addresses: anywhere}},
	}}
	for _, text := range t.Rules {
		cr, err := config.ParseFirewallRule(text)
		if err != nil {
			return Firewall{}, fmt.Errorf("firewall template %s: %w", t.Name, err)
		}
		peers, err := s.peers(cr.Sources)
		if err != nil {
			return Firewall{}, fmt.Errorf("firewall template %s, rule %q: %w", t.Name, text, err)
		}
		if cr.Protocol == "icmp" {
			f.Inbound = append(f.Inbound, Rule{Protocol: "icmp", Peers: peers})
			continue
		}
		for _, p := range cr.Ports {
			f.Inbound = append(f.Inbound, Rule{Protocol: cr.Protocol, Ports: p, Peers: peers})
		}
	}
	return f, nil
}

func (s *Service) peers(sources []string) (Peers, error) {
	var p Peers
	for _, src := range sources {
		kind, name, _ := strings.Cut(src, ":")
		switch {
		case src == "anywhere":
			p.Addresses = append(p.Addresses, anywhere...)
		case src == "bastion":
			if s.opt.Bastion == "" {
				return Peers{}, fmt.Errorf("it names the bastion, but digitalocean.network.bastion is not set")
			}
			p.Addresses = append(p.Addresses, s.opt.Bastion)
		case kind == "tag":
			p.Tags = append(p.Tags, name)
		case kind == "droplet":
			h, err := s.host(name)
			if err != nil {
				return Peers{}, err
			}
			p.HostIDs = append(p.HostIDs, h.ID)
		case kind == "lb":
			lb, err := s.loadBalancer(name)
			if err != nil {
				return Peers{}, err
			}
			p.LoadBalancerIDs = append(p.LoadBalancerIDs, lb.ID)
		default:
			p.Addresses = append(p.Addresses, src)
		}
	}
	return p, nil
}

// firewall finds a firewall by name or ID in the last refresh.
func (s *Service) firewall(name string) (Firewall, bool) {
	for _, f := range s.State().Firewalls {
		if f.Name == name || f.ID == name {
			return f, true
		}
	}
	return Firewall{}, false
}

// FirewallsOf lists the firewalls covering h.
func (s *Service) FirewallsOf(h inventory.Host) []Firewall {
	var out []Firewall
	for _, f := range s.State().Firewalls {
		if f.Covers(h) {
			out = append(out, f)
		}
	}
	return out
}

// PlanFirewallTemplate plans creating the template's firewall, or bringing
// the existing firewall of that name in line with it, applied to its tags
// and to the named hosts.
func (s *Service) PlanFirewallTemplate(template string, hostNames ...string) (Plan, error) {
	next, err := s.FromTemplate(template)
	if err != nil {
		return Plan{}, err
	}
	for _, n := range hostNames {
		h, err := s.host(n)
		if err != nil {
			return Plan{}, err
		}
		if !slices.Contains(next.HostIDs, h.ID) {
			next.HostIDs = append(next.HostIDs, h.ID)
		}
	}
	old, exists := s.firewall(template)
	if exists {
		next.ID = old.ID
		next.Outbound = old.Outbound
		for _, id := range old.HostIDs {
			if !slices.Contains(next.HostIDs, id) {
				next.HostIDs = append(next.HostIDs, id)
			}
		}
		return s.planFirewall(&old, next), nil
	}
	return s.planFirewall(nil, next), nil
}

// PlanAttachFirewall plans applying a firewall to one more host.
func (s *Service) PlanAttachFirewall(name, hostName string) (Plan, error) {
	f, ok := s.firewall(name)
	if !ok {
		return Plan{}, fmt.Errorf("no firewall named %s: refresh the network view or create it from a template", name)
	}
	h, err := s.host(hostName)
	if err != nil {
		return Plan{}, err
	}
	next := f
	next.HostIDs = append(slices.Clone(f.HostIDs), h.ID)
	return s.planFirewall(&f, next), nil
}

// PlanDetachFirewall plans taking a firewall off a host.
func (s *Service) PlanDetachFirewall(name, hostName string) (Plan, error) {
	f, ok := s.firewall(name)
	if !ok {
		return Plan{}, fmt.Errorf("no firewall named %s", name)
	}
	h, err := s.host(hostName)
	if err != nil {
		return Plan{}, err
	}
	if !slices.Contains(f.HostIDs, h.ID) {
		if f.Covers(h) {
			return Plan{}, fmt.Errorf("firewall %s covers %s by a tag (%s), not by name: untag the host instead", f.Name, h.Name, strings.Join(f.Tags, ", "))
		}
		return Plan{}, fmt.Errorf("firewall %s does not cover %s", f.Name, h.Name)
	}
	next := f
	next.HostIDs = slices.DeleteFunc(slices.Clone(f.HostIDs), func(id int) bool { return id == h.ID })
	return s.planFirewall(&f, next), nil
}

// PlanAddRule plans adding one inbound rule, written as in a template
// ("5432 from tag:web"), to a firewall.
func (s *Service) PlanAddRule(name, text string) (Plan, error) {
	return s.planRules(name, text, true)
}

// PlanRemoveRule plans removing the inbound rules a text describes.
func (s *Service) PlanRemoveRule(name, text string) (Plan, error) {
	return s.planRules(name, text, false)
}

func (s *Service) planRules(name, text string, add bool) (Plan, error) {
	f, ok := s.firewall(name)
	if !ok {
		return Plan{}, fmt.Errorf("no firewall named %s", name)
	}
	cr, err := config.ParseFirewallRule(text)
	if err != nil {
		return Plan{}, err
	}
	peers, err := s.peers(cr.Sources)
	if err != nil {
		return Plan{}, err
	}
	rules := []Rule{{Protocol: "icmp", Peers: peers}}
	if cr.Protocol != "icmp" {
		rules = nil
		for _, p := range cr.Ports {
			rules = append(rules, Rule{Protocol: cr.Protocol, Ports: p, Peers: peers})
		}
	}
	next := f
	next.Inbound = slices.Clone(f.Inbound)
	for _, r := range rules {
		i := slices.IndexFunc(next.Inbound, func(x Rule) bool { return x.String() == r.String() })
		switch {
		case add && i < 0:
			next.Inbound = append(next.Inbound, r)
		case !add && i >= 0:
			next.Inbound = slices.Delete(next.Inbound, i, i+1)
		case !add:
			return Plan{}, fmt.Errorf("firewall %s has no rule %s", f.Name, r)
		}
	}
	return s.planFirewall(&f, next), nil
}

// PlanDeleteFirewall plans deleting a firewall: the hosts it covered lose
// its rules (and, with no firewall left, let everything in).
func (s *Service) PlanDeleteFirewall(name string) (Plan, error) {
	f, ok := s.firewall(name)
	if !ok {
		return Plan{}, fmt.Errorf("no firewall named %s", name)
	}
	p := Plan{
		Action: ActDeleteFW, Entry: "firewall.delete", Target: "firewall:" + f.Name, Title: "Delete firewall " + f.Name,
		Remove: []string{"firewall " + f.Name + s.coverage(f)},
		Danger: "its hosts lose its rules",
	}
	p.apply = func(ctx context.Context) error { return s.cloud.DeleteFirewall(ctx, f.ID) }
	return p, nil
}

// coverage is " on web-1, web-2 (tags web)".
func (s *Service) coverage(f Firewall) string {
	var names []string
	for _, h := range s.hosts() {
		if f.Covers(h) {
			names = append(names, h.Name)
		}
	}
	out := ""
	if len(names) > 0 {
		out = " on " + strings.Join(names, ", ")
	}
	if len(f.Tags) > 0 {
		out += " (tags " + strings.Join(f.Tags, ", ") + ")"
	}
	return out
}

// planFirewall works out the change from old (nil: none) to next: the
// lines, the danger of a port newly open to the world, and the refusal of
// a change that cuts the bastion's SSH.
func (s *Service) planFirewall(old *Firewall, next Firewall) Plan {
	p := Plan{Action: ActFirewall, Target: "firewall:" + next.Name}
	var before []Rule
	fws := s.State().Firewalls
	after := slices.Clone(fws)
	if old == nil {
		p.Entry, p.Title = "firewall.create", "Create firewall "+next.Name
		p.Create = append(p.Create, "firewall "+next.Name+s.coverage(next))
		after = append(after, next)
	} else {
		p.Entry, p.Title = "firewall.update", "Update firewall "+next.Name
		before = old.Inbound
		for i := range after {
			if after[i].ID == old.ID {
				after[i] = next
			}
		}
		if a, b := s.coverage(*old), s.coverage(next); a != b {
			p.Change = append(p.Change, fmt.Sprintf("firewall %s applies%s (was%s)", next.Name, b, or(a, " to nothing")))
		}
	}
	var opened []string
	for _, r := range next.Inbound {
		if slices.ContainsFunc(before, func(x Rule) bool { return x.String() == r.String() }) {
			continue
		}
		p.Create = append(p.Create, "inbound "+r.String())
		if r.OpenToWorld() {
			opened = append(opened, strings.TrimSuffix(r.String(), " from anywhere"))
		}
	}
	for _, r := range before {
		if !slices.ContainsFunc(next.Inbound, func(x Rule) bool { return x.String() == r.String() }) {
			p.Remove = append(p.Remove, "inbound "+r.String())
		}
	}
	if len(opened) > 0 {
		p.Action = ActOpenToWorld
		p.Danger = "opens " + strings.Join(opened, ", ") + " to the world"
	}
	if s.bastionIP() == nil {
		p.Warnings = append(p.Warnings, "digitalocean.network.bastion is not set: whether this cuts vigil's own SSH is not checked")
	} else if cut := s.sshCut(fws, after); len(cut) > 0 {
		p.Refusal = access.Refuse(fmt.Errorf("it would cut SSH from the bastion (%s) to %s: no rule of the firewalls covering it would allow tcp 22 from %s; add \"22 from bastion\" to the rules",
			s.opt.Bastion, strings.Join(cut, ", "), s.opt.Bastion))
	}
	p.apply = func(ctx context.Context) error {
		if old == nil {
			_, err := s.cloud.CreateFirewall(ctx, next)
			return err
		}
		_, err := s.cloud.UpdateFirewall(ctx, next)
		return err
	}
	return p
}

func or(s, dflt string) string {
	if s == "" {
		return dflt
	}
	return s
}
