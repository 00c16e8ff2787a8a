package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/integrations/digitalocean"
	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ops/playbook"
)

func TestInventoryFlagsAreExclusive(t *testing.T) {
	sandbox(t)
	for _, args := range [][]string{{"inventory"}, {"inventory", "--list", "--host", "a"}} {
		code, _, stderr := cli(t, args...)
		if code == 0 || !strings.Contains(stderr, "exactly one of --list, --host NAME or --prometheus-sd FILE") {
			t.Errorf("%v: exit %d, %s", args, code, stderr)
		}
	}
}

func TestInventoryNeedsDigitalOcean(t *testing.T) {
	dir := sandbox(t)
	cfg := filepath.Join(dir, "vigil.yaml")
	writeFile(t, cfg, "identity: {name: alice}\n")
	code, _, stderr := cli(t, "--config", cfg, "inventory", "--list")
	if code == 0 || !strings.Contains(stderr, "has no digitalocean section") {
		t.Fatalf("exit %d, %s", code, stderr)
	}
}

// TestLabAnsibleInventoryScript gives ansible-inventory a script that
// calls the vigil binary, against the lab's emulator, and checks the
// groups it reads from it, then the file_sd targets.
func TestLabAnsibleInventoryScript(t *testing.T) {
	env := labtest.Env(t, "DIGITALOCEAN_API_URL", "DIGITALOCEAN_ACCESS_TOKEN", "VIGIL_LAB_SSH_KEY")
	if _, err := exec.LookPath("ansible-inventory"); err != nil {
		t.Fatal("ansible-inventory is not installed: apt-get install ansible")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "vigil")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build vigil: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "vigil.yaml")
	token := filepath.Join(dir, "token")
	writeFile(t, token, env["DIGITALOCEAN_ACCESS_TOKEN"])
	writeFile(t, cfg, fmt.Sprintf("digitalocean:\n  api_url: %q\n  token: {file: %q}\nansible:\n  playbook_dir: %q\n  user: root\n  private_key: %q\n",
		env["DIGITALOCEAN_API_URL"], token, dir, env["VIGIL_LAB_SSH_KEY"]))
	script := filepath.Join(dir, "vigil-inventory.sh")
	if err := os.WriteFile(script, []byte(fmt.Sprintf("#!/bin/sh\nexec %q --config %q inventory \"$@\"\n", bin, cfg)), 0o700); err != nil {
		t.Fatal(err)
	}

	cloud, err := digitalocean.New(digitalocean.Options{APIURL: env["DIGITALOCEAN_API_URL"], Token: env["DIGITALOCEAN_ACCESS_TOKEN"], PollInterval: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tag := fmt.Sprintf("vi%d", time.Now().UnixNano()%1e9)
	t.Cleanup(func() {
		hs, _ := cloud.Hosts(context.Background(), tag)
		for _, h := range hs {
			if err := cloud.Destroy(context.Background(), h.ID); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	created, err := cloud.Create(ctx, inventory.CreateRequest{Names: []string{tag + "-a", tag + "-b"}, Region: "fra1", Size: "s-1vcpu-1gb",
		Image: "debian-12-x64", Tags: []string{tag, "web-tier"}})
	if err != nil {
		t.Fatal(err)
	}
	ips := map[string]string{}
	for _, h := range created {
		for h.PublicIPv4 == "" {
			time.Sleep(300 * time.Millisecond)
			if h, err = cloud.Host(ctx, h.ID); err != nil {
				t.Fatal(err)
			}
		}
		ips[h.Name] = h.PublicIPv4
	}

	// ansible-inventory only warns when a script fails: run it alone first.
	if out, err := exec.CommandContext(ctx, script, "--list").CombinedOutput(); err != nil {
		t.Fatalf("%s --list: %v\n%s", script, err, out)
	}
	out, err := exec.CommandContext(ctx, "ansible-inventory", "-i", script, "--list").Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("ansible-inventory: %v\n%s", err, stderr)
	}
	var doc map[string]struct {
		Hosts    []string                  `json:"hosts"`
		Children []string                  `json:"children"`
		HostVars map[string]map[string]any `json:"hostvars"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("ansible-inventory output: %v\n%s", err, out)
	}
	want := []string{tag + "-a", tag + "-b"}
	for _, g := range []string{playbook.GroupName(tag), "web_tier", "region_fra1", "size_s_1vcpu_1gb"} {
		var mine []string
		for _, h := range doc[g].Hosts {
			if strings.HasPrefix(h, tag) {
				mine = append(mine, h)
			}
		}
		slices.Sort(mine)
		if !slices.Equal(mine, want) {
			t.Errorf("group %s holds %v of this test's hosts, want %v", g, mine, want)
		}
	}
	if !slices.Contains(doc["all"].Children, playbook.GroupName(tag)) {
		t.Errorf("all's children %v lack %s", doc["all"].Children, playbook.GroupName(tag))
	}
	vars := doc["_meta"].HostVars[tag+"-a"]
	if vars["ansible_host"] != ips[tag+"-a"] || vars["ansible_user"] != "root" || vars["ansible_ssh_private_key_file"] != env["VIGIL_LAB_SSH_KEY"] {
		t.Errorf("%s-a variables: %v", tag, vars)
	}

	sd := filepath.Join(dir, "sd", "vigil.json")
	if out, err := exec.CommandContext(ctx, script, "--prometheus-sd", sd).CombinedOutput(); err != nil {
		t.Fatalf("--prometheus-sd: %v\n%s", err, out)
	}
	var groups []playbook.SDGroup
	data, _ := os.ReadFile(sd)
	if err := json.Unmarshal(data, &groups); err != nil {
		t.Fatalf("file_sd: %v\n%s", err, data)
	}
	found := 0
	for _, g := range groups {
		if strings.HasPrefix(g.Labels["droplet"], tag) && strings.Contains(g.Labels["tags"], ","+tag+",") {
			found++
		}
	}
	if found != 2 {
		t.Errorf("%d targets of this test's hosts in the file_sd file, want 2:\n%s", found, data)
	}
}
