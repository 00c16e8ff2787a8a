package monitoring_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigilops/vigil/integrations/ansible"
	"github.com/vigilops/vigil/integrations/digitalocean"
	"github.com/vigilops/vigil/integrations/hostkeys"
	"github.com/vigilops/vigil/integrations/prometheus"
	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/inventory"
	mon "github.com/vigilops/vigil/ops/monitoring"
	"github.com/vigilops/vigil/ops/playbook"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/monitoring"
	"github.com/vigilops/vigil/ui/uitest"
)

// labPane is the pane over svc, on the real clock (the lab's Prometheus
// answers for now).
func labPane(t *testing.T, svc *mon.Service, role access.Role, w, h int) *env {
	t.Helper()
	ctx := &common.Context{Config: config.Default(), Actor: access.Actor{Name: "alice", Role: role, Source: "local"},
		Services: &common.Services{Monitoring: svc}, Base: context.Background(), Now: time.Now}
	ctx.SetTheme(uitest.Theme(t))
	e := &env{svc: svc, m: monitoring.New(ctx, svc, monitoring.NewKeyMap())}
	e.Driver.Update = e.m.Update
	e.m.SetSize(w, h)
	t.Cleanup(e.m.Close)
	e.Drive(e.m.Init())
	return e
}

// TestLabMonitoringPane reads the lab Prometheus: its targets with their
// health, a rule graphed with its threshold, an instant query's table and
// a range query's graph, and a bad expression refused with Prometheus's
// message and position under the prompt.
func TestLabMonitoringPane(t *testing.T) {
	env := labtest.Env(t, "VIGIL_LAB_PROMETHEUS_URL")
	c, err := prometheus.New(env["VIGIL_LAB_PROMETHEUS_URL"])
	if err != nil {
		t.Fatal(err)
	}
	svc, err := mon.New(mon.Options{Prometheus: c})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	e := labPane(t, svc, access.Viewer, 140, 40)
	s := e.screen(t)
	if !regexp.MustCompile(`(?m)^prometheus +127\.0\.0\.1:\d+ +up +\d+s ago +\S+`).MatchString(s) ||
		!regexp.MustCompile(`(?m)^alertmanager +127\.0\.0\.1:\d+ +up `).MatchString(s) {
		t.Fatalf("the lab's targets are not listed up:\n%s", s)
	}

	// A rule's graph: AppHighErrorRate compares with a number.
	e.Press("r")
	s = e.screen(t)
	if !strings.Contains(s, "AppHighErrorRate") || !strings.Contains(s, "HostDown") || !strings.Contains(s, "rules.yml") {
		t.Fatalf("rules:\n%s", s)
	}
	for range 50 {
		if r := e.selectedRule(); r == "AppHighErrorRate" {
			break
		}
		e.Press("down")
	}
	e.Press("enter")
	expr, th, res, qerr, ok := e.m.Graph()
	if !ok || th == nil || strings.Contains(expr, ">") || qerr != nil || res == nil || res.Type != mon.Matrix {
		t.Fatalf("AppHighErrorRate's graph: %q %v %+v %v", expr, th, res, qerr)
	}
	if s = e.screen(t); !strings.Contains(s, "┄ threshold") || !strings.Contains(s, "└───") {
		t.Fatalf("no graph with a threshold:\n%s", s)
	}
	e.Press("esc", "t")

	e.query(t, `up{job="prometheus"}`)
	s = e.screen(t)
	if !regexp.MustCompile(`up\{instance="127\.0\.0\.1:\d+", job="prometheus"\} +1`).MatchString(s) {
		t.Fatalf("no table:\n%s", s)
	}
	e.query(t, `rate(prometheus_http_requests_total[1m]) 15m`)
	if _, _, res, _, _ := e.m.Graph(); res == nil || res.Type != mon.Matrix || len(res.Matrix) == 0 {
		t.Fatalf("no graph: %+v\n%s", res, e.screen(t))
	}
	if s = e.screen(t); !strings.Contains(s, "└───") || !strings.Contains(s, "series:") {
		t.Fatalf("no graph:\n%s", s)
	}

	e.query(t, "sum(rate(up[5m])")
	s = e.screen(t)
	if !e.m.Capturing() || !strings.Contains(s, "1:17: parse error") || !strings.Contains(s, "(line 1, column 17)") {
		t.Fatalf("the bad expression's error is not under the prompt:\n%s", s)
	}
	lines := strings.Split(s, "\n")
	i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "> sum(rate(up[5m])") })
	if i < 0 || strings.Index(lines[i+1], "^") != 2+16 {
		t.Fatalf("no caret under column 17:\n%s", s)
	}
}

func (e *env) selectedRule() string { return e.m.SelectedRule() }

// TestLabInstallNodeExporter is issue 16's first lab case: a droplet
// created without the node exporter (an emulator of this tree's lab, whose
// droplets tagged no-node-exporter come up so, on its own addresses) is
// flagged not scraped; i installs the exporter through monitoring.yml and
// lists the host in a file_sd file the lab's Prometheus reads; its target
// then comes up, with no further step.
func TestLabInstallNodeExporter(t *testing.T) {
	env := labtest.Env(t, "VIGIL_LAB_PROMETHEUS_URL", "VIGIL_LAB_SSH_KEY", "VIGIL_LAB_STATE")
	labtest.Tool(t, "ansible-playbook", "ansible")
	if os.Geteuid() != 0 {
		t.Skip("the emulator's droplet hosts need root")
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	dir := t.TempDir()

	// This tree's emulator, with droplet hosts, on 127.0.96.x.
	bin := filepath.Join(dir, "vigil-lab")
	build := exec.Command("go", "build", "-o", bin, "./cmd/vigil-lab")
	build.Dir = filepath.Join(root, "lab")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build vigil-lab: %v\n%s", err, out)
	}
	emu := exec.Command(bin, "emulator", "--listen", "127.0.0.1:0", "--state-dir", filepath.Join(dir, "emulator"),
		"--token", "t", "--ssh-pubkey", env["VIGIL_LAB_SSH_KEY"]+".pub", "--ip-base", "127.0.96", "--action-delay", "200ms", "--max-hosts", "2")
	stderr, _ := emu.StderrPipe()
	if err := emu.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { emu.Wait(); close(exited) }()
	t.Cleanup(func() {
		emu.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			emu.Process.Kill()
			<-exited
		}
	})
	url := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		re := regexp.MustCompile(`serving on (http://\S+)`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				url <- m[1] + "/"
			}
			t.Log("emulator: " + sc.Text())
		}
	}()
	var api string
	select {
	case api = <-url:
	case <-time.After(30 * time.Second):
		t.Fatal("the emulator did not start")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cloud, err := digitalocean.New(digitalocean.Options{APIURL: api, Token: "t", PollInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
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
	keys := hostkeys.New(filepath.Join(dir, "known_hosts"))
	bare := inventory.Template{Name: "bare", Region: "fra1", Size: "s-1vcpu-1gb", Image: "debian-12-x64", SSHKeys: []string{"vigil-lab"},
		Tags: []string{"no-node-exporter"}}
	ssh := inventory.SSHOptions{User: "root", PrivateKey: env["VIGIL_LAB_SSH_KEY"]}
	inv := inventory.New(cloud, journal, inventory.Options{PollInterval: 200 * time.Millisecond, SSHTimeout: 2 * time.Minute,
		Templates: []inventory.Template{bare}, HostKeys: keys, SSH: ssh})
	alice := access.Actor{Name: "alice", Role: access.Operator, Source: "local"}
	name := fmt.Sprintf("mon%d", time.Now().UnixNano()%1e6)
	if _, err := inv.Create(ctx, alice, "bare", []string{name}, nil); err != nil {
		t.Fatal(err)
	}
	if err := inv.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	runs, err := playbook.New(&ansible.Runner{KnownHosts: keys.File()}, journal, history, playbook.Options{
		PlaybookDir: filepath.Join(root, "lab", "playbooks"), HostKeys: keys,
		Inventory: playbook.InventoryOptions{User: "root", PrivateKey: env["VIGIL_LAB_SSH_KEY"]},
		Hosts:     func() []inventory.Host { return inv.State().Hosts },
	})
	if err != nil {
		t.Fatal(err)
	}
	sd := filepath.Join(env["VIGIL_LAB_STATE"], "file_sd", "test-"+name+".json")
	t.Cleanup(func() { os.Remove(sd) })
	svc, err := mon.New(mon.Options{Prometheus: prom, Inventory: inv, Runs: runs, Journal: journal, FileSD: sd, Interval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	go svc.Run(ctx)

	e := labPane(t, svc, access.Operator, 140, 40)
	flagged := func() string {
		for _, l := range strings.Split(e.screen(t), "\n") {
			if strings.Contains(l, " "+name+" ") && strings.Contains(l, "not scraped") {
				return l
			}
		}
		return ""
	}
	e.waitFor(t, 30*time.Second, name+" flagged not scraped", func() bool { return flagged() != "" })
	if l := flagged(); !strings.HasPrefix(l, "⚑ not scraped "+name) || !strings.Contains(l, "no target") {
		t.Fatalf("%s is not the first flagged host:\n%s", name, e.screen(t))
	}
	start := time.Now()
	e.Press("i")
	c, ok := uitest.Last[common.ConfirmMsg](&e.Driver)
	if !ok || !strings.Contains(c.Title, name) {
		t.Fatalf("no confirmation: %+v", e.Msgs)
	}
	e.Drive(c.OnYes)
	if m, ok := uitest.Last[common.ToastMsg](&e.Driver); !ok || m.Level != common.Success {
		t.Fatalf("install: %+v", e.Msgs)
	}
	up := func() bool {
		for _, tg := range svc.Snapshot().Targets {
			if tg.Host() == name && tg.Health == mon.Up {
				return true
			}
		}
		return false
	}
	e.waitFor(t, 2*time.Minute, name+"'s target up", func() bool { return up() && flagged() == "" })
	t.Logf("from i to the target up: %s", time.Since(start).Round(time.Second))
	if s := e.screen(t); !regexp.MustCompile(`(?m)^droplets +127\.0\.96\.\d+:9100 +up `).MatchString(s) &&
		!regexp.MustCompile(`(?m)127\.0\.96\.\d+:9100 +up .*droplet=`+name).MatchString(s) {
		t.Fatalf("the target is not shown up:\n%s", s)
	}
	entries, err := journal.Query(audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	var installed, applied bool
	for _, en := range entries {
		installed = installed || (en.Action == mon.ActInstall.Name && en.Target == "host/"+name && en.Error == "")
		applied = applied || en.Action == playbook.ActApply.Name
	}
	if !installed || !applied {
		t.Fatalf("journal: %+v", entries)
	}
}

// waitFor drives the pane until cond holds, or fails after timeout.
func (e *env) waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s:\n%s", what, timeout, e.screen(t))
		}
		e.Drive(nil)
		time.Sleep(200 * time.Millisecond)
	}
}
