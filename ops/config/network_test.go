package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseFirewallRule(t *testing.T) {
	tests := []struct {
		in   string
		want FirewallRule
		err  string
	}{
		{in: "80,443 from anywhere", want: FirewallRule{Protocol: "tcp", Ports: []string{"80", "443"}, Sources: []string{"anywhere"}}},
		{in: "22 from bastion", want: FirewallRule{Protocol: "tcp", Ports: []string{"22"}, Sources: []string{"bastion"}}},
		{in: "5432 from tag:web, 10.0.0.0/8", want: FirewallRule{Protocol: "tcp", Ports: []string{"5432"}, Sources: []string{"tag:web", "10.0.0.0/8"}}},
		{in: "53/udp from anywhere", want: FirewallRule{Protocol: "udp", Ports: []string{"53"}, Sources: []string{"anywhere"}}},
		{in: "8000-9000 from lb:web-lb", want: FirewallRule{Protocol: "tcp", Ports: []string{"8000-9000"}, Sources: []string{"lb:web-lb"}}},
		{in: "icmp from anywhere", want: FirewallRule{Protocol: "icmp", Sources: []string{"anywhere"}}},
		{in: "80 form anywhere", err: "is not a rule: write PORTS from SOURCES"},
		{in: "80000 from anywhere", err: `port "80000" is not a port from 1 to 65535`},
		{in: "80/sctp from anywhere", err: `protocol "sctp" is not tcp or udp`},
		{in: "22 from the office", err: `source "the office" is not anywhere, bastion`},
	}
	for _, tt := range tests {
		got, err := ParseFirewallRule(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: error %v, want one containing %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: got %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestNetworkConfigErrors(t *testing.T) {
	const head = "digitalocean:\n  network:\n"
	tests := []struct {
		name, yaml, key, msg string
		line                 int
	}{
		{"bad rule", head + "    bastion: 127.0.0.1\n    firewalls:\n      - name: web\n        rules: [\"80 to anywhere\"]\n", "digitalocean.network.firewalls[0].rules[0]", "is not a rule", 6},
		{"bastion unset", head + "    firewalls:\n      - name: web\n        rules: [\"22 from bastion\"]\n", "digitalocean.network.firewalls[0].rules[0]", "digitalocean.network.bastion is not set", 5},
		{"bad bastion", head + "    bastion: the-jump-host\n", "digitalocean.network.bastion", "not an IP address or CIDR", 3},
		{"no rules", head + "    firewalls:\n      - name: web\n", "digitalocean.network.firewalls[0].rules", "missing: list the inbound rules", 4},
		{"twice", head + "    firewalls:\n      - {name: web, rules: [\"80 from anywhere\"]}\n      - {name: web, rules: [\"80 from anywhere\"]}\n", "digitalocean.network.firewalls[1].name", "defined twice", 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeConfig(t, tt.yaml))
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("want Errors, got %v", err)
			}
			for _, e := range errs {
				if e.Key == tt.key && strings.Contains(e.Msg, tt.msg) {
					if e.Line != tt.line {
						t.Errorf("line %d, want %d: %v", e.Line, tt.line, e)
					}
					return
				}
			}
			t.Fatalf("no error for %s containing %q in %v", tt.key, tt.msg, err)
		})
	}
}

// FuzzParseFirewallRule: a rule read back from its parts parses the same,
// and any text either parses or says why, never panics.
func FuzzParseFirewallRule(f *testing.F) {
	for _, s := range []string{"80,443 from anywhere", "22 from bastion", "53/udp from tag:web, 10.0.0.0/8", "icmp from anywhere", "1-65535 from lb:x", " from ", "80 from"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseFirewallRule(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty error")
			}
			return
		}
		ports := strings.Join(r.Ports, ",")
		if r.Protocol == "udp" {
			ports += "/udp"
		}
		if r.Protocol == "icmp" {
			ports = "icmp"
		}
		again, err := ParseFirewallRule(ports + " from " + strings.Join(r.Sources, ", "))
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("%q → %+v, which reads back as %+v (%v)", s, r, again, err)
		}
	})
}
