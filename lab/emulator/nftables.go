package emulator

import (
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strings"
	"sync"
)

// PacketFilter makes the firewalls and reserved IPs real on this machine:
// it is given the whole ruleset after every change. *NFTables implements it.
type PacketFilter interface {
	Apply(Ruleset) error
	Close() error
}

// Ruleset is what the account's firewalls and reserved IPs mean for the
// droplets' loopback addresses.
type Ruleset struct {
	// Guarded has one entry per droplet that at least one firewall covers:
	// inbound traffic to it is refused unless a rule allows it.
	Guarded []GuardedHost
	// NAT maps each assigned reserved IP to its droplet's address.
	NAT map[string]string
}

// GuardedHost is a droplet's address and the inbound traffic allowed to it.
type GuardedHost struct {
	DropletID int
	IP        string
	Allow     []Allow
}

// Allow lets Protocol (tcp, udp or icmp) to ports [Lo, Hi] in from Sources
// (IPv4 addresses or CIDR blocks; empty: from anywhere).
type Allow struct {
	Protocol string
	Lo, Hi   int
	Sources  []string
}

// ruleset computes the Ruleset. Outbound rules are not enforced in the lab.
// The caller holds s.mu.
func (s *Server) ruleset() Ruleset {
	rs := Ruleset{NAT: map[string]string{}}
	fws := s.sortedFirewalls()
	for _, d := range s.sortedDroplets() {
		var g *GuardedHost
		for _, f := range fws {
			if !f.covers(d) {
				continue
			}
			if g == nil {
				g = &GuardedHost{DropletID: d.ID, IP: s.publicIP(d), Allow: []Allow{}}
			}
			for _, r := range f.InboundRules {
				srcs, any := s.resolveSources(r.Sources)
				if !any && len(srcs) == 0 {
					continue // the rule names nothing that exists
				}
				lo, hi, _ := portRange(r.Ports)
				if r.Protocol == "icmp" {
					lo, hi = 0, 0
				}
				if any {
					srcs = nil
				}
				g.Allow = append(g.Allow, Allow{Protocol: r.Protocol, Lo: lo, Hi: hi, Sources: srcs})
			}
		}
		if g != nil {
			rs.Guarded = append(rs.Guarded, *g)
		}
	}
	for _, rip := range s.sortedReservedIPs() {
		if d := s.assigned(rip); d != nil {
			rs.NAT[rip.IP] = s.publicIP(d)
		}
	}
	return rs
}

// resolveSources turns a rule's sources into IPv4 addresses; any is true
// when they include the whole IPv4 internet. IPv6 sources are ignored: the
// lab is IPv4 only.
func (s *Server) resolveSources(e endpoints) (addrs []string, any bool) {
	for _, a := range e.Addresses {
		ip, ipnet, err := net.ParseCIDR(a)
		switch {
		case err == nil && ip.To4() != nil:
			if ones, _ := ipnet.Mask.Size(); ones == 0 {
				any = true
			}
			addrs = append(addrs, ipnet.String())
		case err != nil && net.ParseIP(a).To4() != nil:
			addrs = append(addrs, a)
		}
	}
	for _, id := range e.DropletIDs {
		if d := s.st.Droplets[id]; d != nil {
			addrs = append(addrs, s.publicIP(d))
		}
	}
	for _, d := range s.dropletsTagged(e.Tags) {
		addrs = append(addrs, s.publicIP(d))
	}
	for _, id := range e.LoadBalancerUIDs {
		if lb := s.network().LoadBalancers[id]; lb != nil {
			addrs = append(addrs, s.lbIP(lb))
		}
	}
	slices.Sort(addrs)
	return slices.Compact(addrs), any
}

// applyFilter hands the current ruleset to the packet filter, if any.
func (s *Server) applyFilter() {
	if s.cfg.Filter == nil {
		return
	}
	s.mu.Lock()
	rs := s.ruleset()
	s.mu.Unlock()
	if err := s.cfg.Filter.Apply(rs); err != nil {
		s.cfg.Logf("packet filter: %v", err)
	}
}

// NFTables applies a Ruleset as one nftables table of its own, replaced
// atomically on each change and deleted on Close. Needs root and nft.
type NFTables struct {
	Table string // like vigil_lab_127_0_10: one per lab, so labs do not meet
	mu    sync.Mutex
	last  string
}

// NewNFTables names the table after the lab's IP base and checks that nft
// works here (it lists the ruleset, which needs root and the kernel's
// nf_tables).
func NewNFTables(ipBase string) (*NFTables, error) {
	if out, err := exec.Command("nft", "list", "tables").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("nft does not work here: %v: %s", err, bytes.TrimSpace(out))
	}
	return &NFTables{Table: "vigil_lab_" + strings.ReplaceAll(ipBase, ".", "_")}, nil
}

// Render is the nft script that replaces the table with rs.
func (n *NFTables) Render(rs Ruleset) string {
	var b strings.Builder
	fmt.Fprintf(&b, "table inet %s\ndelete table inet %s\n", n.Table, n.Table)
	if len(rs.Guarded) == 0 && len(rs.NAT) == 0 {
		return b.String()
	}
	fmt.Fprintf(&b, "table inet %s {\n", n.Table)
	b.WriteString("\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n")
	for _, g := range rs.Guarded {
		fmt.Fprintf(&b, "\t\tip daddr %s jump droplet_%d\n", g.IP, g.DropletID)
	}
	b.WriteString("\t}\n")
	for _, g := range rs.Guarded {
		fmt.Fprintf(&b, "\tchain droplet_%d {\n\t\tct state established,related accept\n\t\tip saddr %s accept\n", g.DropletID, g.IP)
		for _, a := range g.Allow {
			match := ""
			if len(a.Sources) > 0 {
				match = "ip saddr { " + strings.Join(a.Sources, ", ") + " } "
			}
			switch a.Protocol {
			case "icmp":
				match += "meta l4proto icmp"
			default:
				match += fmt.Sprintf("%s dport %d-%d", a.Protocol, a.Lo, a.Hi)
			}
			fmt.Fprintf(&b, "\t\t%s accept\n", match)
		}
		b.WriteString("\t\tmeta l4proto tcp reject with tcp reset\n\t\tmeta l4proto udp reject\n\t\tdrop\n\t}\n")
	}
	if len(rs.NAT) > 0 {
		b.WriteString("\tchain nat_output {\n\t\ttype nat hook output priority -100; policy accept;\n")
		for _, rip := range sortedKeys(rs.NAT) {
			fmt.Fprintf(&b, "\t\tip daddr %s dnat ip to %s\n", rip, rs.NAT[rip])
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
	return b.String()
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Apply replaces the table when rs differs from the last one applied.
func (n *NFTables) Apply(rs Ruleset) error {
	script := n.Render(rs)
	n.mu.Lock()
	defer n.mu.Unlock()
	if script == n.last {
		return nil
	}
	if err := nft(script); err != nil {
		return err
	}
	n.last = script
	return nil
}

// Close deletes the table.
func (n *NFTables) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.last = ""
	return nft(fmt.Sprintf("table inet %s\ndelete table inet %s\n", n.Table, n.Table))
}

func nft(script string) error {
	cmd := exec.Command("nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nft -f: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

func nftList() (string, error) {
	out, err := exec.Command("nft", "list", "tables").CombinedOutput()
	return string(out), err
}
