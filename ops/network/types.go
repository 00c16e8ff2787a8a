// Package network connects the hosts: firewalls, load balancers, domains and
// records, VPCs and reserved IPs. Every change is planned first (what will
// be created, changed, removed), guarded, confirmed when dangerous and
// journaled; a firewall rule that would cut the bastion's own SSH is
// refused. One file per concern; the cloud is reached through the small
// ports in ports.go.
package network

import "time"

// Firewall is a cloud firewall: its inbound and outbound rules and what it
// applies to (droplets by ID, and every droplet with one of its tags).
type Firewall struct {
	ID       string
	Name     string
	Status   string
	Inbound  []Rule
	Outbound []Rule
	HostIDs  []int
	Tags     []string
	Created  time.Time
}

// Rule lets Protocol (tcp, udp, icmp) to Ports ("80", "8000-9000", "all";
// empty for icmp) from (inbound) or to (outbound) Peers.
type Rule struct {
	Protocol string
	Ports    string
	Peers    Peers
}

// Peers are a rule's sources or destinations.
type Peers struct {
	Addresses       []string // IPs and CIDR blocks; 0.0.0.0/0 and ::/0 are anywhere
	HostIDs         []int
	Tags            []string
	LoadBalancerIDs []string
}

// LoadBalancer is a load balancer with the health of each backend.
type LoadBalancer struct {
	ID          string
	Name        string
	IP          string
	Region      string
	Status      string
	Forwarding  []Forwarding
	HealthCheck HealthCheck
	// HostIDs are the backends when they are listed; Tag, when set,
	// selects them instead.
	HostIDs  []int
	Tag      string
	VPCID    string
	Backends []Backend
	Created  time.Time
}

// Forwarding is a forwarding rule: entry protocol and port to the
// backends' target protocol and port.
type Forwarding struct {
	EntryProtocol  string
	EntryPort      int
	TargetProtocol string
	TargetPort     int
}

// HealthCheck is how the load balancer checks its backends.
type HealthCheck struct {
	Protocol string // http, https, tcp
	Port     int
	Path     string
}

// Backend health.
const (
	Healthy   = "healthy"
	Unhealthy = "unhealthy"
	Unknown   = "unknown"
)

// Backend is one host behind a load balancer.
type Backend struct {
	HostID int
	Health string // Healthy, Unhealthy or Unknown (the cloud does not say)
	Reason string
}

// Domain is a DNS zone the account holds.
type Domain struct {
	Name string
	TTL  int
}

// Record is a DNS record in a domain. Name is relative: "@" or "www".
type Record struct {
	ID     int
	Domain string
	Type   string // A, AAAA, CNAME, …
	Name   string
	Data   string
	TTL    int
}

// FQDN is the record's full name.
func (r Record) FQDN() string {
	if r.Name == "@" || r.Name == "" {
		return r.Domain
	}
	return r.Name + "." + r.Domain
}

// VPC is a private network in a region.
type VPC struct {
	ID      string
	Name    string
	Region  string
	IPRange string
	Default bool
}

// ReservedIP is an address that can move between hosts of its region.
type ReservedIP struct {
	IP     string
	Region string
	HostID int // 0: unassigned
}
