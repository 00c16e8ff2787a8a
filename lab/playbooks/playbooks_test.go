// Package playbooks holds the lab's Ansible playbooks; its test runs them
// against real droplet hosts served by the emulator.
package playbooks

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/digitalocean/godo"
	"github.com/vigilops/vigil/lab/emulator"
	"github.com/vigilops/vigil/lab/hosts"
	"github.com/vigilops/vigil/lab/internal/needs"
)

type stats struct {
	Ok, Changed, Failures, Unreachable, Skipped, Rescued, Ignored int
}

// run runs a playbook with the jsonl callback and returns the recap per host.
func run(t *testing.T, inventory, playbook string, extra ...string) map[string]stats {
	t.Helper()
	args := append([]string{"-i", inventory, playbook}, extra...)
	cmd := exec.Command("ansible-playbook", args...)
	cmd.Env = append(os.Environ(), "ANSIBLE_STDOUT_CALLBACK=ansible.posix.jsonl", "ANSIBLE_HOST_KEY_CHECKING=False",
		"ANSIBLE_RETRY_FILES_ENABLED=False", "ANSIBLE_LOCAL_TEMP="+t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, _ := cmd.Output() // a failed host makes the exit status 2; the recap tells
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev struct {
			Event string           `json:"_event"`
			Stats map[string]stats `json:"stats"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Event == "v2_playbook_on_stats" {
			return ev.Stats
		}
	}
	t.Fatalf("%s gave no recap\nstdout:\n%s\nstderr:\n%s", playbook, out, stderr.String())
	return nil
}

type bearer string

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+string(b))
	return http.DefaultTransport.RoundTrip(r)
}

// TestPlaybooksOnDroplets creates two droplets, one tagged flaky, and runs
// the three playbooks on both at once.
func TestPlaybooksOnDroplets(t *testing.T) {
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
		StateDir: dir, Token: "t", LabKey: string(pub), Hosts: m, IPBase: "127.0.98",
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

	var inv strings.Builder
	for _, d := range []struct{ name, tag string }{{"pb-1", "web"}, {"pb-2", "flaky"}} {
		created, resp, err := do.Droplets.Create(ctx, &godo.DropletCreateRequest{
			Name: d.name, Region: "fra1", Size: "s-1vcpu-1gb", Image: godo.DropletCreateImage{Slug: "debian-12-x64"}, Tags: []string{d.tag},
		})
		if err != nil {
			t.Fatal(err)
		}
		waitCompleted(t, do, resp.Links.Actions[0].ID)
		ip, _ := created.PublicIPv4()
		fmt.Fprintf(&inv, "[%s]\n%s ansible_host=%s\n", d.tag, d.name, ip)
	}
	fmt.Fprintf(&inv, "[all:vars]\nansible_user=root\nansible_ssh_private_key_file=%s\nansible_python_interpreter=/usr/bin/python3\n", key)
	inventory := filepath.Join(dir, "inventory.ini")
	if err := os.WriteFile(inventory, []byte(inv.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	recap := run(t, inventory, "base.yml")
	t.Logf("base.yml on 2 hosts: %s, %+v", time.Since(start).Round(time.Millisecond), recap)
	for _, h := range []string{"pb-1", "pb-2"} {
		if s := recap[h]; s.Ok == 0 || s.Changed == 0 || s.Failures+s.Unreachable != 0 {
			t.Fatalf("base.yml on %s: %+v", h, s)
		}
	}
	if again := run(t, inventory, "base.yml"); again["pb-1"].Changed != 0 || again["pb-1"].Failures != 0 {
		t.Fatalf("base.yml is not idempotent: %+v", again)
	}
	recap = run(t, inventory, "app.yml", "-e", "app_version=2.1.0")
	if s := recap["pb-1"]; s.Failures+s.Unreachable != 0 || s.Changed == 0 {
		t.Fatalf("app.yml: %+v", recap)
	}
	recap = run(t, inventory, "flaky.yml")
	if recap["pb-1"].Failures != 0 || recap["pb-2"].Failures != 1 {
		t.Fatalf("flaky.yml: %+v, want pb-2 alone to fail", recap)
	}
	// What the playbooks wrote stayed inside the droplets.
	if _, err := os.Stat("/etc/vigil-base"); err == nil {
		t.Fatal("base.yml wrote to the machine's /etc")
	}
}

func waitCompleted(t *testing.T, do *godo.Client, id int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		a, _, err := do.Actions.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if a.Status == godo.ActionCompleted {
			return
		}
		if a.Status == "errored" {
			t.Fatalf("action %d errored", id)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("action %d did not complete", id)
}

// TestMonitoringPlaybook creates a droplet tagged no-node-exporter, whose
// host comes up without an exporter, and runs monitoring.yml on it: the
// exporter then answers on the droplet's address, and a second run
// changes nothing.
func TestMonitoringPlaybook(t *testing.T) {
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
		StateDir: dir, Token: "t", LabKey: string(pub), Hosts: m, IPBase: "127.0.97",
		ActionDelay: 200 * time.Millisecond, Logf: t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv)
	defer hs.Close()
	do, _ := godo.New(&http.Client{Transport: bearer("t")}, godo.SetBaseURL(hs.URL+"/"))
	created, resp, err := do.Droplets.Create(context.Background(), &godo.DropletCreateRequest{
		Name: "mon-1", Region: "fra1", Size: "s-1vcpu-1gb", Image: godo.DropletCreateImage{Slug: "debian-12-x64"},
		Tags: []string{emulator.NoExporterTag},
	})
	if err != nil {
		t.Fatal(err)
	}
	waitCompleted(t, do, resp.Links.Actions[0].ID)
	ip, _ := created.PublicIPv4()
	metrics := "http://" + ip + ":9100/metrics"
	if r, err := http.Get(metrics); err == nil {
		r.Body.Close()
		t.Fatalf("a droplet tagged %s has a node exporter", emulator.NoExporterTag)
	}
	inventory := filepath.Join(dir, "inventory.ini")
	inv := fmt.Sprintf("mon-1 ansible_host=%s\n[all:vars]\nansible_user=root\nansible_ssh_private_key_file=%s\nansible_python_interpreter=/usr/bin/python3\n", ip, key)
	if err := os.WriteFile(inventory, []byte(inv), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	recap := run(t, inventory, "monitoring.yml")
	t.Logf("monitoring.yml: %s, %+v", time.Since(start).Round(time.Millisecond), recap)
	if s := recap["mon-1"]; s.Changed == 0 || s.Failures+s.Unreachable != 0 {
		t.Fatalf("monitoring.yml: %+v", recap)
	}
	r, err := http.Get(metrics)
	if err != nil {
		t.Fatalf("no node exporter after monitoring.yml: %v", err)
	}
	body := new(bytes.Buffer)
	body.ReadFrom(r.Body)
	r.Body.Close()
	if !strings.Contains(body.String(), "node_load1") || !strings.Contains(body.String(), "node_uname_info") {
		t.Fatalf("%s does not look like a node exporter's", metrics)
	}
	if again := run(t, inventory, "monitoring.yml"); again["mon-1"].Changed != 0 || again["mon-1"].Failures != 0 {
		t.Fatalf("monitoring.yml is not idempotent: %+v", again)
	}
}

// shmem is the machine's shared memory in bytes (/proc/meminfo's Shmem),
// what the node exporter reports as node_memory_Shmem_bytes.
func shmem(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		var kb int64
		if _, err := fmt.Sscanf(l, "Shmem: %d kB", &kb); err == nil {
			return kb * 1024
		}
	}
	t.Fatal("no Shmem in /proc/meminfo")
	return 0
}

// TestLoadPlaybook runs load.yml on a droplet: the memory it holds in the
// droplet's /dev/shm shows in the machine's Shmem (the node exporter's
// node_memory_Shmem_bytes), a second run changes nothing, and
// load_state=absent releases it.
func TestLoadPlaybook(t *testing.T) {
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
		StateDir: dir, Token: "t", LabKey: string(pub), Hosts: m, IPBase: "127.0.95",
		ActionDelay: 200 * time.Millisecond, Logf: t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv)
	defer hs.Close()
	do, _ := godo.New(&http.Client{Transport: bearer("t")}, godo.SetBaseURL(hs.URL+"/"))
	created, resp, err := do.Droplets.Create(context.Background(), &godo.DropletCreateRequest{
		Name: "load-1", Region: "fra1", Size: "s-1vcpu-1gb", Image: godo.DropletCreateImage{Slug: "debian-12-x64"},
		Tags: []string{emulator.NoExporterTag},
	})
	if err != nil {
		t.Fatal(err)
	}
	waitCompleted(t, do, resp.Links.Actions[0].ID)
	ip, _ := created.PublicIPv4()
	held := "/dev/shm/vigil-load-load-1" // the droplet's /dev is the machine's
	t.Cleanup(func() { os.Remove(held) })
	inventory := filepath.Join(dir, "inventory.ini")
	inv := fmt.Sprintf("load-1 ansible_host=%s\n[all:vars]\nansible_user=root\nansible_ssh_private_key_file=%s\nansible_python_interpreter=/usr/bin/python3\n", ip, key)
	if err := os.WriteFile(inventory, []byte(inv), 0o644); err != nil {
		t.Fatal(err)
	}
	before := shmem(t)
	recap := run(t, inventory, "load.yml", "-e", "load_mb=128")
	if s := recap["load-1"]; s.Changed != 1 || s.Failures+s.Unreachable != 0 {
		t.Fatalf("load.yml: %+v", recap)
	}
	if fi, err := os.Stat(held); err != nil || fi.Size() != 128<<20 {
		t.Fatalf("load.yml holds no 128 MiB in %s: %v", held, err)
	}
	// Other work on the machine moves Shmem too: most of the 128 MiB shows.
	if d := shmem(t) - before; d < 96<<20 {
		t.Errorf("Shmem rose by %d MiB, want about 128", d>>20)
	}
	if again := run(t, inventory, "load.yml", "-e", "load_mb=128"); again["load-1"].Changed != 0 || again["load-1"].Failures != 0 {
		t.Fatalf("load.yml is not idempotent: %+v", again)
	}
	if off := run(t, inventory, "load.yml", "-e", "load_state=absent"); off["load-1"].Changed != 1 || off["load-1"].Failures != 0 {
		t.Fatalf("load.yml load_state=absent: %+v", off)
	}
	if _, err := os.Stat(held); err == nil {
		t.Fatal("load_state=absent left the file")
	}
}
