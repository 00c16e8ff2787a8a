package ansible

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/playbook"
)

// localSpec runs a testdata playbook on two hosts that are this machine.
func localSpec(t *testing.T, name string) playbook.Spec {
	t.Helper()
	labtest.Tool(t, "ansible-playbook", "ansible")
	abs, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	local := `{"ansible_connection":"local","ansible_python_interpreter":"/usr/bin/python3"}`
	return playbook.Spec{
		Playbook:  abs,
		Inventory: []byte(`{"all":{"hosts":{"h1":` + local + `,"h2":` + local + `}}}`),
	}
}

// processes returns the command lines of the processes whose command line
// contains s (this test's own process excluded).
func processes(t *testing.T, s string) []string {
	t.Helper()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var out []string
	for _, d := range dirs {
		b, err := os.ReadFile(d + "/cmdline")
		if err != nil || filepath.Base(d) == strconv.Itoa(os.Getpid()) {
			continue
		}
		if cmd := string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})); strings.Contains(cmd, s) {
			out = append(out, filepath.Base(d)+": "+cmd)
		}
	}
	return out
}

func TestVaultAndBecomePasswordsThroughPipes(t *testing.T) {
	spec := localSpec(t, "vault.yml")
	vault, become := []byte("vault-pw-Xq9"), []byte("become-pw-Zr4")
	spec.VaultPassword, spec.BecomePassword = vault, become
	var events []playbook.Event
	var seen []string
	err := (&Runner{}).Run(context.Background(), spec, func(e playbook.Event) {
		if len(events) == 0 {
			seen = processes(t, "vault.yml")
		}
		events = append(events, e)
	})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, e := range events {
		if e.Kind == playbook.KindResult {
			msgs = append(msgs, e.Host+" "+e.Msg)
		}
	}
	slices.Sort(msgs) // the hosts run in parallel forks: either may answer first
	if !slices.Equal(msgs, []string{"h1 word=opened-by-vault", "h2 word=opened-by-vault"}) {
		t.Fatalf("results %q, want the decrypted word on both hosts", msgs)
	}
	if len(seen) == 0 || !strings.Contains(seen[0], "--vault-password-file /tmp/vigil-run-") || !strings.Contains(seen[0], "--become-password-file /tmp/vigil-run-") {
		t.Fatalf("ansible-playbook command lines %q: want password readers from the run directory", seen)
	}
	for _, c := range seen {
		if strings.Contains(c, "vault-pw") || strings.Contains(c, "become-pw") {
			t.Fatalf("a password is on a command line: %s", c)
		}
	}
	if !bytes.Equal(vault, make([]byte, len(vault))) || !bytes.Equal(become, make([]byte, len(become))) {
		t.Fatal("the passwords were not wiped after the run")
	}
}

func TestWrongVaultPasswordFailsTheHosts(t *testing.T) {
	spec := localSpec(t, "vault.yml")
	spec.VaultPassword = []byte("not-it")
	var failed []string
	err := (&Runner{}).Run(context.Background(), spec, func(e playbook.Event) {
		if e.Status == playbook.StatusFailed {
			failed = append(failed, e.Host+": "+e.Msg)
		}
	})
	if !errors.Is(err, playbook.ErrHostsFailed) || len(failed) != 2 || !strings.Contains(failed[0], "Decryption failed") {
		t.Fatalf("got %v with failures %q, want both hosts failing on decryption", err, failed)
	}
}

func TestCancelInterruptsAndLeavesNoProcess(t *testing.T) {
	spec := localSpec(t, "slow.yml")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var tasks []string
	start := time.Now()
	var cancelled time.Time
	err := (&Runner{Grace: 5 * time.Second}).Run(ctx, spec, func(e playbook.Event) {
		if e.Kind == playbook.KindTask {
			tasks = append(tasks, e.Task)
			if e.Task == "wait a long time" {
				// Let the sleeps start on both hosts, then interrupt.
				time.AfterFunc(2*time.Second, func() { cancelled = time.Now(); cancel() })
			}
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want an interrupted run", err)
	}
	if cancelled.IsZero() || time.Since(cancelled) > 6*time.Second || time.Since(start) > 60*time.Second {
		t.Fatalf("run ended %s after the cancel", time.Since(cancelled))
	}
	if slices.Contains(tasks, "never reached") {
		t.Fatal("the run went on after the cancel")
	}
	if left := append(processes(t, "slow.yml"), processes(t, "sleep 127")...); len(left) > 0 {
		t.Fatalf("processes left after the cancel: %q", left)
	}
}
