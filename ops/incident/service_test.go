package incident_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/incident"
)

func names(as []*incident.Alert) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Fingerprint)
	}
	return out
}

func TestMergeSortAndCorrelate(t *testing.T) {
	f := newFixture(t)
	t0 := f.clock.Now()
	thr := 0.05
	f.prom.rules = []incident.Rule{
		{Name: "AppHighErrorRate", Expr: "err_ratio > 0.05", ValueExpr: "err_ratio", Threshold: &thr, Op: ">", Labels: map[string]string{"severity": "critical"}},
	}
	f.am.set([]incident.Alert{
		mkAlert("a1", "AppHighErrorRate", "critical", t0.Add(-3*time.Minute), "namespace", "prod", "deployment", "api"),
		mkAlert("a2", "HostDown", "critical", t0.Add(-time.Minute), "droplet", "web-02", "instance", "127.0.1.2:9100"),
		mkAlert("a3", "AppHighLatency", "warning", t0.Add(-12*time.Minute), "namespace", "preprod", "statefulset", "db"),
	}, nil)
	pending := mkAlert("p1", "AppHighLatency", "warning", t0.Add(-10*time.Second), "namespace", "dev", "deployment", "web")
	pending.State = incident.Pending
	firingA1 := mkAlert("a1", "AppHighErrorRate", "critical", t0.Add(-3*time.Minute), "namespace", "prod", "deployment", "api")
	firingA1.Value = "0.2"
	f.prom.set([]incident.Alert{pending, firingA1}, nil)

	f.svc.Refresh(context.Background())
	snap := f.svc.Snapshot()
	if got, want := names(snap.Alerts), []string{"a1", "a2", "a3", "p1"}; !slices.Equal(got, want) {
		t.Fatalf("order = %v, want %v (severity, then oldest first)", got, want)
	}
	a1, _ := snap.Alert("a1")
	if a1.Workload != "prod/api" || a1.Value != "0.2" || a1.Rule == nil || a1.Rule.ValueExpr != "err_ratio" || a1.State != incident.Firing {
		t.Fatalf("a1 = %+v, rule %+v", a1, a1.Rule)
	}
	if a1.Age(f.clock.Now()) != 3*time.Minute {
		t.Fatalf("a1 age %s", a1.Age(f.clock.Now()))
	}
	a2, _ := snap.Alert("a2")
	a3, _ := snap.Alert("a3")
	p1, _ := snap.Alert("p1")
	if a2.Host != "web-02" || a3.Workload != "preprod/db" || p1.State != incident.Pending {
		t.Fatalf("a2 host %q, a3 workload %q, p1 state %q", a2.Host, a3.Workload, p1.State)
	}
	if snap.Counts != (incident.Counts{Critical: 2, Warning: 2, Total: 4}) {
		t.Fatalf("counts %+v", snap.Counts)
	}
	if incident.HostOf(map[string]string{"instance": "10.0.0.7:9100"}) != "10.0.0.7" {
		t.Fatal("instance host:port should map to its host")
	}
}

func TestViewFilterAndGroup(t *testing.T) {
	f := newFixture(t)
	t0 := f.clock.Now()
	f.am.set([]incident.Alert{
		mkAlert("a1", "AppHighErrorRate", "critical", t0.Add(-3*time.Minute), "namespace", "prod", "deployment", "api"),
		mkAlert("a2", "AppHighErrorRate", "critical", t0.Add(-2*time.Minute), "namespace", "preprod", "deployment", "api"),
		mkAlert("a3", "AppHighLatency", "warning", t0.Add(-12*time.Minute), "namespace", "prod", "deployment", "web"),
	}, nil)
	f.svc.Refresh(context.Background())
	snap := f.svc.Snapshot()

	ms, err := f.svc.ParseFilter(`severity="critical",namespace=~"prod.*"`)
	if err != nil {
		t.Fatal(err)
	}
	v := snap.View(ms, "")
	if got := names(v.Alerts); !slices.Equal(got, []string{"a1"}) {
		t.Fatalf("filtered %v: regular expressions are anchored, preprod is not prod.*", got)
	}
	ms, _ = f.svc.ParseFilter(`{severity="critical",namespace=~".*prod"}`)
	if got := names(snap.View(ms, "").Alerts); !slices.Equal(got, []string{"a1", "a2"}) {
		t.Fatalf("filtered %v", got)
	}
	ms, _ = f.svc.ParseFilter(`namespace="prod"`)
	v = snap.View(ms, "")
	if len(v.Groups) != 2 || v.Groups[0].Value != "AppHighErrorRate" || v.Groups[1].Value != "AppHighLatency" {
		t.Fatalf("groups by alertname %+v", v.Groups)
	}
	v = snap.View(nil, "namespace")
	if len(v.Groups) != 2 || v.Groups[0].Value != "prod" || len(v.Groups[0].Alerts) != 2 || v.Groups[1].Value != "preprod" {
		t.Fatalf("groups by namespace: %+v", v.Groups)
	}
	// prod's group holds a1 (critical) first; a3 follows in it.
	if got := names(v.Groups[0].Alerts); got[0] != "a1" {
		t.Fatalf("prod group %v", got)
	}
	if v.Counts.Total != 3 || v.Groups[0].Counts.Critical != 1 {
		t.Fatalf("counts %+v / %+v", v.Counts, v.Groups[0].Counts)
	}

	if _, err := f.svc.ParseFilter(`severity=~"(critical"`); err == nil || !strings.Contains(err.Error(), "missing closing )") {
		t.Fatalf("bad regexp filter error = %v", err)
	}
	if _, err := f.svc.ParseFilter(`severity=`); err == nil {
		t.Fatal("an incomplete matcher should be an error")
	}
	if ms, err := f.svc.ParseFilter("  "); err != nil || ms != nil {
		t.Fatalf("empty filter = %v, %v", ms, err)
	}
}

func TestResolvedRecentlyAndRetention(t *testing.T) {
	f := newFixture(t)
	t0 := f.clock.Now()
	a := mkAlert("a1", "AppHighErrorRate", "critical", t0.Add(-time.Minute), "namespace", "prod", "deployment", "api")
	p := mkAlert("p1", "AppHighLatency", "warning", t0, "namespace", "dev", "deployment", "web")
	p.State = incident.Pending
	f.am.set([]incident.Alert{a}, nil)
	f.prom.set([]incident.Alert{p}, nil)
	f.svc.Refresh(context.Background())

	f.clock.add(10 * time.Second)
	b := mkAlert("b1", "HostDown", "critical", f.clock.Now())
	f.am.set([]incident.Alert{a, b}, nil)
	f.svc.Refresh(context.Background())
	a1, _ := f.svc.Snapshot().Alert("a1")
	b1, _ := f.svc.Snapshot().Alert("b1")
	f.svc.Refresh(context.Background())
	if again, _ := f.svc.Snapshot().Alert("a1"); again != a1 {
		t.Fatal("an unchanged alert should keep its pointer from one snapshot to the next")
	}
	if !a1.FirstSeen.Equal(t0) || !b1.FirstSeen.Equal(f.clock.Now()) {
		t.Fatalf("first seen: a1 %s (want %s), b1 %s", a1.FirstSeen, t0, b1.FirstSeen)
	}

	f.clock.add(20 * time.Second)
	f.am.set(nil, nil)
	f.prom.set(nil, nil)
	f.svc.Refresh(context.Background())
	snap := f.svc.Snapshot()
	got, ok := snap.Alert("a1")
	if !ok || got.State != incident.Resolved || !got.ResolvedAt.Equal(f.clock.Now()) || got.Age(f.clock.Now().Add(time.Hour)) != time.Hour+90*time.Second || got.InState(f.clock.Now().Add(time.Hour)) != time.Hour {
		t.Fatalf("a1 after it left = %+v, %v (its age keeps counting, the time in resolved beside it)", got, ok)
	}
	if _, ok := snap.Alert("p1"); ok {
		t.Fatal("a pending alert that vanished never fired and should not be listed as resolved")
	}
	if snap.Counts.Total != 0 || len(snap.Alerts) != 2 {
		t.Fatalf("counts %+v, %d alerts", snap.Counts, len(snap.Alerts))
	}
	f.clock.add(16 * time.Minute)
	f.svc.Refresh(context.Background())
	if _, ok := f.svc.Snapshot().Alert("a1"); ok {
		t.Fatal("a resolved alert should leave the list after 15 minutes")
	}
	if n := len(f.svc.Snapshot().Alerts); n != 0 {
		t.Fatalf("%d alerts left", n)
	}
}

func TestSourceDownKeepsDataAndRecovers(t *testing.T) {
	f := newFixture(t)
	t0 := f.clock.Now()
	f.am.set([]incident.Alert{mkAlert("a1", "HostDown", "critical", t0, "droplet", "web-02")}, nil)
	f.svc.Refresh(context.Background())

	down := errors.New("dial tcp 127.0.0.1:9093: connect: connection refused")
	f.clock.add(40 * time.Second)
	f.am.set(nil, down)
	f.svc.Refresh(context.Background())
	snap := f.svc.Snapshot()
	if a, ok := snap.Alert("a1"); !ok || a.State != incident.Firing {
		t.Fatal("the last data should stay while Alertmanager is down, not resolve")
	}
	if !errors.Is(snap.Alertmanager.Err, down) || snap.Alertmanager.Age(snap.Time) != 40*time.Second || !snap.Stale() {
		t.Fatalf("status %+v", snap.Alertmanager)
	}
	if p := snap.Problems(snap.Time); len(p) != 1 || !strings.Contains(p[0], "Alertmanager unreachable, showing data from 40s ago, retrying") {
		t.Fatalf("problems %q", p)
	}
	f.clock.add(5 * time.Second)
	f.am.set(nil, nil)
	f.svc.Refresh(context.Background())
	snap = f.svc.Snapshot()
	if snap.Alertmanager.Err != nil || snap.Stale() || snap.Alertmanager.Age(snap.Time) != 0 {
		t.Fatalf("after recovery %+v", snap.Alertmanager)
	}
	if a, _ := snap.Alert("a1"); a.State != incident.Resolved {
		t.Fatal("once Alertmanager answers without the alert, it is resolved")
	}
}

func TestAcknowledgeAndUnacknowledge(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	t0 := f.clock.Now()
	f.am.set([]incident.Alert{
		mkAlert("a1", "AppHighErrorRate", "critical", t0, "namespace", "prod", "deployment", "api"),
		mkAlert("a2", "AppHighErrorRate", "critical", t0, "namespace", "prod", "deployment", "web"),
	}, nil)
	f.svc.Refresh(ctx)

	sil, err := f.svc.Acknowledge(ctx, alice, incident.AckRequest{Fingerprint: "a1", Duration: time.Hour, Comment: "rolling back"})
	if err != nil {
		t.Fatal(err)
	}
	if sil.CreatedBy != "alice" || sil.Comment != "rolling back" || sil.EndsAt.Sub(sil.StartsAt) != time.Hour || len(sil.Matchers) != 4 {
		t.Fatalf("silence %+v", sil)
	}
	snap := f.svc.Snapshot()
	a1, _ := snap.Alert("a1")
	a2, _ := snap.Alert("a2")
	if a1.State != incident.Acknowledged || a1.Ack.Owner != "alice" || a1.Ack.Remaining(f.clock.Now()) != time.Hour {
		t.Fatalf("a1 after ack: %+v %+v", a1, a1.Ack)
	}
	if a2.State != incident.Firing {
		t.Fatalf("the silence must match only a1's labels; a2 is %s", a2.State)
	}
	if e := lastEntry(t, f.journal); e.Action != "alert.ack" || e.Target != "alert/a1" || e.Result != audit.OK || e.Parameters["silence"] != sil.ID || e.Parameters["workload"] != "prod/api" {
		t.Fatalf("journal %+v", e)
	}

	if err := f.svc.Unacknowledge(ctx, alice, sil.ID); err != nil {
		t.Fatal(err)
	}
	if a1, _ := f.svc.Snapshot().Alert("a1"); a1.State != incident.Firing || a1.Ack != nil {
		t.Fatalf("a1 after unack: %+v", a1)
	}
	if e := lastEntry(t, f.journal); e.Action != "alert.unack" || e.Target != "silence/"+sil.ID || e.Result != audit.OK {
		t.Fatalf("journal %+v", e)
	}

	// A broader silence by matchers shows as silenced, with its owner.
	if _, err := f.svc.Acknowledge(ctx, alice, incident.AckRequest{Match: `deployment=~"api|web"`, Duration: 30 * time.Minute, Comment: "maintenance"}); err != nil {
		t.Fatal(err)
	}
	if sils := f.svc.Snapshot().Silences; len(sils) != 2 || sils[0].Comment != "maintenance" || sils[1].State != "expired" {
		t.Fatalf("silences should list the active one first: %+v", sils)
	}
	for _, fp := range []string{"a1", "a2"} {
		if a, _ := f.svc.Snapshot().Alert(fp); a.State != incident.Silenced || a.Ack == nil || a.Ack.Comment != "maintenance" {
			t.Fatalf("%s after ack by matchers: %+v", fp, a)
		}
	}
}

func TestAcknowledgeRefusedAndInvalid(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.am.set([]incident.Alert{mkAlert("a1", "HostDown", "critical", f.clock.Now(), "droplet", "web-02")}, nil)
	f.svc.Refresh(ctx)

	_, err := f.svc.Acknowledge(ctx, vic, incident.AckRequest{Fingerprint: "a1", Duration: time.Hour, Comment: "x"})
	var denied *access.DeniedError
	if !errors.As(err, &denied) {
		t.Fatalf("a viewer acknowledging: %v", err)
	}
	if e := lastEntry(t, f.journal); e.Result != audit.Refused || e.Actor != "vic" {
		t.Fatalf("refusal journal entry %+v", e)
	}
	for _, c := range []struct {
		req  incident.AckRequest
		want string
	}{
		{incident.AckRequest{Fingerprint: "a1", Duration: time.Hour, Comment: "  "}, "needs a comment"},
		{incident.AckRequest{Fingerprint: "a1", Duration: 10 * time.Second, Comment: "x"}, "choose one between"},
		{incident.AckRequest{Fingerprint: "a1", Duration: 30 * 24 * time.Hour, Comment: "x"}, "choose one between"},
		{incident.AckRequest{Fingerprint: "nope", Duration: time.Hour, Comment: "x"}, "no active alert has fingerprint nope (Alertmanager answered)"},
		{incident.AckRequest{Match: `{alertname="x"`, Duration: time.Hour, Comment: "x"}, "bad matchers"},
		{incident.AckRequest{Duration: time.Hour, Comment: "x"}, "say what to acknowledge"},
		{incident.AckRequest{Fingerprint: "a1", Match: `a="b"`, Duration: time.Hour, Comment: "x"}, "not both"},
	} {
		if _, err := f.svc.Acknowledge(ctx, alice, c.req); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.req, err, c.want)
		}
		if e := lastEntry(t, f.journal); e.Result != audit.Failed {
			t.Errorf("%+v: journal %+v", c.req, e)
		}
	}
	ro, err := incident.New(incident.Options{Alertmanager: f.am, ParseMatchers: func(string) ([]incident.Matcher, error) { return nil, nil },
		Journal: f.journal, Guard: access.Guard{ReadOnly: true}, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := ro.Unacknowledge(ctx, alice, "sil-1"); !errors.Is(err, access.ErrReadOnly) {
		t.Fatalf("read-only unack: %v", err)
	}
	if len(f.am.silences) != 0 {
		t.Fatalf("refused or invalid requests created silences: %+v", f.am.silences)
	}
}

func TestSubscribeGetsLatest(t *testing.T) {
	f := newFixture(t)
	ch, stop := f.svc.Subscribe()
	defer stop()
	for i := range 3 {
		f.clock.add(time.Second)
		f.am.set([]incident.Alert{mkAlert("a1", "HostDown", "critical", f.clock.Now(), "n", string(rune('a'+i)))}, nil)
		f.svc.Refresh(context.Background())
	}
	select {
	case <-ch:
		if snap := f.svc.Snapshot(); len(snap.Alerts) != 1 || snap.Alerts[0].Labels["n"] != "c" {
			t.Fatalf("a slow subscriber should find the latest snapshot, not an old one: %+v", snap.Alerts)
		}
	default:
		t.Fatal("no wake delivered")
	}
	select {
	case <-ch:
		t.Fatal("three snapshots should wake a slow subscriber once")
	default:
	}
	stop()
	f.svc.Refresh(context.Background())
	if _, ok := <-ch; ok {
		t.Fatal("a stopped subscription was woken")
	}
}

func TestRunPollsAtInterval(t *testing.T) {
	am := &memAM{}
	f := newFixture(t)
	svc, err := incident.New(incident.Options{Alertmanager: am, ParseMatchers: func(string) ([]incident.Matcher, error) { return nil, nil },
		Journal: f.journal, Interval: 20 * time.Millisecond, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, stop := svc.Subscribe()
	defer stop()
	go svc.Run(ctx)
	am.set([]incident.Alert{mkAlert("a1", "HostDown", "critical", f.clock.Now())}, nil)
	deadline := time.After(2 * time.Second)
	for {
		select {
		case <-ch:
			if _, ok := svc.Snapshot().Alert("a1"); ok {
				return
			}
		case <-deadline:
			t.Fatal("Run did not pick up a new alert within 2 s at a 20 ms interval")
		}
	}
}

func TestGraphAndMarkers(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	thr := 0.05
	f.prom.rules = []incident.Rule{{Name: "AppHighErrorRate", Expr: "r > 0.05", ValueExpr: "r", Threshold: &thr}}
	f.am.set([]incident.Alert{mkAlert("a1", "AppHighErrorRate", "critical", f.clock.Now(), "namespace", "prod", "deployment", "api")}, nil)
	f.prom.series = []incident.Series{
		{Labels: map[string]string{"namespace": "prod", "deployment": "api"}, Points: []incident.Point{{Value: 0.2}}},
		{Labels: map[string]string{"namespace": "prod", "deployment": "web"}, Points: []incident.Point{{Value: 0}}},
	}
	f.svc.Refresh(ctx)
	_ = f.journal.Record(ctx, alice, "release.promote", "prod/api", map[string]string{"version": "2.5.0-bad"}, nil)
	_ = f.journal.Record(ctx, alice, "release.promote", "prod/web", nil, nil)
	f.clock.add(time.Minute) // the on-call looks a minute after the changes

	g, err := f.svc.Graph(ctx, "a1", time.Hour, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if g.Expr != "r" || *g.Threshold != 0.05 || len(g.Series) != 1 || g.Series[0].Labels["deployment"] != "api" {
		t.Fatalf("graph %+v", g)
	}
	if g.Range.Step != 15*time.Second || g.Range.End.Sub(g.Range.Start) != time.Hour {
		t.Fatalf("range %+v", g.Range)
	}
	if len(g.Markers) != 1 || g.Markers[0].Action != "release.promote" || g.Markers[0].Target != "prod/api" {
		t.Fatalf("markers %+v", g.Markers)
	}
	a, _ := f.svc.Snapshot().Alert("a1")
	if ch, err := f.svc.RecentChanges(a, time.Hour); err != nil || len(ch) != 1 {
		t.Fatalf("recent changes %+v, %v", ch, err)
	}
	if incident.DefaultComment(a) != "Investigating AppHighErrorRate on prod/api" {
		t.Fatalf("default comment %q", incident.DefaultComment(a))
	}
}

// TestAckWhenAlertmanagerIsDown: an alert that cannot be found because
// Alertmanager does not answer is reported as that, not as a missing alert.
func TestAckWhenAlertmanagerIsDown(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	down := errors.New("connection refused")
	f.am.set(nil, down)
	f.svc.Refresh(ctx)
	_, err := f.svc.Acknowledge(ctx, alice, incident.AckRequest{Fingerprint: "a1", Duration: time.Hour, Comment: "x"})
	if !errors.Is(err, down) || !strings.Contains(err.Error(), "Alertmanager is unreachable") || strings.Contains(err.Error(), "no active alert") {
		t.Fatalf("got %v", err)
	}
}

// Issue 12, point 11: the age counts from the first pending, through the
// change to firing; the time in the state is kept beside it; an ack moves
// the alert from the critical count to the acked one.
func TestAgeFromFirstPendingAndAckedCounts(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	t0 := f.clock.Now()
	p := mkAlert("a1", "AppHighErrorRate", "critical", t0, "namespace", "prod", "deployment", "api")
	p.State = incident.Pending
	f.prom.set([]incident.Alert{p}, nil)
	f.svc.Refresh(ctx)

	// Two minutes later it fires: Prometheus still says activeAt t0,
	// Alertmanager says it started now.
	f.clock.add(2 * time.Minute)
	firingProm := mkAlert("a1", "AppHighErrorRate", "critical", t0, "namespace", "prod", "deployment", "api")
	f.prom.set([]incident.Alert{firingProm}, nil)
	f.am.set([]incident.Alert{
		mkAlert("a1", "AppHighErrorRate", "critical", f.clock.Now(), "namespace", "prod", "deployment", "api"),
		mkAlert("a2", "AppHighErrorRate", "critical", f.clock.Now(), "namespace", "prod", "deployment", "web"),
	}, nil)
	f.svc.Refresh(ctx)
	f.clock.add(time.Minute)
	now := f.clock.Now()
	a1, _ := f.svc.Snapshot().Alert("a1")
	if a1.State != incident.Firing || a1.Age(now) != 3*time.Minute || a1.InState(now) != time.Minute {
		t.Fatalf("a1 firing: age %s (want 3m since first pending), firing for %s (want 1m)", a1.Age(now), a1.InState(now))
	}
	// Alertmanager alone (Prometheus's alert gone from its list) keeps the first pending.
	f.prom.set(nil, nil)
	f.svc.Refresh(ctx)
	if a1, _ = f.svc.Snapshot().Alert("a1"); a1.Age(now) != 3*time.Minute {
		t.Fatalf("a1 age %s once Prometheus no longer lists it", a1.Age(now))
	}
	if c := f.svc.Snapshot().Counts; c != (incident.Counts{Critical: 2, Total: 2}) {
		t.Fatalf("counts before the ack %+v", c)
	}
	if _, err := f.svc.Acknowledge(ctx, alice, incident.AckRequest{Fingerprint: "a1", Duration: time.Hour, Comment: "on it"}); err != nil {
		t.Fatal(err)
	}
	if c := f.svc.Snapshot().Counts; c != (incident.Counts{Critical: 1, Acked: 1, Total: 2}) {
		t.Fatalf("counts after the ack %+v: the acked alert must be counted apart", c)
	}
	a1, _ = f.svc.Snapshot().Alert("a1")
	if a1.Age(now) != 3*time.Minute || a1.InState(now) != 0 {
		t.Fatalf("a1 acked: age %s, acked for %s", a1.Age(now), a1.InState(now))
	}
}
