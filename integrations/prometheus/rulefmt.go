package prometheus

import (
	"io"
	"log/slog"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/vigilops/vigil/ops/rules"
)

var _ rules.Parser = RuleParser{}

// RuleParser is Prometheus's own rule-file and PromQL parser: what
// Prometheus runs when it loads a rule file, so that vigil refuses what
// Prometheus would refuse, with the same words.
type RuleParser struct{}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// ParseRules parses a rule file as Prometheus loads it (unknown fields
// refused, UTF-8 names): each message carries the line and column in the
// file, and for an expression the position inside it.
func (RuleParser) ParseRules(content []byte) []error {
	_, errs := rulefmt.Parse(content, false, model.UTF8Validation, parser.NewParser(parser.Options{}), discard)
	return errs
}

// Split reads `EXPR OP NUMBER` (a comparison without bool) into its parts,
// the parentheses around EXPR dropped.
func (RuleParser) Split(cond string) (expr, op string, threshold float64, ok bool) {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(cond)
	if err != nil {
		return "", "", 0, false
	}
	bin, isBin := e.(*parser.BinaryExpr)
	if !isBin || !bin.Op.IsComparisonOperator() || bin.ReturnBool {
		return "", "", 0, false
	}
	n, isNum := bin.RHS.(*parser.NumberLiteral)
	if !isNum {
		return "", "", 0, false
	}
	lhs := bin.LHS
	if p, isParen := lhs.(*parser.ParenExpr); isParen {
		lhs = p.Expr
	}
	return lhs.String(), bin.Op.String(), n.Val, true
}
