package runbook

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/internal/testclock"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ops/playbook"
)

// recordingRunner records the specs it is asked to run, and runs nothing.
type recordingRunner struct {
	mu    sync.Mutex
	specs []playbook.Spec
}

func (r *recordingRunner) Run(_ context.Context, spec playbook.Spec, emit func(playbook.Event)) error {
	r.mu.Lock()
	r.specs = append(r.specs, spec)
	r.mu.Unlock()
	emit(playbook.Event{Kind: playbook.KindStats, Recap: map[string]playbook.Recap{}})
	return nil
}

// A playbook runbook runs its playbook through the playbook service on
// the alert's host only, journaled as the actor's run.
func TestRunPlaybookOnTheAlertsHost(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "restart-nginx.yml"), []byte("- hosts: all\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	j, err := audit.Open(filepath.Join(dir, "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	hist, err := playbook.OpenHistory(filepath.Join(dir, "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer hist.Close()
	clock := testclock.Epoch()
	now := func() time.Time { return clock }
	j.Now = now
	hosts := []inventory.Host{{ID: 1, Name: "web-01", Status: "active", PublicIPv4: "127.0.2.1"}, {ID: 2, Name: "web-02", Status: "active", PublicIPv4: "127.0.2.2"}}
	rr := &recordingRunner{}
	svc, err := playbook.New(rr, j, hist, playbook.Options{PlaybookDir: dir, Hosts: func() []inventory.Host { return hosts }, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	b := book(t, config.Runbook{Name: "nginx", Alert: "NginxDown", Kind: "playbook", Playbook: "restart-nginx.yml"})
	a := alert("NginxDown", map[string]string{"instance": "web-02"})
	r := b.For(a)[0]
	tg, err := r.Resolve(a, nil)
	if err != nil {
		t.Fatal(err)
	}
	alice := access.Actor{Name: "alice", Role: access.Operator}
	id, err := r.Run(context.Background(), Services{Playbook: svc}, alice, tg)
	if err != nil || id == "" {
		t.Fatalf("Run = %q, %v", id, err)
	}
	<-svc.Done(id)
	if len(rr.specs) != 1 || !slices.Equal(rr.specs[0].Limit, []string{"web-02"}) || filepath.Base(rr.specs[0].Playbook) != "restart-nginx.yml" {
		t.Fatalf("ran %+v, want restart-nginx.yml on web-02 only", rr.specs)
	}
	es, err := j.Query(audit.Query{Actor: "alice"})
	if err != nil || len(es) == 0 || es[0].Action != playbook.ActApply.Name || es[0].Target != "playbook/restart-nginx.yml" {
		t.Fatalf("journal %+v, %v", es, err)
	}
}
