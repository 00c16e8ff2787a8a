package ruleform

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/vigilops/vigil/internal/testclock"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ops/rules"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/styles"
	"github.com/vigilops/vigil/ui/uitest"
)

type call struct {
	op, name string
	def      rules.Definition
	base     *rules.Snapshot
}

// fakeRules answers saves with errs, one per save, then success.
type fakeRules struct {
	calls []call
	reads int
	errs  []error
}

func (f *fakeRules) DefaultFile() string { return "/etc/prometheus/vigil-rules.yml" }
func (f *fakeRules) Read(file string) (*rules.Snapshot, error) {
	f.reads++
	c := []byte("groups: []\n")
	return &rules.Snapshot{File: file, Content: c, Hash: rules.Hash(c)}, nil
}
func (f *fakeRules) answer(c call) (rules.Result, error) {
	f.calls = append(f.calls, c)
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		return rules.Result{}, err
	}
	return rules.Result{File: c.base.File, Took: 42 * time.Millisecond}, nil
}
func (f *fakeRules) Add(_ context.Context, _ access.Actor, base *rules.Snapshot, d rules.Definition) (rules.Result, error) {
	return f.answer(call{"add", d.Name, d, base})
}
func (f *fakeRules) Edit(_ context.Context, _ access.Actor, base *rules.Snapshot, name string, d rules.Definition) (rules.Result, error) {
	return f.answer(call{"edit", name, d, base})
}
func (f *fakeRules) Delete(_ context.Context, _ access.Actor, base *rules.Snapshot, name string) (rules.Result, error) {
	return f.answer(call{"delete", name, rules.Definition{}, base})
}

func loadGraph() Graph {
	t0 := testclock.Epoch()
	s := incident.Series{Labels: map[string]string{"instance": "web-01"}}
	// 0.2 for 5 minutes, 0.9 for 2 minutes, 0.2 again: 15s steps.
	for i := range 40 {
		v := 0.2
		if i >= 20 && i < 28 {
			v = 0.9
		}
		s.Points = append(s.Points, incident.Point{Time: t0.Add(time.Duration(i) * 15 * time.Second), Value: v})
	}
	return Graph{Expr: "node_load1", Series: []incident.Series{s}, Start: t0, End: t0.Add(39 * 15 * time.Second), Step: 15 * time.Second}
}

func newForm(t *testing.T, svc Rules, editing string) (*Model, *uitest.Driver, *[]DoneMsg) {
	t.Helper()
	now := testclock.Epoch()
	ctx := &common.Context{Config: config.Default(), Actor: access.Actor{Name: "alice", Role: access.Operator},
		Styles: styles.New(uitest.Theme(t), false), Base: context.Background(), Now: func() time.Time { return now }}
	d := rules.Definition{Name: editing, Op: ">", Threshold: 0.5, For: 30 * time.Second}
	keys := NewKeyMap()
	var m *Model
	Bind(keys, func() *Model { return m })
	var edit *rules.Owned
	if editing != "" {
		edit = &rules.Owned{File: "/etc/prometheus/other-rules.yml", Group: "vigil", Rule: rules.Rule{Alert: editing}}
	}
	m, cmd := New(ctx, svc, keys, loadGraph(), d, edit)
	m.SetSize(80, 40)
	var closed []DoneMsg
	drv := &uitest.Driver{Update: func(msg tea.Msg) tea.Cmd {
		if d, ok := msg.(DoneMsg); ok {
			closed = append(closed, d)
			return nil
		}
		return m.Update(msg)
	}}
	drv.Drive(cmd)
	return m, drv, &closed
}

// The form opens prefilled with the graph's expression, previews when the
// rule would have fired, refuses what does not read under its field, and
// saves through the service once it does.
func TestFormSaves(t *testing.T) {
	svc := &fakeRules{}
	m, drv, closedp := newForm(t, svc, "")
	view := uitest.ASCII(t, m.View())
	for _, want := range []string{"define an alerting rule", "/etc/prometheus/vigil-rules.yml", "node_load1", "[>]", "30s", "warning",
		"would have fired once", "━"} {
		if !strings.Contains(view, want) {
			t.Errorf("view lacks %q:\n%s", want, view)
		}
	}
	if err := uitest.Fits(m.View(), 80, 40); err != nil {
		t.Error(err)
	}
	// 2 minutes above 0.5: for 3m never fires.
	drv.Press("tab", "tab", "tab", "tab")
	for range 3 {
		drv.Press("backspace")
	}
	drv.Type("3m")
	if len(m.Preview()) != 1 || m.Preview()[0].Fired() {
		t.Fatalf("for 3m: %+v", m.Preview())
	}
	if v := uitest.ASCII(t, m.View()); !strings.Contains(v, "would not have fired") {
		t.Errorf("view:\n%s", v)
	}

	// No name: said under the name, nothing saved.
	drv.Press("enter")
	if len(svc.calls) != 0 || !strings.Contains(uitest.ASCII(t, m.View()), "a name is required") {
		t.Fatalf("calls %v, view:\n%s", svc.calls, uitest.ASCII(t, m.View()))
	}
	drv.Type("HighLoad")

	// Prometheus's parser refuses: its message under the expression.
	svc.errs = []error{&rules.ParseError{File: "f", Errs: []error{errors.New(`7:15: group "vigil", rule 1, "HighLoad": could not parse expression: 1:11: parse error: unclosed left parenthesis`)}},
		&rules.ConflictError{File: "/etc/prometheus/vigil-rules.yml", Diff: "--- a\n+++ b\n+      - alert: Theirs\n"}}
	drv.Press("enter")
	view = uitest.ASCII(t, m.View())
	if !strings.Contains(view, "1:11: parse error: unclosed left parenthesis") || m.focus != fExpr {
		t.Fatalf("focus %d, view:\n%s", m.focus, view)
	}
	// The file changed meanwhile: the diff, and the file read again.
	reads := svc.reads
	drv.Press("ctrl+s")
	view = uitest.ASCII(t, m.View())
	if !strings.Contains(view, "+      - alert: Theirs") || !strings.Contains(view, "changed since the form opened") || svc.reads != reads+1 {
		t.Fatalf("reads %d, view:\n%s", svc.reads, view)
	}
	drv.Press("enter")
	closed := *closedp
	if len(closed) != 1 || closed[0].Err != nil || !strings.Contains(closed[0].Text, "added HighLoad: Prometheus loaded it in 42ms") {
		t.Fatalf("closed %+v", closed)
	}
	want := rules.Definition{Name: "HighLoad", Expr: "node_load1", Op: ">", Threshold: 0.5, For: 3 * time.Minute, Severity: "warning"}
	if c := svc.calls[2]; c.op != "add" || c.def != want {
		t.Errorf("saved %+v, want %+v", c.def, want)
	}
}

// The comparison changes with ←/→ on its field only; esc closes the form
// writing nothing; deleting an edited rule asks first.
func TestFormKeys(t *testing.T) {
	svc := &fakeRules{}
	m, drv, closed := newForm(t, svc, "HighLoad")
	drv.Press("tab", "tab", "right", "right")
	if d, _ := m.Definition(); d.Op != "<" {
		t.Errorf("op %q", d.Op)
	}
	drv.Press("tab", "left") // in the threshold: moves its cursor
	if d, _ := m.Definition(); d.Op != "<" {
		t.Errorf("op %q after ← in the threshold", d.Op)
	}
	drv.Press("ctrl+d")
	conf, ok := uitest.Last[common.ConfirmMsg](drv)
	if !ok || !strings.Contains(conf.Title, "Delete alerting rule HighLoad?") {
		t.Fatalf("confirm %+v, %v", conf, ok)
	}
	drv.Drive(conf.OnYes)
	if len(svc.calls) != 1 || svc.calls[0].op != "delete" || svc.calls[0].name != "HighLoad" || svc.calls[0].base.File != "/etc/prometheus/other-rules.yml" {
		t.Fatalf("calls %+v", svc.calls)
	}
	if len(*closed) != 1 || !strings.Contains((*closed)[0].Text, "deleted HighLoad: gone from Prometheus") {
		t.Errorf("done %+v", *closed)
	}
	// Editing saves through Edit, under the rule's name, in its file.
	svc.calls = nil
	_, drv, closed = newForm(t, svc, "HighLoad")
	drv.Press("enter")
	if len(svc.calls) != 1 || svc.calls[0].op != "edit" || svc.calls[0].name != "HighLoad" || svc.calls[0].def.Name != "HighLoad" ||
		svc.calls[0].base.File != "/etc/prometheus/other-rules.yml" || !strings.Contains((*closed)[0].Text, "edited HighLoad") {
		t.Errorf("edit: %+v, %+v", svc.calls, *closed)
	}
	_, drv, closed = newForm(t, svc, "")
	drv.Press("esc")
	if len(*closed) != 1 || !strings.Contains((*closed)[0].Text, "nothing written") {
		t.Errorf("esc: %+v", *closed)
	}
}
