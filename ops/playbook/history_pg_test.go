package playbook

import (
	"context"
	"encoding/json"
	"os/exec"
	"testing"
	"time"

	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/internal/testclock"
)

func openHistoryPG(t *testing.T, dsn string) *History {
	t.Helper()
	h, err := OpenHistoryPostgres(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// The shared run history answers as the file does, across bastions: a run
// put through A reads through B, newest first; events by sequence, a batch
// written twice stored once, filters applied; a run left running by a dead
// process of this host reads interrupted, another host's stays its own.
func TestPostgresHistoryAcrossBastions(t *testing.T) {
	dsn := labtest.PostgresDatabase(t)
	a, b := openHistoryPG(t, dsn), openHistoryPG(t, dsn)
	now := testclock.Epoch()
	r1 := Run{ID: "20261207T100000-aaaa", Playbook: "site.yml", Actor: "alice", Started: now, State: Running}
	r2 := Run{ID: "20261207T110000-bbbb", Playbook: "deploy.yml", Actor: "bob", Started: now.Add(time.Hour), State: Succeeded, Ended: now.Add(2 * time.Hour)}
	for _, r := range []Run{r1, r2} {
		if err := a.Put(r); err != nil {
			t.Fatal(err)
		}
	}
	runs, err := b.Runs(0)
	if err != nil || len(runs) != 2 || runs[0].ID != r2.ID || runs[1].State != Running {
		t.Fatalf("runs through B: %+v, %v", runs, err)
	}
	if one, err := b.Runs(1); err != nil || len(one) != 1 || one[0].ID != r2.ID {
		t.Fatalf("newest run: %+v, %v", one, err)
	}
	events := []Event{
		{Seq: 1, Time: now, Kind: KindPlay, Play: "all"},
		{Seq: 2, Time: now, Kind: KindResult, Host: "web-01", Status: StatusChanged},
		{Seq: 3, Time: now, Kind: KindResult, Host: "web-02", Status: StatusFailed},
	}
	for range 2 { // the second time: a batch retried
		if err := a.Append(r1.ID, events); err != nil {
			t.Fatal(err)
		}
	}
	all, err := b.Events(r1.ID, Filter{}, 0, 0)
	if err != nil || len(all) != 3 || all[2].Host != "web-02" {
		t.Fatalf("events: %+v, %v", all, err)
	}
	failed, err := b.Events(r1.ID, Filter{Results: true, Failed: true}, 0, 0)
	if err != nil || len(failed) != 1 || failed[0].Seq != 3 {
		t.Fatalf("failed results: %+v, %v", failed, err)
	}
	if from, _ := b.Events(r1.ID, Filter{}, 2, 1); len(from) != 1 || from[0].Seq != 2 {
		t.Fatalf("from 2, limit 1: %+v", from)
	}
	if _, err := b.Get("nope"); err == nil {
		t.Fatal("a missing run read")
	}

	// A run of a process of this host that is gone, and one of another
	// bastion's, both left running.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	orphan := stored{Run: Run{ID: "20261207T120000-cccc", Playbook: "site.yml", Started: now, State: Running},
		Owner: &owner{PID: dead.Process.Pid, Start: 1, Host: thisHost()}}
	remote := stored{Run: Run{ID: "20261207T130000-dddd", Playbook: "site.yml", Started: now, State: Running},
		Owner: &owner{PID: 1, Start: 1, Host: "another-bastion"}}
	s := a.remote.(*pgHistory)
	for _, st := range []stored{orphan, remote} {
		doc, _ := json.Marshal(st)
		if _, err := s.pool.Exec(context.Background(), `INSERT INTO playbook_runs (id, doc) VALUES ($1, $2)`, st.ID, string(doc)); err != nil {
			t.Fatal(err)
		}
	}
	c := openHistoryPG(t, dsn) // a bastion of this host starting
	if got, err := c.Get(orphan.ID); err != nil || got.State != Interrupted {
		t.Fatalf("this host's orphan: %+v, %v", got, err)
	}
	if got, err := c.Get(remote.ID); err != nil || got.State != Running {
		t.Fatalf("another bastion's run: %+v, %v", got, err)
	}
	if got, err := c.Get(r1.ID); err != nil || got.State != Running {
		t.Fatalf("this process's run: %+v, %v", got, err)
	}
}
