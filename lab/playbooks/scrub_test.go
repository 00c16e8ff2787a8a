package playbooks

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/digitalocean/godo"
	"github.com/vigilops/vigil/lab/emulator"
	"github.com/vigilops/vigil/lab/hosts"
	"github.com/vigilops/vigil/lab/internal/needs"
)

const customers = "id,name,email,city\n1,Ann Lee,ann.lee@shop.example,Lyon\n2,\"Bo, Jr\",bo@shop.example,Nantes\n"

// TestScrubOnAttachedVolume runs scrub.yml on a droplet with a volume
// attached: the e-mails in the volume's file are replaced, the rest kept,
// /srv/data points at the volume, and a second run changes nothing. Without
// the volume attached it fails.
func TestScrubOnAttachedVolume(t *testing.T) {
	needs.Tool(t, "ansible-playbook", "ansible")
	dir := t.TempDir()
	m, err := hosts.NewManager(filepath.Join(dir, "hosts"))
	if err != nil {
		needs.Missing(t, "droplet hosts cannot run here: "+err.Error())
	}
	key := filepath.Join(dir, "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	pub, _ := os.ReadFile(key + ".pub")
	srv, err := emulator.New(emulator.Config{
		StateDir: dir, Token: "t", LabKey: string(pub), Hosts: m, IPBase: "127.0.96",
		ActionDelay: 200 * time.Millisecond, Logf: t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv)
	defer hs.Close()
	do, _ := godo.New(&http.Client{Transport: bearer("t")}, godo.SetBaseURL(hs.URL+"/"))
	ctx := context.Background()

	d, resp, err := do.Droplets.Create(ctx, &godo.DropletCreateRequest{
		Name: "preprod-db-1", Region: "fra1", Size: "s-1vcpu-1gb", Image: godo.DropletCreateImage{Slug: "debian-12-x64"},
	})
	if err != nil {
		t.Fatal(err)
	}
	waitCompleted(t, do, resp.Links.Actions[0].ID)
	ip, _ := d.PublicIPv4()
	inventory := filepath.Join(dir, "inventory.ini")
	os.WriteFile(inventory, []byte(fmt.Sprintf("preprod-db-1 ansible_host=%s ansible_user=root ansible_ssh_private_key_file=%s ansible_python_interpreter=/usr/bin/python3\n", ip, key)), 0o644)

	if recap := run(t, inventory, "scrub.yml", "-e", "volume_name=preprod-data"); recap["preprod-db-1"].Failures != 1 {
		t.Fatalf("scrub.yml without the volume attached: %+v, want a failure", recap)
	}

	vol, _, err := do.Storage.CreateVolume(ctx, &godo.VolumeCreateRequest{Name: "preprod-data", Region: "fra1", SizeGigaBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "volumes", vol.ID, "customers.csv")
	os.MkdirAll(filepath.Dir(data), 0o755)
	os.WriteFile(data, []byte(customers), 0o644)
	a, _, err := do.StorageActions.Attach(ctx, vol.ID, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	waitCompleted(t, do, a.ID)

	start := time.Now()
	recap := run(t, inventory, "scrub.yml", "-e", "volume_name=preprod-data")
	t.Logf("scrub.yml: %s, %+v", time.Since(start).Round(time.Millisecond), recap)
	if s := recap["preprod-db-1"]; s.Failures+s.Unreachable != 0 || s.Changed == 0 {
		t.Fatalf("scrub.yml: %+v", recap)
	}
	want := "id,name,email,city\n1,Ann Lee,user1@scrubbed.invalid,Lyon\n2,\"Bo, Jr\",user2@scrubbed.invalid,Nantes\n"
	if b, _ := os.ReadFile(data); string(b) != want {
		t.Fatalf("volume's file after the scrub:\n%s\nwant:\n%s", b, want)
	}
	if again := run(t, inventory, "scrub.yml", "-e", "volume_name=preprod-data"); again["preprod-db-1"].Changed != 0 || again["preprod-db-1"].Failures != 0 {
		t.Fatalf("scrub.yml is not idempotent: %+v", again)
	}
	out, err := exec.Command("ssh", "-i", key, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "LogLevel=ERROR", "root@"+ip, "cat /srv/data/customers.csv").Output()
	if err != nil || string(out) != want {
		t.Fatalf("/srv/data/customers.csv on the host: %q %v", out, err)
	}
}
