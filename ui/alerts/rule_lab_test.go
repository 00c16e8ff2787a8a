package alerts_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/vigilops/vigil/integrations/alertmanager"
	"github.com/vigilops/vigil/integrations/prometheus"
	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ops/rules"
	"github.com/vigilops/vigil/ui/app"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/uitest"
)

// TestLabDefineAlertFromTheGraph drives the console against the lab: on a
// firing alert's graph, R opens the rule form; a bad expression shows
// Prometheus's parser's message on screen and writes nothing; fixed, the
// rule ("up > 0.5 for 10s", true from the start) is saved, Prometheus
// reloads it, and its alert comes firing into the Alerts pane. The rule
// file is put back as it was.
func TestLabDefineAlertFromTheGraph(t *testing.T) {
	env := labtest.Env(t, "VIGIL_LAB_PROMETHEUS_URL", "VIGIL_LAB_ALERTMANAGER_URL", "VIGIL_LAB_RULES_FILE")
	promURL, amURL, file := env["VIGIL_LAB_PROMETHEUS_URL"], env["VIGIL_LAB_ALERTMANAGER_URL"], env["VIGIL_LAB_RULES_FILE"]
	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix)
	id := hex.EncodeToString(suffix)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	pc, err := prometheus.New(promURL)
	if err != nil {
		t.Fatal(err)
	}
	original, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.WriteFile(file, original, 0o644)
		pc.Reload(context.Background())
	})
	j, err := audit.Open(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	rs := rules.NewService([]string{file}, pc, prometheus.RuleParser{}, j, access.Guard{})

	// A firing alert to open: up > 0.5 at once.
	seed := "VigilUISeed" + id
	base, err := rs.Read(file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rs.Add(ctx, access.Actor{Name: "lab", Role: access.Admin}, base,
		rules.Definition{Name: seed, Expr: `up{job="prometheus"}`, Op: ">", Threshold: 0.5, Severity: "info"}); err != nil {
		t.Fatal(err)
	}

	ac, err := alertmanager.New([]string{amURL})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := incident.New(incident.Options{Prometheus: pc, Alertmanager: ac, ParseMatchers: alertmanager.ParseMatchers,
		Journal: j, Interval: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	go svc.Run(runCtx)

	actor := access.Actor{Name: "rita-" + id, Role: access.Operator, Source: "local"}
	cfg := &config.Config{Identity: config.Identity{Name: actor.Name, Role: "operator"},
		Prometheus: &config.Prometheus{URL: promURL, RuleFiles: []string{file}}, Alertmanager: &config.Alertmanager{URLs: []string{amURL}}}
	console := app.New(app.Options{Config: cfg, Theme: uitest.Theme(t), Actor: actor, Journal: j,
		Services: &common.Services{Incident: svc, Rules: rs}, Now: time.Now})
	defer console.Close()
	m := &uitest.Probe{Model: console}
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(140, 48),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.ASCII)))

	tm.Send(uitest.Key("4"))
	tm.Send(uitest.Key("/"))
	typeText(tm, `alertname=~"VigilUI.*`+id+`"`)
	tm.Send(uitest.Key("enter"))
	m.WaitForLine(t, time.Minute, seed, "firing")
	tm.Send(uitest.Key("enter"))
	m.WaitForLine(t, 20*time.Second, `query up{job="prometheus"}`)
	tm.Send(uitest.Key("R"))
	m.WaitForLine(t, 10*time.Second, "define an alerting rule", file)

	name := "VigilUILoad" + id
	typeText(tm, name)
	tm.Send(uitest.Key("tab"))
	typeText(tm, "(") // a bad expression
	tm.Send(uitest.Key("enter"))
	m.WaitFor(t, 10*time.Second, "could not parse", "unexpected") // wrapped where the path ends
	if now, _ := os.ReadFile(file); strings.Contains(string(now), name) {
		t.Fatal("a bad expression was written")
	}
	tm.Send(uitest.Key("backspace"))
	for range 3 { // expression → comparison → threshold → for
		tm.Send(uitest.Key("tab"))
	}
	typeText(tm, "10s")
	tm.Send(uitest.Key("enter"))
	confirmed := time.Now()
	m.WaitFor(t, 30*time.Second, "added "+name+": Prometheus loaded it in")
	loaded := time.Since(confirmed)
	ls, err := pc.LoadedRules(ctx)
	if err != nil || !slices.ContainsFunc(ls, func(l rules.Loaded) bool {
		return l.Name == name && l.For == 10*time.Second && l.Expr == `up{job="prometheus"} > 0.5`
	}) {
		t.Fatalf("%s not loaded as defined: %+v, %v", name, ls, err)
	}
	tm.Send(uitest.Key("esc")) // back to the list
	m.WaitForLine(t, time.Minute, name, "firing")
	onScreen := time.Since(confirmed)
	t.Logf("confirm to the toast (rule loaded) %s, to the alert firing on screen %s", loaded.Round(time.Millisecond), onScreen.Round(100*time.Millisecond))
	if onScreen < 10*time.Second {
		t.Errorf("the alert fired %s after the save, before its for of 10s", onScreen)
	}

	es, err := j.Query(audit.Query{Actor: actor.Name})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Action+" "+e.Target+" "+string(e.Result))
	}
	want := []string{"add an alerting rule rule/" + name + " failed", "add an alerting rule rule/" + name + " ok"}
	if !slices.Equal(got, want) {
		t.Errorf("journal %q, want %q", got, want)
	}
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}
