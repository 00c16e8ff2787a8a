package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigilops/vigil/integrations/digitalocean"
	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/inventory"
)

// TestE2EHostDownToAShellOnTheLab is issue 13's host drill in tmux, with
// droplets of the test's own on the lab's emulator: one is powered off and
// HostDown fires; from the alert on screen, h then s (2 keys, the goal
// being at most 3) try a shell on it: ssh's error on screen, the console
// intact. On another host, s opens the user's ssh in the terminal: a
// command typed there answers, exit brings the console back, and the
// shell's start and end are journaled.
func TestE2EHostDownToAShellOnTheLab(t *testing.T) {
	needTmux(t)
	labtest.Tool(t, "ssh", "openssh-client")
	env := labtest.Env(t, "VIGIL_CONFIG", "DIGITALOCEAN_API_URL", "DIGITALOCEAN_ACCESS_TOKEN")
	bin := vigilBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	cloud, err := digitalocean.New(digitalocean.Options{APIURL: env["DIGITALOCEAN_API_URL"], Token: env["DIGITALOCEAN_ACCESS_TOKEN"], PollInterval: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	tag := fmt.Sprintf("eh%d", time.Now().UnixNano()%1e9)
	t.Cleanup(func() {
		hs, _ := cloud.Hosts(context.Background(), tag)
		for _, h := range hs {
			if err := cloud.Destroy(context.Background(), h.ID); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	down, up := tag+"-down", tag+"-up"
	created, err := cloud.Create(ctx, inventory.CreateRequest{Names: []string{down, up}, Region: "fra1", Size: "s-1vcpu-1gb", Image: "debian-12-x64", Tags: []string{tag}})
	if err != nil {
		t.Fatal(err)
	}
	hosts := map[string]inventory.Host{}
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
		hosts[h.Name] = h
	}

	// The lab's config without its clusters, a journal and known_hosts of
	// its own, and no Prometheus file_sd written into the lab's.
	data, err := os.ReadFile(env["VIGIL_CONFIG"])
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	delete(cfg, "kubernetes")
	delete(cfg, "serve")
	if a, ok := cfg["ansible"].(map[string]any); ok {
		delete(a, "prometheus_sd")
	} else {
		t.Fatal("the lab's config has no ansible section")
	}
	journalPath := filepath.Join(t.TempDir(), "journal.db")
	cfg["audit"] = map[string]any{"path": journalPath}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := newSandbox(t, string(out))
	tm := startTmux(t, s.env(), 160, 45)
	tm.respawn(consoleArgv(bin, s)...)
	const wait = 20 * time.Second

	if err := cloud.Act(ctx, hosts[down].ID, inventory.ActionRequest{Kind: inventory.PowerOff}, nil); err != nil {
		t.Fatal(err)
	}
	tm.waitText(wait, "Alerts")
	tm.keys("/")
	tm.typeText(fmt.Sprintf(`droplet=%q`, down))
	tm.keys("Enter")
	tm.waitFor("HostDown of "+down+" firing", 3*time.Minute, func(screen string) bool {
		for _, l := range strings.Split(screen, "\n") {
			if strings.Contains(l, "HostDown") && strings.Contains(l, down) && strings.Contains(l, "firing") {
				return true
			}
		}
		return false
	})

	keys := 0
	press := func(k string) { keys++; tm.keys(k) }
	press("h")
	tm.waitText(wait, down+"  (id ")
	press("s")
	screen := tm.waitText(30*time.Second, "ssh "+down+": ", "Connection refused")
	if keys > 3 {
		t.Fatalf("%d keys from the HostDown alert to a shell", keys)
	}
	if !strings.Contains(screen, down+"  (id ") {
		t.Fatalf("the console is not back on the host's detail:\n%s", screen)
	}

	// A shell on the other host, in the terminal.
	tm.keys("Escape", "1", "/")
	tm.typeText(up)
	tm.keys("Enter")
	tm.waitText(wait, "1 of ")
	tm.keys("s")
	tm.waitText(wait, "vigil: ssh to "+up+" ("+hosts[up].PublicIPv4+")")
	tm.waitFor("the host's shell prompt", 30*time.Second, func(screen string) bool {
		for _, l := range strings.Split(screen, "\n") {
			if l = strings.TrimSpace(l); strings.HasSuffix(l, "#") && !strings.Contains(l, "│") {
				return true
			}
		}
		return false
	})
	tm.typeText("echo vigil-$((6*7))")
	tm.keys("Enter")
	tm.waitText(wait, "vigil-42")
	tm.typeText("exit")
	tm.keys("Enter")
	tm.waitText(wait, "shell on "+up+" closed")
	tm.keys("q")
	if st := tm.exitStatus(10 * time.Second); st != 0 {
		t.Fatalf("vigil exited %d", st)
	}

	j, err := audit.Open(journalPath)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	for name, end := range map[string]string{down: "failed", up: "ok"} {
		es, err := j.Query(audit.Query{Target: "host/" + name})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range es {
			got = append(got, e.Action+" "+string(e.Result))
		}
		if want := []string{"open a shell on a host ok", "end a shell on a host " + end}; strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("journal of %s: %q, want %q", name, got, want)
		}
	}
}
