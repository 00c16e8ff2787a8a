package activity

import (
	"strings"

	"github.com/vigilops/vigil/ops/audit"
)

// filter selects entries: `actor:NAME` matches the actor exactly,
// `target:PATH` the target or anything under PATH/, and other words must
// each appear (any case) in the actor, action, target, result, error or a
// parameter.
type filter struct {
	actor, target string
	words         []string
}

func parseFilter(s string) filter {
	var f filter
	for _, w := range strings.Fields(s) {
		switch {
		case strings.HasPrefix(w, "actor:"):
			f.actor = strings.TrimPrefix(w, "actor:")
		case strings.HasPrefix(w, "target:"):
			f.target = strings.TrimSuffix(strings.TrimPrefix(w, "target:"), "/")
		default:
			f.words = append(f.words, strings.ToLower(w))
		}
	}
	return f
}

func (f filter) match(e *audit.Entry) bool {
	if f.actor != "" && !strings.EqualFold(e.Actor, f.actor) {
		return false
	}
	if f.target != "" && e.Target != f.target && !strings.HasPrefix(e.Target, f.target+"/") {
		return false
	}
	for _, w := range f.words {
		if !containsFold(e, w) {
			return false
		}
	}
	return true
}

func containsFold(e *audit.Entry, w string) bool {
	in := func(s string) bool { return strings.Contains(strings.ToLower(s), w) }
	if in(e.Actor) || in(e.Action) || in(e.Target) || in(string(e.Result)) || in(e.Error) {
		return true
	}
	for k, v := range e.Parameters {
		if in(k) || in(v) {
			return true
		}
	}
	return false
}
