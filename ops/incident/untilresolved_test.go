package incident_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/incident"
)

// An acknowledgement until resolved lasts while its alert fires, moved on
// by each poll near its end; once the alert resolves, the next poll
// expires it on the acknowledger's behalf; with Alertmanager unreachable
// nothing is touched.
func TestAckUntilResolved(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	t0 := f.clock.Now()
	firing := []incident.Alert{mkAlert("a1", "AppHighErrorRate", "critical", t0, "namespace", "prod", "deployment", "api")}
	f.am.set(firing, nil)
	f.svc.Refresh(ctx)
	sil, err := f.svc.Acknowledge(ctx, alice, incident.AckRequest{Fingerprint: "a1", UntilResolved: true, Comment: "rolling back"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sil.Comment, incident.UntilResolvedMark) || sil.EndsAt.Sub(sil.StartsAt) != incident.UntilResolvedStep {
		t.Fatalf("silence %+v", sil)
	}
	end := func() time.Time {
		for _, s := range f.svc.Snapshot().Silences {
			if s.ID == sil.ID {
				return s.EndsAt
			}
		}
		t.Fatalf("silence %s is gone", sil.ID)
		return time.Time{}
	}
	// An hour of polls while it fires: its end keeps ahead.
	for range 12 {
		f.clock.add(5 * time.Minute)
		f.svc.Refresh(ctx)
		f.svc.Refresh(ctx) // the poll after reads the moved end
		if left := end().Sub(f.clock.Now()); left < incident.UntilResolvedStep/2-5*time.Minute || left > incident.UntilResolvedStep {
			t.Fatalf("at %s the silence ends in %s", f.clock.Now().Sub(t0), left)
		}
	}
	if a, _ := f.svc.Snapshot().Alert("a1"); a.State != incident.Acknowledged {
		t.Fatalf("after an hour the alert is %s", a.State)
	}
	// Alertmanager unreachable: nothing touched, however long.
	f.am.set(nil, context.DeadlineExceeded)
	f.clock.add(10 * time.Minute)
	f.svc.Refresh(ctx)
	// Back, the alert resolved: the silence is expired, journaled as alice's.
	f.am.set(nil, nil)
	f.svc.Refresh(ctx)
	f.svc.Refresh(ctx)
	for _, s := range f.svc.Snapshot().Silences {
		if s.ID == sil.ID && s.State != "expired" {
			t.Fatalf("after the alert resolved the silence is %s", s.State)
		}
	}
	e := lastEntry(t, f.journal)
	if e.Action != "alert.unack" || e.Actor != "alice" || e.Target != "silence/"+sil.ID || e.Result != audit.OK || !strings.Contains(e.Parameters["reason"], "resolved") {
		t.Fatalf("journal %+v", e)
	}
	holds, _ := f.journal.Query(audit.Query{Actor: "alice", Target: "silence/" + sil.ID})
	n := 0
	for _, h := range holds {
		if h.Action == "alert.ack.hold" {
			n++
		}
	}
	if n < 4 || n > 12 {
		t.Fatalf("%d extensions journaled over an hour", n)
	}
}
