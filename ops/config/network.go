package config

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
)

// Network is the digitalocean.network section.
type Network struct {
	// Bastion is the address vigil's SSH reaches the hosts from, as the
	// hosts see it (an IP or CIDR). A firewall rule that would cut SSH
	// from it is refused; "from bastion" in a template means it.
	Bastion string `yaml:"bastion"`
	// Domain is the domain host records go in, like example.com.
	Domain string `yaml:"domain"`
	// Firewalls are the templates a firewall is created or edited from.
	Firewalls []FirewallTemplate `yaml:"firewalls"`
}

// FirewallTemplate is a named set of inbound rules, each written
// "PORTS from SOURCES", and the tags it applies to.
type FirewallTemplate struct {
	Name  string   `yaml:"name"`
	Rules []string `yaml:"rules"`
	Tags  []string `yaml:"tags"`
}

// FirewallRule is one parsed template rule: Protocol to Ports from Sources.
type FirewallRule struct {
	Protocol string   // tcp, udp or icmp
	Ports    []string // "80", "8000-9000" or "all"; empty for icmp
	// Sources are "anywhere", "bastion", an IP or CIDR, "tag:NAME",
	// "droplet:NAME" or "lb:NAME".
	Sources []string
}

var (
	sourceRef    = regexp.MustCompile(`^(tag|droplet|lb):[A-Za-z0-9_.:-]+$`)
	firewallName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9.-]+$`)
)

const ruleForm = `write PORTS from SOURCES, like "80,443 from anywhere", "22 from bastion", "5432 from tag:web, 10.0.0.0/8", "53/udp from anywhere" or "icmp from anywhere"`

// ParseFirewallRule reads one template rule.
func ParseFirewallRule(s string) (FirewallRule, error) {
	ports, sources, ok := strings.Cut(strings.TrimSpace(s), " from ")
	if !ok || strings.TrimSpace(ports) == "" || strings.TrimSpace(sources) == "" {
		return FirewallRule{}, fmt.Errorf("%q is not a rule: %s", s, ruleForm)
	}
	r := FirewallRule{Protocol: "tcp"}
	ports = strings.TrimSpace(ports)
	if ports == "icmp" {
		r.Protocol = "icmp"
	} else {
		if p, proto, has := strings.Cut(ports, "/"); has {
			ports, r.Protocol = p, strings.ToLower(strings.TrimSpace(proto))
			if r.Protocol != "tcp" && r.Protocol != "udp" {
				return FirewallRule{}, fmt.Errorf("%q: protocol %q is not tcp or udp (icmp is written alone: \"icmp from anywhere\")", s, proto)
			}
		}
		for _, p := range strings.Split(ports, ",") {
			p = strings.TrimSpace(p)
			if err := checkPort(p); err != nil {
				return FirewallRule{}, fmt.Errorf("%q: %v", s, err)
			}
			r.Ports = append(r.Ports, p)
		}
	}
	for _, src := range strings.Split(sources, ",") {
		src = strings.TrimSpace(src)
		switch {
		case src == "anywhere" || src == "bastion" || sourceRef.MatchString(src):
		case net.ParseIP(src) != nil:
		default:
			if _, _, err := net.ParseCIDR(src); err != nil {
				return FirewallRule{}, fmt.Errorf("%q: source %q is not anywhere, bastion, an IP address, a CIDR block, tag:NAME, droplet:NAME or lb:NAME", s, src)
			}
		}
		r.Sources = append(r.Sources, src)
	}
	return r, nil
}

func checkPort(p string) error {
	if p == "all" {
		return nil
	}
	lo, hi, isRange := strings.Cut(p, "-")
	a, err1 := strconv.Atoi(lo)
	b, err2 := a, error(nil)
	if isRange {
		b, err2 = strconv.Atoi(hi)
	}
	if err1 != nil || err2 != nil || a < 1 || b > 65535 || a > b {
		return fmt.Errorf("port %q is not a port from 1 to 65535, a range like 8000-9000, or all", p)
	}
	return nil
}

func (v *validator) network(n Network) {
	const p = "digitalocean.network"
	if n.Bastion != "" && net.ParseIP(n.Bastion) == nil {
		if _, _, err := net.ParseCIDR(n.Bastion); err != nil {
			v.errorf(p+".bastion", "%q is not an IP address or CIDR block: write the address the hosts see vigil's SSH come from, like 203.0.113.10", n.Bastion)
		}
	}
	if n.Domain != "" && !dnsSubdomain.MatchString(n.Domain) {
		v.errorf(p+".domain", "%q is not a domain name: write one like example.com", n.Domain)
	}
	names := map[string]bool{}
	for i, t := range n.Firewalls {
		tp := fmt.Sprintf("%s.firewalls[%d]", p, i)
		if v.required(tp+".name", t.Name, "a firewall name, like web") {
			if !firewallName.MatchString(t.Name) {
				v.errorf(tp+".name", "invalid firewall name %q: letters, digits, dots and dashes, at least two", t.Name)
			} else if names[t.Name] {
				v.errorf(tp+".name", "firewall template %q is defined twice: names must be unique", t.Name)
			}
			names[t.Name] = true
		}
		if len(t.Rules) == 0 {
			v.errorf(tp+".rules", "missing: list the inbound rules, %s", ruleForm)
		}
		for j, rule := range t.Rules {
			r, err := ParseFirewallRule(rule)
			if err != nil {
				v.errorf(fmt.Sprintf("%s.rules[%d]", tp, j), "%v", err)
				continue
			}
			for _, src := range r.Sources {
				if src == "bastion" && n.Bastion == "" {
					v.errorf(fmt.Sprintf("%s.rules[%d]", tp, j), "%q names the bastion, but digitalocean.network.bastion is not set: set it to the address vigil's SSH comes from", rule)
				}
			}
		}
	}
}
