package network

import (
	"context"
	"fmt"

	"github.com/vigilops/vigil/ops/inventory"
)

// ReservedIPOf is the reserved IP pointing at h, or "".
func (s *Service) ReservedIPOf(h inventory.Host) string {
	for _, r := range s.State().ReservedIPs {
		if r.HostID == h.ID {
			return r.IP
		}
	}
	return ""
}

func (s *Service) reservedIP(ip string) (ReservedIP, error) {
	for _, r := range s.State().ReservedIPs {
		if r.IP == ip {
			return r, nil
		}
	}
	return ReservedIP{}, fmt.Errorf("no reserved IP %s in the account: refresh the network view or reserve one", ip)
}

// PlanReserveIP plans reserving a new address in region.
func (s *Service) PlanReserveIP(region string) Plan {
	p := Plan{Action: ActReservedIP, Entry: "reserved_ip.create", Target: "region:" + region, Title: "Reserve an IP in " + region,
		Create: []string{"reserved IP in " + region}}
	p.apply = func(ctx context.Context) error {
		_, err := s.cloud.CreateReservedIP(ctx, region)
		return err
	}
	return p
}

// PlanAssignIP plans pointing a reserved IP at a host (moving it off the
// host it points at now, if any).
func (s *Service) PlanAssignIP(ip, hostName string) (Plan, error) {
	r, err := s.reservedIP(ip)
	if err != nil {
		return Plan{}, err
	}
	h, err := s.host(hostName)
	if err != nil {
		return Plan{}, err
	}
	if h.Region != r.Region {
		return Plan{}, fmt.Errorf("reserved IP %s is in %s and %s in %s: they must share a region", ip, r.Region, h.Name, h.Region)
	}
	p := Plan{Action: ActReservedIP, Entry: "reserved_ip.assign", Target: "reserved_ip:" + ip, Title: fmt.Sprintf("Point %s at %s", ip, h.Name)}
	switch r.HostID {
	case h.ID:
		return p, nil
	case 0:
		p.Change = []string{fmt.Sprintf("reserved IP %s → %s", ip, h.Name)}
	default:
		p.Change = []string{fmt.Sprintf("reserved IP %s: %s → %s", ip, s.hostName(r.HostID), h.Name)}
		p.Warnings = []string{s.hostName(r.HostID) + " stops receiving the traffic sent to " + ip}
	}
	p.apply = func(ctx context.Context) error { return s.cloud.AssignReservedIP(ctx, ip, h.ID) }
	return p, nil
}

// PlanUnassignIP plans taking a reserved IP off its host.
func (s *Service) PlanUnassignIP(ip string) (Plan, error) {
	r, err := s.reservedIP(ip)
	if err != nil {
		return Plan{}, err
	}
	p := Plan{Action: ActReservedIP, Entry: "reserved_ip.unassign", Target: "reserved_ip:" + ip, Title: "Unassign " + ip}
	if r.HostID == 0 {
		return p, nil
	}
	p.Change = []string{fmt.Sprintf("reserved IP %s: %s → nothing", ip, s.hostName(r.HostID))}
	p.Warnings = []string{"traffic sent to " + ip + " reaches no host until it is assigned again"}
	p.apply = func(ctx context.Context) error { return s.cloud.AssignReservedIP(ctx, ip, 0) }
	return p, nil
}
