package ansible_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/integrations/ansible"
	"github.com/vigilops/vigil/integrations/digitalocean"
	"github.com/vigilops/vigil/integrations/hostkeys"
	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ops/playbook"
)

// TestLabExecOnRealHosts runs ad-hoc commands on three of the emulator's
// droplets (real sshd, real Ansible): each host's rc, stdout and stderr;
// a powered-off host unreachable beside the others; a host held by a
// command still running refuses a second; a viewer is refused; each
// outcome is journaled with the command and every host's result.
func TestLabExecOnRealHosts(t *testing.T) {
	env := labtest.Env(t, "DIGITALOCEAN_API_URL", "DIGITALOCEAN_ACCESS_TOKEN", "VIGIL_LAB_SSH_KEY")
	cloud, err := digitalocean.New(digitalocean.Options{
		APIURL: env["DIGITALOCEAN_API_URL"], Token: env["DIGITALOCEAN_ACCESS_TOKEN"], PollInterval: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	tag := fmt.Sprintf("vx%d", time.Now().UnixNano()%1e9)
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
		Templates: []inventory.Template{{Name: "web", Region: "fra1", Size: "s-1vcpu-1gb", Image: "debian-12-x64", Tags: []string{tag}}},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	names := []string{tag + "-1", tag + "-2", tag + "-3"}
	hosts, err := inv.Create(ctx, alice, "web", names, nil)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := playbook.New(&ansible.Runner{KnownHosts: keys.File()}, journal, history, playbook.Options{
		PlaybookDir: t.TempDir(), HostKeys: keys,
		Inventory: playbook.InventoryOptions{User: "root", PrivateKey: env["VIGIL_LAB_SSH_KEY"]},
		Hosts:     func() []inventory.Host { return inv.State().Hosts },
	})
	if err != nil {
		t.Fatal(err)
	}
	onTag := playbook.Target{Kind: playbook.TargetTag, Name: tag}

	// Each host answers with its own name; one of them fails.
	cmd := `hostname; echo "to stderr" >&2; if [ "$(hostname)" = "` + names[1] + `" ]; then exit 7; fi`
	c, err := runs.ExecConfirmation(playbook.ExecRequest{Command: cmd, Target: onTag})
	if err != nil || !c.Needed() || !strings.Contains(c.Title, names[0]+", "+names[1]+" and "+names[2]) {
		t.Fatalf("confirmation %+v, %v", c, err)
	}
	e, err := runs.Exec(ctx, alice, playbook.ExecRequest{Command: cmd, Target: onTag})
	if !errors.Is(err, playbook.ErrExecFailed) || !strings.Contains(err.Error(), names[1]) {
		t.Fatalf("exec: %v", err)
	}
	if len(e.Results) != 3 {
		t.Fatalf("results %+v", e.Results)
	}
	for i, r := range e.Results {
		wantRC, wantStatus := 0, playbook.StatusChanged
		if i == 1 {
			wantRC, wantStatus = 7, playbook.StatusFailed
		}
		if r.Host != names[i] || r.RC != wantRC || r.Status != wantStatus || r.Stdout != names[i] || r.Stderr != "to stderr" {
			t.Errorf("host %d: %+v", i, r)
		}
	}

	// Powered off: unreachable, the others still answer.
	if err := inv.Act(ctx, alice, hosts[2], inventory.ActionRequest{Kind: inventory.PowerOff}, nil); err != nil {
		t.Fatal(err)
	}
	e, err = runs.Exec(ctx, alice, playbook.ExecRequest{Command: "true", Target: onTag})
	if !errors.Is(err, playbook.ErrExecFailed) || len(e.Results) != 3 || e.Results[0].RC != 0 || e.Results[1].RC != 0 ||
		e.Results[2].Status != playbook.StatusUnreachable || e.Results[2].Msg == "" {
		t.Fatalf("with %s off: %+v, %v", names[2], e.Results, err)
	}

	// A host a running command holds refuses another.
	slow := make(chan error, 1)
	go func() {
		_, err := runs.Exec(ctx, alice, playbook.ExecRequest{Command: "sleep 4", Target: playbook.Target{Kind: playbook.TargetHosts, Hosts: names[:1]}})
		slow <- err
	}()
	// Once the slow command shows as running, it holds its host.
	deadline := time.Now().Add(30 * time.Second)
	for !slices.ContainsFunc(runs.Execs(), func(e playbook.Exec) bool { return e.Command == "sleep 4" && e.Running() }) {
		if time.Now().After(deadline) {
			t.Fatal("the slow command never showed as running")
		}
		time.Sleep(20 * time.Millisecond)
	}
	var busy *playbook.HostBusyError
	_, err = runs.Exec(ctx, alice, playbook.ExecRequest{Command: "true", Target: playbook.Target{Kind: playbook.TargetHosts, Hosts: names[:1]}})
	if !errors.As(err, &busy) {
		t.Fatalf("a second command on a held host: %v", err)
	}
	if !access.IsRefusal(err) || busy.Host != names[0] || !strings.Contains(busy.Holder, "alice, command ") {
		t.Fatalf("busy: %+v", busy)
	}
	if err := <-slow; err != nil {
		t.Fatalf("the slow command: %v", err)
	}

	// A viewer may not.
	viewer := access.Actor{Name: "victor", Role: access.Viewer}
	if _, err := runs.Exec(ctx, viewer, playbook.ExecRequest{Command: "true", Target: onTag}); !access.IsRefusal(err) {
		t.Fatalf("a viewer ran a command: %v", err)
	}

	entries, err := journal.Query(audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	var execs []audit.Entry
	for _, en := range entries {
		if en.Action == playbook.ActExec.Name {
			execs = append(execs, en)
		}
	}
	results := func(en audit.Entry) []string {
		var out []string
		for _, n := range names {
			out = append(out, en.Parameters["result."+n])
		}
		return out
	}
	if len(execs) < 5 || execs[0].Parameters["command"] != cmd || execs[0].Target != "tag/"+tag || execs[0].Result != audit.Failed ||
		!slices.Equal(results(execs[0]), []string{"rc 0", "rc 7", "rc 0"}) || execs[1].Parameters["result."+names[2]] != "unreachable" {
		t.Fatalf("journal: %+v", execs)
	}
	last := execs[len(execs)-1]
	if last.Actor != "victor" || last.Result != audit.Refused {
		t.Fatalf("the viewer's entry: %+v", last)
	}
}
