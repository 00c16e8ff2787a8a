package inventory_test

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
	"github.com/vigilops/vigil/integrations/hostkeys"
	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ops/playbook"
	"github.com/vigilops/vigil/ui/common"
)

// recapRow is a host's recap as the Runs pane's row shows it: the name
// and the seven counts, a zero as a dot.
func recapRow(host string, r playbook.Recap) string {
	cells := []string{host}
	for _, n := range []int{r.OK, r.Changed, r.Unreachable, r.Failed, r.Skipped, r.Rescued, r.Ignored} {
		if n == 0 {
			cells = append(cells, "·")
		} else {
			cells = append(cells, fmt.Sprint(n))
		}
	}
	return strings.Join(cells, " ")
}

// rowOf is the line of the screen whose first cell, inside the frame, is name.
func rowOf(screen, name string) string {
	for _, l := range strings.Split(screen, "\n") {
		f := strings.Fields(strings.Trim(l, "│ "))
		if len(f) > 0 && f[0] == name {
			return strings.Join(f, " ")
		}
	}
	return ""
}

// byHand runs ansible-playbook as an administrator would, with the
// ansible.posix.json callback (not the one vigil parses), and returns its recap.
func byHand(t *testing.T, inventoryFile, pb string) map[string]playbook.Recap {
	t.Helper()
	cmd := exec.Command("ansible-playbook", "-i", inventoryFile, pb)
	cmd.Dir = filepath.Dir(pb)
	cmd.Env = append(os.Environ(), "ANSIBLE_STDOUT_CALLBACK=ansible.posix.json", "ANSIBLE_HOST_KEY_CHECKING=0", "ANSIBLE_RETRY_FILES_ENABLED=0",
		"ANSIBLE_TIMEOUT=30") // as vigil's runner waits for a busy host
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ansible-playbook by hand: %v\n%s\n%s", err, stderr.String(), out)
	}
	var doc struct {
		Stats map[string]playbook.Recap `json:"stats"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("recap by hand: %v", err)
	}
	return doc.Stats
}

// TestLabConsole drives the console against the lab's DigitalOcean
// emulator and real Ansible over SSH: three hosts created from a template
// in the Inventory pane, the base playbook run on them twice from the Runs
// pane, the recap on screen compared with ansible-playbook's by hand, the
// failure of flaky.yml in the drill-down and its rerun on the failed host
// only, and one host destroyed by typing its name.
func TestLabConsole(t *testing.T) {
	env := labtest.Env(t, "DIGITALOCEAN_API_URL", "DIGITALOCEAN_ACCESS_TOKEN", "VIGIL_LAB_SSH_KEY")
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
	tag := fmt.Sprintf("vu%d", time.Now().UnixNano()%1e9)
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

	// The lab's first template, with this test's tag so that its hosts are
	// told apart (and cleaned up), first in the list so the prompt offers it.
	tmpl := inventory.TemplatesFrom(cfg.DigitalOcean.Templates)
	mine := tmpl[0]
	mine.Name, mine.Tags = tag, append(slices.Clone(mine.Tags), tag)
	keys := hostkeys.New(filepath.Join(dir, "known_hosts"))
	inv := inventory.New(cloud, journal, inventory.Options{PollInterval: 300 * time.Millisecond, SSHTimeout: 2 * time.Minute,
		Templates: append([]inventory.Template{mine}, tmpl...), HostKeys: keys})
	if err := inv.Refresh(context.Background()); err != nil {
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
	s := newShell(t, cfg, &common.Services{Inventory: inv, Playbook: runs}, journal, time.Now, 140, 40)
	names := []string{tag + "-1", tag + "-2", tag + "-3"}

	s.waitFor(10*time.Second, "Inventory ·")
	s.keys("n")
	s.waitFor(5*time.Second, "> "+tag)
	s.keys("ctrl+u")
	s.text(tag + " " + strings.Join(names, " "))
	s.keys("enter")
	s.waitFor(5*time.Minute, "3/3 reachable over SSH", "done")
	for _, n := range names {
		if h, ok := inv.State().Host(n); !ok || h.Status != "active" || h.PublicIPv4 == "" {
			t.Fatalf("%s after creation: %+v", n, h)
		}
	}

	// waitRun waits for a run started after there were before runs to end.
	waitRun := func(before int) playbook.Run {
		t.Helper()
		deadline := time.Now().Add(5 * time.Minute)
		for {
			rs := runs.Runs()
			if len(rs) > before && rs[0].State != playbook.Running {
				return rs[0]
			}
			if time.Now().After(deadline) {
				t.Fatalf("the run did not end within 5 minutes:\n%s", s.p.Screen())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// apply applies a playbook to the tag from the Runs pane, and waits
	// for the run to end.
	apply := func(pb string) playbook.Run {
		t.Helper()
		before := len(runs.Runs())
		s.keys("6 n")
		s.waitFor(5*time.Second, "Run: PLAYBOOK")
		s.keys("ctrl+u")
		s.text(pb + " tag:" + tag)
		s.keys("enter")
		s.waitFor(5*time.Second, "Apply "+pb+"?")
		s.keys("y")
		return waitRun(before)
	}
	first := apply("base.yml")
	if first.State != playbook.Succeeded || len(first.Recap) != 3 {
		evs, _ := runs.Events(first.ID, playbook.Filter{Results: true, Failed: true}, 0, 10)
		for _, e := range evs {
			t.Logf("failed or unreachable: %+v", e)
		}
		t.Fatalf("first base run: %s %s %+v", first.State, first.Error, first.Recap)
	}
	screen := s.waitFor(10*time.Second, "succeeded", fmt.Sprintf("%d tasks", first.Tasks))
	for _, n := range names {
		if got, want := rowOf(screen, n), recapRow(n, first.Recap[n]); got != want {
			t.Errorf("recap of %s on screen %q, the run's %q", n, got, want)
		}
	}

	// By hand on the same inventory, then through vigil again: the recaps
	// on screen and by hand agree host by host.
	file := filepath.Join(dir, "inventory.json")
	static, err := runs.Inventory().Static()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(file, static, 0o600)
	manual := byHand(t, file, filepath.Join(cfg.Ansible.PlaybookDir, "base.yml"))
	s.keys("esc")
	second := apply("base.yml")
	if second.State != playbook.Succeeded {
		t.Fatalf("second base run: %s %s", second.State, second.Error)
	}
	screen = s.waitFor(10*time.Second, "succeeded")
	for _, n := range names {
		if got, want := rowOf(screen, n), recapRow(n, manual[n]); got != want {
			t.Errorf("%s: vigil shows %q, ansible-playbook by hand %q", n, got, want)
		}
	}

	// Tag the third host flaky in the Inventory pane (once the creation view
	// is closed): flaky.yml fails there, the drill-down shows the failure,
	// and rerun-failed runs on that host only.
	s.keys("1 esc /")
	s.text(names[2])
	s.keys("enter t")
	s.waitFor(5*time.Second, "Tag "+names[2]+" with:")
	s.text("flaky")
	s.keys("enter")
	s.waitFor(time.Minute, "tag flaky "+names[2]+": done")
	flaky := apply("flaky.yml")
	if flaky.State != playbook.Failed || !slices.Equal(flaky.FailedHosts(), names[2:]) {
		t.Fatalf("flaky run: %s %s, failed hosts %v", flaky.State, flaky.Error, flaky.FailedHosts())
	}
	s.keys("f f")
	screen = s.waitFor(10*time.Second, "flaky.yml · failed · 1", names[2], "Flaky hosts fail here")
	if strings.Contains(screen, names[0]) {
		t.Fatalf("the failed results show %s:\n%s", names[0], screen)
	}
	before := len(runs.Runs())
	s.keys("r")
	s.waitFor(5*time.Second, "Rerun flaky.yml on the failed hosts?")
	s.keys("y")
	rerun := waitRun(before)
	if rerun.RerunOf != flaky.ID || !slices.Equal(rerun.Limit, names[2:]) || len(rerun.Recap) != 1 {
		t.Fatalf("rerun of the failed hosts: of %s, limit %v, recap %+v", rerun.RerunOf, rerun.Limit, rerun.Recap)
	}
	s.waitFor(10*time.Second, "rerun of the failed hosts of "+flaky.ID)

	// Destroy the first host by typing its name.
	s.keys("1 esc /")
	s.text(names[0])
	s.keys("enter D")
	s.waitFor(10*time.Second, "Destroy "+names[0]+"? Type its name")
	s.text(names[0])
	s.keys("enter")
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, ok := inv.State().Host(names[0]); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still there 2 minutes after its destroy was confirmed:\n%s", names[0], s.p.Screen())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if hs, _ := cloud.Hosts(context.Background(), tag); len(hs) != 2 {
		t.Fatalf("%d hosts tagged %s left in the emulator, want 2", len(hs), tag)
	}
	es, _ := journal.Query(audit.Query{Target: "host/" + names[0]})
	if len(es) != 2 || es[1].Action != "destroy host" || es[1].Result != audit.OK {
		t.Fatalf("journal of %s: %+v", names[0], es)
	}
	s.final()
}
