package inventory_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ops/playbook"
	"github.com/vigilops/vigil/ui/common"
)

// adhoc runs ad-hoc commands as if each host answered "CMD ran on HOST".
type adhoc struct {
	mu    sync.Mutex
	specs []playbook.AdHocSpec
}

func (a *adhoc) Run(context.Context, playbook.Spec, func(playbook.Event)) error {
	return errors.New("no playbook here")
}

func (a *adhoc) RunAdHoc(_ context.Context, spec playbook.AdHocSpec) ([]playbook.HostOutput, error) {
	a.mu.Lock()
	a.specs = append(a.specs, spec)
	a.mu.Unlock()
	var out []playbook.HostOutput
	for _, h := range spec.Limit {
		out = append(out, playbook.HostOutput{Host: h, Status: playbook.StatusChanged, Stdout: spec.Command + " ran on " + h})
	}
	return out, nil
}

func (a *adhoc) ran() []playbook.AdHocSpec {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.specs)
}

func execServices(t *testing.T, e *env, r *adhoc) *common.Services {
	t.Helper()
	hist, err := playbook.OpenHistory(filepath.Join(t.TempDir(), "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hist.Close() })
	pb, err := playbook.New(r, e.journal, hist, playbook.Options{PlaybookDir: t.TempDir(),
		Hosts: func() []inventory.Host { return e.svc.State().Hosts }, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	return &common.Services{Inventory: e.svc, Playbook: pb}
}

// :exec CMD on HOSTS from the palette asks first, naming the command and
// the hosts, then runs it, and the Runs pane shows each host's outcome.
func TestExecFromThePaletteAsksThenShowsEachHost(t *testing.T) {
	e := setup(t, fleet(), 120, 40)
	r := &adhoc{}
	cfg := &config.Config{Identity: config.Identity{Name: "alice", Role: "operator"}, DigitalOcean: &config.DigitalOcean{}, Ansible: &config.Ansible{}}
	s := newShell(t, cfg, execServices(t, e, r), e.journal, func() time.Time { return t0 }, 120, 40)
	s.waitFor(10*time.Second, "web-01")
	s.keys(":")
	s.text("exec uptime on web-01,db-01")
	s.keys("enter")
	s.waitFor(5*time.Second, "Run `uptime` on web-01 and db-01?", "journaled as typed")
	if n := len(r.ran()); n != 0 {
		t.Fatalf("%d commands ran before the answer", n)
	}
	s.keys("y")
	s.waitFor(10*time.Second, "`uptime` on hosts web-01, db-01", "uptime ran on web-01", "uptime ran on db-01", "rc 0")
	s.waitFor(5*time.Second, "`uptime` on db-01, web-01: exit 0 everywhere")
	if got := r.ran(); len(got) != 1 || !slices.Equal(got[0].Limit, []string{"db-01", "web-01"}) || got[0].Command != "uptime" {
		t.Fatalf("ran %+v", got)
	}
	es, _ := e.journal.Query(audit.Query{Target: "hosts/web-01,db-01"})
	if len(es) != 1 || es[0].Action != playbook.ActExec.Name || es[0].Parameters["result.web-01"] != "rc 0" {
		t.Fatalf("journal %+v", es)
	}
	// Without on: the selected hosts.
	s.keys("esc esc 1")
	s.waitFor(5*time.Second, "Inventory ·")
	s.keys("/")
	s.text("web-02")
	s.keys("enter space")
	s.waitFor(5*time.Second, "1 selected")
	s.keys(":")
	s.text("exec df -h /")
	s.keys("enter")
	s.waitFor(5*time.Second, "Run `df -h /` on web-02?")
	s.keys("n")
	s.waitFor(5*time.Second, "cancelled")
	if n := len(r.ran()); n != 1 {
		t.Fatalf("%d commands ran, want 1", n)
	}
	s.final()
}
