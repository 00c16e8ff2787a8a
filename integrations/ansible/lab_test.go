package ansible_test

import (
	"bytes"
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

	"github.com/vigilops/vigil/integrations/ansible"
	"github.com/vigilops/vigil/integrations/digitalocean"
	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ops/playbook"
)

var alice = access.Actor{Name: "alice", Role: access.Operator}

// byHand runs ansible-playbook the way an administrator would, with the
// ansible.posix.json callback (not the one vigil parses), and returns its
// recap.
func byHand(t *testing.T, inventoryFile, pb string, limit []string) map[string]playbook.Recap {
	t.Helper()
	cmd := exec.Command("ansible-playbook", "-i", inventoryFile, "--limit", strings.Join(limit, ","), pb)
	cmd.Dir = filepath.Dir(pb)
	cmd.Env = append(os.Environ(), "ANSIBLE_STDOUT_CALLBACK=ansible.posix.json", "ANSIBLE_HOST_KEY_CHECKING=0", "ANSIBLE_RETRY_FILES_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ansible-playbook by hand: %v\n%s", err, stderr.String())
	}
	var doc struct {
		Stats map[string]playbook.Recap `json:"stats"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("recap by hand: %v", err)
	}
	return doc.Stats
}

func TestLabPlaybooksOnThreeHosts(t *testing.T) {
	env := labtest.Env(t, "DIGITALOCEAN_API_URL", "DIGITALOCEAN_ACCESS_TOKEN", "VIGIL_LAB_SSH_KEY")
	dir, _ := filepath.Abs("../../lab/playbooks")
	cloud, err := digitalocean.New(digitalocean.Options{
		APIURL: env["DIGITALOCEAN_API_URL"], Token: env["DIGITALOCEAN_ACCESS_TOKEN"], PollInterval: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	tag := fmt.Sprintf("vp%d", time.Now().UnixNano()%1e9)
	t.Cleanup(func() {
		hs, _ := cloud.Hosts(context.Background(), tag)
		for _, h := range hs {
			if err := cloud.Destroy(context.Background(), h.ID); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	journal, err := audit.Open(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer journal.Close()
	history, err := playbook.OpenHistory(filepath.Join(t.TempDir(), "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer history.Close()

	inv := inventory.New(cloud, journal, inventory.Options{
		PollInterval: 300 * time.Millisecond, SSHTimeout: time.Minute,
		Templates: []inventory.Template{{Name: "web", Region: "fra1", Size: "s-1vcpu-1gb", Image: "debian-12-x64", Tags: []string{tag, "web"}}},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	names := []string{tag + "-1", tag + "-2", tag + "-3"}
	hosts, err := inv.Create(ctx, alice, "web", names, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := inv.Tag(ctx, alice, "flaky", hosts[2:]); err != nil {
		t.Fatal(err)
	}
	runs, err := playbook.New(&ansible.Runner{}, journal, history, playbook.Options{
		PlaybookDir: dir,
		Inventory:   playbook.InventoryOptions{User: "root", PrivateKey: env["VIGIL_LAB_SSH_KEY"]},
		Hosts:       func() []inventory.Host { return inv.State().Hosts },
	})
	if err != nil {
		t.Fatal(err)
	}
	run := func(req playbook.Request, rerun string) playbook.Run {
		t.Helper()
		var id string
		var err error
		if rerun != "" {
			id, err = runs.RerunFailed(ctx, alice, rerun, nil, nil)
		} else {
			id, err = runs.Start(ctx, alice, req)
		}
		if err != nil {
			t.Fatal(err)
		}
		<-runs.Done(id)
		r, err := runs.Run(id)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	onTag := playbook.Target{Kind: playbook.TargetTag, Name: tag}

	// The first run converges the hosts; a second one, by hand and through
	// vigil, must then agree host by host.
	first := run(playbook.Request{Playbook: "base.yml", Target: onTag}, "")
	if first.State != playbook.Succeeded || len(first.Recap) != 3 || first.Recap[names[0]].Changed == 0 {
		t.Fatalf("first base run: %s %s %+v", first.State, first.Error, first.Recap)
	}
	file := filepath.Join(t.TempDir(), "inventory.json")
	static, _ := runs.Inventory().Static()
	os.WriteFile(file, static, 0o600)
	manual := byHand(t, file, filepath.Join(dir, "base.yml"), names)
	second := run(playbook.Request{Playbook: "base.yml", Target: onTag}, "")
	if second.State != playbook.Succeeded || len(manual) != 3 {
		t.Fatalf("second base run: %s %s; by hand: %+v", second.State, second.Error, manual)
	}
	for _, n := range names {
		if second.Recap[n] != manual[n] {
			t.Errorf("%s: vigil's recap %+v, by hand %+v", n, second.Recap[n], manual[n])
		}
	}

	flaky := run(playbook.Request{Playbook: "flaky.yml", Target: onTag}, "")
	if flaky.State != playbook.Failed || !slices.Equal(flaky.FailedHosts(), names[2:]) {
		t.Fatalf("flaky run: %s, failed hosts %v", flaky.State, flaky.FailedHosts())
	}
	failures, err := runs.Events(flaky.ID, playbook.Filter{Failed: true}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(failures) != 1 || failures[0].Host != names[2] || failures[0].Task != "Flaky hosts fail here" || !strings.Contains(failures[0].Msg, "tagged flaky") {
		t.Fatalf("drill-down into failures: %+v", failures)
	}
	again := run(playbook.Request{}, flaky.ID)
	if !slices.Equal(again.Limit, names[2:]) || len(again.Recap) != 1 || again.Recap[names[2]].Failed != 1 {
		t.Fatalf("rerun of failed hosts: limit %v recap %+v", again.Limit, again.Recap)
	}

	// Cancel a run in the middle of a long task on the three hosts.
	testdata, _ := filepath.Abs("testdata")
	slow, err := playbook.New(&ansible.Runner{Grace: 10 * time.Second}, journal, history, playbook.Options{
		PlaybookDir: testdata,
		Inventory:   playbook.InventoryOptions{User: "root", PrivateKey: env["VIGIL_LAB_SSH_KEY"]},
		Hosts:       func() []inventory.Host { return inv.State().Hosts },
	})
	if err != nil {
		t.Fatal(err)
	}
	updates, stop := slow.Subscribe()
	defer stop()
	id, err := slow.Start(ctx, alice, playbook.Request{Playbook: "slow.yml", Target: onTag})
	if err != nil {
		t.Fatal(err)
	}
	for p, ok := slow.Progress(id); ok && p.Task != "wait a long time"; p, ok = slow.Progress(id) {
		<-updates
	}
	time.Sleep(3 * time.Second) // the sleeps are running on the hosts
	if err := slow.Cancel(ctx, alice, id); err != nil {
		t.Fatal(err)
	}
	select {
	case <-slow.Done(id):
	case <-time.After(30 * time.Second):
		t.Fatal("the cancelled run did not end within 30s")
	}
	cancelled, _ := history.Get(id)
	if cancelled.State != playbook.Cancelled || cancelled.Recap[names[0]].OK != 1 {
		t.Fatalf("cancelled run: %s, recap %+v", cancelled.State, cancelled.Recap)
	}
	es, _ := journal.Query(audit.Query{Target: "playbook/slow.yml"})
	if len(es) != 2 || es[0].Action != "cancel playbook run" || es[1].Result != audit.Cancelled {
		t.Fatalf("journal of the cancelled run: %+v", es)
	}
	if left := localProcesses("slow.yml"); len(left) > 0 {
		t.Fatalf("ansible processes left after the cancel: %q", left)
	}
}

// localProcesses lists the command lines that contain s.
func localProcesses(s string) []string {
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var out []string
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if cmd := string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})); err == nil && strings.Contains(cmd, s) {
			out = append(out, cmd)
		}
	}
	return out
}
