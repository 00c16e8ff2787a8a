package network

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/vigilops/vigil/ops/inventory"
)

// loadBalancer finds a load balancer by name or ID in the last refresh.
func (s *Service) loadBalancer(name string) (LoadBalancer, error) {
	for _, lb := range s.State().LoadBalancers {
		if lb.Name == name || lb.ID == name {
			return lb, nil
		}
	}
	return LoadBalancer{}, fmt.Errorf("no load balancer named %s: refresh the network view or check the name", name)
}

// Backends lists lb's backends with their health: the cloud's word when it
// has one (the lab does), else the host's status (a host not active is
// unhealthy; an active one is Unknown).
func (s *Service) Backends(lb LoadBalancer) []Backend {
	out := make([]Backend, 0, len(lb.Backends))
	for _, b := range lb.Backends {
		if b.Health == Unknown || b.Health == "" {
			if h, ok := s.hostByID(b.HostID); ok && h.Status != "active" {
				b.Health, b.Reason = Unhealthy, "host is "+h.Status
			} else if !ok {
				b.Health = Unknown
			}
		}
		out = append(out, b)
	}
	return out
}

// LoadBalancersOf lists the load balancers h is behind.
func (s *Service) LoadBalancersOf(h inventory.Host) []LoadBalancer {
	var out []LoadBalancer
	for _, lb := range s.State().LoadBalancers {
		if slices.ContainsFunc(lb.Backends, func(b Backend) bool { return b.HostID == h.ID }) {
			out = append(out, lb)
		}
	}
	return out
}

// ParseForwarding reads "http:80:http:8080", "80:8080" (http) or "tcp:22".
func ParseForwarding(s string) (Forwarding, error) {
	parts := strings.Split(s, ":")
	bad := fmt.Errorf("forwarding %q: write ENTRY_PROTOCOL:PORT:TARGET_PROTOCOL:PORT like http:80:http:8080, or PORT:PORT (http), or tcp:22", s)
	num := func(p string) (int, bool) {
		n, err := strconv.Atoi(p)
		return n, err == nil && n > 0 && n < 65536
	}
	var f Forwarding
	var ok1, ok2 bool
	switch len(parts) {
	case 2:
		if f.EntryPort, ok1 = num(parts[0]); ok1 {
			f.EntryProtocol, f.TargetProtocol = "http", "http"
			f.TargetPort, ok2 = num(parts[1])
		} else {
			f.EntryProtocol, f.TargetProtocol = parts[0], parts[0]
			f.EntryPort, ok1 = num(parts[1])
			f.TargetPort, ok2 = f.EntryPort, ok1
		}
	case 4:
		f.EntryProtocol, f.TargetProtocol = parts[0], parts[2]
		f.EntryPort, ok1 = num(parts[1])
		f.TargetPort, ok2 = num(parts[3])
	}
	if !ok1 || !ok2 {
		return Forwarding{}, bad
	}
	return f, nil
}

// PlanCreateLoadBalancer plans a load balancer in front of hosts (all in
// one region), forwarding as given and checking health as hc.
func (s *Service) PlanCreateLoadBalancer(name string, hostNames []string, forwarding []Forwarding, hc HealthCheck) (Plan, error) {
	if _, err := s.loadBalancer(name); err == nil {
		return Plan{}, fmt.Errorf("a load balancer named %s exists already: add hosts to it instead", name)
	}
	if len(forwarding) == 0 {
		return Plan{}, fmt.Errorf("a load balancer needs at least one forwarding rule, like http:80:http:80")
	}
	lb := LoadBalancer{Name: name, Forwarding: forwarding, HealthCheck: hc}
	var names []string
	for _, n := range hostNames {
		h, err := s.host(n)
		if err != nil {
			return Plan{}, err
		}
		if lb.Region == "" {
			lb.Region = h.Region
		} else if h.Region != lb.Region {
			return Plan{}, fmt.Errorf("%s is in %s, the other hosts in %s: a load balancer's backends share its region", h.Name, h.Region, lb.Region)
		}
		lb.HostIDs = append(lb.HostIDs, h.ID)
		names = append(names, h.Name)
	}
	if lb.Region == "" {
		return Plan{}, fmt.Errorf("name at least one host to put behind %s", name)
	}
	p := Plan{
		Action: ActLoadBalancer, Entry: "lb.create", Target: "lb:" + name, Title: "Create load balancer " + name,
		Create: []string{fmt.Sprintf("load balancer %s in %s", name, lb.Region)},
	}
	for _, f := range forwarding {
		p.Create = append(p.Create, fmt.Sprintf("forward %s %d → %s %d", f.EntryProtocol, f.EntryPort, f.TargetProtocol, f.TargetPort))
	}
	p.Create = append(p.Create, "health check "+hc.String(), "backends "+strings.Join(names, ", "))
	p.apply = func(ctx context.Context) error {
		_, err := s.cloud.CreateLoadBalancer(ctx, lb)
		return err
	}
	return p, nil
}

func (hc HealthCheck) String() string {
	s := fmt.Sprintf("%s:%d", hc.Protocol, hc.Port)
	if hc.Path != "" && hc.Protocol != "tcp" {
		s += hc.Path
	}
	return s
}

// PlanAddBackend plans putting a host behind a load balancer.
func (s *Service) PlanAddBackend(lbName, hostName string) (Plan, error) {
	lb, h, err := s.lbAndHost(lbName, hostName)
	if err != nil {
		return Plan{}, err
	}
	p := Plan{Action: ActLoadBalancer, Entry: "lb.backend.add", Target: "lb:" + lb.Name, Title: fmt.Sprintf("Put %s behind %s", h.Name, lb.Name)}
	if slices.Contains(lb.HostIDs, h.ID) {
		return p, nil
	}
	if h.Region != lb.Region {
		return Plan{}, fmt.Errorf("%s is in %s and %s in %s: a load balancer's backends share its region", h.Name, h.Region, lb.Name, lb.Region)
	}
	p.Change = []string{fmt.Sprintf("load balancer %s: add backend %s", lb.Name, h.Name)}
	p.apply = func(ctx context.Context) error { return s.cloud.AddBackends(ctx, lb.ID, []int{h.ID}) }
	return p, nil
}

// PlanRemoveBackend plans taking a host from behind a load balancer: it
// stops receiving traffic, so the plan is dangerous; it says how many
// healthy backends are left.
func (s *Service) PlanRemoveBackend(lbName, hostName string) (Plan, error) {
	lb, h, err := s.lbAndHost(lbName, hostName)
	if err != nil {
		return Plan{}, err
	}
	if !slices.Contains(lb.HostIDs, h.ID) {
		return Plan{}, fmt.Errorf("%s is not behind %s", h.Name, lb.Name)
	}
	healthy := 0
	for _, b := range s.Backends(lb) {
		if b.HostID != h.ID && b.Health == Healthy {
			healthy++
		}
	}
	p := Plan{
		Action: ActDetachBackend, Entry: "lb.backend.remove", Target: "lb:" + lb.Name, Title: fmt.Sprintf("Detach %s from %s", h.Name, lb.Name),
		Change: []string{fmt.Sprintf("load balancer %s: remove backend %s", lb.Name, h.Name)},
		Danger: fmt.Sprintf("%s stops receiving traffic; %d healthy backend(s) left", h.Name, healthy),
	}
	if healthy == 0 {
		p.Warnings = append(p.Warnings, fmt.Sprintf("no healthy backend is left behind %s: it will serve errors", lb.Name))
	}
	p.apply = func(ctx context.Context) error { return s.cloud.RemoveBackends(ctx, lb.ID, []int{h.ID}) }
	return p, nil
}

func (s *Service) lbAndHost(lbName, hostName string) (LoadBalancer, inventory.Host, error) {
	lb, err := s.loadBalancer(lbName)
	if err != nil {
		return LoadBalancer{}, inventory.Host{}, err
	}
	if lb.Tag != "" {
		return LoadBalancer{}, inventory.Host{}, fmt.Errorf("load balancer %s takes its backends by the tag %s: tag or untag the host instead", lb.Name, lb.Tag)
	}
	h, err := s.host(hostName)
	return lb, h, err
}

// PlanDeleteLoadBalancer plans deleting a load balancer.
func (s *Service) PlanDeleteLoadBalancer(name string) (Plan, error) {
	lb, err := s.loadBalancer(name)
	if err != nil {
		return Plan{}, err
	}
	p := Plan{
		Action: ActDetachBackend, Entry: "lb.delete", Target: "lb:" + lb.Name, Title: "Delete load balancer " + lb.Name,
		Remove: []string{fmt.Sprintf("load balancer %s (%s) with %d backend(s)", lb.Name, lb.IP, len(lb.Backends))},
		Danger: "its address stops answering",
	}
	p.apply = func(ctx context.Context) error { return s.cloud.DeleteLoadBalancer(ctx, lb.ID) }
	return p, nil
}
