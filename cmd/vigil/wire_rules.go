package main

import (
	"context"

	"github.com/vigilops/vigil/integrations/prometheus"
	"github.com/vigilops/vigil/ops/rules"
	"github.com/vigilops/vigil/ui/common"
)

// newRules builds the rule service from prometheus.rule_files, journaling
// to j; nil when Prometheus or its rule files are not configured.
func newRules(w wiring, j rules.Journal) (*rules.Service, error) {
	p := w.cfg.Prometheus
	if p == nil || len(p.RuleFiles) == 0 {
		return nil, nil
	}
	c, err := prometheus.New(p.URL, prometheus.WithTransport(w.transport("prometheus")))
	if err != nil {
		return nil, err
	}
	return rules.NewService(p.RuleFiles, c, prometheus.RuleParser{}, j, w.guard), nil
}

// startRules sets the process's rule service, for the rule form.
func startRules(_ context.Context, w wiring, svc *common.Services) (func(), error) {
	var j rules.Journal
	if w.journal != nil {
		j = w.journal
	}
	r, err := newRules(w, j)
	if err != nil || r == nil {
		return nil, err
	}
	svc.Rules = r
	return nil, nil
}
