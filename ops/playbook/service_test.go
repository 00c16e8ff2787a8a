package playbook

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/inventory"
)

// replay is a Runner that plays recorded jsonl lines, or blocks until
// cancelled when block is set. The real ansible-playbook is exercised by
// integrations/ansible.
type replay struct {
	lines [][]byte
	block bool
	mu    sync.Mutex
	specs []Spec
}

func (r *replay) Run(ctx context.Context, spec Spec, emit func(Event)) error {
	r.mu.Lock()
	r.specs = append(r.specs, spec)
	r.mu.Unlock()
	failed := false
	for _, l := range r.lines {
		evs, _ := ParseLine(l)
		for _, e := range evs {
			if !slices.Contains(spec.Limit, e.Host) && e.Host != "" && spec.Limit != nil {
				continue
			}
			failed = failed || e.Status == StatusFailed
			emit(e)
		}
	}
	if r.block {
		<-ctx.Done()
		return ctx.Err()
	}
	if failed {
		return ErrHostsFailed
	}
	return nil
}

var (
	ops    = access.Actor{Name: "olga", Role: access.Operator}
	viewer = access.Actor{Name: "vic", Role: access.Viewer}
	hosts  = []inventory.Host{
		{ID: 1, Name: "a", PublicIPv4: "127.0.80.2", Region: "fra1", Size: "s-1vcpu-1gb", Tags: []string{"web"}},
		{ID: 2, Name: "b", PublicIPv4: "127.0.80.3", Region: "fra1", Size: "s-1vcpu-1gb", Tags: []string{"web", "flaky"}},
		{ID: 3, Name: "booting", Region: "fra1", Size: "s-1vcpu-1gb"},
	}
)

type fixture struct {
	svc     *Service
	runner  *replay
	journal *audit.Journal
	history *History
	dir     string
}

func setup(t testing.TB, r *replay) fixture {
	t.Helper()
	dir := t.TempDir()
	pbs := filepath.Join(dir, "playbooks")
	os.MkdirAll(pbs, 0o755)
	os.WriteFile(filepath.Join(pbs, "site.yml"), []byte("- hosts: all\n"), 0o644)
	j, err := audit.Open(filepath.Join(dir, "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	h, err := OpenHistory(filepath.Join(dir, "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	svc, err := New(r, j, h, Options{PlaybookDir: pbs, Hosts: func() []inventory.Host { return hosts }})
	if err != nil {
		t.Fatal(err)
	}
	return fixture{svc, r, j, h, dir}
}

func (f fixture) wait(t *testing.T, id string) Run {
	t.Helper()
	select {
	case <-f.svc.Done(id):
	case <-time.After(10 * time.Second):
		t.Fatalf("run %s did not end", id)
	}
	r, err := f.svc.Run(id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRunRecapDrillDownRerunAndJournal(t *testing.T) {
	f := setup(t, &replay{lines: recording(t)})
	ctx := context.Background()
	updates, stop := f.svc.Subscribe()
	defer stop()
	id, err := f.svc.Start(ctx, ops, Request{
		Playbook: "site.yml", Target: Target{Kind: TargetTag, Name: "web"}, ExtraVars: map[string]string{"release": "2.5.0"},
		VaultPassword: []byte("vault-secret-77"),
	})
	if err != nil {
		t.Fatal(err)
	}
	run := f.wait(t, id)
	select {
	case <-updates:
	default:
		t.Error("no change notification")
	}
	if run.State != Failed || run.Recap["b"].Failed != 1 || run.Recap["a"].Rescued != 1 || !slices.Equal(run.FailedHosts(), []string{"b"}) {
		t.Fatalf("run %+v", run)
	}
	spec := f.runner.specs[0]
	if !slices.Equal(spec.Limit, []string{"a", "b"}) || spec.ExtraVars["release"] != "2.5.0" || string(spec.VaultPassword) != "vault-secret-77" {
		t.Fatalf("spec limit %v vars %v", spec.Limit, spec.ExtraVars)
	}
	if bytes.Contains(spec.Inventory, []byte("booting")) {
		t.Fatal("a host without an address is in the inventory")
	}

	failed, err := f.svc.Events(id, Filter{Failed: true}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(failed) != 3 || failed[0].Host != "b" || failed[0].Msg != "b is flaky" {
		t.Fatalf("failed results: %+v", failed)
	}
	changed, _ := f.svc.Events(id, Filter{Changed: true, Host: "a"}, 0, 0)
	if len(changed) != 2 || changed[1].Task != "write config" || !strings.Contains(changed[1].Diff, "+x=a") {
		t.Fatalf("changed results of a: %+v", changed)
	}
	all, _ := f.svc.Events(id, Filter{}, 0, 0)
	if len(all) != run.Events || all[len(all)-1].Kind != KindStats {
		t.Fatalf("%d events in history, run counted %d", len(all), run.Events)
	}

	rerun, err := f.svc.RerunFailed(ctx, ops, id, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r2 := f.wait(t, rerun)
	if got := f.runner.specs[1].Limit; !slices.Equal(got, []string{"b"}) || r2.RerunOf != id || r2.ExtraVars["release"] != "2.5.0" {
		t.Fatalf("rerun limit %v, run %+v", got, r2)
	}
	if runs := f.svc.Runs(); len(runs) != 2 || runs[0].ID != rerun {
		t.Fatalf("runs newest first: %+v", runs)
	}

	es, _ := f.journal.Query(audit.Query{})
	if len(es) != 2 || es[0].Action != "run playbook" || es[0].Result != audit.Failed || es[0].Target != "playbook/site.yml" ||
		!strings.Contains(es[0].Parameters["recap"], "b ok=1 changed=1 unreachable=0 failed=1") || es[1].Parameters["rerun_of"] != id {
		t.Fatalf("journal %+v", es)
	}
	f.journal.Close()
	f.history.Close()
	for _, file := range []string{"journal.db", "runs.db"} {
		b, _ := os.ReadFile(filepath.Join(f.dir, file))
		if bytes.Contains(b, []byte("vault-secret-77")) {
			t.Fatalf("the vault password is in %s", file)
		}
	}
}

func TestCancelRecordsCancelled(t *testing.T) {
	f := setup(t, &replay{lines: recording(t)[:3], block: true})
	ctx := context.Background()
	id, err := f.svc.Start(ctx, ops, Request{Playbook: "site.yml", Mode: Check})
	if err != nil {
		t.Fatal(err)
	}
	p, ok := f.svc.Progress(id)
	for ; ok && p.Run.Events < 3; p, ok = f.svc.Progress(id) {
		time.Sleep(10 * time.Millisecond)
	}
	if !ok || p.Task != "echo" || p.Hosts["a"].Task != "echo" || p.Hosts["a"].Done != 0 || p.Hosts["b"].Done != 1 || len(p.Recent) != 3 {
		t.Fatalf("progress %+v", p)
	}
	if err := f.svc.Cancel(ctx, viewer, id); !errors.As(err, new(*access.DeniedError)) {
		t.Fatalf("viewer cancel: %v", err)
	}
	if err := f.svc.Cancel(ctx, ops, id); err != nil {
		t.Fatal(err)
	}
	run := f.wait(t, id)
	if run.State != Cancelled || run.Ended.IsZero() {
		t.Fatalf("run %+v", run)
	}
	if stored, _ := f.history.Get(id); stored.State != Cancelled || stored.Events != 3 {
		t.Fatalf("stored %+v", stored)
	}
	es, _ := f.journal.Query(audit.Query{})
	var got []string
	for _, e := range es {
		got = append(got, e.Actor+" "+e.Action+" "+string(e.Result))
	}
	want := []string{"vic cancel playbook run refused", "olga cancel playbook run ok", "olga check playbook cancelled"}
	if !slices.Equal(got, want) {
		t.Fatalf("journal %q, want %q", got, want)
	}
}

func TestStartRefusalsAndBadRequests(t *testing.T) {
	f := setup(t, &replay{})
	ctx := context.Background()
	cases := []struct {
		name  string
		actor access.Actor
		req   Request
		want  string
	}{
		{"viewer may not apply", viewer, Request{Playbook: "site.yml"}, "may not run playbook"},
		{"path outside the directory", ops, Request{Playbook: "../site.yml"}, "file name from the playbook directory"},
		{"missing playbook", ops, Request{Playbook: "nope.yml"}, "nope.yml"},
		{"unknown host", ops, Request{Playbook: "site.yml", Target: Target{Kind: TargetHosts, Hosts: []string{"zz"}}}, "host zz is not in the inventory"},
		{"host without address", ops, Request{Playbook: "site.yml", Target: Target{Kind: TargetHosts, Hosts: []string{"booting"}}}, "without an address"},
		{"empty group", ops, Request{Playbook: "site.yml", Target: Target{Kind: TargetGroup, Name: "region_ams3"}}, "matches no host"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := f.svc.Start(ctx, c.actor, c.req); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
	if es, _ := f.journal.Query(audit.Query{}); len(es) != 1 || es[0].Result != audit.Refused {
		t.Fatalf("journal %+v, want the one refusal", es)
	}
	if len(f.runner.specs) != 0 {
		t.Fatal("a refused run reached the runner")
	}
	if pbs, err := f.svc.Playbooks(); err != nil || !slices.Equal(pbs, []string{"site.yml"}) {
		t.Fatalf("playbooks %v, %v", pbs, err)
	}
}
