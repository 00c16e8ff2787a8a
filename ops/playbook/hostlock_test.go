package playbook

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/inventory"
)

// memLocks is HostLocks in memory, shared by the services of a test as the
// cluster's Leases are by several vigils; the Leases themselves are tested
// on the lab (integrations/kubernetes).
type memLocks struct {
	mu      sync.Mutex
	holders map[string]string
	renews  atomic.Int32
}

func (m *memLocks) LockHost(_ context.Context, host, holder string, _ time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if h, ok := m.holders[host]; ok && h != holder {
		return &HostBusyError{Host: host, Holder: h}
	} else if ok {
		m.renews.Add(1)
	}
	m.holders[host] = holder
	return nil
}

func (m *memLocks) UnlockHost(_ context.Context, host, holder string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.holders[host] == holder {
		delete(m.holders, host)
	}
	return nil
}

func (m *memLocks) HostHolder(_ context.Context, host string) (string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h, ok := m.holders[host]
	return h, ok, nil
}

// bastion is a second vigil on the same hosts and the same journal's
// directory, sharing locks with the first.
func bastion(t *testing.T, f fixture, name string, locks HostLocks, r Runner) *Service {
	t.Helper()
	h, err := OpenHistory(filepath.Join(t.TempDir(), "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	svc, err := New(r, f.journal, h, Options{PlaybookDir: filepath.Join(f.dir, "playbooks"), Hosts: func() []inventory.Host { return hosts },
		HostLocks: locks, Bastion: name, HostLockTTL: 30 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

var admin = access.Actor{Name: "ada", Role: access.Admin}

func onA() Request {
	return Request{Playbook: "site.yml", Target: Target{Kind: TargetHosts, Hosts: []string{"a"}}}
}

// Two applying runs on one host, from two vigils: the second is refused
// naming the first run, its user and its bastion; it is journaled as
// refused; once the first ends the host is free.
func TestSecondRunOnAHostIsRefusedWithItsHolder(t *testing.T) {
	f := setup(t, &replay{lines: recording(t)[:3], block: true})
	locks := &memLocks{holders: map[string]string{}}
	one := bastion(t, f, "bastion-1", locks, f.runner)
	two := bastion(t, f, "bastion-2", locks, &replay{lines: recording(t)[:3]})
	ctx := context.Background()

	id, err := one.Start(ctx, ops, onA())
	if err != nil {
		t.Fatal(err)
	}
	_, err = two.Start(ctx, admin, onA())
	var busy *HostBusyError
	if !errors.As(err, &busy) || !access.IsRefusal(err) {
		t.Fatalf("second run on a: %v, want a refusal naming the holder", err)
	}
	for _, want := range []string{"a is held by olga, run " + id + ", on bastion-1", "an admin may run anyway"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not say %q", err, want)
		}
	}
	// A check run changes nothing: it runs beside the applying one.
	cid, err := two.Start(ctx, ops, Request{Playbook: "site.yml", Target: Target{Kind: TargetHosts, Hosts: []string{"a"}}, Mode: Check})
	if err != nil {
		t.Fatalf("a check run beside an applying one: %v", err)
	}
	<-two.Done(cid)
	// Held past several times to live: the run renews its lock.
	time.Sleep(100 * time.Millisecond)
	if locks.renews.Load() == 0 {
		t.Error("the run never renewed its lock")
	}
	if h, held, _ := two.HostHolder(ctx, "a"); !held || !strings.Contains(h, id) {
		t.Errorf("holder of a seen from bastion-2: %q %v", h, held)
	}
	if err := one.Cancel(ctx, ops, id); err != nil {
		t.Fatal(err)
	}
	<-one.Done(id)
	if h, held, _ := two.HostHolder(ctx, "a"); held {
		t.Fatalf("a still held by %q after its run ended", h)
	}
	id2, err := two.Start(ctx, ops, onA())
	if err != nil {
		t.Fatalf("a free host refused: %v", err)
	}
	<-two.Done(id2)

	es, _ := f.journal.Query(audit.Query{})
	refused := false
	for _, e := range es {
		if e.Actor == "ada" && e.Action == ActApply.Name {
			refused = e.Result == audit.Refused && strings.Contains(e.Error, "held by olga")
		}
	}
	if !refused {
		t.Errorf("the refusal is not journaled as refused with its holder: %+v", es)
	}
}

// Within one vigil too, without shared locks: two sessions of vigil serve.
func TestOneVigilHoldsAHostForOneRun(t *testing.T) {
	f := setup(t, &replay{lines: recording(t)[:3], block: true})
	ctx := context.Background()
	id, err := f.svc.Start(ctx, ops, onA())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Start(ctx, ops, Request{Playbook: "site.yml"}); !errors.As(err, new(*HostBusyError)) {
		t.Fatalf("a run on every host while a holds a run: %v", err)
	}
	f.svc.Cancel(ctx, ops, id)
	f.wait(t, id)
}

// Run anyway: refused to an operator, done by an admin and journaled with
// the holder it overrode.
func TestRunAnywayIsAnAdminsJournaledDecision(t *testing.T) {
	f := setup(t, &replay{lines: recording(t)[:3], block: true})
	locks := &memLocks{holders: map[string]string{}}
	one := bastion(t, f, "bastion-1", locks, f.runner)
	two := bastion(t, f, "bastion-2", locks, &replay{lines: recording(t)[:3]})
	ctx := context.Background()
	id, err := one.Start(ctx, ops, onA())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { one.Cancel(ctx, ops, id); <-one.Done(id) }()
	anyway := onA()
	anyway.Anyway = []string{"a"}
	if _, err := two.Start(ctx, ops, anyway); !errors.As(err, new(*access.DeniedError)) {
		t.Fatalf("an operator's run anyway: %v, want denied", err)
	}
	id2, err := two.Start(ctx, admin, anyway)
	if err != nil {
		t.Fatalf("an admin's run anyway: %v", err)
	}
	<-two.Done(id2)
	es, _ := f.journal.Query(audit.Query{})
	var got []string
	for _, e := range es {
		if e.Action == ActRunAnyway.Name {
			got = append(got, e.Actor+" "+string(e.Result)+" "+e.Parameters["overrode"])
		}
	}
	want := []string{"olga refused ", "ada ok a (olga, run " + id + ", on bastion-1)"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("journal %q, want %q", got, want)
	}
	// The overriding run did not take the host: the first still holds it.
	if h, _, _ := two.HostHolder(ctx, "a"); !strings.Contains(h, id) {
		t.Errorf("a held by %q after the override ended", h)
	}
}

// Fifty times, two vigils start a run on the same host at once: exactly
// one runs, the other is refused naming it, never a raw error.
func TestTwoRunsStartedTogether50Times(t *testing.T) {
	f := setup(t, &replay{lines: recording(t)[:3], block: true})
	locks := &memLocks{holders: map[string]string{}}
	svcs := []*Service{bastion(t, f, "bastion-1", locks, f.runner), bastion(t, f, "bastion-2", locks, f.runner)}
	ctx := context.Background()
	for i := range 50 {
		ids := make([]string, 2)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for k, svc := range svcs {
			wg.Go(func() { <-start; ids[k], errs[k] = svc.Start(ctx, ops, onA()) })
		}
		close(start)
		wg.Wait()
		won := 0
		for k := range svcs {
			if errs[k] == nil {
				won++
				svcs[k].Cancel(ctx, ops, ids[k])
				<-svcs[k].Done(ids[k])
				continue
			}
			if busy := (*HostBusyError)(nil); !errors.As(errs[k], &busy) || !strings.Contains(busy.Holder, "olga, run ") {
				t.Fatalf("round %d: the loser got %v", i, errs[k])
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d runs started, want 1 (%v)", i, won, errs)
		}
	}
}

// Running anyway overrides only the hosts named: with a and b both held, an
// admin who confirmed a is refused on b, named, and nothing runs.
func TestRunAnywayOverridesOnlyTheHostsNamed(t *testing.T) {
	f := setup(t, &replay{lines: recording(t)[:3], block: true})
	locks := &memLocks{holders: map[string]string{"a": "olga, run r1, on bastion-1", "b": "olga, run r1, on bastion-1"}}
	two := bastion(t, f, "bastion-2", locks, &replay{lines: recording(t)[:3]})
	req := Request{Playbook: "site.yml", Target: Target{Kind: TargetHosts, Hosts: []string{"a", "b"}}, Anyway: []string{"a"}}
	_, err := two.Start(context.Background(), admin, req)
	var busy *HostBusyError
	if !errors.As(err, &busy) || busy.Host != "b" {
		t.Fatalf("a run anyway on a, with b held too: %v, want b refused by name", err)
	}
	if len(two.Runs()) != 0 {
		t.Fatal("a run started on a host nobody confirmed")
	}
	req.Anyway = []string{"a", "b"}
	id, err := two.Start(context.Background(), admin, req)
	if err != nil {
		t.Fatalf("both hosts confirmed: %v", err)
	}
	<-two.Done(id)
}
