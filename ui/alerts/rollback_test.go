package alerts

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
	"github.com/vigilops/vigil/ui/uitest"
)

const registry = "registry.lab.local/shop/api:"

// rollbackCluster holds prod/api at a bad release promoted over 2.4.1, and
// records the rollbacks asked of it. Other methods are the nil embedded
// interface's and panic.
type rollbackCluster struct {
	release.Cluster
	now       time.Time
	rolled    []int64
	rolledRef []release.Ref
}

func (c *rollbackCluster) Watch(_ context.Context, _ []release.Env, _ string, sink release.Sink) error {
	sink.Workload("prod", release.Workload{Kind: release.Deployment, Name: "api", Revision: 4, Desired: 3, Ready: 3, Available: 3, Updated: 3,
		Containers: []release.Container{{Name: "api", Image: registry + "2.5.1-bad"}}, ChangedAt: c.now.Add(-5 * time.Minute)})
	return nil
}

func (c *rollbackCluster) History(release.Ref) ([]release.Revision, error) {
	return []release.Revision{
		{Number: 4, Containers: []release.Container{{Name: "api", Image: registry + "2.5.1-bad"}}, Current: true, Created: c.now.Add(-5 * time.Minute)},
		{Number: 3, Containers: []release.Container{{Name: "api", Image: registry + "2.4.1"}}, Created: c.now.Add(-48 * time.Hour)},
		{Number: 1, Containers: []release.Container{{Name: "api", Image: registry + "2.3.0"}}, Created: c.now.Add(-96 * time.Hour)},
	}, nil
}

func (c *rollbackCluster) Rollback(_ context.Context, ref release.Ref, rev int64, _ release.Annotator) (release.Revision, error) {
	c.rolled, c.rolledRef = append(c.rolled, rev), append(c.rolledRef, ref)
	return release.Revision{Number: rev}, nil
}

// The rollback's lock is tested with the Leases on the lab.
func (c *rollbackCluster) Lock(context.Context, release.Target, string, release.Holder, time.Duration) error {
	return nil
}
func (c *rollbackCluster) Unlock(context.Context, release.Target, string, string) error { return nil }

// rollbackFixture is the Alerts pane of a session with a dev → prod
// pipeline, prod protected, and two critical alerts: HostDown, and the newer
// AppHighErrorRate on prod/api; and a newer warning.
func rollbackFixture(t *testing.T, promoted bool) (*fixture, *rollbackCluster) {
	t.Helper()
	f := newFixture(t, access.Operator)
	now := f.clock.Now()
	c := &rollbackCluster{now: now}
	envs := []release.Env{{Name: "dev", Namespace: "dev"}, {Name: "prod", Namespace: "prod", Protected: true}}
	svc := release.New(envs, c, f.journal, release.Options{Now: f.clock.Now})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	f.ctx.Services.Release = svc
	if promoted {
		bob := access.Actor{Name: "bob", Role: access.Operator}
		if err := f.journal.Record(context.Background(), bob, release.ActPromoteProtected.Name, "prod/api", map[string]string{"from": "dev"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.Add(2 * time.Minute)
	now = f.clock.Now()
	f.am.set(
		mkAlert("a1", "HostDown", "critical", now.Add(-10*time.Minute), "droplet", "web-02"),
		mkAlert("a2", "AppHighErrorRate", "critical", now.Add(-time.Minute), "namespace", "prod", "deployment", "api"),
		mkAlert("a3", "AppHighLatency", "warning", now.Add(-30*time.Second), "namespace", "dev", "deployment", "web"),
	)
	f.poll()
	return f, c
}

// Issue 12, the mitigation path: from the alert on screen to the rollback
// under way in at most 4 keys. The newest critical alert is selected when
// the pane opens; u offers to undo the promotion of its workload, naming the
// revisions and images; one y confirms, with no name to type, although prod
// is protected.
func TestMitigationPathInFourKeys(t *testing.T) {
	f, c := rollbackFixture(t, true)
	if a := f.m.Selected(); a == nil || a.Fingerprint != "a2" {
		t.Fatalf("the pane opened on %v, not the newest critical alert a2", f.m.Selected())
	}
	pressed := 0
	press := func(k string) []tea.Msg { pressed++; return f.keys(k) }

	var req common.ConfirmMsg
	for _, msg := range press("u") {
		if r, ok := msg.(common.ConfirmMsg); ok {
			req = r
		}
	}
	at := f.clock.Now().Add(-2 * time.Minute).In(f.m.loc).Format("15:04")
	if want := "Roll back prod/api from 2.5.1-bad to 2.4.1 (the revision before the promotion by bob (operator) at " + at + ")?"; req.Title != want {
		t.Fatalf("u offers %q, want %q", req.Title, want)
	}
	for _, want := range []string{"Revision 4 → revision 3", registry + "2.5.1-bad", registry + "2.4.1"} {
		if !strings.Contains(req.Body, want) {
			t.Errorf("the preview lacks %q:\n%s", want, req.Body)
		}
	}
	if req.TypeName != "" {
		t.Fatalf("the restoring rollback asks to type %q", req.TypeName)
	}
	if len(c.rolled) != 0 {
		t.Fatal("the rollback ran before it was confirmed")
	}

	// The shell's confirm dialog, as the shell drives it.
	dlg, _ := components.NewConfirm(req, components.NewConfirmKeys(), f.ctx.Styles)
	pressed++
	if d, _ := dlg.Update(uitest.Key("y")); d != components.Accepted {
		t.Fatalf("y did not confirm: %v", d)
	}
	msgs := run(f.m, req.OnYes)
	if len(c.rolled) != 1 || c.rolled[0] != 3 || c.rolledRef[0].Name != "api" || c.rolledRef[0].Target.Namespace != "prod" {
		t.Fatalf("rolled back %v of %v, want revision 3 of prod/api", c.rolled, c.rolledRef)
	}
	var done, watch bool
	for _, msg := range msgs {
		switch msg := msg.(type) {
		case common.ToastMsg:
			done = done || msg.Text == "done: roll back prod/api from 2.5.1-bad to 2.4.1"
		case common.GotoMsg:
			watch = watch || msg == common.GotoMsg{Pane: common.RolloutsPane, Target: "prod/api"}
		}
	}
	if !done || !watch {
		t.Fatalf("after y: %v (want the result and the rollout's live detail)", msgs)
	}
	if pressed > 4 {
		t.Fatalf("%d keys from the alert to the rollback", pressed)
	}
}

// Without a recent promotion of the workload, u says so and offers nothing.
func TestRollbackOfferNeedsAPromotion(t *testing.T) {
	f, c := rollbackFixture(t, false)
	msgs := f.keys("u")
	for _, msg := range msgs {
		if _, ok := msg.(common.ConfirmMsg); ok {
			t.Fatalf("u offered a rollback with no promotion: %v", msgs)
		}
	}
	if len(msgs) == 0 || !strings.Contains(msgs[0].(common.ToastMsg).Text, "prod/api was not promoted in the last 24h") {
		t.Fatalf("u without a promotion says %v", msgs)
	}
	if len(c.rolled) != 0 {
		t.Fatal("rolled back")
	}
}

// Once the promotion was rolled back, u offers no second undo, which would
// restore the bad release: it says who rolled it back and when.
func TestRollbackOfferAfterARollback(t *testing.T) {
	f, c := rollbackFixture(t, true)
	alice := access.Actor{Name: "alice", Role: access.Operator}
	if _, err := f.ctx.Services.Release.Rollback(context.Background(), alice, "api", "prod", 3); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(time.Minute)
	msgs := f.keys("u")
	for _, msg := range msgs {
		if _, ok := msg.(common.ConfirmMsg); ok {
			t.Fatalf("u offered to undo a promotion already rolled back: %v", msgs)
		}
	}
	at := f.clock.Now().Add(-time.Minute).In(f.m.loc).Format("15:04")
	if len(msgs) == 0 || !strings.Contains(msgs[0].(common.ToastMsg).Text, "prod/api's promotion was already rolled back by alice at "+at) {
		t.Fatalf("u after the rollback says %v", msgs)
	}
	if len(c.rolled) != 1 {
		t.Fatalf("rollbacks %v, want alice's alone", c.rolled)
	}
}
