// Package prometheus adapts Prometheus's HTTP API (client_golang) to
// ops/incident: alerts, alerting rules, instant and range queries.
package prometheus

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/vigilops/vigil/internal/redact"
	"github.com/vigilops/vigil/ops/incident"
)

var _ incident.Prometheus = (*Client)(nil)

// Client talks to one Prometheus server.
type Client struct {
	url string // for messages: its password masked
	api v1.API
	raw api.Client // for the endpoints v1.API reads only in part
}

// Option changes how a client is built.
type Option func(*api.Config)

// WithTransport wraps the client's transport (vigil serve's metrics count
// its requests so).
func WithTransport(wrap func(http.RoundTripper) http.RoundTripper) Option {
	return func(c *api.Config) {
		if wrap == nil {
			return
		}
		base := c.RoundTripper
		if base == nil {
			base = api.DefaultRoundTripper
		}
		c.RoundTripper = wrap(base)
	}
}

// New returns a client for the Prometheus at url (e.g. http://127.0.0.1:9090).
func New(url string, opts ...Option) (*Client, error) {
	cfg := api.Config{Address: url}
	for _, set := range opts {
		set(&cfg)
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("prometheus url %q: %s", redact.URL(url), redact.Text(err.Error()))
	}
	return &Client{url: redact.URL(url), api: v1.NewAPI(c), raw: c}, nil
}

// Alerts returns Prometheus's pending and firing alerts. Their fingerprints
// are computed from their labels as Alertmanager computes them.
func (c *Client) Alerts(ctx context.Context) ([]incident.Alert, error) {
	res, err := c.api.Alerts(ctx)
	if err != nil {
		return nil, c.wrap("alerts", err)
	}
	out := make([]incident.Alert, 0, len(res.Alerts))
	for _, a := range res.Alerts {
		state := incident.Firing
		switch a.State {
		case v1.AlertStatePending:
			state = incident.Pending
		case v1.AlertStateInactive:
			continue
		}
		out = append(out, incident.Alert{
			Fingerprint: a.Labels.Fingerprint().String(),
			Name:        string(a.Labels[model.AlertNameLabel]),
			State:       state,
			Labels:      labelMap(a.Labels),
			Annotations: labelMap(a.Annotations),
			StartsAt:    a.ActiveAt,
			Value:       a.Value,
		})
	}
	return out, nil
}

// Rules returns the alerting rules, with the threshold of each read from
// its expression when it ends in a comparison with a number.
func (c *Client) Rules(ctx context.Context) ([]incident.Rule, error) {
	res, err := c.api.Rules(ctx, nil)
	if err != nil {
		return nil, c.wrap("rules", err)
	}
	var out []incident.Rule
	for _, g := range res.Groups {
		for _, r := range g.Rules {
			ar, ok := r.(v1.AlertingRule)
			if !ok {
				continue
			}
			rule := incident.Rule{
				Name:      ar.Name,
				Group:     g.Name,
				Expr:      ar.Query,
				For:       time.Duration(ar.Duration * float64(time.Second)),
				Labels:    labelMap(ar.Labels),
				ValueExpr: ar.Query,
			}
			if lhs, op, n, ok := Threshold(ar.Query); ok {
				rule.ValueExpr, rule.Op, rule.Threshold = lhs, op, &n
			}
			out = append(out, rule)
		}
	}
	return out, nil
}

// Query runs an instant query at at.
func (c *Client) Query(ctx context.Context, expr string, at time.Time) ([]incident.Sample, error) {
	v, _, _, err := c.api.Query(ctx, expr, at)
	if err != nil {
		return nil, c.wrap("query "+expr, err)
	}
	switch v := v.(type) {
	case model.Vector:
		out := make([]incident.Sample, len(v))
		for i, s := range v {
			out[i] = incident.Sample{Labels: metricMap(s.Metric), Time: s.Timestamp.Time(), Value: float64(s.Value)}
		}
		return out, nil
	case *model.Scalar:
		return []incident.Sample{{Time: v.Timestamp.Time(), Value: float64(v.Value)}}, nil
	}
	return nil, fmt.Errorf("query %s: got a %s, want a vector or scalar", expr, v.Type())
}

// QueryRange runs a range query.
func (c *Client) QueryRange(ctx context.Context, expr string, r incident.Range) ([]incident.Series, error) {
	v, _, _, err := c.api.QueryRange(ctx, expr, v1.Range{Start: r.Start, End: r.End, Step: r.Step})
	if err != nil {
		return nil, c.wrap("query_range "+expr, err)
	}
	m, ok := v.(model.Matrix)
	if !ok {
		return nil, fmt.Errorf("query_range %s: got a %s, want a matrix", expr, v.Type())
	}
	out := make([]incident.Series, len(m))
	for i, s := range m {
		pts := make([]incident.Point, len(s.Values))
		for j, p := range s.Values {
			pts[j] = incident.Point{Time: p.Timestamp.Time(), Value: float64(p.Value)}
		}
		out[i] = incident.Series{Labels: metricMap(s.Metric), Points: pts}
	}
	return out, nil
}

func (c *Client) wrap(what string, err error) error {
	return fmt.Errorf("prometheus %s: %s: %w", c.url, what, err)
}

func labelMap(ls model.LabelSet) map[string]string {
	m := make(map[string]string, len(ls))
	for k, v := range ls {
		m[string(k)] = string(v)
	}
	return m
}

func metricMap(m model.Metric) map[string]string { return labelMap(model.LabelSet(m)) }
