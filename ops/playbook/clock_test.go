package playbook

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigilops/vigil/internal/testclock"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/inventory"
)

// A run's id, start and end, and its journal entry, come from the clock
// the service and the journal are given.
func TestRunsAreStampedWithTheClock(t *testing.T) {
	f := setup(t, &replay{lines: recording(t)})
	now := testclock.Epoch()
	clock := func() time.Time { return now }
	f.journal.Now = clock
	svc, err := New(f.runner, f.journal, f.history, Options{
		PlaybookDir: filepath.Join(f.dir, "playbooks"), Hosts: func() []inventory.Host { return hosts }, Now: clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	id, err := svc.Start(context.Background(), ops, Request{Playbook: "site.yml"})
	if err != nil {
		t.Fatal(err)
	}
	run := f.wait(t, id)
	if want := now.Format("20060102T150405.000000000"); id != want {
		t.Errorf("run id %q, want %q from the clock", id, want)
	}
	if !run.Started.Equal(now) || !run.Ended.Equal(now) {
		t.Errorf("run started %v and ended %v, want both at the clock's %v", run.Started, run.Ended, now)
	}
	es, err := f.journal.Query(audit.Query{Since: now, Until: now.Add(time.Nanosecond)})
	if err != nil || len(es) == 0 {
		t.Errorf("no journal entry at the clock's time: %v, %v", es, err)
	}
}
