package monitoring_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	mon "github.com/vigilops/vigil/ops/monitoring"
	"github.com/vigilops/vigil/ops/rules"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/uitest"
)

// rulesProm stands for Prometheus's reload: it loads the rule file's
// alerts as they are after each reload.
type rulesProm struct {
	svc    **rules.Service
	file   string
	loaded []rules.Loaded
}

func (p *rulesProm) Reload(context.Context) error {
	snap, err := (*p.svc).Read(p.file)
	if err != nil {
		return err
	}
	p.loaded = nil
	for _, o := range snap.Rules() {
		p.loaded = append(p.loaded, rules.Loaded{File: p.file, Group: o.Group, Name: o.Rule.Alert, Expr: o.Rule.Expr})
	}
	return nil
}

func (p *rulesProm) LoadedRules(context.Context) ([]rules.Loaded, error) { return p.loaded, nil }

// acceptAll stands for Prometheus's parser, which the ui may not import:
// the pane's flow is what this tests.
type acceptAll struct{}

func (acceptAll) ParseRules([]byte) []error                    { return nil }
func (acceptAll) Split(string) (string, string, float64, bool) { return "", "", 0, false }

// withRules gives the pane a rule service over a file of its own, which
// holds one rule, LoadHigh, that Prometheus reports as loaded from it.
func withRules(t *testing.T, e *env) (string, *rulesProm, *audit.Journal) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "vigil-rules.yml")
	os.WriteFile(file, []byte("groups:\n  - name: vigil\n    rules:\n      - alert: LoadHigh\n        expr: node_load1 > 2\n        for: 1m\n        labels:\n          severity: critical\n"), 0o644)
	j, err := audit.Open(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	var rs *rules.Service
	p := &rulesProm{svc: &rs, file: file}
	rs = rules.NewService([]string{file}, p, acceptAll{}, j, e.m.Ctx.Guard)
	rs.Poll, rs.Now = time.Millisecond, func() time.Time { return e.now }
	e.m.Ctx.Services.Rules = rs
	two := 2.0
	e.p.mu.Lock()
	// Prometheus sees the file under another directory: the same name is
	// the same file.
	e.p.extra = []mon.RuleGroup{{Name: "vigil", File: "/etc/prometheus/" + filepath.Base(file), Rules: []mon.Rule{
		{Name: "LoadHigh", Group: "vigil", Kind: mon.Alerting, Query: "node_load1 > 2", ValueExpr: "node_load1", Op: ">", Threshold: &two,
			For: time.Minute, Labels: map[string]string{"severity": "critical"}, State: mon.Inactive, Health: mon.OK},
	}}}
	e.p.mu.Unlock()
	if err := e.svc.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.Drive(nil)
	return file, p, j
}

func toast(t *testing.T, e *env) common.ToastMsg {
	t.Helper()
	m, ok := uitest.Last[common.ToastMsg](&e.Driver)
	if !ok {
		t.Fatalf("no toast: %+v", e.Msgs)
	}
	return m
}

// a on a query's range graph opens the rule form prefilled with the
// expression, its preview drawn on the graph's series; saving writes
// vigil's rule file, and the pane reads Prometheus's rules again.
func TestDefineRuleFromAQueryGraph(t *testing.T) {
	e := setup(t, access.Operator, 120, 40)
	file, p, j := withRules(t, e)
	e.Press("a")
	if m := toast(t, e); !strings.Contains(m.Text, "open a graph first") || e.m.Capturing() {
		t.Fatalf("a on the targets: %+v", m)
	}
	e.query(t, "node_load15 1h")
	e.Press("a")
	s := e.screen(t)
	for _, want := range []string{"define an alerting rule", file, "node_load15", "[>]", "preview:"} {
		if !strings.Contains(s, want) {
			t.Errorf("the form lacks %q:\n%s", want, s)
		}
	}
	if !e.m.Capturing() {
		t.Fatal("the open form does not take every key")
	}
	e.Type("LoadRising")
	e.Press("tab", "tab", "tab", "backspace") // the threshold, 0
	e.Type("0.05")
	if s := e.screen(t); !strings.Contains(s, "would have fired once") {
		t.Errorf("no preview of the rising series over 0.05:\n%s", s)
	}
	e.Press("tab")
	e.Type("10s")
	e.Press("enter")
	if m := toast(t, e); m.Level != common.Success || !strings.Contains(m.Text, "added LoadRising: Prometheus loaded it in") {
		t.Fatalf("save: %+v\n%s", m, e.screen(t))
	}
	if e.m.Capturing() {
		t.Error("the form is still open after the save")
	}
	content, _ := os.ReadFile(file)
	if !strings.Contains(string(content), "alert: LoadRising") || !strings.Contains(string(content), "expr: node_load15 > 0.05") ||
		!strings.Contains(string(content), "for: 10s") {
		t.Errorf("rule file:\n%s", content)
	}
	if len(p.loaded) != 2 {
		t.Errorf("loaded %+v", p.loaded)
	}
	if _, _, _, _, ok := e.m.Graph(); !ok {
		t.Error("the graph is gone after the save")
	}
	es, err := j.Query(audit.Query{Target: "rule/LoadRising"})
	if err != nil || len(es) != 1 || es[0].Actor != "alice" {
		t.Errorf("journal %+v %v", es, err)
	}

	// esc closes the form, writing nothing.
	e.Press("a", "esc")
	if m := toast(t, e); !strings.Contains(m.Text, "nothing written") || e.m.Capturing() {
		t.Errorf("esc: %+v", m)
	}
}

// On a rule's graph, a prefills the rule's comparison, threshold and for:
// a rule of another file is copied into a new one, a rule of vigil's file
// is edited. d deletes only rules of vigil's file, after a confirmation,
// from the rules view or the rule's graph.
func TestEditAndDeleteRulesOfVigilsFile(t *testing.T) {
	e := setup(t, access.Operator, 120, 40)
	file, p, _ := withRules(t, e)
	p.Reload(context.Background())
	e.Press("r")
	e.Press("enter") // AppHighErrorRate, of /etc/prometheus/rules.yml
	e.Press("a")
	s := e.screen(t)
	for _, want := range []string{"define an alerting rule", "job:errors:ratio", "[>]", "0.05"} {
		if !strings.Contains(s, want) {
			t.Errorf("the form lacks %q:\n%s", want, s)
		}
	}
	e.Press("esc", "esc")
	e.Press("d")
	if m := toast(t, e); !strings.Contains(m.Text, "AppHighErrorRate is in /etc/prometheus/rules.yml, which vigil does not own") {
		t.Errorf("d on a rule of another file: %+v", m)
	}

	for range 10 {
		if e.m.SelectedRule() == "LoadHigh" {
			break
		}
		e.Press("down")
	}
	e.Press("enter", "a")
	s = e.screen(t)
	for _, want := range []string{"edit alerting rule LoadHigh", "node_load1", "2", "1m", "critical"} {
		if !strings.Contains(s, want) {
			t.Errorf("the form lacks %q:\n%s", want, s)
		}
	}
	e.Press("tab", "tab", "tab", "backspace")
	e.Type("3")
	e.Press("enter")
	if m := toast(t, e); m.Level != common.Success || !strings.Contains(m.Text, "edited LoadHigh") {
		t.Fatalf("edit: %+v\n%s", m, e.screen(t))
	}
	if content, _ := os.ReadFile(file); !strings.Contains(string(content), "expr: node_load1 > 3") {
		t.Errorf("rule file after the edit:\n%s", content)
	}

	// d on the rule's graph asks, then deletes; the rules view is back.
	e.Msgs = nil
	e.Press("d")
	c, ok := uitest.Last[common.ConfirmMsg](&e.Driver)
	if !ok || c.Title != "Delete alerting rule LoadHigh?" {
		t.Fatalf("no confirmation: %+v", e.Msgs)
	}
	if content, _ := os.ReadFile(file); !strings.Contains(string(content), "LoadHigh") {
		t.Fatal("deleted before the confirmation")
	}
	e.Drive(c.OnYes)
	if m := toast(t, e); m.Level != common.Success || !strings.Contains(m.Text, "deleted LoadHigh: gone from Prometheus in") {
		t.Fatalf("delete: %+v", m)
	}
	if content, _ := os.ReadFile(file); strings.Contains(string(content), "LoadHigh") {
		t.Errorf("rule file after the delete:\n%s", content)
	}
	if _, _, _, _, ok := e.m.Graph(); ok {
		t.Error("the deleted rule's graph is still shown")
	}
}

// Viewers may neither define nor delete rules.
func TestViewerMayNotDefineRules(t *testing.T) {
	e := setup(t, access.Viewer, 120, 40)
	withRules(t, e)
	e.query(t, "up 1h")
	e.Press("a")
	if m := toast(t, e); m.Level != common.Error || e.m.Capturing() {
		t.Errorf("a for a viewer: %+v", m)
	}
	e.Press("esc", "r")
	for range 10 {
		if e.m.SelectedRule() == "LoadHigh" {
			break
		}
		e.Press("down")
	}
	e.Press("d")
	if m := toast(t, e); m.Level != common.Error || !strings.Contains(m.Text, "delete an alerting rule") {
		t.Errorf("d for a viewer: %+v", m)
	}
}
