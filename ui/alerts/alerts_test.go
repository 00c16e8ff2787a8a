package alerts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
	"github.com/vigilops/vigil/ui/uitest"
)

func threeAlerts(f *fixture) {
	now := f.clock.Now()
	f.am.set(
		mkAlert("a1", "AppHighErrorRate", "critical", now.Add(-3*time.Minute), "namespace", "prod", "deployment", "api"),
		mkAlert("a2", "HostDown", "critical", now.Add(-time.Minute), "droplet", "web-02", "instance", "127.0.1.2:9100"),
		mkAlert("a3", "AppHighLatency", "warning", now.Add(-12*time.Minute), "namespace", "preprod", "deployment", "web"),
	)
}

func fps(as []*incident.Alert) string {
	var s []string
	for _, a := range as {
		s = append(s, a.Fingerprint)
	}
	return strings.Join(s, ",")
}

func screen(m *Model) string { return ansi.Strip(m.View()) }

func TestListGroupedSortedAndCounted(t *testing.T) {
	f := newFixture(t, access.Operator)
	if !strings.Contains(screen(f.m), "Asking Prometheus and Alertmanager") {
		t.Fatalf("before the first poll:\n%s", screen(f.m))
	}
	threeAlerts(f)
	msgs := f.poll()
	f.keys("home") // the first alert, not the newest critical one the pane selects
	if got := fps(f.m.Visible()); got != "a1,a2,a3" {
		t.Fatalf("order %s: want critical before warning, oldest first", got)
	}
	if s := f.m.Status(); s != "2 critical · 1 warning · 3 active" {
		t.Fatalf("status %q", s)
	}
	if b := f.m.Badge(); b != "2 crit 1 warn" || !slices.Contains(msgs, tea.Msg(common.BadgeChangedMsg{})) {
		t.Fatalf("badge %q, announced: %v", b, msgs)
	}
	v := screen(f.m)
	for _, want := range []string{"alertname=AppHighErrorRate  1 · 1 critical", "prod/api", "web-02", "HostDown summary", "12m"} {
		if !strings.Contains(v, want) {
			t.Errorf("list lacks %q:\n%s", want, v)
		}
	}
	healthy := 0
	for _, msg := range msgs {
		if h, ok := msg.(common.HealthMsg); ok && h.State == common.Healthy {
			healthy++
		}
	}
	if healthy != 2 {
		t.Errorf("first poll reported %d healthy sources, want prometheus and alertmanager: %v", healthy, msgs)
	}
	if again := f.poll(); slices.ContainsFunc(again, func(m tea.Msg) bool { _, ok := m.(common.HealthMsg); return ok }) {
		t.Error("health is reported again while it does not change")
	}

	f.keys("j")
	if a := f.m.Selected(); a.Fingerprint != "a2" {
		t.Fatalf("j selected %s", a.Fingerprint)
	}
	f.keys("t")
	if f.m.GroupBy() != "namespace" || !strings.Contains(screen(f.m), "namespace=prod") || !strings.Contains(screen(f.m), "namespace=(no namespace)") {
		t.Fatalf("t grouped by %s:\n%s", f.m.GroupBy(), screen(f.m))
	}
	if a := f.m.Selected(); a.Fingerprint != "a2" {
		t.Fatalf("regrouping moved the selection to %s", a.Fingerprint)
	}
	f.keys("t")
	if f.m.GroupBy() != "alertname" {
		t.Fatalf("t again: grouped by %s", f.m.GroupBy())
	}
}

func TestFilterWithMatchersShowsTheParserError(t *testing.T) {
	f := newFixture(t, access.Operator)
	threeAlerts(f)
	f.poll()
	f.m.SetFilter(`severity="critical",namespace=~"prod.*"`)
	if got := fps(f.m.Visible()); got != "a1" {
		t.Fatalf("filtered: %s", got)
	}
	f.m.SetFilter(`severity=~"crit`)
	if f.m.FilterError() == nil || fps(f.m.Visible()) != "a1" {
		t.Fatalf("a bad filter: error %v, shown %s (want the previous filter kept)", f.m.FilterError(), fps(f.m.Visible()))
	}
	if v := screen(f.m); !strings.Contains(v, `filter severity=~"crit: `) || !strings.Contains(v, f.m.FilterError().Error()) {
		t.Fatalf("the parser's error is not shown:\n%s", v)
	}
	f.m.SetFilter(`alertname="Nothing"`)
	if v := screen(f.m); !strings.Contains(v, "No alert matches the filter") {
		t.Fatalf("no match:\n%s", v)
	}
	f.keys("esc")
	if f.m.Filter() != "" || len(f.m.Visible()) != 3 {
		t.Fatalf("esc left filter %q, %d shown", f.m.Filter(), len(f.m.Visible()))
	}
}

func TestNewAlertsAreHighlightedForAFewSeconds(t *testing.T) {
	f := newFixture(t, access.Operator)
	threeAlerts(f)
	f.poll()
	now := f.clock.Now()
	for _, a := range f.m.Visible() {
		if f.m.isNew(a, now) {
			t.Fatalf("%s is highlighted although it was there at the first poll", a.Fingerprint)
		}
	}
	f.clock.Add(time.Second)
	f.am.set(append(f.am.alerts, mkAlert("a4", "DiskFull", "warning", f.clock.Now(), "droplet", "db-01"))...)
	f.svc.Refresh(context.Background())
	cmd := f.m.Update(SnapshotMsg{Snap: f.svc.Snapshot()})
	if cmd == nil || !f.m.hiTick {
		t.Fatal("no redraw scheduled for the end of the highlight")
	}
	a4, _ := f.svc.Snapshot().Alert("a4")
	a1, _ := f.svc.Snapshot().Alert("a1")
	if !f.m.row(a4, f.clock.Now()).hi || f.m.row(a1, f.clock.Now()).hi {
		t.Fatal("the new alert is not the only one highlighted")
	}
	f.clock.Add(HighlightFor)
	f.m.Update(highlightEndMsg{})
	if f.m.row(a4, f.clock.Now()).hi || f.m.hiTick {
		t.Fatal("still highlighted after HighlightFor")
	}
}

func TestAcknowledgeThroughTheDialogThenExpire(t *testing.T) {
	f := newFixture(t, access.Operator)
	threeAlerts(f)
	f.poll()
	f.keys("home") // the first alert, not the newest critical one the pane selects
	f.keys("a")
	if !f.m.Capturing() {
		t.Fatal("a did not open the dialog")
	}
	v := screen(f.m)
	if !strings.Contains(v, "Acknowledge AppHighErrorRate") || !strings.Contains(v, "Investigating AppHighErrorRate on prod/api") || !strings.Contains(v, "[30m]") {
		t.Fatalf("dialog:\n%s", v)
	}
	// The comment is required.
	f.keys("ctrl+u", "enter")
	if !f.m.Capturing() || !strings.Contains(screen(f.m), "a comment is required") {
		t.Fatalf("an empty comment was accepted:\n%s", screen(f.m))
	}
	// q and digits are text here, not the shell's keys.
	f.keys("'rolling back api q1", "tab", "right", "right", "right", "right") // past until resolved
	if !strings.Contains(screen(f.m), "custom") {
		t.Fatalf("no custom duration:\n%s", screen(f.m))
	}
	f.keys("'9999h", "enter")
	if !f.m.Capturing() || !strings.Contains(screen(f.m), "choose one between 1m and 168h") {
		t.Fatalf("a custom duration over the maximum was accepted:\n%s", screen(f.m))
	}
	f.keys("backspace", "backspace", "backspace", "backspace", "backspace", "'1h30m", "enter")
	if f.m.Capturing() {
		t.Fatalf("the dialog stayed open:\n%s", screen(f.m))
	}
	// The enter's command ran the acknowledgement; its toast came back.
	if len(f.am.silences) != 1 {
		t.Fatalf("%d silences created", len(f.am.silences))
	}
	sil := f.am.silences[0]
	if sil.CreatedBy != "alice" || sil.Comment != "rolling back api q1" || sil.EndsAt.Sub(sil.StartsAt) != 90*time.Minute {
		t.Fatalf("silence %+v", sil)
	}
	f.poll()
	a1, _ := f.svc.Snapshot().Alert("a1")
	if a1.State != incident.Acknowledged || !strings.Contains(screen(f.m), "ack alice 1h") {
		t.Fatalf("after the acknowledgement: %s\n%s", a1.State, screen(f.m))
	}

	msgs := f.keys("A")
	if len(msgs) != 1 {
		t.Fatalf("A gave %v, want a confirmation", msgs)
	}
	c, ok := msgs[0].(common.ConfirmMsg)
	if !ok || c.Title != "Expire silence "+sil.ID+"?" || !strings.Contains(c.Body, "rolling back api q1") {
		t.Fatalf("A asked %+v", msgs[0])
	}
	done := run(f.m, c.OnYes)
	if len(done) != 1 || done[0].(common.ToastMsg).Level != common.Success || f.am.silences[0].State != "expired" {
		t.Fatalf("expiring: %v, silence %s", done, f.am.silences[0].State)
	}
	es, err := f.journal.Query(audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range es {
		actions = append(actions, e.Actor+" "+e.Action+" "+string(e.Result))
	}
	if got := strings.Join(actions, ","); got != "alice alert.ack ok,alice alert.unack ok" {
		t.Fatalf("journal: %s", got)
	}
}

func spec(t *testing.T, m *Model, name string) components.Spec {
	t.Helper()
	for _, s := range m.Commands() {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no :%s command", name)
	return components.Spec{}
}

func TestAckDialogCancelAndPaletteCommands(t *testing.T) {
	f := newFixture(t, access.Operator)
	threeAlerts(f)
	f.poll()
	f.keys("home") // the first alert, not the newest critical one the pane selects
	f.keys("a", "esc")
	if f.m.Capturing() || len(f.am.silences) != 0 {
		t.Fatal("esc did not cancel the dialog")
	}

	// :ack with a duration and a comment acknowledges the selected alert.
	cmd, err := spec(t, f.m, "ack").Run([]string{"4h", "on", "it"})
	if err != nil {
		t.Fatal(err)
	}
	run(f.m, cmd)
	if len(f.am.silences) != 1 || f.am.silences[0].Comment != "on it" || f.am.silences[0].EndsAt.Sub(f.am.silences[0].StartsAt) != 4*time.Hour {
		t.Fatalf("silences after :ack 4h on it: %+v", f.am.silences)
	}
	if _, err := spec(t, f.m, "ack").Run([]string{"soon"}); err == nil {
		t.Fatal(":ack soon was accepted")
	}
	// :ack alone focuses the pane on the alert and opens the dialog.
	f.keys("j")
	cmd, err = spec(t, f.m, "ack").Run(nil)
	if err != nil {
		t.Fatal(err)
	}
	msgs := run(f.m, cmd)
	if len(msgs) != 1 || msgs[0] != (common.GotoMsg{Pane: common.AlertsPane, Target: "a2"}) {
		t.Fatalf(":ack asked the shell %v", msgs)
	}
	run(f.m, f.m.Update(msgs[0])) // the shell hands it back once focused
	if !f.m.Capturing() || !strings.Contains(screen(f.m), "Acknowledge HostDown") {
		t.Fatalf(":ack did not open the dialog:\n%s", screen(f.m))
	}
	f.keys("esc")

	cmd, _ = spec(t, f.m, "group").Run([]string{"severity"})
	run(f.m, cmd)
	if f.m.GroupBy() != "severity" || !strings.Contains(screen(f.m), "severity=critical") {
		t.Fatalf(":group severity:\n%s", screen(f.m))
	}
	if names := spec(t, f.m, "group").Complete(0); !slices.Contains(names, "droplet") {
		t.Fatalf(":group completes %v", names)
	}
	f.poll()
	cmd, _ = spec(t, f.m, "silences").Run(nil)
	run(f.m, cmd)
	if f.m.Mode() != "silences" || !strings.Contains(screen(f.m), "on it") || f.m.Status() != "silences · 1 active of 1" {
		t.Fatalf(":silences:\n%s", screen(f.m))
	}
}

func TestViewerCannotAcknowledgeOrExpire(t *testing.T) {
	f := newFixture(t, access.Viewer)
	threeAlerts(f)
	f.poll()
	if f.m.keys.Ack.Enabled() || f.m.keys.Unack.Enabled() {
		t.Fatal("a or the dangerous A is enabled for a viewer")
	}
	if msgs := f.keys("a"); f.m.Capturing() || len(msgs) != 0 {
		t.Fatalf("a as a viewer: dialog %v, %v", f.m.Capturing(), msgs)
	}
	if msgs := f.keys("A"); len(msgs) != 0 {
		t.Fatalf("A as a viewer gave %v", msgs)
	}
	// The palette goes to ops, which refuses and journals the refusal.
	cmd, err := spec(t, f.m, "ack").Run([]string{"1h", "x"})
	if err != nil {
		t.Fatal(err)
	}
	msgs := run(f.m, cmd)
	es, _ := f.journal.Query(audit.Query{})
	if len(f.am.silences) != 0 || len(msgs) != 1 || msgs[0].(common.ToastMsg).Level != common.Error || len(es) != 1 || es[0].Result != audit.Refused {
		t.Fatalf(":ack as a viewer: %v, journal %+v", msgs, es)
	}
}

func TestGotoWorkloadAndHost(t *testing.T) {
	f := newFixture(t, access.Operator)
	threeAlerts(f)
	f.poll()
	f.keys("home") // the first alert, not the newest critical one the pane selects
	if msgs := f.keys("g"); len(msgs) != 1 || msgs[0] != (common.GotoMsg{Pane: common.RolloutsPane, Target: "prod/api"}) {
		t.Fatalf("g: %v", msgs)
	}
	f.keys("j")
	if msgs := f.keys("h"); len(msgs) != 1 || msgs[0] != (common.GotoMsg{Pane: common.InventoryPane, Target: "web-02"}) {
		t.Fatalf("h: %v", msgs)
	}
	if msgs := f.keys("g"); len(msgs) != 1 || !strings.Contains(msgs[0].(common.ToastMsg).Text, "names no workload") {
		t.Fatalf("g on a host alert: %v", msgs)
	}
	if msgs := f.keys("l"); len(msgs) != 1 || !strings.Contains(msgs[0].(common.ToastMsg).Text, "names no workload whose logs to show") {
		t.Fatalf("l on a host alert: %v", msgs)
	}
}

// l on an alert opens its workload's logs: the Logs pane takes its
// namespace/name and the alert's start, to scroll to its lines.
func TestLogsOfTheAlertsWorkload(t *testing.T) {
	f := newFixture(t, access.Viewer)
	threeAlerts(f)
	f.poll()
	f.keys("home")
	want := common.GotoMsg{Pane: common.LogsPane, Target: "prod/api@" + f.clock.Now().Add(-3*time.Minute).UTC().Format(time.RFC3339)}
	if msgs := f.keys("l"); len(msgs) != 1 || msgs[0] != want {
		t.Fatalf("l: %v, want %v", msgs, want)
	}
}

func TestDetailGraphThresholdMarkersAndChanges(t *testing.T) {
	f := newFixture(t, access.Operator)
	threeAlerts(f)
	thr := 0.05
	f.prom.rules = []incident.Rule{{Name: "AppHighErrorRate", Expr: "error_ratio > 0.05", ValueExpr: "error_ratio", Threshold: &thr, Op: ">"}}
	now := f.clock.Now()
	var pts []incident.Point
	for i := range 60 {
		v := 0.01
		if i > 40 {
			v = 0.25
		}
		pts = append(pts, incident.Point{Time: now.Add(time.Duration(i-60) * 15 * time.Second), Value: v})
	}
	f.prom.series = []incident.Series{{Labels: map[string]string{"namespace": "prod", "deployment": "api"}, Points: pts}}
	if _, err := f.journal.Append(audit.Entry{Time: now.Add(-5 * time.Minute), Actor: "bob", Action: "release.promote",
		Target: "prod/api", Result: audit.OK}); err != nil {
		t.Fatal(err)
	}
	f.poll()
	f.keys("home") // the first alert, not the newest critical one the pane selects
	f.keys("enter")
	if f.m.Mode() != "detail" || f.m.Graph() == nil {
		t.Fatalf("enter: mode %s, graph %v", f.m.Mode(), f.m.Graph())
	}
	v := screen(f.m)
	for _, want := range []string{"AppHighErrorRate", "graph · 1h", "(w: 5m/15m/1h/6h/24h)", "query error_ratio", "threshold 0.05", "0.25┤", "error_ratio > 0.05",
		"recent changes", "bob  release.promote prod/api", "13:55", "summary", "AppHighErrorRate summary"} {
		if !strings.Contains(v, want) {
			t.Errorf("detail lacks %q:\n%s", want, v)
		}
	}
	if !strings.Contains(v, "▲") || !strings.ContainsAny(v, "⣀⠤⠒⠉") {
		t.Errorf("the graph has no marker or no line:\n%s", v)
	}
	if s := f.m.Status(); s != "AppHighErrorRate · prod/api · firing" {
		t.Errorf("status %q", s)
	}
	f.keys("w")
	if f.m.GraphWindow() != 6*time.Hour || len(f.prom.ranges) != 2 || f.prom.ranges[1].End.Sub(f.prom.ranges[1].Start) != 6*time.Hour {
		t.Fatalf("w: window %s, ranges %v", f.m.GraphWindow(), f.prom.ranges)
	}
	if !strings.Contains(screen(f.m), "graph · 6h") {
		t.Fatalf("after w:\n%s", screen(f.m))
	}
	f.keys("esc")
	if f.m.Mode() != "list" {
		t.Fatalf("esc: %s", f.m.Mode())
	}
}

func TestStaleDataShowsItsAgeAndTheError(t *testing.T) {
	f := newFixture(t, access.Operator)
	threeAlerts(f)
	f.poll()
	f.am.mu.Lock()
	f.am.err = errors.New("dial tcp 127.0.0.1:9093: connection refused")
	f.am.mu.Unlock()
	f.clock.Add(40 * time.Second)
	msgs := f.poll()
	v := screen(f.m)
	if !strings.Contains(v, "Alertmanager unreachable, showing data from 40s ago, retrying: dial tcp 127.0.0.1:9093: connection refused") ||
		!strings.Contains(v, "HostDown") || !strings.Contains(f.m.Status(), "stale") {
		t.Fatalf("stale view:\n%s\nstatus %s", v, f.m.Status())
	}
	if len(msgs) != 1 || msgs[0].(common.HealthMsg).Name != "alertmanager" || msgs[0].(common.HealthMsg).State != common.Down {
		t.Fatalf("health: %v", msgs)
	}
	// The status bar and the banner tell one age: the data's, as the clock
	// runs on between polls (they once said "am ✗ 9s" beside "15s ago").
	h := msgs[0].(common.HealthMsg)
	f.clock.Add(7 * time.Second)
	if bar := f.clock.Now().Sub(h.Since); bar != 47*time.Second || !strings.Contains(screen(f.m), "showing data from 47s ago") {
		t.Fatalf("7 s later the status bar says down for %s and the banner:\n%s", bar, screen(f.m))
	}
	f.am.mu.Lock()
	f.am.err = nil
	f.am.mu.Unlock()
	msgs = f.poll()
	if strings.Contains(screen(f.m), "unreachable") || len(msgs) != 1 || msgs[0].(common.HealthMsg).State != common.Healthy {
		t.Fatalf("after recovery: %v\n%s", msgs, screen(f.m))
	}
}

func TestSubscriptionFollowsTheServiceUntilClosed(t *testing.T) {
	f := newFixture(t, access.Operator)
	first := f.m.Init()().(tea.BatchMsg) // the current list, then the wait for a change
	f.m.Update(first[0]())
	wait := first[1]
	threeAlerts(f)
	f.svc.Refresh(context.Background())
	run(f.m, wait)
	if len(f.m.Visible()) != 3 {
		t.Fatalf("the feed delivered %d alerts", len(f.m.Visible()))
	}
	f.m.Close()
	done := make(chan tea.Msg, 1)
	go func() { done <- f.m.Wait()() }()
	select {
	case msg := <-done:
		if msg != nil {
			t.Fatalf("after Close the feed gave %T", msg)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the feed's wait did not end with Close")
	}
}

func TestSubscribingReportsTheCurrentHealth(t *testing.T) {
	f := newFixture(t, access.Operator)
	threeAlerts(f)
	f.svc.Refresh(context.Background())
	// A session opened after the first poll: New already holds its snapshot.
	m := New(f.ctx, NewKeyMap())
	m.SetSize(80, 20)
	msgs := run(m, m.Init())
	m.Close()
	health := 0
	for _, msg := range msgs {
		if _, ok := msg.(common.HealthMsg); ok {
			health++
		}
	}
	if health != 2 || !slices.Contains(msgs, tea.Msg(common.BadgeChangedMsg{})) {
		t.Fatalf("subscribing reported %v, want both sources' health and the badge", msgs)
	}
}

// FuzzFilter types arbitrary filters into the pane: it never panics, the
// list stays within the pane, and a filter either applies or shows the
// parser's error. Each input gets a pane of its own, so that a failure
// replays from its input alone.
func FuzzFilter(f *testing.F) {
	for _, s := range []string{`severity="critical",namespace=~"prod.*"`, `{alertname="HostDown"}`, `a!~"x|y"`,
		`namespace=~"(prod"`, `severity=`, `{a="b"`, `,`, `a="\"\\"`, "\x1b[31m", "日本=\"語\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		fx := newFixture(t, access.Operator)
		threeAlerts(fx)
		fx.poll()
		fx.m.SetSize(60, 12)
		fx.m.SetFilter(input)
		if fx.m.FilterError() == nil && fx.m.Filter() != input {
			t.Fatalf("filter %q kept as %q", input, fx.m.Filter())
		}
		if err := uitest.Fits(fx.m.View(), 60, 12); err != nil {
			t.Fatal("filtered list", err)
		}
		if err := fx.m.FilterError(); err != nil && !strings.Contains(ansi.Strip(fx.m.View()), "filter") {
			t.Fatalf("the error of %q is not shown", input)
		}
	})
}

// TestSilencesAndDetailMovement walks 12 silences 5 rows at a time, then
// scrolls an alert's detail: by a row, a page and to either end.
func TestSilencesAndDetailMovement(t *testing.T) {
	f := newFixture(t, access.Operator)
	threeAlerts(f)
	for i := range 12 {
		f.am.silences = append(f.am.silences, incident.Silence{ID: fmt.Sprintf("s%02d", i), State: "active",
			StartsAt: t0, EndsAt: t0.Add(time.Hour), CreatedBy: "bob", Comment: fmt.Sprintf("silence %d", i)})
	}
	f.poll()
	f.m.SetSize(120, 6)
	f.keys("S")
	l := &f.m.silences
	for _, step := range []struct {
		key         string
		pos, offset int
	}{
		{"j", 1, 0}, {"k", 0, 0}, {"k", 0, 0}, {"ctrl+d", 6, 2}, {"end", 11, 7}, {"j", 11, 7},
		{"ctrl+u", 5, 5}, {"home", 0, 0},
	} {
		f.keys(step.key)
		if l.Pos != step.pos || l.Offset != step.offset {
			t.Fatalf("silences after %s: cursor %d, offset %d; want %d, %d", step.key, l.Pos, l.Offset, step.pos, step.offset)
		}
	}
	f.keys("esc", "enter")
	d := f.m.detail
	if d == nil || len(d.lines) < 14 {
		t.Fatalf("the detail is not open with 14 lines or more: %+v", d)
	}
	n := len(d.lines)
	for _, step := range []struct {
		key string
		off int
	}{
		{"j", 1}, {"k", 0}, {"k", 0}, {"ctrl+d", 6}, {"end", n - 6}, {"j", n - 6}, {"ctrl+u", n - 12}, {"home", 0},
	} {
		f.keys(step.key)
		if d.off != step.off {
			t.Fatalf("detail after %s: offset %d, want %d", step.key, d.off, step.off)
		}
	}
}

// Issue 12, point 11: the badge says what it counts, the header's counts
// change after an ack (acked alerts counted apart), and the age counts from
// the first pending with the time in the state beside it.
func TestCountsAndAgesAfterPendingAndAck(t *testing.T) {
	f := newFixture(t, access.Operator)
	start := f.clock.Now()
	p := mkAlert("a1", "AppHighErrorRate", "critical", start, "namespace", "prod", "deployment", "api")
	p.State = incident.Pending
	f.prom.mu.Lock()
	f.prom.alerts = []incident.Alert{p}
	f.prom.mu.Unlock()
	f.poll()
	f.clock.Add(2 * time.Minute)
	firing := p
	firing.State = incident.Firing
	f.prom.mu.Lock()
	f.prom.alerts = []incident.Alert{firing}
	f.prom.mu.Unlock()
	f.am.set(mkAlert("a1", "AppHighErrorRate", "critical", f.clock.Now(), "namespace", "prod", "deployment", "api"),
		mkAlert("a2", "HostDown", "critical", f.clock.Now(), "droplet", "web-02"))
	f.poll()
	f.clock.Add(time.Minute)
	f.poll()
	if b := f.m.Badge(); b != "2 crit" {
		t.Fatalf("badge %q", b)
	}
	if s := f.m.Status(); s != "2 critical · 0 warning · 2 active" {
		t.Fatalf("status %q", s)
	}
	if !strings.Contains(screen(f.m), "firing 1m             3m") {
		t.Fatalf("a1 should be 3m old, firing for 1m:\n%s", screen(f.m))
	}
	if _, err := f.svc.Acknowledge(context.Background(), f.ctx.Actor, incident.AckRequest{Fingerprint: "a1", Duration: time.Hour, Comment: "on it"}); err != nil {
		t.Fatal(err)
	}
	f.poll()
	if b, s := f.m.Badge(), f.m.Status(); b != "1 crit 1 acked" || s != "1 critical · 0 warning · 1 acked · 2 active" {
		t.Fatalf("after the ack: badge %q, status %q", b, s)
	}
}
