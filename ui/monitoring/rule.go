package monitoring

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"charm.land/bubbles/v2/help"
	tea "charm.land/bubbletea/v2"

	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ops/monitoring"
	"github.com/vigilops/vigil/ops/rules"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/ruleform"
)

// ruleDeletedMsg is a delete's result, from the rules view or a rule's
// graph.
type ruleDeletedMsg struct {
	name string
	res  rules.Result
	err  error
}

// noRuleFile is what a or d say when vigil owns no rule file.
const noRuleFile = "no rule file of vigil's: set prometheus.rule_files in the config (a file Prometheus's rule_files also lists)"

// ownedFile is the rule file of vigil's that Prometheus names promFile:
// the same path, or the same name under another directory (as ops/rules
// matches loaded rules); "" when vigil does not own it.
func ownedFile(rs *rules.Service, promFile string) string {
	if promFile == "" {
		return ""
	}
	for _, f := range rs.Files() {
		if filepath.Clean(promFile) == f {
			return f
		}
	}
	for _, f := range rs.Files() {
		if filepath.Base(promFile) == filepath.Base(f) {
			return f
		}
	}
	return ""
}

// openRuleForm opens the rule form on the graph shown, prefilled with its
// expression; on a rule's graph with its comparison, threshold, for,
// severity, summary and runbook too, and a rule of a file vigil owns is
// edited rather than copied.
func (m *Model) openRuleForm() tea.Cmd {
	g := m.graph
	if m.view != graphView || g == nil {
		return common.ToastCmd(common.Info, "open a graph first: enter on a rule, or :query EXPR 1h; then a defines an alerting rule from it")
	}
	rs := m.Ctx.Services.Rules
	if rs == nil {
		return common.ToastCmd(common.Info, noRuleFile)
	}
	act := rules.ActAdd
	var edit *rules.Owned
	def := rules.Definition{Expr: g.expr, Op: ">"}
	if r := g.src; r != nil && r.Kind == monitoring.Alerting {
		def.Op, def.For = r.Op, r.For
		if r.Threshold != nil {
			def.Threshold = *r.Threshold
		}
		def.Severity, def.Summary, def.RunbookURL = r.Labels["severity"], r.Annotations["summary"], r.Annotations["runbook_url"]
		if file := ownedFile(rs, r.File); file != "" {
			act, def.Name, def.Group = rules.ActEdit, r.Name, r.Group
			edit = &rules.Owned{File: file, Group: r.Group, Rule: rules.Rule{Alert: r.Name}}
		}
	}
	if err := m.Ctx.Guard.Check(m.Ctx.Actor, act); err != nil {
		return common.ToastCmd(common.Error, err.Error())
	}
	form, cmd := ruleform.New(m.Ctx, rs, m.keys.Form, m.formGraph(), def, edit)
	form.SetSize(m.Width, m.Height)
	m.form = form
	return cmd
}

// formGraph is the graph shown as the form previews on it: a range
// query's series over its window; an instant result previews nothing.
func (m *Model) formGraph() ruleform.Graph {
	g := m.graph
	out := ruleform.Graph{Expr: g.expr}
	if g.res == nil || g.res.Type != monitoring.Matrix || g.instant {
		return out
	}
	out.Start, out.End, out.Step = g.rng.Start, g.rng.End, g.rng.Step
	for _, s := range g.res.Matrix {
		pts := make([]incident.Point, len(s.Points))
		for i, p := range s.Points {
			pts[i] = incident.Point{Time: p.Time, Value: p.Value}
		}
		out.Series = append(out.Series, incident.Series{Labels: s.Labels, Points: pts})
	}
	return out
}

// formUpdate hands the open rule form its messages, and closes it when it
// is done; ok is false when no form is open or the message is the pane's.
func (m *Model) formUpdate(msg tea.Msg) (tea.Cmd, bool) {
	if done, ok := msg.(ruleform.DoneMsg); ok {
		m.form = nil
		if done.Err != nil {
			return common.ToastCmd(common.Error, done.Err.Error()), true
		}
		for _, did := range []string{"added", "edited", "deleted"} {
			if strings.HasPrefix(done.Text, did) {
				if did == "deleted" && m.graph != nil && m.graph.src != nil && m.view == graphView {
					m.view = rulesView // the graphed rule is gone
					m.rebuild()
				}
				// Prometheus has loaded the change: the rules view reads it.
				return tea.Batch(common.ToastCmd(common.Success, done.Text), m.reread()), true
			}
		}
		return common.ToastCmd(common.Info, done.Text), true
	}
	if m.form == nil {
		return nil, false
	}
	switch msg.(type) {
	case changedMsg, resultMsg, namesMsg, installMsg, ruleDeletedMsg:
		return nil, false // the pane's own, while the form is open
	case common.ThemeChangedMsg:
		m.form.Update(msg)
		return nil, false
	}
	return m.form.Update(msg), true
}

// reread reads Prometheus's targets and rules again.
func (m *Model) reread() tea.Cmd {
	svc, base := m.svc, m.Ctx.Base
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, Timeout)
		defer cancel()
		svc.Refresh(ctx)
		return nil
	}
}

// ruleAt is the alerting rule d acts on: the rule under the cursor in the
// rules view, or the one graphed.
func (m *Model) ruleAt() (monitoring.Rule, bool) {
	switch m.view {
	case rulesView:
		if r, ok := m.rules.Selected(); ok && r.rule.Kind == monitoring.Alerting {
			return r.rule, true
		}
	case graphView:
		if m.graph != nil && m.graph.src != nil && m.graph.src.Kind == monitoring.Alerting {
			return *m.graph.src, true
		}
	}
	return monitoring.Rule{}, false
}

// confirmDelete asks, then deletes the alerting rule under the cursor or
// graphed, when it is in a rule file vigil owns.
func (m *Model) confirmDelete() tea.Cmd {
	r, ok := m.ruleAt()
	if !ok {
		return common.ToastCmd(common.Info, "choose an alerting rule (r lists them) or open its graph; then d deletes it")
	}
	rs := m.Ctx.Services.Rules
	if rs == nil {
		return common.ToastCmd(common.Info, noRuleFile)
	}
	file := ownedFile(rs, r.File)
	if file == "" {
		return common.ToastCmd(common.Info, fmt.Sprintf("%s is in %s, which vigil does not own: it deletes only rules of prometheus.rule_files (%s)",
			r.Name, r.File, strings.Join(rs.Files(), ", ")))
	}
	if err := m.Ctx.Guard.Check(m.Ctx.Actor, rules.ActDelete); err != nil {
		return common.ToastCmd(common.Error, err.Error())
	}
	name, actor, base := r.Name, m.Ctx.Actor, m.Ctx.Base
	run := func() tea.Msg {
		snap, err := rs.Read(file)
		if err != nil {
			return ruleDeletedMsg{name: name, err: err}
		}
		ctx, cancel := context.WithTimeout(base, ruleform.SaveTimeout)
		defer cancel()
		res, err := rs.Delete(ctx, actor, snap, name)
		return ruleDeletedMsg{name: name, res: res, err: err}
	}
	return m.Ctx.Confirm(rules.DeleteConfirmation(name), "It is removed from "+file+", Prometheus is reloaded, and vigil waits until the rule is gone.", run)
}

// ruleDeleted says how a delete went; the rules view reads Prometheus again.
func (m *Model) ruleDeleted(msg ruleDeletedMsg) tea.Cmd {
	if msg.err != nil {
		return common.ToastCmd(common.Error, "delete "+msg.name+": "+msg.err.Error())
	}
	if m.view == graphView && m.graph != nil && m.graph.src != nil && m.graph.src.Name == msg.name {
		m.view = rulesView
		m.rebuild()
	}
	return tea.Batch(common.ToastCmd(common.Success, fmt.Sprintf("deleted %s: gone from Prometheus in %s", msg.name, msg.res.Took.Round(1e6))),
		m.reread())
}

// KeyMap is the pane's bindings for help, the rule form's while it is open.
func (m *Model) KeyMap() help.KeyMap {
	if m.form != nil {
		return m.form.KeyMap()
	}
	return m.Base.KeyMap()
}
