package prometheus

import (
	"strconv"
	"strings"
)

// Threshold reads the threshold of an alerting expression of the form
// `EXPR OP NUMBER` (OP one of > >= < <= == !=) where the comparison is the
// last top-level operator of the expression. It returns EXPR, the operator
// and the number; ok is false for any other shape (set operators, `bool`,
// vector matching on the right side), which is then graphed without a
// threshold. Prometheus's own PromQL parser would pull in the whole
// Prometheus server module for this one question, so this small scanner
// answers it instead.
func Threshold(expr string) (lhs, op string, n float64, ok bool) {
	depth := 0
	var quote byte
	at, opLen := -1, 0
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		if quote != 0 {
			if c == '\\' && quote != '`' {
				i++
			} else if c == quote {
				quote = 0
			}
			continue
		}
		switch {
		case c == '"' || c == '\'' || c == '`':
			quote = c
		case c == '(' || c == '{' || c == '[':
			depth++
		case c == ')' || c == '}' || c == ']':
			depth--
		case c == '#':
			return "", "", 0, false // comments: not worth reading around
		case depth > 0:
		case isWordStart(c):
			j := i
			for j < len(expr) && isWordChar(expr[j]) {
				j++
			}
			switch expr[i:j] {
			case "and", "or", "unless":
				return "", "", 0, false
			}
			i = j - 1
		case c == '>' || c == '<' || c == '=' || c == '!':
			if i+1 < len(expr) && expr[i+1] == '=' {
				at, opLen = i, 2
				i++
			} else if c == '>' || c == '<' {
				at, opLen = i, 1
			}
		}
	}
	if at < 0 || depth != 0 || quote != 0 {
		return "", "", 0, false
	}
	lhs = strings.TrimSpace(expr[:at])
	op = expr[at : at+opLen]
	if lhs == "" {
		return "", "", 0, false
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(expr[at+opLen:]), 64)
	if err != nil {
		return "", "", 0, false
	}
	return lhs, op, n, true
}

func isWordStart(c byte) bool {
	return c == '_' || c == ':' || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

func isWordChar(c byte) bool { return isWordStart(c) || (c >= '0' && c <= '9') }
