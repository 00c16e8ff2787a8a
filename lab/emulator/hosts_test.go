package emulator

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/digitalocean/godo"
	"github.com/vigilops/vigil/lab/hosts"
	"github.com/vigilops/vigil/lab/internal/needs"
)

func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// TestHostsFollowDroplets runs real hosts (root only): a droplet's sshd and
// node exporter listen while it is active, stop when it is powered off or
// deleted, and come back when the emulator restarts.
func TestHostsFollowDroplets(t *testing.T) {
	dir := t.TempDir()
	withHosts := func(c *Config) {
		m, err := hosts.NewManager(filepath.Join(dir, "hosts"))
		if err != nil {
			needs.Missing(t, "droplet hosts cannot run here: "+err.Error())
		}
		c.IPBase = "127.0.97"
		c.Hosts = m
		c.MaxHosts = 1
	}
	l := startLab(t, dir, withHosts)
	ctx := context.Background()
	d := createActive(t, l.client, createReq("host-1"))[0]
	ip, _ := d.PublicIPv4()
	ssh, exporter := ip+":22", ip+":9100"
	if !listening(ssh) || !listening(exporter) {
		t.Fatalf("active droplet %s: sshd %v, exporter %v", ip, listening(ssh), listening(exporter))
	}
	if _, _, err := l.client.Droplets.CreateMultiple(ctx, createReq("host-2")); !isStatus(err, 422) {
		t.Fatalf("a droplet over --max-hosts: %v, want 422", err)
	}
	act := func(do func() (*godo.Action, *godo.Response, error)) {
		t.Helper()
		a, _, err := do()
		if err != nil {
			t.Fatal(err)
		}
		waitAction(t, l.client, a.ID)
	}
	act(func() (*godo.Action, *godo.Response, error) { return l.client.DropletActions.PowerOff(ctx, d.ID) })
	if listening(ssh) || listening(exporter) {
		t.Fatal("powered-off droplet still listens")
	}
	act(func() (*godo.Action, *godo.Response, error) { return l.client.DropletActions.PowerOn(ctx, d.ID) })
	if !listening(ssh) {
		t.Fatal("powered-on droplet does not listen")
	}

	l.stop()
	if listening(ssh) {
		t.Fatal("hosts outlive the emulator")
	}
	l = startLab(t, dir, withHosts)
	if !listening(ssh) || !listening(exporter) {
		t.Fatal("active droplet's host did not come back after a restart")
	}
	if _, err := l.client.Droplets.Delete(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	if listening(ssh) {
		t.Fatal("deleted droplet still listens")
	}
	if _, err := os.Stat(filepath.Join(dir, "hosts", "100001")); !os.IsNotExist(err) {
		t.Fatalf("deleted droplet's host dir: %v", err)
	}
}
