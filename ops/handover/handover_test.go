package handover_test

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigilops/vigil/internal/testclock"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/handover"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ops/playbook"
	"github.com/vigilops/vigil/ops/release"
)

var update = flag.Bool("update", false, "rewrite the golden files")

type alerts struct {
	snap *incident.Snapshot
	incs []incident.Incident
}

func (a alerts) Snapshot() *incident.Snapshot            { return a.snap }
func (a alerts) Incidents() ([]incident.Incident, error) { return a.incs, nil }
func (m matrix) Matrix() *release.Matrix                 { return m.m }
func (r runs) Runs() []playbook.Run                      { return r }

type matrix struct{ m *release.Matrix }
type runs []playbook.Run

func sources(now time.Time) handover.Sources {
	acked := &incident.Alert{Fingerprint: "fp-api", Name: "AppHighErrorRate", Severity: incident.Critical, State: incident.Acknowledged,
		Workload: "shop-prod/api", StateSince: now.Add(-20 * time.Minute),
		Ack: &incident.Ack{SilenceID: "sil-1", Owner: "bob", Comment: "rolling back api", EndsAt: now.Add(40 * time.Minute)}}
	firing := &incident.Alert{Fingerprint: "fp-web", Name: "HostDown", Severity: incident.Warning, State: incident.Firing, Host: "web-02", StateSince: now.Add(-5 * time.Minute)}
	resolved := &incident.Alert{Fingerprint: "fp-old", Name: "DiskFull", State: incident.Resolved}
	ok := release.Assessment{Health: release.Healthy, RolledOut: true, Desired: 2, Available: 2}
	rolling := release.Assessment{Health: release.Progressing, Desired: 3, Available: 1, Reason: "1 of 3 pods of the new revision available"}
	m := &release.Matrix{
		Envs: []release.EnvState{{Env: release.Env{Name: "staging"}}, {Env: release.Env{Name: "prod"}, Freeze: &release.Freeze{Reason: "rollback of api under way", By: "bob on bastion", Until: now.Add(2 * time.Hour)}}},
		Rows: []release.Row{{App: "api", Cells: []release.Cell{
			{Env: "staging", Workload: &release.Workload{}, Version: "1.5.0", Assessment: ok},
			{Env: "prod", Workload: &release.Workload{}, Version: "1.4.0", Assessment: rolling},
		}}},
	}
	return handover.Sources{
		Alerts: alerts{
			snap: &incident.Snapshot{Time: now, Alerts: []*incident.Alert{acked, firing, resolved}},
			incs: []incident.Incident{
				{ID: "a1b2c3d4e5", Title: "AppHighErrorRate on shop-prod/api", Start: now.Add(-21 * time.Minute), Actions: 3},
				{ID: "ffffffffff", Title: "DiskFull on db-1", Start: now.Add(-3 * time.Hour), End: now.Add(-2 * time.Hour)},
			},
		},
		Releases: matrix{m},
		Runs: runs{
			{ID: "r-7", Playbook: "site.yml", Target: playbook.Target{}, Actor: "dave", Started: now.Add(-2 * time.Minute)},
			{ID: "r-6", Playbook: "site.yml", Actor: "dave", Started: now.Add(-time.Hour), Ended: now.Add(-50 * time.Minute)},
		},
	}
}

func TestHandoverWrittenAndReadBack(t *testing.T) {
	now := testclock.Epoch()
	j, err := audit.Open(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	j.Now = func() time.Time { return now }
	if _, err := handover.Latest(j); !errors.Is(err, handover.ErrNoHandover) {
		t.Fatalf("an empty journal: %v", err)
	}
	h := handover.Collect(sources(now), now)
	alice := access.Actor{Name: "alice", Role: access.Operator}
	ctx := context.Background()
	if _, err := handover.Write(ctx, alice, access.Guard{ReadOnly: true}, j, h, "read-only"); !errors.Is(err, access.ErrReadOnly) {
		t.Fatalf("read-only: %v", err)
	}
	if _, err := handover.Write(ctx, alice, access.Guard{}, j, h, "api rolled back to 1.4.0; watch its error rate.\nweb-02: dave is on it."); err != nil {
		t.Fatal(err)
	}
	got, err := handover.Latest(j)
	if err != nil {
		t.Fatal(err)
	}
	if got.By != "alice" || len(got.Firing) != 2 || len(got.Acks) != 1 || len(got.Incidents) != 1 || len(got.Rollouts) != 1 || len(got.Frozen) != 1 || len(got.Runs) != 1 {
		t.Fatalf("read back: %+v", got)
	}
	golden(t, "handover.md.golden", handover.Markdown(got))
	golden(t, "handover.txt.golden", handover.Text(got))
	es, _ := j.Query(audit.Query{Target: handover.Target})
	if len(es) != 2 || es[0].Result != audit.Refused || es[1].Parameters["summary"] != handover.Summary(got) {
		t.Fatalf("journal: %+v", es)
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	got = testclock.Unshift(got)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs (-update rewrites it):\n%s", path, got)
	}
}

// Each person sees each hand-over once, and never their own.
func TestUnseenOncePerReader(t *testing.T) {
	j, err := audit.Open(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	now := testclock.Epoch()
	j.Now = func() time.Time { return now }
	ctx := context.Background()
	if _, ok, err := handover.Unseen(j, "alice"); ok || err != nil {
		t.Fatalf("with no hand-over: %v %v", ok, err)
	}
	bob := access.Actor{Name: "bob", Role: access.Operator}
	if _, err := handover.Write(ctx, bob, access.Guard{}, j, handover.Handover{}, "api rolled back"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := handover.Unseen(j, "bob"); ok {
		t.Fatal("bob is shown his own hand-over")
	}
	h, ok, err := handover.Unseen(j, "alice")
	if !ok || err != nil || h.Text != "api rolled back" || h.By != "bob" {
		t.Fatalf("alice is shown %+v %v %v", h, ok, err)
	}
	if err := handover.MarkSeen(ctx, j, access.Actor{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := handover.Unseen(j, "alice"); ok {
		t.Fatal("alice is shown it twice")
	}
	if _, ok, _ := handover.Unseen(j, "carol"); !ok {
		t.Fatal("alice's seeing it hid it from carol")
	}
}
