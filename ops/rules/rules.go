// Package rules defines alerting rules from the console: it adds, edits and
// deletes them in the rule files vigil owns (config prometheus.rule_files),
// validates every file it would write with Prometheus's own parser
// (rulefmt), reloads Prometheus and waits until the rule is loaded. A
// reload that fails puts the previous file back. Each save carries the
// file as it was read when the form opened: a file changed meanwhile is
// refused with a diff, never overwritten. Every change is journaled with
// its diff.
package rules

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/vigilops/vigil/ops/access"
)

// Actions on rules. Deleting one stops an alert for good, so it is
// confirmed; viewers may do none of them.
var (
	ActAdd    = access.Action{Name: "add an alerting rule", MinRole: access.Operator, Mutates: true}
	ActEdit   = access.Action{Name: "edit an alerting rule", MinRole: access.Operator, Mutates: true}
	ActDelete = access.Action{Name: "delete an alerting rule", MinRole: access.Operator, Mutates: true, Dangerous: true}
)

// DefaultGroup is the rule group new rules go to.
const DefaultGroup = "vigil"

// Comparisons a definition offers, in the form's order.
var Comparisons = []string{">", ">=", "<", "<=", "==", "!="}

// Severities a definition offers; any other word is accepted too.
var Severities = []string{"critical", "warning", "info"}

// Definition is an alerting rule as the form and the CLI describe it: a
// graphed expression compared with a threshold, held for For.
type Definition struct {
	Name string
	// Expr is the graphed expression; with Op empty it is the whole
	// condition.
	Expr       string
	Op         string
	Threshold  float64
	For        time.Duration
	Severity   string
	Summary    string
	RunbookURL string
	// Group is the rule group (DefaultGroup when empty).
	Group string
}

// Condition is the rule's expression: Expr compared with Threshold,
// Expr in parentheses when it is itself a binary expression.
func (d Definition) Condition() string {
	expr := strings.TrimSpace(d.Expr)
	if d.Op == "" {
		return expr
	}
	if e, err := parser.NewParser(parser.Options{}).ParseExpr(expr); err == nil {
		if _, bin := e.(*parser.BinaryExpr); bin {
			expr = "(" + expr + ")"
		}
	}
	return expr + " " + d.Op + " " + strconv.FormatFloat(d.Threshold, 'g', -1, 64)
}

// Rule is the definition as Prometheus's rule file holds it.
func (d Definition) Rule() rulefmt.Rule {
	r := rulefmt.Rule{Alert: d.Name, Expr: d.Condition(), For: model.Duration(d.For)}
	if d.Severity != "" {
		r.Labels = map[string]string{"severity": d.Severity}
	}
	ann := map[string]string{}
	if d.Summary != "" {
		ann["summary"] = d.Summary
	}
	if d.RunbookURL != "" {
		ann["runbook_url"] = d.RunbookURL
	}
	if len(ann) > 0 {
		r.Annotations = ann
	}
	return r
}

func (d Definition) group() string {
	if d.Group == "" {
		return DefaultGroup
	}
	return d.Group
}

// DefinitionOf reads a rule of a file back into a definition: a condition
// ending in a comparison with a number is split into Expr, Op and
// Threshold.
func DefinitionOf(group string, r rulefmt.Rule) Definition {
	d := Definition{
		Name: r.Alert, Expr: strings.TrimSpace(r.Expr), For: time.Duration(r.For), Group: group,
		Severity: r.Labels["severity"], Summary: r.Annotations["summary"], RunbookURL: r.Annotations["runbook_url"],
	}
	e, err := parser.NewParser(parser.Options{}).ParseExpr(d.Expr)
	if err != nil {
		return d
	}
	bin, ok := e.(*parser.BinaryExpr)
	if !ok || !bin.Op.IsComparisonOperator() || bin.ReturnBool {
		return d
	}
	n, ok := bin.RHS.(*parser.NumberLiteral)
	if !ok {
		return d
	}
	lhs := bin.LHS
	if p, ok := lhs.(*parser.ParenExpr); ok {
		lhs = p.Expr
	}
	d.Expr, d.Op, d.Threshold = lhs.String(), bin.Op.String(), n.Val
	return d
}

// Loaded is an alerting rule as Prometheus has loaded it (/api/v1/rules).
type Loaded struct {
	File, Group, Name, Expr string
	For                     time.Duration
	Health, LastError       string
}

// Owned is a rule of a file vigil owns.
type Owned struct {
	File, Group string
	Rule        rulefmt.Rule
}

// Definition reads the rule back into a definition.
func (o Owned) Definition() Definition { return DefinitionOf(o.Group, o.Rule) }

// ParseError refuses a file that Prometheus's parser rejects: its
// messages, each with line and column in the file (and, for an
// expression, the position inside it). Nothing was written.
type ParseError struct {
	File string
	Errs []error
}

func (e *ParseError) Error() string {
	msgs := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		msgs[i] = err.Error()
	}
	return fmt.Sprintf("%s: %s (nothing was written)", e.File, strings.Join(msgs, "; "))
}

// Field names the form field the first message is about: "expr", "name",
// "for", "severity", "summary", "runbook" or "" when it cannot tell.
func (e *ParseError) Field() string {
	if len(e.Errs) == 0 {
		return ""
	}
	msg := e.Errs[0].Error()
	switch {
	case strings.Contains(msg, "expr"), strings.Contains(msg, "expression"):
		return "expr"
	case strings.Contains(msg, "'alert'"), strings.Contains(msg, "'record'"):
		return "name"
	case strings.Contains(msg, "label value"), strings.Contains(msg, "severity"):
		return "severity"
	case strings.Contains(msg, "summary"):
		return "summary"
	case strings.Contains(msg, "runbook"):
		return "runbook"
	}
	return ""
}

// ConflictError refuses a save because the file changed since it was
// read: Diff shows how (unified, from the file as read to the file now).
type ConflictError struct {
	File string
	Diff string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s changed since it was read (someone else saved a rule): nothing was written; read it again and redo the change:\n%s", e.File, e.Diff)
}

// Refused marks a conflict as a refusal: journaled as refused, exit 3.
func (e *ConflictError) Refused() bool { return true }

// NotOwnedError refuses a write to a file that is not one of
// prometheus.rule_files.
type NotOwnedError struct{ File string }

func (e *NotOwnedError) Error() string {
	return fmt.Sprintf("vigil does not own %s: it writes only the files of prometheus.rule_files in its config", e.File)
}

// Refused marks the write as refused by policy.
func (e *NotOwnedError) Refused() bool { return true }

// DeleteConfirmation is what deleting name asks first.
func DeleteConfirmation(name string) access.Confirmation {
	return access.Confirmation{Action: ActDelete, Target: Target(name), Title: "Delete alerting rule " + name + "?"}
}

// Target is a rule's name in the journal.
func Target(name string) string { return "rule/" + name }
