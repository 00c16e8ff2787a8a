package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/integrations/digitalocean"
	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ops/network"
)

// TestCheckOnTheLab runs vigil check against the lab's emulator and a real
// host behind a firewall (nftables): 22, allowed from the bastion, is open;
// 9100, where the node exporter listens but no rule allows, is closed and
// refuses; exit codes 0 and 1.
func TestCheckOnTheLab(t *testing.T) {
	env := labtest.Env(t, "DIGITALOCEAN_API_URL", "DIGITALOCEAN_ACCESS_TOKEN")
	cfgPath := filepath.Join(labtest.StateDir(), "vigil.yaml")
	sandbox(t)
	t.Setenv("VIGIL_CONFIG", cfgPath)
	c, err := digitalocean.New(digitalocean.Options{APIURL: env["DIGITALOCEAN_API_URL"], Token: env["DIGITALOCEAN_ACCESS_TOKEN"], PollInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name := fmt.Sprintf("ck%d", time.Now().UnixNano()%1e9)
	hs, err := c.Create(ctx, inventory.CreateRequest{Names: []string{name}, Region: "ams3", Size: "s-1vcpu-1gb", Image: "debian-12-x64", SSHKeys: []string{"vigil-lab"}, Tags: []string{name}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Destroy(context.Background(), hs[0].ID) })
	for {
		h, err := c.Host(ctx, hs[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if h.Status == "active" {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	fw, err := c.CreateFirewall(ctx, network.Firewall{Name: name, HostIDs: []int{hs[0].ID}, Inbound: []network.Rule{
		{Protocol: "tcp", Ports: "22", Peers: network.Peers{Addresses: []string{"127.0.0.1"}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.DeleteFirewall(context.Background(), fw.ID) })
	// The lab's emulator applies a firewall to its hosts before it answers.

	code, out, errOut := cli(t, "check", name, "22")
	if code != 0 || !strings.Contains(out, name+":22") || !strings.Contains(out, " open — allowed: "+name+": tcp 22 from 127.0.0.1; from here it answers") {
		t.Fatalf("check 22: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = cli(t, "check", name, "9100")
	if code != 1 || !strings.Contains(out, "closed — refused by the firewalls: no rule of "+name+" allows tcp 9100 from the bastion (127.0.0.1); from here it does not answer (connection refused)") {
		t.Fatalf("check 9100: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := cli(t, "check", name, "http"); code != 2 || !strings.Contains(errOut, "write a TCP port") {
		t.Errorf("check with a bad port: exit %d, %s", code, errOut)
	}
	t.Log(out)
}
