package playbook

import (
	"slices"
	"strings"
	"testing"
)

func TestParseExec(t *testing.T) {
	for _, c := range []struct {
		in      string
		cmd     string
		target  Target
		wantErr string
	}{
		{in: "uptime on web-1,web-2", cmd: "uptime", target: Target{Kind: TargetHosts, Hosts: []string{"web-1", "web-2"}}},
		{in: "  df -h /  on tag:web ", cmd: "df -h /", target: Target{Kind: TargetTag, Name: "web"}},
		{in: "echo turn on the lights on group:region_fra1", cmd: "echo turn on the lights", target: Target{Kind: TargetGroup, Name: "region_fra1"}},
		{in: "systemctl restart nginx", cmd: "systemctl restart nginx"},
		{in: "uptime on web-1,,web-1", cmd: "uptime", target: Target{Kind: TargetHosts, Hosts: []string{"web-1"}}},
		{in: "", wantErr: "no command"},
		{in: "uptime on", wantErr: "on which hosts"},
		{in: "uptime on web-1, web-2", wantErr: "without spaces"},
		{in: "uptime on tag:", wantErr: "name no host"},
		{in: "uptime on ,", wantErr: "name no host"},
	} {
		req, err := ParseExec(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%q: %v, want %q", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil || req.Command != c.cmd || req.Target.Kind != c.target.Kind || req.Target.Name != c.target.Name || !slices.Equal(req.Target.Hosts, c.target.Hosts) {
			t.Errorf("%q: %+v, %v; want %q on %+v", c.in, req, err, c.cmd, c.target)
		}
	}
}

func FuzzParseExec(f *testing.F) {
	for _, s := range []string{"uptime on web-1,web-2", "df on tag:web", "x on group:g", "on on on", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		req, err := ParseExec(s)
		if err != nil {
			return
		}
		if strings.TrimSpace(req.Command) != req.Command || req.Command == "" {
			t.Fatalf("command %q from %q", req.Command, s)
		}
		for _, h := range req.Target.Hosts {
			if h == "" || strings.ContainsAny(h, ", \t") {
				t.Fatalf("host %q from %q", h, s)
			}
		}
	})
}
