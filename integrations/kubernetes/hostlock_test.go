package kubernetes_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/integrations/digitalocean"
	"github.com/vigilops/vigil/integrations/kubernetes"
	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
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

// bastion is one vigil of the rotation, as far as playbook runs and hosts
// go: its own Kubernetes client (host locks), journal, run history,
// playbook service and, with a cloud, inventory.
type bastion struct {
	name    string
	journal *audit.Journal
	runs    *playbook.Service
	inv     *inventory.Service
	seen    int // journal entries already looked at
}

// newBastions makes two bastions; with cloud, each gets an inventory on a
// cloud client of its own.
func newBastions(t *testing.T, f *fixture, dir string, hosts func() []inventory.Host, cloud func() inventory.Cloud) []*bastion {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "site.yml"), []byte("- hosts: all\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out []*bastion
	for _, name := range []string{"bastion-1", "bastion-2"} {
		b := &bastion{name: name}
		var err error
		if b.journal, err = audit.Open(filepath.Join(dir, name+"-journal.db")); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.journal.Close() })
		h, err := playbook.OpenHistory(filepath.Join(dir, name+"-runs.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		locks := &kubernetes.HostLocks{Client: kubernetes.New(f.ctx, f.kubeconfig), Namespace: f.env("dev").Namespace}
		if b.runs, err = playbook.New(held{}, b.journal, h, playbook.Options{PlaybookDir: dir, Hosts: hosts, HostLocks: locks, Bastion: name}); err != nil {
			t.Fatal(err)
		}
		if cloud != nil {
			b.inv = inventory.New(cloud(), b.journal, inventory.Options{Holders: b.runs})
		}
		out = append(out, b)
	}
	return out
}

// fresh returns the entries b journaled since the last call.
func (b *bastion) fresh(t *testing.T) []audit.Entry {
	t.Helper()
	all, err := b.journal.Query(audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	out := all[b.seen:]
	b.seen = len(all)
	return out
}

// checkNoAPIText fails when the API server's words for a lost race on a
// Lease reached a person.
func checkNoAPIText(t *testing.T, round int, text string) {
	t.Helper()
	for _, raw := range []string{"leases.coordination", "Precondition", "StorageError", "not found", "Operation cannot be fulfilled"} {
		if strings.Contains(text, raw) {
			t.Fatalf("round %d: the API's words %q reached a person: %s", round, raw, text)
		}
	}
}

// TestHostLockRace50 has two vigils (two bastions: their own clients,
// journals and playbook services) start a run on the same host at once,
// 50 times, holding it in a Lease on the lab's API server: one runs, the
// other is refused naming the run, its user, its bastion and since when,
// and journals the refusal as refused. The refused admin then runs anyway:
// journaled in their journal as the admin action, naming the run it
// overrode, which keeps its lock. The Lease is gone once both runs end.
func TestHostLockRace50(t *testing.T) {
	f := newFixture(t, lab(t), "dev")
	hosts := []inventory.Host{{ID: 1, Name: "web-01", PublicIPv4: "127.0.80.2"}}
	bastions := newBastions(t, f, t.TempDir(), func() []inventory.Host { return hosts }, nil)
	actors := []access.Actor{{Name: "alice", Role: access.Admin}, {Name: "bob", Role: access.Admin}}
	req := playbook.Request{Playbook: "site.yml", Target: playbook.Target{Kind: playbook.TargetHosts, Hosts: []string{"web-01"}}}
	for round := range 50 {
		ids, errs := make([]string, 2), make([]error, 2)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, b := range bastions {
			wg.Go(func() { <-start; ids[i], errs[i] = b.runs.Start(f.ctx, actors[i], req) })
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
			case !strings.HasPrefix(busy.Holder, actors[1-i].Name+", run ") || !strings.HasSuffix(busy.Holder, bastions[1-i].name) ||
				!strings.Contains(err.Error(), " since "):
				t.Fatalf("round %d: %s told the wrong holder: %v", round, actors[i].Name, err)
			}
		}
		if won < 0 {
			t.Fatalf("round %d: no run started: %v", round, errs)
		}
		lost := 1 - won
		winner, loser := bastions[won], bastions[lost]
		holder := actors[won].Name + ", run " + ids[won] + ", on " + winner.name
		checkNoAPIText(t, round, errs[lost].Error())
		refusal := loser.fresh(t)
		if len(refusal) != 1 || refusal[0].Action != playbook.ActApply.Name || refusal[0].Result != audit.Refused || !strings.Contains(refusal[0].Error, holder) {
			t.Fatalf("round %d: %s journaled %+v, want the run refused naming %s", round, actors[lost].Name, refusal, holder)
		}
		checkNoAPIText(t, round, refusal[0].Error)
		if h, ok, err := loser.runs.HostHolder(f.ctx, "web-01"); err != nil || !ok || h != holder {
			t.Fatalf("round %d: the other bastion sees web-01 held by %q %v %v", round, h, ok, err)
		}

		// The loser, an admin, runs anyway on web-01: an admin action in
		// their own journal, naming the run overridden.
		anyway := req
		anyway.Anyway = []string{"web-01"}
		id, err := loser.runs.Start(f.ctx, actors[lost], anyway)
		if err != nil {
			t.Fatalf("round %d: run anyway: %v", round, err)
		}
		decided := loser.fresh(t)
		if len(decided) != 1 || decided[0].Action != playbook.ActRunAnyway.Name || decided[0].Result != audit.OK || decided[0].Role != string(access.Admin) ||
			decided[0].Parameters["overrode"] != "web-01 ("+holder+")" {
			t.Fatalf("round %d: run anyway journaled %+v, want %q overriding %s", round, decided, playbook.ActRunAnyway.Name, holder)
		}
		if h, ok, err := loser.runs.HostHolder(f.ctx, "web-01"); err != nil || !ok || h != holder {
			t.Fatalf("round %d: running anyway took web-01's lock from %s: held by %q %v %v", round, holder, h, ok, err)
		}
		for i, b := range []*bastion{winner, loser} {
			run := []string{ids[won], id}[i]
			if err := b.runs.Cancel(f.ctx, actors[[]int{won, lost}[i]], run); err != nil {
				t.Fatal(err)
			}
			<-b.runs.Done(run)
		}
		if h, ok, err := loser.runs.HostHolder(f.ctx, "web-01"); err != nil || ok {
			t.Fatalf("round %d: web-01 still held by %q (%v) after its runs ended", round, h, err)
		}
		winner.fresh(t)
		loser.fresh(t)
	}
}

// TestDestroyWhileARunHoldsTheHost: a host of the lab's cloud, two bastions
// (their own Kubernetes clients, journals, playbook services, cloud clients
// and inventories). 50 times, one bastion's admin starts a run on the host
// and both bastions' admins destroy it at once: both are refused naming the
// run, its user and its bastion, and journal the refusal as refused; the
// host stays. Once no run holds it, it is destroyed.
func TestDestroyWhileARunHoldsTheHost(t *testing.T) {
	f := newFixture(t, lab(t), "dev")
	env := labtest.Env(t, "DIGITALOCEAN_API_URL", "DIGITALOCEAN_ACCESS_TOKEN")
	cloud := func() inventory.Cloud {
		c, err := digitalocean.New(digitalocean.Options{APIURL: env["DIGITALOCEAN_API_URL"], Token: env["DIGITALOCEAN_ACCESS_TOKEN"], PollInterval: 300 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix)
	tag := "vt-hold-" + hex.EncodeToString(suffix)
	owner, err := digitalocean.New(digitalocean.Options{APIURL: env["DIGITALOCEAN_API_URL"], Token: env["DIGITALOCEAN_ACCESS_TOKEN"]})
	if err != nil {
		t.Fatal(err)
	}
	created, err := owner.Create(f.ctx, inventory.CreateRequest{Names: []string{tag}, Region: "fra1", Size: "s-1vcpu-1gb", Image: "debian-12-x64", Tags: []string{tag}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		hs, _ := owner.Hosts(context.Background(), tag)
		for _, h := range hs {
			_ = owner.Destroy(context.Background(), h.ID)
		}
	})
	host := created[0]
	bastions := newBastions(t, f, t.TempDir(), func() []inventory.Host { return []inventory.Host{host} }, cloud)
	actors := []access.Actor{{Name: "alice", Role: access.Admin}, {Name: "bob", Role: access.Admin}}
	req := playbook.Request{Playbook: "site.yml", Target: playbook.Target{Kind: playbook.TargetHosts, Hosts: []string{host.Name}}}
	for round := range 50 {
		r := round % 2
		runner := bastions[r]
		id, err := runner.runs.Start(f.ctx, actors[r], req)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		holder := actors[r].Name + ", run " + id + ", on " + runner.name
		runner.fresh(t)
		errs := make([]error, 2)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, b := range bastions {
			wg.Go(func() {
				<-start
				plan, err := b.inv.PlanDestroy(f.ctx, []int{host.ID}, "")
				if err == nil {
					err = b.inv.Destroy(f.ctx, actors[i], plan)
				}
				errs[i] = err
			})
		}
		close(start)
		wg.Wait()
		for i, b := range bastions {
			if errs[i] == nil || !access.IsRefusal(errs[i]) || !strings.Contains(errs[i].Error(), "a playbook run holds "+host.Name+" ("+holder+")") {
				t.Fatalf("round %d: %s's destroy on %s: %v; want a refusal naming %s", round, actors[i].Name, b.name, errs[i], holder)
			}
			checkNoAPIText(t, round, errs[i].Error())
			got := b.fresh(t)
			if len(got) != 1 || got[0].Action != inventory.ActDestroy.Name || got[0].Result != audit.Refused || !strings.Contains(got[0].Error, holder) {
				t.Fatalf("round %d: %s journaled %+v, want the destroy refused naming %s", round, b.name, got, holder)
			}
		}
		if _, err := owner.Host(f.ctx, host.ID); err != nil {
			t.Fatalf("round %d: the host a run holds is gone: %v", round, err)
		}
		if err := runner.runs.Cancel(f.ctx, actors[r], id); err != nil {
			t.Fatal(err)
		}
		<-runner.runs.Done(id)
		runner.fresh(t)
	}
	b := bastions[1]
	plan, err := b.inv.PlanDestroy(f.ctx, []int{host.ID}, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.inv.Destroy(f.ctx, actors[1], plan); err != nil {
		t.Fatalf("destroy once no run holds the host: %v", err)
	}
	if got := b.fresh(t); len(got) != 1 || got[0].Result != audit.OK {
		t.Fatalf("the destroy journaled %+v", got)
	}
	if hs, err := owner.Hosts(f.ctx, tag); err != nil || len(hs) != 0 {
		t.Fatalf("after the destroy the cloud has %+v (%v)", hs, err)
	}
}
