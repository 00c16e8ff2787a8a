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
// Expr in parentheses unless it is a plain selector or function call.
func (d Definition) Condition() string {
	expr := strings.TrimSpace(d.Expr)
	if d.Op == "" {
		return expr
	}
	if needsParens(expr) {
		expr = "(" + expr + ")"
	}
	return expr + " " + d.Op + " " + strconv.FormatFloat(d.Threshold, 'g', -1, 64)
}

// needsParens reports whether expr has an operator outside brackets and
// quotes. It only decides on parentheses, which are harmless when not
// needed: Prometheus's parser judges the result.
func needsParens(expr string) bool {
	depth := 0
	var quote byte
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case quote != 0:
			if c == '\\' && quote != '`' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'' || c == '`':
			quote = c
		case c == '(' || c == '{' || c == '[':
			depth++
		case c == ')' || c == '}' || c == ']':
			depth--
		case depth == 0 && (c == ' ' || strings.IndexByte("+-*/%^<>=!", c) >= 0):
			return true
		}
	}
	return false
}

// Rule is the definition as Prometheus's rule file holds it.
func (d Definition) Rule() Rule {
	r := Rule{Alert: d.Name, Expr: d.Condition(), For: FormatDuration(d.For)}
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
// ending in a comparison with a number (as p splits it) becomes Expr, Op
// and Threshold.
func DefinitionOf(p Parser, group string, r Rule) Definition {
	forDur, _ := ParseDuration(r.For)
	d := Definition{
		Name: r.Alert, Expr: strings.TrimSpace(r.Expr), For: forDur, Group: group,
		Severity: r.Labels["severity"], Summary: r.Annotations["summary"], RunbookURL: r.Annotations["runbook_url"],
	}
	if p == nil {
		return d
	}
	if lhs, op, n, ok := p.Split(d.Expr); ok {
		d.Expr, d.Op, d.Threshold = lhs, op, n
	}
	return d
}

// RuleFile is a rule file as Prometheus reads it: every field rulefmt
// knows, so that a file vigil rewrites keeps what it does not edit.
type RuleFile struct {
	Groups []Group `yaml:"groups"`
}

// Group is a rule group.
type Group struct {
	Name        string            `yaml:"name"`
	Interval    string            `yaml:"interval,omitempty"`
	QueryOffset string            `yaml:"query_offset,omitempty"`
	Limit       int               `yaml:"limit,omitempty"`
	Rules       []Rule            `yaml:"rules"`
	Labels      map[string]string `yaml:"labels,omitempty"`
}

// Rule is a rule of a group: alerting when Alert is set.
type Rule struct {
	Record        string            `yaml:"record,omitempty"`
	Alert         string            `yaml:"alert,omitempty"`
	Expr          string            `yaml:"expr"`
	For           string            `yaml:"for,omitempty"`
	KeepFiringFor string            `yaml:"keep_firing_for,omitempty"`
	Labels        map[string]string `yaml:"labels,omitempty"`
	Annotations   map[string]string `yaml:"annotations,omitempty"`
}

// Parser is Prometheus's own parser behind a port (ops imports no SDK);
// the Prometheus integration's RuleParser is one.
type Parser interface {
	// ParseRules parses a rule file as Prometheus loads it (rulefmt):
	// nil when it loads, its messages otherwise, each with line and
	// column.
	ParseRules(content []byte) []error
	// Split reads a condition `EXPR OP NUMBER` (a comparison without
	// bool) back into its parts.
	Split(cond string) (expr, op string, threshold float64, ok bool)
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
	Rule        Rule
}

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

// FormatDuration writes d as Prometheus durations read ("1m30s", "10s",
// "250ms"), "" for zero.
func FormatDuration(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	var b strings.Builder
	for _, u := range []struct {
		unit string
		d    time.Duration
	}{{"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}} {
		if n := d / u.d; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10) + u.unit)
			d -= n * u.d
		}
	}
	return b.String()
}

// ParseDuration reads a Prometheus duration ("1h30m", "10s", "2d"), ""
// as zero.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return 0, nil
	}
	units := []struct {
		unit string
		d    time.Duration
	}{{"y", 365 * 24 * time.Hour}, {"w", 7 * 24 * time.Hour}, {"d", 24 * time.Hour}, {"h", time.Hour}, {"ms", time.Millisecond}, {"m", time.Minute}, {"s", time.Second}}
	var total time.Duration
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("duration %q: want a number and a unit (ms, s, m, h, d, w, y), like 10s or 1h30m", s)
		}
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("duration %q: %w", s, err)
		}
		rest = rest[i:]
		found := false
		for _, u := range units {
			if strings.HasPrefix(rest, u.unit) {
				total += time.Duration(n) * u.d
				rest = rest[len(u.unit):]
				found = true
				break
			}
		}
		if !found {
			return 0, fmt.Errorf("duration %q: want a number and a unit (ms, s, m, h, d, w, y), like 10s or 1h30m", s)
		}
	}
	return total, nil
}
