package prometheus

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/vigilops/vigil/internal/redact"
	"github.com/vigilops/vigil/ops/rules"
)

var _ rules.Prometheus = (*Client)(nil)

// Reload asks Prometheus to reload its configuration and rule files
// (POST /-/reload, which Prometheus answers once the reload is done). It
// needs Prometheus to run with --web.enable-lifecycle; without it, and
// when the new rules do not load, the error carries Prometheus's words.
func (c *Client) Reload(ctx context.Context) error {
	u := c.raw.URL("/-/reload", nil)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return c.wrap("reload", err)
	}
	resp, body, err := c.raw.Do(ctx, req)
	if err != nil {
		return c.wrap("reload", fmt.Errorf("%s", redact.Text(err.Error())))
	}
	if resp.StatusCode/100 != 2 {
		msg := strings.TrimSpace(string(body))
		if len(msg) > 500 {
			msg = msg[:500] + "…"
		}
		hint := ""
		if resp.StatusCode == http.StatusForbidden {
			hint = " (start Prometheus with --web.enable-lifecycle)"
		}
		return c.wrap("reload", fmt.Errorf("%s: %s%s", resp.Status, msg, hint))
	}
	return nil
}

// LoadedRules returns the alerting rules Prometheus has loaded, with the
// file each came from.
func (c *Client) LoadedRules(ctx context.Context) ([]rules.Loaded, error) {
	res, err := c.api.Rules(ctx, nil)
	if err != nil {
		return nil, c.wrap("rules", err)
	}
	var out []rules.Loaded
	for _, g := range res.Groups {
		for _, r := range g.Rules {
			ar, ok := r.(v1.AlertingRule)
			if !ok {
				continue
			}
			out = append(out, rules.Loaded{
				File:      g.File,
				Group:     g.Name,
				Name:      ar.Name,
				Expr:      ar.Query,
				For:       time.Duration(ar.Duration * float64(time.Second)),
				Health:    string(ar.Health),
				LastError: ar.LastError,
			})
		}
	}
	return out, nil
}
