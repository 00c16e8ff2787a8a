package incident_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/integrations/alertmanager"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ops/release"
)

// memReleases is a release service's cache of one workload's history.
type memReleases struct{ revs []release.Revision }

func (m *memReleases) Locate(w string) (app, env string, ok bool) {
	if w == "shop-prod/api" {
		return "api", "prod", true
	}
	return "", "", false
}

func (m *memReleases) History(app, env string) ([]release.Revision, error) { return m.revs, nil }

func api(v string) []release.Container {
	return []release.Container{{Name: "api", Image: "reg/api:" + v}}
}

// Recent changes merge the journal with the workload's revisions: a change
// vigil made shows once, with its revision; one made outside vigil shows
// as such; old revisions stay out of the window.
func TestRecentChangesMergeJournalAndRevisions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	t0 := f.clock.Now()
	rel := &memReleases{}
	svc, err := incident.New(incident.Options{Alertmanager: f.am, ParseMatchers: alertmanager.ParseMatchers, Journal: f.journal, Releases: rel, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	// 10:00 bob promotes 2.0 (revision 2); 10:05 alice rolls back
	// (revision 1 becomes 3); 10:10 someone runs kubectl set image 2.1
	// (revision 4), which copies alice's annotations onto it.
	f.clock.add(5 * time.Minute)
	_ = f.journal.Record(ctx, alice, release.ActPromoteProtected.Name, "prod/api", map[string]string{"image.api": "reg/api:1.0 -> reg/api:2.0"}, nil)
	f.clock.add(5 * time.Minute)
	_ = f.journal.Record(ctx, alice, release.ActRollback.Name, "prod/api", map[string]string{"image.api": "reg/api:2.0 -> reg/api:1.0", "restored": "1"}, nil)
	rbAt := f.clock.Now()
	f.clock.add(5 * time.Minute)
	rel.revs = []release.Revision{
		{Number: 4, Containers: api("2.1"), Since: f.clock.Now().Add(2 * time.Second), By: "alice", At: rbAt, Images: "api=reg/api:1.0", ChangeCause: "vigil: alice rolled back api", Current: true},
		{Number: 3, Containers: api("1.0"), Since: rbAt.Add(time.Second), Restored: true, By: "alice", At: rbAt, Images: "api=reg/api:1.0"},
		{Number: 2, Containers: api("2.0"), Since: t0.Add(5*time.Minute + time.Second), By: "alice", Images: "api=reg/api:2.0"},
		{Number: 0, Containers: api("0.9"), Since: t0.Add(-48 * time.Hour)}, // long ago
	}
	f.clock.add(time.Minute)
	a := &incident.Alert{Name: "AppHighErrorRate", Workload: "shop-prod/api"}
	ch, err := svc.RecentChanges(a, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch) != 3 {
		t.Fatalf("want 3 changes (outside, rollback, promotion), got %d: %+v", len(ch), ch)
	}
	out, rb, pr := &ch[0], &ch[1], &ch[2]
	if !out.Outside() || out.By() != "" || out.Entry != nil || out.Revision.Number != 4 || !strings.Contains(out.What(), "prod/api revision 4 · api reg/api:2.1") || strings.Contains(out.What(), "rolled back") {
		t.Errorf("the change made outside vigil: outside=%v by=%q %q", out.Outside(), out.By(), out.What())
	}
	if rb.Outside() || rb.By() != "alice" || rb.Entry == nil || rb.Revision == nil || rb.Revision.Number != 3 ||
		rb.What() != "roll back prod/api · revision 3 · api reg/api:2.0 → reg/api:1.0" {
		t.Errorf("the rollback: by=%q %q", rb.By(), rb.What())
	}
	if pr.Entry == nil || pr.Revision == nil || pr.Revision.Number != 2 || pr.Entry.Action != release.ActPromoteProtected.Name {
		t.Errorf("the promotion: %q", pr.What())
	}

	// 10:17 `kubectl rollout undo` brings revision 3 back as 5: it keeps
	// alice's annotations and the rollback's images, but it is not hers.
	f.clock.add(time.Minute)
	undo := rel.revs[1]
	undo.Number, undo.Since, undo.Current = 5, f.clock.Now(), true
	rel.revs = []release.Revision{undo, rel.revs[0], rel.revs[2]}
	rel.revs[1].Current = false
	f.clock.add(time.Minute)
	if ch, err = svc.RecentChanges(a, 24*time.Hour); err != nil || len(ch) != 4 {
		t.Fatalf("after the undo, want 4 changes, got %+v %v", ch, err)
	}
	if !ch[0].Outside() || ch[0].Revision.Number != 5 || !strings.Contains(ch[0].What(), "revision 5 (restored)") {
		t.Errorf("kubectl rollout undo: outside=%v by=%q %q", ch[0].Outside(), ch[0].By(), ch[0].What())
	}
	if !ch[1].Outside() || ch[1].Revision.Number != 4 {
		t.Errorf("kubectl set image: %q", ch[1].What())
	}
	if ch[2].Entry == nil || ch[2].Revision != nil || ch[2].By() != "alice" || ch[2].Entry.Action != release.ActRollback.Name {
		t.Errorf("alice's rollback, whose revision is gone: %+v", ch[2])
	}

	// Without the release service, only the journal speaks.
	if ch, err := f.svc.RecentChanges(&incident.Alert{Workload: "prod/api"}, 24*time.Hour); err != nil || len(ch) != 2 || ch[0].Revision != nil {
		t.Errorf("journal only: %+v %v", ch, err)
	}
}
