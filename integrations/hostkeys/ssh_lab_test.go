package hostkeys_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/integrations/digitalocean"
	"github.com/vigilops/vigil/integrations/hostkeys"
	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/inventory"
)

// TestLabSSHArgvReachesAShell opens a session on a droplet of the lab's
// emulator (a real sshd) the way the console does: the argv OpenSSH gives
// reaches a shell there as the configured user, with the key vigil
// recorded when it created the host; the same argv against a known_hosts
// without that key is refused by ssh itself (strict checking). The session
// is journaled at both ends.
func TestLabSSHArgvReachesAShell(t *testing.T) {
	env := labtest.Env(t, "DIGITALOCEAN_API_URL", "DIGITALOCEAN_ACCESS_TOKEN", "VIGIL_LAB_SSH_KEY")
	cloud, err := digitalocean.New(digitalocean.Options{APIURL: env["DIGITALOCEAN_API_URL"], Token: env["DIGITALOCEAN_ACCESS_TOKEN"], PollInterval: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	tag := fmt.Sprintf("vs%d", time.Now().UnixNano()%1e9)
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
	keys := hostkeys.New(filepath.Join(t.TempDir(), "known_hosts"))
	inv := inventory.New(cloud, journal, inventory.Options{
		PollInterval: 300 * time.Millisecond, SSHTimeout: time.Minute, HostKeys: keys,
		SSH:       inventory.SSHOptions{User: "root", PrivateKey: env["VIGIL_LAB_SSH_KEY"]},
		Templates: []inventory.Template{{Name: "web", Region: "fra1", Size: "s-1vcpu-1gb", Image: "debian-12-x64", Tags: []string{tag}}},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	alice := access.Actor{Name: "alice", Role: access.Operator}
	name := tag + "-1"
	if _, err := inv.Create(ctx, alice, "web", []string{name}, nil); err != nil {
		t.Fatal(err)
	}

	sess, err := inv.OpenSSH(ctx, alice, name)
	if err != nil {
		t.Fatal(err)
	}
	if sess.KeyRecorded != "" {
		t.Errorf("the key was recorded again on first shell: %s", sess.KeyRecorded)
	}
	run := func(argv []string) (string, error) {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Stdin = nil
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	if out, err := run(append(slices.Clone(sess.Argv), "true")); err != nil {
		t.Fatalf("ssh … true: %v\n%s", err, out)
	}
	if out, err := run(append(slices.Clone(sess.Argv), "hostname; id -un")); err != nil || out != name+"\nroot" {
		t.Fatalf("ssh … hostname: %q, %v", out, err)
	}
	if err := sess.Close(ctx, nil); err != nil {
		t.Fatal(err)
	}

	empty := filepath.Join(t.TempDir(), "empty_known_hosts")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	strict, err := inventory.SSHArgv(sess.Addr, inventory.SSHOptions{User: "root", PrivateKey: env["VIGIL_LAB_SSH_KEY"], KnownHosts: empty}, "true")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := run(strict); err == nil || !strings.Contains(out, "Host key verification failed") {
		t.Fatalf("an unknown host key was accepted: %v\n%s", err, out)
	}

	es, err := journal.Query(audit.Query{Target: "host/" + name})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range es {
		actions = append(actions, e.Action)
	}
	if !slices.Contains(actions, inventory.ActSSH.Name) || !slices.Contains(actions, inventory.ActSSHEnd.Name) {
		t.Fatalf("journal: %v", actions)
	}
}
