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
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/inventory"
)

// TestLabExecCommand runs `vigil exec` on two of the emulator's droplets:
// refused without a terminal and without --yes (exit 3, journaled), each
// host's output with --yes (exit 0), exit 1 when the command fails, a
// viewer refused (exit 3).
func TestLabExecCommand(t *testing.T) {
	env := labtest.Env(t, "DIGITALOCEAN_API_URL", "DIGITALOCEAN_ACCESS_TOKEN", "VIGIL_LAB_SSH_KEY")
	dir := sandbox(t)
	cfg := filepath.Join(dir, "vigil.yaml")
	token := filepath.Join(dir, "token")
	writeFile(t, token, env["DIGITALOCEAN_ACCESS_TOKEN"])
	journalPath := filepath.Join(dir, "state", "journal.db")
	config := func(role string) {
		writeFile(t, cfg, fmt.Sprintf("identity: {name: alice, role: %s}\ndigitalocean:\n  api_url: %q\n  token: {file: %q}\nansible:\n  playbook_dir: %q\n  user: root\n  private_key: %q\naudit:\n  path: %q\n",
			role, env["DIGITALOCEAN_API_URL"], token, dir, env["VIGIL_LAB_SSH_KEY"], journalPath))
	}
	config("operator")

	cloud, err := digitalocean.New(digitalocean.Options{APIURL: env["DIGITALOCEAN_API_URL"], Token: env["DIGITALOCEAN_ACCESS_TOKEN"], PollInterval: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tag := fmt.Sprintf("ve%d", time.Now().UnixNano()%1e9)
	t.Cleanup(func() {
		hs, _ := cloud.Hosts(context.Background(), tag)
		for _, h := range hs {
			if err := cloud.Destroy(context.Background(), h.ID); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	a, b := tag+"-a", tag+"-b"
	created, err := cloud.Create(ctx, inventory.CreateRequest{Names: []string{a, b}, Region: "fra1", Size: "s-1vcpu-1gb", Image: "debian-12-x64", Tags: []string{tag}})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range created {
		for h.PublicIPv4 == "" || h.Status != "active" {
			time.Sleep(300 * time.Millisecond)
			if h, err = cloud.Host(ctx, h.ID); err != nil {
				t.Fatal(err)
			}
		}
		if err := inventory.ProbeSSH(ctx, h.PublicIPv4); err != nil {
			t.Fatal(err)
		}
	}

	code, out, errOut := cli(t, "--config", cfg, "exec", "hostname", "--hosts", a+","+b)
	if code != 3 || out != "" || !strings.Contains(errOut, "not confirmed") {
		t.Fatalf("without --yes: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = cli(t, "--config", cfg, "exec", "--hosts", a+","+b, "--yes", "--", "hostname;", "echo", "oops", ">&2")
	want := a + ": rc 0\n  stdout:\n    " + a + "\n  stderr:\n    oops\n\n" + b + ": rc 0\n  stdout:\n    " + b + "\n  stderr:\n    oops\n"
	if code != 0 || out != want {
		t.Fatalf("exit %d, stderr %q, stdout:\n%s\nwant:\n%s", code, errOut, out, want)
	}
	code, out, errOut = cli(t, "--config", cfg, "exec", "exit 5", "--tag", tag, "--yes")
	if code != 1 || !strings.Contains(out, a+": rc 5") || !strings.Contains(errOut, "the command failed on some hosts: "+a+", "+b) {
		t.Fatalf("a failing command: exit %d\n%s\n%s", code, out, errOut)
	}
	config("viewer")
	code, _, errOut = cli(t, "--config", cfg, "exec", "true", "--tag", tag, "--yes")
	if code != 3 || !strings.Contains(errOut, "may not run a command on hosts") {
		t.Fatalf("a viewer: exit %d\n%s", code, errOut)
	}

	j, err := audit.Open(journalPath)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	entries, err := j.Query(audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, string(e.Result)+" "+e.Target)
	}
	wantJ := []string{"refused hosts/" + a + "," + b, "ok hosts/" + a + "," + b, "failed tag/" + tag, "refused tag/" + tag}
	if strings.Join(got, "\n") != strings.Join(wantJ, "\n") {
		t.Fatalf("journal:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantJ, "\n"))
	}
}
