package inventory_test

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/vigilops/vigil/integrations/alertmanager"
	"github.com/vigilops/vigil/integrations/ansible"
	"github.com/vigilops/vigil/integrations/digitalocean"
	"github.com/vigilops/vigil/integrations/hostkeys"
	"github.com/vigilops/vigil/integrations/prometheus"
	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ops/playbook"
	"github.com/vigilops/vigil/ui/app"
	"github.com/vigilops/vigil/ui/common"
)

// syncBuffer is what the shells the test runs print.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestLabHosts is issue 13's Hosts drill on the lab, with three droplets
// of its own on the emulator (real sshd and node exporters, scraped by the
// lab's Prometheus): one is powered off, HostDown fires and is opened in
// the Alerts pane; h then s (2 keys) try a shell on it: ssh's error on
// screen, the console intact. s on another host reaches its shell (the
// console's ssh command line with a remote command appended, so that a
// terminal is not needed), journaled; that host's detail shows its real
// figures from Prometheus; and `:exec uptime on A,B` shows each host's rc
// and output.
func TestLabHosts(t *testing.T) {
	env := labtest.Env(t, "DIGITALOCEAN_API_URL", "DIGITALOCEAN_ACCESS_TOKEN", "VIGIL_LAB_SSH_KEY",
		"VIGIL_LAB_PROMETHEUS_URL", "VIGIL_LAB_ALERTMANAGER_URL")
	cfg, err := config.LoadOrDefault(filepath.Join(labtest.StateDir(), "vigil.yaml"), true)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DigitalOcean == nil || cfg.Ansible == nil || len(cfg.DigitalOcean.Templates) == 0 {
		t.Fatalf("the lab's %s has no digitalocean templates or ansible section", cfg.Path)
	}
	cloud, err := digitalocean.New(digitalocean.Options{APIURL: env["DIGITALOCEAN_API_URL"], Token: env["DIGITALOCEAN_ACCESS_TOKEN"], PollInterval: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	tag := fmt.Sprintf("vh%d", time.Now().UnixNano()%1e9)
	t.Cleanup(func() {
		hs, err := cloud.Hosts(context.Background(), tag)
		if err != nil {
			t.Errorf("cleanup: %v", err)
		}
		for _, h := range hs {
			if err := cloud.Destroy(context.Background(), h.ID); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := t.TempDir()
	journal, err := audit.Open(filepath.Join(dir, "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer journal.Close()
	history, err := playbook.OpenHistory(filepath.Join(dir, "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer history.Close()
	prom, err := prometheus.New(env["VIGIL_LAB_PROMETHEUS_URL"])
	if err != nil {
		t.Fatal(err)
	}
	am, err := alertmanager.New([]string{env["VIGIL_LAB_ALERTMANAGER_URL"]})
	if err != nil {
		t.Fatal(err)
	}

	mine := inventory.TemplatesFrom(cfg.DigitalOcean.Templates)[0]
	mine.Name, mine.Tags = tag, append(slices.Clone(mine.Tags), tag)
	keys := hostkeys.New(filepath.Join(dir, "known_hosts"))
	inv := inventory.New(cloud, journal, inventory.Options{PollInterval: 300 * time.Millisecond, SSHTimeout: 2 * time.Minute,
		Templates: []inventory.Template{mine}, HostKeys: keys, Metrics: prom,
		SSH: inventory.SSHOptions{User: cfg.Ansible.User, PrivateKey: cfg.Ansible.PrivateKey}})
	down, a, b := tag+"-down", tag+"-a", tag+"-b"
	alice := access.Actor{Name: "alice", Role: access.Operator, Source: "local"}
	if _, err := inv.Create(ctx, alice, mine.Name, []string{down, a, b}, nil); err != nil {
		t.Fatal(err)
	}
	runs, err := playbook.New(&ansible.Runner{KnownHosts: keys.File()}, journal, history, playbook.Options{
		PlaybookDir: cfg.Ansible.PlaybookDir, HostKeys: keys,
		Inventory: playbook.InventoryOptions{User: cfg.Ansible.User, PrivateKey: cfg.Ansible.PrivateKey},
		Hosts:     func() []inventory.Host { return inv.State().Hosts },
	})
	if err != nil {
		t.Fatal(err)
	}
	inc, err := incident.New(incident.Options{Prometheus: prom, Alertmanager: am, ParseMatchers: alertmanager.ParseMatchers,
		Journal: journal, Interval: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	go inc.Run(ctx)

	// The session's terminal: the console's ssh command line runs as is,
	// with a remote command after it, so that no terminal is needed.
	var printed syncBuffer
	var argvs [][]string
	var mu sync.Mutex
	shell := func(sh common.ShellCommand, done tea.ExecCallback) tea.Cmd {
		argv := sh.Argv
		mu.Lock()
		argvs = append(argvs, slices.Clone(argv))
		mu.Unlock()
		cmd := exec.Command(argv[0], append(argv[1:], `echo "shell reached via $SSH_CONNECTION"`)...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(""), &printed, &printed
		return tea.ExecProcess(cmd, done)
	}
	services := &common.Services{Inventory: inv, Playbook: runs, Incident: inc}
	s := newShell(t, cfg, services, journal, time.Now, 150, 45, func(o *app.Options) { o.Exec = shell })

	hostOf := func(name string) inventory.Host {
		h, ok := inv.State().Host(name)
		if !ok || h.PublicIPv4 == "" {
			t.Fatalf("%s: %+v", name, h)
		}
		return h
	}
	if err := cloud.Act(ctx, hostOf(down).ID, inventory.ActionRequest{Kind: inventory.PowerOff}, nil); err != nil {
		t.Fatal(err)
	}

	// HostDown for the powered-off droplet, in the Alerts pane.
	s.waitFor(10*time.Second, "Alerts")
	s.keys("/")
	s.text(fmt.Sprintf(`droplet=%q`, down))
	s.keys("enter")
	s.p.WaitForLine(t, 3*time.Minute, "HostDown", down, "firing")

	n := 0
	key := func(k string) { n++; s.keys(k) }
	key("h")
	s.waitFor(10*time.Second, down+"  (id ")
	key("s")
	screen := s.waitFor(30*time.Second, "ssh "+down+": ")
	if n > 3 {
		t.Fatalf("%d keys from the HostDown alert to a shell", n)
	}
	if !strings.Contains(screen, down+"  (id ") {
		t.Fatalf("the console did not come back to the host's detail:\n%s", screen)
	}
	s.waitFor(30*time.Second, "· down")

	// Another host: its shell, its figures.
	s.keys("esc 1 /")
	s.text(a)
	s.keys("enter s")
	ha := hostOf(a)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(s.p.Screen(), "shell on "+a+" closed") {
		if time.Now().After(deadline) {
			mu.Lock()
			t.Fatalf("no end of the shell on %s within 30s; ssh ran %q, printed %q:\n%s", a, argvs, printed.String(), s.p.Screen())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if out := printed.String(); !strings.Contains(out, "shell reached via ") || !strings.Contains(out, " "+ha.PublicIPv4+" 22") {
		t.Fatalf("the shell on %s (%s) printed %q", a, ha.PublicIPv4, out)
	}
	mu.Lock()
	if len(argvs) != 2 || argvs[1][len(argvs[1])-1] != ha.PublicIPv4 || !slices.Contains(argvs[1], "StrictHostKeyChecking=yes") {
		t.Fatalf("ssh command lines %q", argvs)
	}
	mu.Unlock()
	for _, h := range []string{down, a} {
		es, err := journal.Query(audit.Query{Target: "host/" + h})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range es {
			if strings.Contains(e.Action, "shell") {
				got = append(got, e.Action+" "+string(e.Result))
			}
		}
		want := []string{"open a shell on a host ok", "end a shell on a host ok"}
		if h == down {
			want[1] = "end a shell on a host failed"
		}
		if !slices.Equal(got, want) {
			t.Errorf("journal of %s: %q, want %q", h, got, want)
		}
	}

	s.keys("enter")
	// CPU is a rate: it needs two scrapes of the new host.
	s.p.WaitForLine(t, 90*time.Second, "CPU", "% of")
	screen = s.waitFor(30*time.Second, "· up · last scrape", "memory", "disk /", "load", "network")
	if !slices.ContainsFunc(strings.Split(screen, "\n"), func(l string) bool {
		return strings.Contains(l, "CPU") && strings.Contains(l, "%") && strings.ContainsAny(l, "▁▂▃▄▅▆▇█")
	}) {
		t.Fatalf("no CPU figure with its graph:\n%s", screen)
	}

	// An ad-hoc command on two hosts.
	s.keys("esc :")
	s.text(fmt.Sprintf("exec uptime on %s,%s", a, b))
	s.keys("enter")
	s.waitFor(10*time.Second, fmt.Sprintf("Run `uptime` on %s and %s?", a, b))
	s.keys("y")
	screen = s.waitFor(3*time.Minute, "`uptime` on hosts", "Runs · `uptime` · ok")
	for _, h := range []string{a, b} {
		if !strings.Contains(screen, h) {
			t.Errorf("no %s in the command's view", h)
		}
	}
	if strings.Count(screen, "rc 0") != 2 || strings.Count(screen, "load average") != 2 {
		t.Fatalf("each host's rc and output:\n%s", screen)
	}
	s.final()
}
