package alerts

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ops/rules"
	"github.com/vigilops/vigil/ui/common"
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
// the form's own checks and the service's flow are what this tests.
type acceptAll struct{}

func (acceptAll) ParseRules([]byte) []error                    { return nil }
func (acceptAll) Split(string) (string, string, float64, bool) { return "", "", 0, false }

// R on an alert's graph opens the rule form prefilled from the alert's
// rule; saving writes the rule file, reloads, journals, and closes the
// form with what was done.
func TestRuleFormFromTheAlertGraph(t *testing.T) {
	f := newFixture(t, access.Operator)
	threeAlerts(f)
	thr := 0.05
	f.prom.rules = []incident.Rule{{Name: "AppHighErrorRate", Expr: "error_ratio > 0.05", ValueExpr: "error_ratio", Threshold: &thr, Op: ">", For: 30 * time.Second}}
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
	file := filepath.Join(t.TempDir(), "vigil-rules.yml")
	os.WriteFile(file, []byte("groups: []\n"), 0o644)
	var svc *rules.Service
	prom := &rulesProm{svc: &svc, file: file}
	svc = rules.NewService([]string{file}, prom, acceptAll{}, f.journal, f.ctx.Guard)
	svc.Poll, svc.Now = time.Millisecond, f.clock.Now
	f.ctx.Services.Rules = svc

	f.poll()
	f.keys("home")
	if msgs := f.keys("R"); len(msgs) != 1 || !strings.Contains(msgs[0].(common.ToastMsg).Text, "open an alert (enter)") {
		t.Fatalf("R on the list: %v", msgs)
	}
	f.keys("enter")
	f.keys("R")
	v := screen(f.m)
	for _, want := range []string{"define an alerting rule", file, "error_ratio", "[>]", "0.05", "30s", "would have fired once"} {
		if !strings.Contains(v, want) {
			t.Errorf("form lacks %q:\n%s", want, v)
		}
	}
	if !f.m.Capturing() {
		t.Error("the open form does not take every key")
	}
	f.keys("'ErrorsHigh")
	msgs := f.keys("enter")
	if len(msgs) != 1 || !strings.Contains(msgs[0].(common.ToastMsg).Text, "added ErrorsHigh: Prometheus loaded it in") {
		t.Fatalf("save: %v\n%s", msgs, screen(f.m))
	}
	if f.m.Capturing() || f.m.Mode() != "detail" {
		t.Errorf("after the save: capturing %v, mode %s", f.m.Capturing(), f.m.Mode())
	}
	if len(prom.loaded) != 1 || prom.loaded[0].Expr != "error_ratio > 0.05" || prom.loaded[0].Name != "ErrorsHigh" {
		t.Errorf("loaded %+v", prom.loaded)
	}
	entries, err := f.journal.Query(audit.Query{Target: "rule/ErrorsHigh"})
	if err != nil || len(entries) != 1 || entries[0].Actor != "alice" || !strings.Contains(entries[0].Parameters["diff"], "+      - alert: ErrorsHigh") {
		t.Errorf("journal %+v, %v", entries, err)
	}

	// esc closes the form, writing nothing.
	f.keys("R")
	msgs = f.keys("esc")
	if len(msgs) != 1 || !strings.Contains(msgs[0].(common.ToastMsg).Text, "nothing written") || f.m.Capturing() {
		t.Errorf("esc: %v", msgs)
	}
}
