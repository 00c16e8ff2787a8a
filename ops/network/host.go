package network

import "github.com/vigilops/vigil/ops/inventory"

// HostNetwork is what the network says about one host.
type HostNetwork struct {
	Firewalls     []Firewall
	VPC           VPC // zero when unknown
	ReservedIP    string
	Records       []Record
	LoadBalancers []LoadBalancer
}

// Host gathers h's firewalls, VPC, reserved IP, records and load balancers
// from the last refresh; no IO.
func (s *Service) Host(h inventory.Host) HostNetwork {
	out := HostNetwork{
		Firewalls: s.FirewallsOf(h), ReservedIP: s.ReservedIPOf(h), Records: s.RecordsOf(h), LoadBalancers: s.LoadBalancersOf(h),
	}
	for _, v := range s.State().VPCs {
		if v.ID == h.VPCID {
			out.VPC = v
		}
	}
	return out
}
