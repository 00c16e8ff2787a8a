package incident_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/integrations/alertmanager"
	"github.com/vigilops/vigil/internal/testclock"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ops/release"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// journalingService is a service over f's sources and journal that
// journals alert transitions, as the console's does: a second one over
// the same journal is a restarted process.
func journalingService(t *testing.T, f *fixture) *incident.Service {
	t.Helper()
	svc, err := incident.New(incident.Options{
		Prometheus:    f.prom,
		Alertmanager:  f.am,
		ParseMatchers: alertmanager.ParseMatchers,
		Journal:       f.journal,
		Now:           f.clock.Now,
		JournalAlerts: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func transitions(t *testing.T, j *audit.Journal) []string {
	t.Helper()
	es, err := j.Query(audit.Query{Target: "alert"})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		if e.Action == incident.FiringEntry || e.Action == incident.ResolvedEntry {
			out = append(out, e.Action+" "+e.Target+" at "+e.Parameters["at"][11:19]+" by "+e.Actor)
		}
	}
	return out
}

// An alert's firing and resolution are journaled once each, across polls
// and restarts; one that resolves while no vigil watches is journaled
// resolved by the next one's first poll.
func TestTransitionsJournaledOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	t0 := f.clock.Now()
	a1 := mkAlert("a1", "AppHighErrorRate", "critical", t0.Add(-10*time.Second), "namespace", "shop-prod", "deployment", "api")
	f.am.set([]incident.Alert{a1}, nil)
	svc := journalingService(t, f)
	svc.Refresh(ctx)
	f.clock.add(5 * time.Second)
	svc.Refresh(ctx)
	// A restart: a new process over the same journal.
	f.clock.add(5 * time.Second)
	journalingService(t, f).Refresh(ctx)
	want := []string{"alert.firing alert/a1 at 13:59:50 by alertmanager"}
	if got := transitions(t, f.journal); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after two polls and a restart:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	f.clock.add(time.Minute)
	f.am.set(nil, nil)
	svc.Refresh(ctx)
	svc.Refresh(ctx)
	want = append(want, "alert.resolved alert/a1 at 14:01:10 by alertmanager")
	if got := transitions(t, f.journal); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after the resolution:\n%s", strings.Join(got, "\n"))
	}

	// It fires again; vigil stops; it resolves; a new vigil starts.
	f.clock.add(time.Minute)
	a1.StartsAt = f.clock.Now()
	f.am.set([]incident.Alert{a1}, nil)
	svc.Refresh(ctx)
	f.clock.add(time.Minute)
	f.am.set(nil, nil)
	later := journalingService(t, f)
	f.am.err = errors.New("connection refused")
	later.Refresh(ctx) // Alertmanager unreachable: nothing is concluded
	if got := transitions(t, f.journal); len(got) != 3 {
		t.Fatalf("an unreachable Alertmanager must not resolve anything:\n%s", strings.Join(got, "\n"))
	}
	f.am.err = nil
	later.Refresh(ctx)
	want = append(want, "alert.firing alert/a1 at 14:02:10 by alertmanager", "alert.resolved alert/a1 at 14:03:10 by alertmanager")
	if got := transitions(t, f.journal); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after a restart that finds it gone:\n%s", strings.Join(got, "\n"))
	}
	// It fires again while no vigil watches, resolves and fires anew
	// before the next one starts: the first firing is resolved, the new
	// one journaled.
	f.clock.add(time.Minute)
	a1.StartsAt = f.clock.Now()
	f.am.set([]incident.Alert{a1}, nil)
	later.Refresh(ctx)
	f.clock.add(10 * time.Minute)
	a1.StartsAt = f.clock.Now().Add(-time.Minute)
	f.am.set([]incident.Alert{a1}, nil)
	journalingService(t, f).Refresh(ctx)
	want = append(want, "alert.firing alert/a1 at 14:04:10 by alertmanager", "alert.resolved alert/a1 at 14:13:10 by alertmanager", "alert.firing alert/a1 at 14:13:10 by alertmanager")
	if got := transitions(t, f.journal); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after a restart that finds it fired anew:\n%s", strings.Join(got, "\n"))
	}
	incs, err := later.Incidents()
	if err != nil {
		t.Fatal(err)
	}
	if len(incs) != 4 || !incs[0].Open() || incs[1].Open() || incs[0].Start.Sub(incs[1].Start) != 9*time.Minute || incs[1].End != incs[0].Start {
		t.Fatalf("incidents: %+v", incs)
	}
	incs = incs[2:]
	if len(incs) != 2 || incs[0].Open() || incs[1].Open() || incs[0].Start.Sub(t0) != 130*time.Second || incs[1].ID == incs[0].ID {
		t.Fatalf("incidents: %+v", incs)
	}
}

// incidentJournal writes a story into f's journal: alice promotes a bad
// release of api in prod, AppHighErrorRate fires, bob acknowledges it,
// writes a note, rolls back; the rollout settles, the alert resolves. A
// host alert on web-02 in the same minutes is another incident, with a
// playbook run on it. Unrelated entries are left out of both.
func incidentJournal(t *testing.T, f *fixture) (start time.Time) {
	t.Helper()
	t0 := testclock.Epoch().Add(-time.Hour)
	add := func(d time.Duration, actor, action, target string, p map[string]string) {
		t.Helper()
		if _, err := f.journal.Append(audit.Entry{Time: t0.Add(d), Actor: actor, Role: "operator", Action: action, Target: target, Parameters: p, Result: audit.OK}); err != nil {
			t.Fatal(err)
		}
	}
	alertP := func(d time.Duration, value string) map[string]string {
		return map[string]string{
			"alertname": "AppHighErrorRate", "severity": "critical", "workload": "shop-prod/api", "rollout": "prod/api",
			"label.alertname": "AppHighErrorRate", "label.severity": "critical", "label.namespace": "shop-prod", "label.deployment": "api",
			"summary":      "api in shop-prod fails 31% of its requests",
			"expr":         `sum by (namespace, deployment) (rate(http_requests_total{code=~"5.."}[1m])) / sum by (namespace, deployment) (rate(http_requests_total[1m])) > 0.05`,
			"valueExpr":    `sum by (namespace, deployment) (rate(http_requests_total{code=~"5.."}[1m])) / sum by (namespace, deployment) (rate(http_requests_total[1m]))`,
			"generatorURL": "http://127.0.0.1:9090/graph?g0.expr=x",
			"at":           t0.Add(d).Format(time.RFC3339Nano), "value": value,
		}
	}
	add(-20*time.Minute, "carol", "promote", "dev/web", map[string]string{"from": "", "image.web": "web:1 -> web:2"}) // before the lead
	add(0, "alice", "promote to a protected environment", "prod/api", map[string]string{"from": "preprod", "image.app": "registry.lab.local/shop/api:1.4.0 -> registry.lab.local/shop/api:1.5.0-bad"})
	add(40*time.Second, "alice", incident.RolloutEntry, "prod/api", map[string]string{"health": "healthy", "version": "1.5.0-bad"})
	add(62*time.Second, "alertmanager", incident.FiringEntry, "alert/fp-api", alertP(58*time.Second, "0.31"))
	add(63*time.Second, "alertmanager", incident.FiringEntry, "alert/fp-api", alertP(58*time.Second, "0.31")) // a second vigil
	add(90*time.Second, "alertmanager", incident.FiringEntry, "alert/fp-web02", map[string]string{
		"alertname": "HostDown", "severity": "warning", "host": "web-02", "label.alertname": "HostDown", "label.droplet": "web-02",
		"at": t0.Add(90 * time.Second).Format(time.RFC3339Nano)})
	add(2*time.Minute, "bob", incident.AckEntry, "alert/fp-api", map[string]string{"alertname": "AppHighErrorRate", "duration": "30m0s",
		"comment": "rolling back api | bad release", "silence": "sil-1", "workload": "shop-prod/api"})
	add(150*time.Second, "bob", incident.NoteEntry, "incident/PLACEHOLDER", map[string]string{"text": "error rate started with 1.5.0-bad"})
	add(3*time.Minute, "bob", "roll back", "prod/api", map[string]string{"to-revision": "0", "from-revision": "7", "restored": "6",
		"image.app": "registry.lab.local/shop/api:1.5.0-bad -> registry.lab.local/shop/api:1.4.0"})
	add(200*time.Second, "dave", "run playbook", "playbook/restart-node.yml", map[string]string{"run": "r-42", "target": "host web-02", "hosts": "web-02",
		"mode": "apply", "state": "succeeded", "recap": "web-02: ok=3 changed=1 unreachable=0 failed=0"})
	add(220*time.Second, "bob", incident.RolloutEntry, "prod/api", map[string]string{"health": "healthy", "version": "1.4.0"})
	add(5*time.Minute, "alertmanager", incident.ResolvedEntry, "alert/fp-web02", map[string]string{
		"alertname": "HostDown", "severity": "warning", "host": "web-02", "label.alertname": "HostDown", "label.droplet": "web-02",
		"at": t0.Add(5 * time.Minute).Format(time.RFC3339Nano)})
	p := alertP(6*time.Minute, "")
	add(6*time.Minute+3*time.Second, "alertmanager", incident.ResolvedEntry, "alert/fp-api", p)
	add(7*time.Minute, "bob", incident.UnackEntry, "silence/sil-1", map[string]string{"silence": "sil-1"})
	add(8*time.Minute, "erin", "scale", "staging/api", map[string]string{"replicas": "2"}) // another workload
	return t0.Add(58 * time.Second)
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	got = []byte(testclock.Unshift(string(got)))
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -run %s -update rewrites it):\n%s", path, t.Name(), got)
	}
}

// The export of an incident rebuilt from the journal alone: its
// summary, timeline in order with actors, expression, values and versions.
func TestIncidentExportGolden(t *testing.T) {
	f := newFixture(t)
	start := incidentJournal(t, f)
	f.prom.series = []incident.Series{{Labels: map[string]string{"namespace": "shop-prod", "deployment": "api"}, Points: []incident.Point{{Time: start, Value: 0.012}}}}
	incs, err := f.svc.Incidents()
	if err != nil {
		t.Fatal(err)
	}
	if len(incs) != 2 || incs[0].Title != "HostDown on web-02" || incs[1].Title != "AppHighErrorRate on shop-prod/api" {
		t.Fatalf("incidents: %+v", incs)
	}
	api := incs[1]
	if api.ID != incident.IncidentID("workload/shop-prod/api", start) || len(api.Alerts) != 1 {
		t.Fatalf("the api incident: %+v", api)
	}
	if api.TimeToAcknowledge() != 62*time.Second || api.TimeToMitigate() != 122*time.Second || api.Actions != 2 {
		t.Fatalf("tta %s, ttm %s, actions %d", api.TimeToAcknowledge(), api.TimeToMitigate(), api.Actions)
	}

	// The note was written against the id; write it again with the real one.
	bob := access.Actor{Name: "bob", Role: access.Operator}
	f.clock.t = start.Add(92 * time.Second)
	if err := f.svc.Note(context.Background(), bob, api.ID, "error rate started with 1.5.0-bad"); err != nil {
		t.Fatal(err)
	}
	f.clock.t = testclock.Epoch()

	// carol silenced it with amtool too; bob's silence is vigil's.
	eq := func(n, v string) incident.Matcher { m, _ := incident.NewMatcher(incident.MatchEqual, n, v); return m }
	f.am.silences = []incident.Silence{
		{ID: "sil-1", Matchers: []incident.Matcher{eq("alertname", "AppHighErrorRate")}, StartsAt: start.Add(62 * time.Second), EndsAt: start.Add(time.Hour), CreatedBy: "bob", Comment: "rolling back api"},
		{ID: "sil-amtool", Matchers: []incident.Matcher{eq("namespace", "shop-prod")}, StartsAt: start.Add(100 * time.Second), EndsAt: start.Add(2 * time.Hour), CreatedBy: "carol", Comment: "shop-prod is being fixed", State: "expired"},
		{ID: "sil-other", Matchers: []incident.Matcher{eq("namespace", "staging")}, StartsAt: start.Add(100 * time.Second), EndsAt: start.Add(2 * time.Hour), CreatedBy: "erin", Comment: "unrelated"},
	}
	inc, err := f.svc.Incident(context.Background(), api.ID[:6])
	if err != nil {
		t.Fatal(err)
	}
	var md, js, list bytes.Buffer
	if err := incident.WriteIncident(&md, inc, incident.FormatMarkdown, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if err := incident.WriteIncident(&js, inc, incident.FormatJSON, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if err := incident.WriteIncidentTable(&list, incs, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	// The id hashes the start, which a shifted test clock moves.
	norm := func(b []byte) []byte {
		s := strings.ReplaceAll(string(b), api.ID, "IDAPI00000")
		return []byte(strings.ReplaceAll(s, incs[0].ID, "IDWEB00000"))
	}
	golden(t, "incident.md.golden", norm(md.Bytes()))
	path, err := incident.ExportFile(filepath.Join(t.TempDir(), "exports"), inc, incident.FormatMarkdown, f.clock.Now())
	if b, rerr := os.ReadFile(path); err != nil || rerr != nil || !bytes.Equal(b, md.Bytes()) || filepath.Base(path) != "incident-"+inc.ID+".md" {
		t.Fatalf("ExportFile: %s, %v, %v", path, err, rerr)
	}
	golden(t, "incident.json.golden", norm(js.Bytes()))
	golden(t, "incidents.golden", norm(list.Bytes()))

	// Every step, with its actor, in order.
	steps := []string{"alice | promote", "alertmanager | firing", "bob | ack", "bob | note", "carol | ack", "bob | rollback", "bob | rollout", "alertmanager | resolved", "bob | unack"}
	last := -1
	for _, s := range steps {
		i := strings.Index(md.String(), "| "+s+" |")
		if i < 0 || i < last {
			t.Fatalf("step %q missing or out of order in:\n%s", s, md.String())
		}
		last = i
	}
	if strings.Contains(md.String(), "dev/web") || strings.Contains(md.String(), "staging/api") || strings.Contains(md.String(), "restart-node") || strings.Contains(md.String(), "sil-other") {
		t.Fatalf("unrelated entries in the export:\n%s", md.String())
	}
	if web := incs[0]; len(web.Timeline) != 3 || web.Timeline[1].Kind != incident.KindPlaybook || web.Timeline[1].Link.ID != "r-42" {
		t.Fatalf("web-02's timeline: %+v", web.Timeline)
	}
}

func TestUnknownIncidentAndNoteRefusals(t *testing.T) {
	f := newFixture(t)
	incidentJournal(t, f)
	_, err := f.svc.Incident(context.Background(), "nope")
	var unknown *incident.UnknownIncidentError
	if !errors.As(err, &unknown) || len(unknown.Recent) != 2 || !strings.Contains(err.Error(), "HostDown on web-02") {
		t.Fatalf("unknown id: %v", err)
	}
	bob := access.Actor{Name: "bob", Role: access.Operator}
	viewer := access.Actor{Name: "vic", Role: access.Viewer}
	ctx := context.Background()
	if err := f.svc.Note(ctx, bob, "nope", "x"); !errors.As(err, &unknown) {
		t.Fatalf("a note on an unknown incident: %v", err)
	}
	id := unknown.Recent[0].ID
	if err := f.svc.Note(ctx, bob, id, "  "); err == nil {
		t.Fatal("an empty note was accepted")
	}
	if err := f.svc.Note(ctx, viewer, id, "seen from the dev team"); err != nil {
		t.Fatalf("a viewer's note: %v", err)
	}
	es, _ := f.journal.Query(audit.Query{Target: "incident/" + id})
	if len(es) != 2 || es[0].Result != audit.Failed || es[1].Result != audit.OK || es[1].Actor != "vic" {
		t.Fatalf("notes journaled: %+v", es)
	}
}

// Alertmanager's webhook journals the transitions at once: the firing at
// its startsAt with its group key, the resolution at its endsAt.
func TestWebhookJournalsTransitions(t *testing.T) {
	body, err := os.ReadFile("testdata/webhook-firing-am0.25.json")
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	f.clock.t = time.Date(2026+testclock.Years(), time.November, 29, 8, 9, 0, 0, time.UTC)
	firing := strings.ReplaceAll(string(body), `"groupKey":"{}:{}"`, `"groupKey":"{}:{alertname=\"AppHighErrorRate\"}"`)
	firing = strings.ReplaceAll(firing, "2026-11-29T", testclock.Epoch().Format("2006")+"-11-29T")
	h := journalingService(t, f).WebhookHandler()
	if rec := post(h, firing); rec.Code != http.StatusNoContent {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	f.clock.add(time.Minute)
	resolved := strings.ReplaceAll(firing, `"status":"firing"`, `"status":"resolved"`)
	resolved = strings.ReplaceAll(resolved, `"endsAt":"0001-01-01T00:00:00Z"`, `"endsAt":"`+f.clock.Now().Add(-20*time.Second).Format(time.RFC3339)+`"`)
	if rec := post(h, resolved); rec.Code != http.StatusNoContent {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	es, err := f.journal.Query(audit.Query{Target: "alert/003ca9a25e202368"})
	if err != nil || len(es) != 2 {
		t.Fatalf("journal: %+v %v", es, err)
	}
	if es[0].Action != incident.FiringEntry || es[0].Parameters["group"] != `{}:{alertname="AppHighErrorRate"}` || !strings.HasSuffix(es[0].Parameters["at"], "-11-29T08:08:19.662Z") ||
		es[0].Parameters["workload"] != "prod/api" {
		t.Errorf("firing: %+v", es[0])
	}
	if es[1].Action != incident.ResolvedEntry || !strings.HasSuffix(es[1].Parameters["at"], "-11-29T08:09:40Z") {
		t.Errorf("resolved: %+v", es[1])
	}
}

type revisions []release.Revision

func (revisions) Locate(string) (string, string, bool)                  { return "api", "prod", true }
func (r revisions) History(app, env string) ([]release.Revision, error) { return r, nil }

// With the cluster's revisions, the timeline shows what each rollout
// ran, after the journal entry that made it (the API's times are whole
// seconds), and who made it or that it was made outside vigil.
func TestIncidentRevisions(t *testing.T) {
	f := newFixture(t)
	start := incidentJournal(t, f)
	t0 := start.Add(-58 * time.Second)
	img := func(v string) []release.Container {
		return []release.Container{{Name: "app", Image: "registry.lab.local/shop/api:" + v}}
	}
	svc, err := incident.New(incident.Options{Alertmanager: f.am, ParseMatchers: alertmanager.ParseMatchers, Journal: f.journal, Now: f.clock.Now,
		Releases: revisions{
			// Made by kubectl a minute after the rollback: outside vigil.
			{Number: 9, Containers: img("1.4.1"), Since: t0.Add(4 * time.Minute), Current: true},
			// The rollback's, a whole second before its entry.
			{Number: 8, Containers: img("1.4.0"), Restored: true, Since: t0.Add(3 * time.Minute).Truncate(time.Second), By: "bob", At: t0.Add(3 * time.Minute),
				Images: "app=registry.lab.local/shop/api:1.4.0"},
			{Number: 7, Containers: img("1.5.0-bad"), Since: t0, By: "alice", At: t0, Images: "app=registry.lab.local/shop/api:1.5.0-bad"},
			{Number: 6, Containers: img("1.4.0"), Since: t0.Add(-2 * time.Hour)}, // long before
		}})
	if err != nil {
		t.Fatal(err)
	}
	incs, _ := svc.Incidents()
	inc, err := svc.Incident(context.Background(), incs[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, te := range inc.Timeline {
		if te.Kind == incident.KindRollout || te.Kind == incident.KindRollback || te.Kind == incident.KindPromote {
			got = append(got, te.Actor+" "+string(te.Kind)+" "+te.Text)
		}
	}
	want := []string{
		"alice promote promoted prod/api from preprod: registry.lab.local/shop/api:1.4.0 → registry.lab.local/shop/api:1.5.0-bad",
		"alice rollout revision 7 of prod/api became current: app registry.lab.local/shop/api:1.5.0-bad",
		"alice rollout rollout of prod/api healthy at 1.5.0-bad",
		"bob rollback rolled back prod/api from revision 7 to revision 6: registry.lab.local/shop/api:1.5.0-bad → registry.lab.local/shop/api:1.4.0",
		"bob rollout revision 8 of prod/api became current (restored): app registry.lab.local/shop/api:1.4.0",
		"bob rollout rollout of prod/api healthy at 1.4.0",
		"outside vigil rollout revision 9 of prod/api became current: app registry.lab.local/shop/api:1.4.1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rollouts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
