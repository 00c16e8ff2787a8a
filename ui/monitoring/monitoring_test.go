package monitoring_test

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/vigilops/vigil/internal/testclock"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/inventory"
	mon "github.com/vigilops/vigil/ops/monitoring"
	"github.com/vigilops/vigil/ops/playbook"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/monitoring"
	"github.com/vigilops/vigil/ui/uitest"
)

var t0 = testclock.Epoch()

// prom is a Prometheus of fixed answers that records the queries it got.
type prom struct {
	mu      sync.Mutex
	err     error // of targets and rules
	qerr    error // of queries
	queries []string
	ranges  []mon.Range
	extra   []mon.RuleGroup // after the fixed groups
}

func (p *prom) Targets(context.Context) ([]mon.Target, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return nil, p.err
	}
	tg := func(job, inst string, h mon.Health, ago time.Duration, took time.Duration, lastErr string, labels ...string) mon.Target {
		ls := map[string]string{"job": job, "instance": inst}
		for i := 0; i+1 < len(labels); i += 2 {
			ls[labels[i]] = labels[i+1]
		}
		return mon.Target{Job: job, ScrapePool: job, ScrapeURL: "http://" + inst + "/metrics", Instance: inst, Health: h,
			LastScrape: t0.Add(-ago), LastScrapeDuration: took, LastError: lastErr, Labels: ls}
	}
	return []mon.Target{
		tg("droplets", "10.0.0.1:9100", mon.Up, 3*time.Second, 12*time.Millisecond, "", "droplet", "web-1", "region", "ams3"),
		tg("droplets", "10.0.0.2:9100", mon.Down, 4*time.Second, 0, "dial tcp 10.0.0.2:9100: connect: connection refused", "droplet", "web-2", "region", "ams3"),
		tg("droplets", "10.0.0.9:9100", mon.Down, 2*time.Second, 0, "dial tcp 10.0.0.9:9100: i/o timeout", "droplet", "gone-1"),
		tg("prometheus", "127.0.0.1:9090", mon.Up, time.Second, 4*time.Millisecond, ""),
	}, nil
}

func (p *prom) RuleGroups(context.Context) ([]mon.RuleGroup, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return nil, p.err
	}
	th := 0.05
	return append([]mon.RuleGroup{
		{Name: "app", File: "/etc/prometheus/rules.yml", Interval: 5 * time.Second, Rules: []mon.Rule{
			{Name: "AppHighErrorRate", Group: "app", Kind: mon.Alerting, Query: "job:errors:ratio > 0.05", ValueExpr: "job:errors:ratio", Op: ">", Threshold: &th,
				State: mon.Firing, Health: mon.OK, EvaluationTime: 800 * time.Microsecond},
			{Name: "job:errors:ratio", Group: "app", Kind: mon.Recording, Query: "sum(rate(errors[1m]))", ValueExpr: "sum(rate(errors[1m]))", Health: mon.OK, EvaluationTime: 2 * time.Millisecond},
		}},
		{Name: "hosts", File: "/etc/prometheus/rules.yml", Interval: 5 * time.Second, Rules: []mon.Rule{
			{Name: "HostDown", Group: "hosts", Kind: mon.Alerting, Query: `up{job="droplets"} == 0`, ValueExpr: `up{job="droplets"}`, State: mon.Pending,
				Health: mon.Err, LastError: "many-to-many matching not allowed", EvaluationTime: 1500 * time.Millisecond},
		}},
	}, p.extra...), nil
}

func (p *prom) Instant(_ context.Context, expr string, at time.Time) (mon.Result, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.queries = append(p.queries, expr)
	if p.qerr != nil {
		return mon.Result{}, p.qerr
	}
	return mon.Result{Type: mon.Vector, Vector: []mon.Sample{
		{Labels: map[string]string{"__name__": "up", "job": "droplets", "instance": "10.0.0.1:9100"}, Time: at, Value: 1},
		{Labels: map[string]string{"__name__": "up", "job": "droplets", "instance": "10.0.0.2:9100"}, Time: at, Value: 0},
	}}, nil
}

func (p *prom) RangeQuery(_ context.Context, expr string, r mon.Range) (mon.Result, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.queries = append(p.queries, expr)
	p.ranges = append(p.ranges, r)
	if p.qerr != nil {
		return mon.Result{}, p.qerr
	}
	var pts []mon.Point
	for ts := r.Start; !ts.After(r.End); ts = ts.Add(r.Step) {
		f := float64(ts.Sub(r.Start)) / float64(r.End.Sub(r.Start))
		pts = append(pts, mon.Point{Time: ts, Value: 0.1 * f})
	}
	return mon.Result{Type: mon.Matrix, Matrix: []mon.Series{{Labels: map[string]string{"job": "shop"}, Points: pts}}}, nil
}

func (p *prom) MetricNames(context.Context) ([]string, error) {
	return []string{"node_load1", "node_load15", "node_memory_MemTotal_bytes", "up"}, nil
}
func (p *prom) LabelNames(context.Context) ([]string, error) { return []string{"instance", "job"}, nil }

type inv struct{ st *inventory.State }

func (i inv) State() *inventory.State { return i.st }

type runs struct {
	mu   sync.Mutex
	reqs []playbook.Request
}

func (r *runs) Start(_ context.Context, _ access.Actor, req playbook.Request) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, req)
	return "20261207-1", nil
}
func (r *runs) Done(string) <-chan struct{}         { return make(chan struct{}) }
func (r *runs) Run(id string) (playbook.Run, error) { return playbook.Run{ID: id}, nil }

type env struct {
	uitest.Driver
	p    *prom
	runs *runs
	svc  *mon.Service
	m    *monitoring.Model
	now  time.Time
}

func setup(t *testing.T, role access.Role, w, h int) *env {
	t.Helper()
	e := &env{p: &prom{}, runs: &runs{}, now: t0}
	hosts := []inventory.Host{
		{Name: "bare-1", Status: "active", PublicIPv4: "10.0.0.5"},
		{Name: "web-1", Status: "active", PublicIPv4: "10.0.0.1"},
		{Name: "web-2", Status: "active", PublicIPv4: "10.0.0.2"},
	}
	clock := func() time.Time { return e.now }
	svc, err := mon.New(mon.Options{Prometheus: e.p, Inventory: inv{st: &inventory.State{Hosts: hosts, Fetched: t0}}, Runs: e.runs,
		FileSD: t.TempDir() + "/sd.json", Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	if err := svc.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := &common.Context{Config: config.Default(), Actor: access.Actor{Name: "alice", Role: role, Source: "local"},
		Services: &common.Services{Monitoring: svc}, Base: context.Background(), Now: clock}
	ctx.SetTheme(uitest.Theme(t))
	e.m = monitoring.New(ctx, svc, monitoring.NewKeyMap())
	e.Driver.Update = e.m.Update
	e.m.SetSize(w, h)
	t.Cleanup(e.m.Close)
	e.Drive(e.m.Init())
	return e
}

// screen is the pane's text, checked to fit its size.
func (e *env) screen(t *testing.T) string {
	t.Helper()
	if err := uitest.Fits(e.m.View(), e.m.Width, e.m.Height); err != nil {
		t.Fatal(err)
	}
	return ansi.Strip(e.m.View())
}

// snap compares the pane, as the ASCII profile draws it, with
// testdata/TEST/name.golden.
func (e *env) snap(t *testing.T, name string) {
	t.Helper()
	s := uitest.ASCII(t, e.m.View())
	t.Run(name, func(t *testing.T) { golden.RequireEqual(t, s) })
}

func (e *env) query(t *testing.T, text string) {
	t.Helper()
	for _, c := range e.m.Commands() {
		if c.Name == "query" {
			var args []string
			if text != "" {
				args = []string{text}
			}
			cmd, err := c.Run(args)
			if err != nil {
				t.Fatal(err)
			}
			e.Drive(cmd)
			return
		}
	}
	t.Fatal("no :query")
}

func TestTargets(t *testing.T) {
	e := setup(t, access.Operator, 140, 24)
	s := e.screen(t)
	for _, want := range []string{"⚑ not scraped", "bare-1", "no target", "web-2", "connection refused", "⚑ stale", "gone-1",
		"droplets", "3s ago", "12ms", "droplet=web-1,region=ams3", "prometheus"} {
		if !strings.Contains(s, want) {
			t.Errorf("%q is missing:\n%s", want, s)
		}
	}
	if st := e.m.Status(); st != "4 targets · 2 up · 3 flagged" {
		t.Errorf("status %q", st)
	}
	e.snap(t, "targets")

	e.m.SetFilter("DOWN ams3")
	s = e.screen(t)
	if strings.Contains(s, "10.0.0.1:9100") || strings.Contains(s, "prometheus") || !regexp.MustCompile(`(?m)^droplets +10\.0\.0\.2:9100 +down`).MatchString(s) {
		t.Fatalf("filter down ams3: the row and its job:\n%s", s)
	}
	e.m.SetFilter("")
	if s = e.screen(t); !strings.Contains(s, "prometheus") {
		t.Fatalf("no filter:\n%s", s)
	}
}

func TestInstall(t *testing.T) {
	e := setup(t, access.Viewer, 100, 24)
	e.Press("i")
	if m, ok := uitest.Last[common.ToastMsg](&e.Driver); !ok || m.Level != common.Error || !strings.Contains(m.Text, "viewer") {
		t.Fatalf("a viewer: %+v", e.Msgs)
	}
	e = setup(t, access.Operator, 100, 24)
	e.Press("i") // bare-1, the first flagged host
	c, ok := uitest.Last[common.ConfirmMsg](&e.Driver)
	if !ok || !strings.Contains(c.Title, "bare-1") {
		t.Fatalf("no confirmation: %+v", e.Msgs)
	}
	e.Drive(c.OnYes)
	if m, ok := uitest.Last[common.ToastMsg](&e.Driver); !ok || m.Level != common.Success || !strings.Contains(m.Text, "run 20261207-1") {
		t.Fatalf("%+v", e.Msgs)
	}
	if len(e.runs.reqs) != 1 || e.runs.reqs[0].Playbook != mon.InstallPlaybook || !slices.Equal(e.runs.reqs[0].Target.Hosts, []string{"bare-1"}) {
		t.Fatalf("%+v", e.runs.reqs)
	}
	if s := e.screen(t); !strings.Contains(s, "installing") {
		t.Fatalf("the host does not show its install:\n%s", s)
	}
	// A stale target has nothing to install.
	e.Press("down", "down", "i")
	if m, ok := uitest.Last[common.ToastMsg](&e.Driver); !ok || m.Level != common.Info {
		t.Fatalf("%+v", e.Msgs)
	}
}

func TestRulesAndGraph(t *testing.T) {
	e := setup(t, access.Operator, 120, 24)
	e.Press("r")
	s := e.screen(t)
	for _, want := range []string{"app", "AppHighErrorRate", "firing", "recording", "hosts", "HostDown", "pending", "err", "many-to-many", "800µs", "1.5s", "/etc/prometheus/rules.yml"} {
		if !strings.Contains(s, want) {
			t.Errorf("%q is missing:\n%s", want, s)
		}
	}
	e.snap(t, "rules")
	e.Press("enter")
	expr, th, res, err, ok := e.m.Graph()
	if !ok || expr != "job:errors:ratio" || th == nil || *th != 0.05 || err != nil || res == nil {
		t.Fatalf("graph %q %v %+v %v", expr, th, res, err)
	}
	if r := e.p.ranges[0]; !r.End.Equal(t0) || r.End.Sub(r.Start) != time.Hour {
		t.Fatalf("range %+v", r)
	}
	s = e.screen(t)
	if !strings.Contains(s, "┄ threshold > 0.05") || !strings.Contains(s, "┄") {
		t.Fatalf("no threshold:\n%s", s)
	}
	e.snap(t, "rule-graph")
	e.Press("w")
	if r := e.p.ranges[1]; r.End.Sub(r.Start) != 6*time.Hour {
		t.Fatalf("w: %+v", r)
	}
	e.Press("esc")
	if _, _, _, _, ok := e.m.Graph(); ok {
		t.Fatal("esc did not close the graph")
	}
}

func TestQueryTableAndGraph(t *testing.T) {
	e := setup(t, access.Operator, 100, 24)
	e.query(t, `up{job="droplets"}`)
	if g, ok := uitest.Last[common.GotoMsg](&e.Driver); !ok || g.Pane != common.MonitoringPane {
		t.Fatalf("no goto: %+v", e.Msgs)
	}
	s := e.screen(t)
	if e.p.queries[0] != `up{job="droplets"}` || !strings.Contains(s, `up{instance="10.0.0.2:9100", job="droplets"}`) || !strings.Contains(s, "2 series") {
		t.Fatalf("%q\n%s", e.p.queries, s)
	}
	e.snap(t, "query-table")

	e.query(t, "rate(node_cpu_seconds_total[5m]) 15m")
	if q, r := e.p.queries[1], e.p.ranges[0]; q != "rate(node_cpu_seconds_total[5m])" || r.End.Sub(r.Start) != 15*time.Minute {
		t.Fatalf("%q %+v", q, r)
	}
	e.snap(t, "query-graph")
}

func TestQueryError(t *testing.T) {
	e := setup(t, access.Operator, 100, 24)
	e.p.qerr = mon.NewQueryError("bad_data", `invalid parameter "query": 1:17: parse error: unclosed left parenthesis`)
	e.query(t, "sum(rate(up[5m])")
	if !e.m.Capturing() {
		t.Fatal("the prompt is not open")
	}
	s := e.screen(t)
	lines := strings.Split(s, "\n")
	i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "> sum(rate(up[5m])") })
	if i < 0 || i+2 >= len(lines) || strings.Index(lines[i+1], "^") != 2+16 || !strings.Contains(lines[i+2], "1:17: parse error: unclosed left parenthesis (line 1, column 17)") {
		t.Fatalf("the error is not under the prompt, with a caret at column 17:\n%s", s)
	}
	e.snap(t, "query-error")

	// Fixed in the prompt, run again.
	e.p.qerr = nil
	e.Type(")")
	e.Press("enter")
	if e.m.Capturing() || e.p.queries[len(e.p.queries)-1] != "sum(rate(up[5m]))" {
		t.Fatalf("%q", e.p.queries)
	}
}

func TestCompletion(t *testing.T) {
	e := setup(t, access.Operator, 100, 24)
	e.query(t, "")
	e.Type("rate(node_lo")
	e.Press("tab")
	if s := e.screen(t); !strings.Contains(s, "> rate(node_load1") || !strings.Contains(s, "tab: node_load1 node_load15") {
		t.Fatalf("tab:\n%s", s)
	}
	e.Press("tab")
	if s := e.screen(t); !strings.Contains(s, "> rate(node_load15") {
		t.Fatalf("tab again:\n%s", s)
	}
	// The palette completes the same names in :query.
	for _, c := range e.m.Commands() {
		if c.Name == "query" && !slices.Contains(c.Complete(0), "instance") {
			t.Fatalf("%v", c.Complete(0))
		}
	}
}

func TestUnreachable(t *testing.T) {
	e := setup(t, access.Operator, 100, 24)
	e.p.mu.Lock()
	e.p.err = errors.New("dial tcp 127.0.0.1:9090: connect: connection refused")
	e.p.mu.Unlock()
	e.now = t0.Add(time.Minute)
	e.svc.Refresh(context.Background())
	e.Drive(nil)
	s := e.screen(t)
	if !strings.Contains(s, "Prometheus unreachable: data from 1m ago, retrying by itself") || !strings.Contains(s, "web-2") {
		t.Fatalf("%s", s)
	}
	if !strings.HasSuffix(e.m.Status(), "Prometheus unreachable") {
		t.Fatal(e.m.Status())
	}
}
