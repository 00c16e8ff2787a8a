package playbook

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/inventory"
)

type lister []inventory.Host

func (l lister) Hosts(context.Context, string) ([]inventory.Host, error) { return l, nil }

var fleet = lister{
	{ID: 1, Name: "web-1", PublicIPv4: "127.0.80.2", PrivateIPv4: "10.110.0.2", Region: "fra1", Size: "s-1vcpu-1gb", Tags: []string{"web", "prod-eu"}},
	{ID: 2, Name: "web-2", PublicIPv4: "127.0.80.3", Region: "fra1", Size: "s-1vcpu-1gb", Tags: []string{"web", "flaky"}},
	{ID: 3, Name: "db-1", PublicIPv4: "127.0.80.4", Region: "ams3", Size: "s-2vcpu-4gb", Tags: []string{"db", "all", "9lives"}},
	{ID: 4, Name: "new-1", Region: "ams3", Size: "s-2vcpu-4gb"},
}

var inventoryOptions = InventoryOptions{User: "root", PrivateKey: "/keys/lab"}

// TestMain lets the test binary serve as a dynamic inventory script for
// ansible-inventory: `VIGIL_TEST_INVENTORY=1 playbook.test --list`.
func TestMain(m *testing.M) {
	if os.Getenv("VIGIL_TEST_INVENTORY") == "1" {
		host := ""
		if len(os.Args) == 3 && os.Args[1] == "--host" {
			host = os.Args[2]
		}
		if err := WriteInventory(context.Background(), os.Stdout, fleet, inventoryOptions, host); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestGroupName(t *testing.T) {
	for in, want := range map[string]string{"web": "web", "prod-eu": "prod_eu", "all": "tag_all", "9lives": "tag_9lives", "k8s:node": "k8s_node"} {
		if got := GroupName(in); got != want {
			t.Errorf("GroupName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestAnsibleInventoryReadsScript runs the real ansible-inventory on the
// inventory script protocol.
func TestAnsibleInventoryReadsScript(t *testing.T) {
	labtest.Tool(t, "ansible-inventory", "ansible")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "vigil-inventory")
	os.WriteFile(script, []byte("#!/bin/sh\nVIGIL_TEST_INVENTORY=1 exec "+self+" \"$@\"\n"), 0o755)
	out, err := exec.Command("ansible-inventory", "-i", script, "--list").Output()
	if err != nil {
		t.Fatalf("ansible-inventory --list: %v", err)
	}
	var got map[string]struct {
		Hosts    []string `json:"hosts"`
		Children []string `json:"children"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	want := map[string][]string{
		"web": {"web-1", "web-2"}, "flaky": {"web-2"}, "prod_eu": {"web-1"}, "db": {"db-1"}, "tag_all": {"db-1"}, "tag_9lives": {"db-1"},
		"region_fra1": {"web-1", "web-2"}, "region_ams3": {"db-1"}, "size_s_1vcpu_1gb": {"web-1", "web-2"}, "size_s_2vcpu_4gb": {"db-1"},
	}
	for g, hs := range want {
		if !slices.Equal(got[g].Hosts, hs) {
			t.Errorf("group %s has %v, want %v", g, got[g].Hosts, hs)
		}
		if !slices.Contains(got["all"].Children, g) {
			t.Errorf("group %s is not under all", g)
		}
	}
	var meta struct {
		Meta struct {
			HostVars map[string]map[string]any `json:"hostvars"`
		} `json:"_meta"`
	}
	json.Unmarshal(out, &meta)
	if v := meta.Meta.HostVars["web-2"]; v["ansible_host"] != "127.0.80.3" || v["ansible_user"] != "root" || v["ansible_ssh_private_key_file"] != "/keys/lab" {
		t.Errorf("web-2 vars %v", v)
	}
	if _, ok := meta.Meta.HostVars["new-1"]; ok {
		t.Error("a host without an address is in the inventory")
	}

	out, err = exec.Command("ansible-inventory", "-i", script, "--host", "db-1").Output()
	if err != nil {
		t.Fatalf("ansible-inventory --host: %v", err)
	}
	var vars map[string]any
	if json.Unmarshal(out, &vars); vars["ansible_host"] != "127.0.80.4" || vars["do_region"] != "ams3" {
		t.Errorf("--host db-1 gave %s", out)
	}
}

func TestStaticInventoryMatchesScript(t *testing.T) {
	labtest.Tool(t, "ansible-inventory", "ansible")
	b, err := BuildInventory(fleet, inventoryOptions).Static()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "inventory.json")
	os.WriteFile(file, b, 0o600)
	out, err := exec.Command("ansible-inventory", "-i", file, "--graph", "flaky").Output()
	if err != nil || string(out) != "@flaky:\n  |--web-2\n" {
		t.Fatalf("graph of flaky: %q, %v", out, err)
	}
}

func TestFileSD(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sd", "targets.json")
	n, err := WritePrometheusSD(context.Background(), fleet, path)
	if err != nil || n != 3 {
		t.Fatalf("%d groups, %v", n, err)
	}
	var got []SDGroup
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	first := got[0]
	if first.Targets[0] != "127.0.80.4:9100" || first.Labels["droplet"] != "db-1" || first.Labels["region"] != "ams3" || first.Labels["tags"] != ",db,all,9lives," {
		t.Fatalf("first group %+v", first)
	}
}

func TestKeepPrometheusSD(t *testing.T) {
	path := filepath.Join(t.TempDir(), "targets.json")
	changes := make(chan struct{})
	current := fleet[:1]
	var mu sync.Mutex
	hostsNow := func() []inventory.Host { mu.Lock(); defer mu.Unlock(); return current }
	done := make(chan struct{})
	go func() {
		KeepPrometheusSD(context.Background(), changes, hostsNow, path, func(err error) { t.Error(err) })
		close(done)
	}()
	read := func() []SDGroup {
		var g []SDGroup
		b, _ := os.ReadFile(path)
		json.Unmarshal(b, &g)
		return g
	}
	changes <- struct{}{} // the first write has happened once this is taken
	if g := read(); len(g) != 1 {
		t.Fatalf("%d groups at start, want 1", len(g))
	}
	mu.Lock()
	current = fleet
	mu.Unlock()
	changes <- struct{}{}
	close(changes)
	<-done
	if g := read(); len(g) != 3 {
		t.Fatalf("%d groups after the change, want 3", len(g))
	}
}
