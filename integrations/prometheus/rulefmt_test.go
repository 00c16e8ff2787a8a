package prometheus

import (
	"strings"
	"testing"
)

func TestRuleParserSplit(t *testing.T) {
	for _, c := range []struct {
		cond, expr, op string
		n              float64
		ok             bool
	}{
		{"node_load1 > 0.5", "node_load1", ">", 0.5, true},
		{"(a / b) <= 1e+06", "a / b", "<=", 1e6, true},
		{`sum by (job) (rate(x{a="b"}[5m])) != 0`, `sum by (job) (rate(x{a="b"}[5m]))`, "!=", 0, true},
		{"up == bool 1", "", "", 0, false},
		{"a > b", "", "", 0, false},
		{"up", "", "", 0, false},
		{"a and b", "", "", 0, false},
		{"up >", "", "", 0, false},
	} {
		expr, op, n, ok := RuleParser{}.Split(c.cond)
		if expr != c.expr || op != c.op || n != c.n || ok != c.ok {
			t.Errorf("Split(%q) = %q %q %v %v, want %q %q %v %v", c.cond, expr, op, n, ok, c.expr, c.op, c.n, c.ok)
		}
	}
}

func TestRuleParserMessages(t *testing.T) {
	if errs := (RuleParser{}).ParseRules([]byte("groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: up == 0\n        for: 1m\n")); len(errs) != 0 {
		t.Fatalf("a valid file: %v", errs)
	}
	errs := RuleParser{}.ParseRules([]byte("groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: rate(up[1m]\n        fo: 1m\n"))
	if len(errs) == 0 || !strings.Contains(errs[0].Error(), "line 6: field fo not found") {
		t.Errorf("unknown field: %v", errs)
	}
	errs = RuleParser{}.ParseRules([]byte("groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: rate(up[1m]\n"))
	if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), `5:15: group "a", rule 1, "A": could not parse expression: 1:`) {
		t.Errorf("bad expression: %v", errs)
	}
}
