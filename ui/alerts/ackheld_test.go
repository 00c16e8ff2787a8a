package alerts

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/integrations/alertmanager"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ui/common"
)

// The dialog on an alert someone acknowledged names their silence, and
// adds to it rather than making a second one.
func TestAckDialogNamesTheExistingSilence(t *testing.T) {
	f := newFixture(t, access.Operator)
	threeAlerts(f)
	f.poll()
	bob := access.Actor{Name: "bob", Role: access.Operator}
	ctx := context.Background()
	if _, err := f.svc.Acknowledge(ctx, bob, incident.AckRequest{Fingerprint: "a1", Duration: time.Hour, Comment: "rolling back api"}); err != nil {
		t.Fatal(err)
	}
	f.poll()
	f.keys("home", "a")
	v := screen(f.m)
	for _, want := range []string{"already acknowledged by bob until " + f.clock.Now().Add(time.Hour).In(f.m.loc).Format("15:04"), `"rolling back api" (silence sil-1)`, "[comment only]", "add to theirs"} {
		if !strings.Contains(v, want) {
			t.Fatalf("the dialog should show %q:\n%s", want, v)
		}
	}
	msgs := f.keys("'DB is fine", "enter")
	if len(f.am.silences) != 1 || f.am.silences[0].Comment != "rolling back api · alice: DB is fine" || !f.am.silences[0].EndsAt.Equal(f.clock.Now().Add(time.Hour)) {
		t.Fatalf("silences after adding a comment: %+v", f.am.silences)
	}
	if len(msgs) != 1 || !strings.Contains(msgs[0].(common.ToastMsg).Text, "added your comment to bob's acknowledgement of AppHighErrorRate") {
		t.Fatalf("toast %v", msgs)
	}

	// bob acknowledges HostDown while alice's dialog on it is open: her
	// enter is refused, and the dialog comes back naming bob's, her text
	// kept; she extends his.
	f.keys("j", "a")
	if strings.Contains(screen(f.m), "already acknowledged") {
		t.Fatalf("HostDown was not acknowledged yet:\n%s", screen(f.m))
	}
	if _, err := f.svc.Acknowledge(ctx, bob, incident.AckRequest{Fingerprint: "a2", Duration: 30 * time.Minute, Comment: "rebooting web-02"}); err != nil {
		t.Fatal(err)
	}
	f.keys("ctrl+u", "'me too", "enter")
	v = screen(f.m)
	if !f.m.Capturing() || !strings.Contains(v, "bob acknowledged it meanwhile") || !strings.Contains(v, "already acknowledged by bob") || !strings.Contains(v, "me too") {
		t.Fatalf("the refused ack should reopen the dialog on bob's:\n%s", v)
	}
	f.keys("tab", "right", "right", "enter") // extend 1h
	if n := len(f.am.silences); n != 2 {
		t.Fatalf("%d silences, want bob's two", n)
	}
	if s := f.am.silences[1]; s.CreatedBy != "bob" || !s.EndsAt.Equal(f.clock.Now().Add(time.Hour)) || s.Comment != "rebooting web-02 · alice: me too" {
		t.Fatalf("bob's HostDown silence after alice extends it: %+v", s)
	}
}

// cacheReleases is a release service's cache of prod/api's history.
type cacheReleases struct{ revs []release.Revision }

func (c cacheReleases) Locate(w string) (string, string, bool) { return "api", "prod", w == "prod/api" }
func (c cacheReleases) History(string, string) ([]release.Revision, error) {
	return c.revs, nil
}

// The detail's recent changes show a change made outside vigil, read from
// the workload's revisions, beside the journal's, marked as such.
func TestDetailShowsChangesMadeOutsideVigil(t *testing.T) {
	f := newFixture(t, access.Operator)
	threeAlerts(f)
	now := f.clock.Now()
	revs := cacheReleases{revs: []release.Revision{
		{Number: 5, Containers: []release.Container{{Name: "api", Image: "reg/api:2.5.1-hotfix"}}, Since: now.Add(-2 * time.Minute), Current: true},
	}}
	var err error
	f.svc, err = incident.New(incident.Options{Prometheus: f.prom, Alertmanager: f.am, ParseMatchers: alertmanager.ParseMatchers, Journal: f.journal, Releases: revs, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	f.ctx.Services.Incident = f.svc
	f.m = New(f.ctx, NewKeyMap())
	f.m.SetSize(120, 30)
	if _, err := f.journal.Append(audit.Entry{Time: now.Add(-5 * time.Minute), Actor: "bob", Action: "promote", Target: "prod/api", Result: audit.OK}); err != nil {
		t.Fatal(err)
	}
	f.poll()
	f.keys("home", "enter")
	v := screen(f.m)
	at := now.Add(-2 * time.Minute).In(f.m.loc).Format("01-02 15:04")
	for _, want := range []string{"▲ " + at + "  outside vigil  prod/api revision 5 · api reg/api:2.5.1-hotfix", "bob  promote prod/api"} {
		if !strings.Contains(v, want) {
			t.Errorf("recent changes lack %q:\n%s", want, v)
		}
	}
}
