package kubernetes_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vigilops/vigil/integrations/kubernetes"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ops/playbook"
)

// held is a playbook runner that runs until cancelled: the run holds its
// hosts as long as the test wants.
type held struct{}

func (held) Run(ctx context.Context, _ playbook.Spec, _ func(playbook.Event)) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestHostLockRace50 has two vigils (two clients, two playbook services,
// as two bastions have) start a run on the same host at once, 50 times,
// holding it in a Lease on the lab's API server: one runs, the other is
// refused naming the run, its user and its bastion; the Lease is gone once
// the run ends.
func TestHostLockRace50(t *testing.T) {
	f := newFixture(t, lab(t), "dev")
	ns := f.env("dev").Namespace
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "site.yml"), []byte("- hosts: all\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hosts := []inventory.Host{{ID: 1, Name: "web-01", PublicIPv4: "127.0.80.2"}}
	var svcs []*playbook.Service
	for _, bastion := range []string{"bastion-1", "bastion-2"} {
		h, err := playbook.OpenHistory(filepath.Join(dir, bastion+".db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		locks := &kubernetes.HostLocks{Client: kubernetes.New(f.ctx, f.kubeconfig), Namespace: ns}
		svc, err := playbook.New(held{}, f.journal, h, playbook.Options{PlaybookDir: dir, Hosts: func() []inventory.Host { return hosts },
			HostLocks: locks, Bastion: bastion})
		if err != nil {
			t.Fatal(err)
		}
		svcs = append(svcs, svc)
	}
	actors := []access.Actor{{Name: "alice", Role: access.Operator}, {Name: "bob", Role: access.Operator}}
	req := playbook.Request{Playbook: "site.yml", Target: playbook.Target{Kind: playbook.TargetHosts, Hosts: []string{"web-01"}}}
	for round := range 50 {
		ids, errs := make([]string, 2), make([]error, 2)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, svc := range svcs {
			wg.Go(func() { <-start; ids[i], errs[i] = svc.Start(f.ctx, actors[i], req) })
		}
		close(start)
		wg.Wait()
		won := -1
		for i, err := range errs {
			var busy *playbook.HostBusyError
			switch {
			case err == nil:
				if won >= 0 {
					t.Fatalf("round %d: both runs started", round)
				}
				won = i
			case !errors.As(err, &busy):
				t.Fatalf("round %d: %s got %v, not a refusal naming the holder", round, actors[i].Name, err)
			case !strings.HasPrefix(busy.Holder, actors[1-i].Name+", run ") || !strings.HasSuffix(busy.Holder, []string{"bastion-2", "bastion-1"}[i]):
				t.Fatalf("round %d: %s told the wrong holder: %v", round, actors[i].Name, err)
			}
		}
		if won < 0 {
			t.Fatalf("round %d: no run started: %v", round, errs)
		}
		other := svcs[1-won]
		if h, ok, err := other.HostHolder(f.ctx, "web-01"); err != nil || !ok || !strings.Contains(h, ids[won]) {
			t.Fatalf("round %d: the other bastion sees web-01 held by %q %v %v", round, h, ok, err)
		}
		if err := svcs[won].Cancel(f.ctx, actors[won], ids[won]); err != nil {
			t.Fatal(err)
		}
		<-svcs[won].Done(ids[won])
		if h, ok, err := other.HostHolder(f.ctx, "web-01"); err != nil || ok {
			t.Fatalf("round %d: web-01 still held by %q (%v) after its run ended", round, h, err)
		}
	}
}
