package network

import (
	"context"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
)

// FirewallAPI is the cloud's firewalls.
type FirewallAPI interface {
	Firewalls(ctx context.Context) ([]Firewall, error)
	CreateFirewall(ctx context.Context, f Firewall) (Firewall, error)
	// UpdateFirewall replaces the firewall's rules and targets with f's.
	UpdateFirewall(ctx context.Context, f Firewall) (Firewall, error)
	DeleteFirewall(ctx context.Context, id string) error
}

// LoadBalancerAPI is the cloud's load balancers.
type LoadBalancerAPI interface {
	LoadBalancers(ctx context.Context) ([]LoadBalancer, error)
	CreateLoadBalancer(ctx context.Context, lb LoadBalancer) (LoadBalancer, error)
	DeleteLoadBalancer(ctx context.Context, id string) error
	AddBackends(ctx context.Context, lbID string, hostIDs []int) error
	RemoveBackends(ctx context.Context, lbID string, hostIDs []int) error
}

// DNSAPI is the cloud's domains and records.
type DNSAPI interface {
	Domains(ctx context.Context) ([]Domain, error)
	CreateDomain(ctx context.Context, name string) (Domain, error)
	DeleteDomain(ctx context.Context, name string) error
	Records(ctx context.Context, domain string) ([]Record, error)
	CreateRecord(ctx context.Context, r Record) (Record, error)
	UpdateRecord(ctx context.Context, r Record) (Record, error)
	DeleteRecord(ctx context.Context, domain string, id int) error
}

// VPCAPI is the cloud's VPCs.
type VPCAPI interface {
	VPCs(ctx context.Context) ([]VPC, error)
	CreateVPC(ctx context.Context, v VPC) (VPC, error)
	DeleteVPC(ctx context.Context, id string) error
}

// ReservedIPAPI is the cloud's reserved IPs.
type ReservedIPAPI interface {
	ReservedIPs(ctx context.Context) ([]ReservedIP, error)
	CreateReservedIP(ctx context.Context, region string) (ReservedIP, error)
	DeleteReservedIP(ctx context.Context, ip string) error
	// AssignReservedIP points ip at hostID (0: unassigns it) and returns
	// once done.
	AssignReservedIP(ctx context.Context, ip string, hostID int) error
}

// Cloud is every port at once, as one integration implements them.
type Cloud interface {
	FirewallAPI
	LoadBalancerAPI
	DNSAPI
	VPCAPI
	ReservedIPAPI
}

// Journal is the audit journal as the network uses it.
type Journal interface {
	Record(ctx context.Context, actor access.Actor, action, target string, params map[string]string, err error) error
}

var _ Journal = (*audit.Journal)(nil)

// Prober tells whether a TCP port answers at an address, from here.
type Prober interface {
	Probe(ctx context.Context, addr string, port int) error
}
