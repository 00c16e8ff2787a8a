package ansible_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vigilops/vigil/integrations/ansible"
	"github.com/vigilops/vigil/integrations/digitalocean"
	"github.com/vigilops/vigil/integrations/hostkeys"
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

	keys := hostkeys.New(filepath.Join(t.TempDir(), "known_hosts"))
	inv := inventory.New(cloud, journal, inventory.Options{
		PollInterval: 300 * time.Millisecond, SSHTimeout: time.Minute, HostKeys: keys,
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
	// Each host's key was recorded when vigil created it.
	if b, _ := os.ReadFile(keys.File()); strings.Count(string(b), "\n") != 3 {
		t.Fatalf("known_hosts after creating 3 hosts:\n%s", b)
	}
	runs, err := playbook.New(&ansible.Runner{KnownHosts: keys.File()}, journal, history, playbook.Options{
		PlaybookDir: dir, HostKeys: keys,
		Inventory: playbook.InventoryOptions{User: "root", PrivateKey: env["VIGIL_LAB_SSH_KEY"]},
		Hosts:     func() []inventory.Host { return inv.State().Hosts },
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
		evs, _ := runs.Events(first.ID, playbook.Filter{Results: true, Failed: true}, 0, 10)
		for _, e := range evs {
			t.Logf("failed or unreachable: %+v", e)
		}
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

	hostKeyChecks(t, ctx, inv, runs, keys, hosts[:2], run)

	// Cancel a run in the middle of a long task on the three hosts.
	testdata, _ := filepath.Abs("testdata")
	slow, err := playbook.New(&ansible.Runner{Grace: 10 * time.Second, KnownHosts: keys.File()}, journal, history, playbook.Options{
		PlaybookDir: testdata, HostKeys: keys,
		Inventory: playbook.InventoryOptions{User: "root", PrivateKey: env["VIGIL_LAB_SSH_KEY"]},
		Hosts:     func() []inventory.Host { return inv.State().Hosts },
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

// hostKeyChecks: a host whose key changed is refused with both
// fingerprints and nothing runs on it; an operator may not accept the new
// key, an admin may; a host met for the first time gets its key recorded,
// and the run says so.
func hostKeyChecks(t *testing.T, ctx context.Context, inv *inventory.Service, runs *playbook.Service, keys *hostkeys.File,
	hosts []inventory.Host, run func(playbook.Request, string) playbook.Run) {
	t.Helper()
	changed, recordedNow := hosts[0], hosts[1]
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(keys.File())
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		switch strings.Fields(l)[0] {
		case changed.PublicIPv4: // someone else's key in its place
			lines = append(lines, changed.PublicIPv4+" "+strings.TrimSpace(string(ssh.MarshalAuthorizedKey(other))))
		case recordedNow.PublicIPv4: // never met
		default:
			lines = append(lines, l)
		}
	}
	if err := os.WriteFile(keys.File(), []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	only := func(h inventory.Host) playbook.Target {
		return playbook.Target{Kind: playbook.TargetHosts, Hosts: []string{h.Name}}
	}
	before := len(runs.Runs())
	_, err = runs.Start(ctx, alice, playbook.Request{Playbook: "base.yml", Target: only(changed)})
	var keyErr *inventory.HostKeyChangedError
	if !errors.As(err, &keyErr) || keyErr.Host != changed.Name || keyErr.Recorded != ssh.FingerprintSHA256(other) || !strings.HasPrefix(keyErr.Presents, "SHA256:") {
		t.Fatalf("a run on a host whose key changed: %v", err)
	}
	if n := len(runs.Runs()); n != before {
		t.Fatalf("a refused run was started (%d runs, %d before)", n, before)
	}
	if _, err := inv.TrustKey(ctx, alice, changed.Name); !access.IsRefusal(err) {
		t.Fatalf("an operator accepted a changed host key: %v", err)
	}
	admin := access.Actor{Name: "root-admin", Role: access.Admin}
	k, err := inv.TrustKey(ctx, admin, changed.Name)
	if err != nil || k.Previous != ssh.FingerprintSHA256(other) || k.Fingerprint != keyErr.Presents {
		t.Fatalf("an admin's trust-key: %+v, %v", k, err)
	}
	if r := run(playbook.Request{Playbook: "base.yml", Target: only(changed)}, ""); r.State != playbook.Succeeded {
		t.Fatalf("the run after trust-key: %s %s", r.State, r.Error)
	}

	r := run(playbook.Request{Playbook: "base.yml", Target: only(recordedNow)}, "")
	if r.State != playbook.Succeeded || !strings.HasPrefix(r.KeysRecorded[recordedNow.Name], "SHA256:") {
		t.Fatalf("first contact: %s %s, keys recorded %v", r.State, r.Error, r.KeysRecorded)
	}
}
