package prometheus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/vigilops/vigil/ops/monitoring"
)

var _ monitoring.Prometheus = (*Client)(nil)

// Targets implements monitoring.Targets: the active targets, by job then
// instance.
func (c *Client) Targets(ctx context.Context) ([]monitoring.Target, error) {
	res, err := c.api.Targets(ctx)
	if err != nil {
		return nil, c.wrap("targets", err)
	}
	out := make([]monitoring.Target, 0, len(res.Active))
	for _, t := range res.Active {
		health := monitoring.Unknown
		switch t.Health {
		case v1.HealthGood:
			health = monitoring.Up
		case v1.HealthBad:
			health = monitoring.Down
		}
		out = append(out, monitoring.Target{
			Job:                string(t.Labels[model.JobLabel]),
			ScrapePool:         t.ScrapePool,
			ScrapeURL:          t.ScrapeURL,
			Instance:           string(t.Labels[model.InstanceLabel]),
			Health:             health,
			LastScrape:         t.LastScrape,
			LastScrapeDuration: seconds(t.LastScrapeDuration),
			LastError:          t.LastError,
			Labels:             labelMap(t.Labels),
			DiscoveredLabels:   t.DiscoveredLabels,
		})
	}
	slices.SortFunc(out, func(a, b monitoring.Target) int {
		if c := strings.Compare(a.Job, b.Job); c != 0 {
			return c
		}
		return strings.Compare(a.Instance, b.Instance)
	})
	return out, nil
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// apiRules is /api/v1/rules as Prometheus writes it: client_golang's
// RuleGroup leaves out the groups' evaluation times.
type apiRules struct {
	Groups []struct {
		Name           string    `json:"name"`
		File           string    `json:"file"`
		Interval       float64   `json:"interval"`
		EvaluationTime float64   `json:"evaluationTime"`
		LastEvaluation time.Time `json:"lastEvaluation"`
		Rules          []struct {
			Type           string            `json:"type"`
			Name           string            `json:"name"`
			Query          string            `json:"query"`
			Duration       float64           `json:"duration"`
			Labels         map[string]string `json:"labels"`
			Annotations    map[string]string `json:"annotations"`
			State          string            `json:"state"`
			Health         string            `json:"health"`
			LastError      string            `json:"lastError"`
			EvaluationTime float64           `json:"evaluationTime"`
			LastEvaluation time.Time         `json:"lastEvaluation"`
		} `json:"rules"`
	} `json:"groups"`
}

// RuleGroups implements monitoring.Rules: every group with its alerting
// and recording rules, in Prometheus's order.
func (c *Client) RuleGroups(ctx context.Context) ([]monitoring.RuleGroup, error) {
	var res apiRules
	if err := c.get(ctx, "/api/v1/rules", &res); err != nil {
		return nil, c.wrap("rules", err)
	}
	out := make([]monitoring.RuleGroup, 0, len(res.Groups))
	for _, g := range res.Groups {
		rg := monitoring.RuleGroup{
			Name: g.Name, File: g.File, Interval: seconds(g.Interval),
			LastEvaluation: g.LastEvaluation, EvaluationTime: seconds(g.EvaluationTime),
			Rules: make([]monitoring.Rule, 0, len(g.Rules)),
		}
		for _, r := range g.Rules {
			rule := monitoring.Rule{
				Name: r.Name, Group: g.Name, File: g.File, Kind: monitoring.RuleKind(r.Type), Query: r.Query,
				For: seconds(r.Duration), Labels: r.Labels, Annotations: r.Annotations,
				State: monitoring.RuleState(r.State), Health: monitoring.Health(r.Health), LastError: r.LastError,
				EvaluationTime: seconds(r.EvaluationTime), LastEvaluation: r.LastEvaluation, ValueExpr: r.Query,
			}
			if lhs, op, n, ok := Threshold(r.Query); ok && rule.Kind == monitoring.Alerting {
				rule.ValueExpr, rule.Op, rule.Threshold = lhs, op, &n
			}
			rg.Rules = append(rg.Rules, rule)
		}
		out = append(out, rg)
	}
	return out, nil
}

// get reads an API endpoint's data into v, with Prometheus's error as a
// *monitoring.QueryError.
func (c *Client) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.raw.URL(path, nil).String(), nil)
	if err != nil {
		return err
	}
	resp, body, err := c.raw.Do(ctx, req)
	if err != nil {
		return err
	}
	var env struct {
		Status    string          `json:"status"`
		Data      json.RawMessage `json:"data"`
		ErrorType string          `json:"errorType"`
		Error     string          `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body[:min(len(body), 200)])))
	}
	if env.Status != "success" {
		return monitoring.NewQueryError(env.ErrorType, env.Error)
	}
	return json.Unmarshal(env.Data, v)
}

// Instant implements monitoring.Querier.
func (c *Client) Instant(ctx context.Context, expr string, at time.Time) (monitoring.Result, error) {
	v, warn, _, err := c.api.Query(ctx, expr, at)
	if err != nil {
		return monitoring.Result{}, c.queryErr(err)
	}
	r := result(v)
	r.Warnings = warn
	return r, nil
}

// RangeQuery implements monitoring.Querier.
func (c *Client) RangeQuery(ctx context.Context, expr string, rg monitoring.Range) (monitoring.Result, error) {
	v, warn, _, err := c.api.QueryRange(ctx, expr, v1.Range{Start: rg.Start, End: rg.End, Step: rg.Step})
	if err != nil {
		return monitoring.Result{}, c.queryErr(err)
	}
	r := result(v)
	r.Warnings = warn
	return r, nil
}

// queryErr returns Prometheus's refusal as a *monitoring.QueryError as
// is, and wraps anything else (the server unreachable) with its URL.
func (c *Client) queryErr(err error) error {
	var ae *v1.Error
	if errors.As(err, &ae) && (ae.Type == v1.ErrBadData || ae.Type == v1.ErrExec || ae.Type == v1.ErrCanceled || ae.Type == v1.ErrTimeout) {
		return monitoring.NewQueryError(string(ae.Type), ae.Msg)
	}
	return c.wrap("query", err)
}

func result(v model.Value) monitoring.Result {
	switch v := v.(type) {
	case model.Vector:
		r := monitoring.Result{Type: monitoring.Vector, Vector: make([]monitoring.Sample, len(v))}
		for i, s := range v {
			r.Vector[i] = monitoring.Sample{Labels: metricMap(s.Metric), Time: s.Timestamp.Time(), Value: float64(s.Value)}
		}
		return r
	case model.Matrix:
		r := monitoring.Result{Type: monitoring.Matrix, Matrix: make([]monitoring.Series, len(v))}
		for i, s := range v {
			pts := make([]monitoring.Point, len(s.Values))
			for j, p := range s.Values {
				pts[j] = monitoring.Point{Time: p.Timestamp.Time(), Value: float64(p.Value)}
			}
			r.Matrix[i] = monitoring.Series{Labels: metricMap(s.Metric), Points: pts}
		}
		return r
	case *model.Scalar:
		return monitoring.Result{Type: monitoring.Scalar, Scalar: &monitoring.Sample{Time: v.Timestamp.Time(), Value: float64(v.Value)}}
	case *model.String:
		return monitoring.Result{Type: monitoring.String, String: v.Value, Scalar: &monitoring.Sample{Time: v.Timestamp.Time()}}
	}
	return monitoring.Result{}
}

// MetricNames implements monitoring.Names: the values of __name__.
func (c *Client) MetricNames(ctx context.Context) ([]string, error) {
	vs, _, _, err := c.api.LabelValues(ctx, model.MetricNameLabel, nil, time.Time{}, time.Time{})
	if err != nil {
		return nil, c.wrap("metric names", err)
	}
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out, nil
}

// LabelNames implements monitoring.Names.
func (c *Client) LabelNames(ctx context.Context) ([]string, error) {
	ns, _, _, err := c.api.LabelNames(ctx, nil, time.Time{}, time.Time{})
	if err != nil {
		return nil, c.wrap("label names", err)
	}
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = string(n)
	}
	return out, nil
}
