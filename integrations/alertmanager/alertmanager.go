// Package alertmanager adapts Alertmanager's API v2 (its official client)
// to ops/incident: alerts with their silenced and inhibited state, groups,
// and silences. Several URLs are the instances of one HA cluster.
package alertmanager

import (
	"net/http"

	"context"
	"errors"
	"fmt"
	httptransport "github.com/go-openapi/runtime/client"
	"net/url"
	"path"
	"sync"
	"time"

	"github.com/go-openapi/strfmt"
	amclient "github.com/prometheus/alertmanager/api/v2/client"
	"github.com/prometheus/alertmanager/api/v2/client/alert"
	"github.com/prometheus/alertmanager/api/v2/client/alertgroup"
	"github.com/prometheus/alertmanager/api/v2/client/silence"
	"github.com/prometheus/alertmanager/api/v2/models"
	"github.com/prometheus/alertmanager/matcher/parse"

	"github.com/vigilops/vigil/internal/redact"
	"github.com/vigilops/vigil/ops/incident"
)

var _ incident.Alertmanager = (*Client)(nil)

// Client talks to the instances of one Alertmanager cluster. Reads ask
// every instance and merge; writes go to the first that answers (the
// cluster gossips silences to the others).
type Client struct {
	instances []instance
}

type instance struct {
	url string // for messages: its password masked
	api *amclient.AlertmanagerAPI
}

// Option changes how a client is built.
type Option func(*options)

type options struct {
	wrap func(http.RoundTripper) http.RoundTripper
}

// WithTransport wraps the client's transport (vigil serve's metrics count
// its requests so).
func WithTransport(wrap func(http.RoundTripper) http.RoundTripper) Option {
	return func(o *options) { o.wrap = wrap }
}

// New returns a client for the Alertmanager instances at urls
// (e.g. http://127.0.0.1:9093).
func New(urls []string, opts ...Option) (*Client, error) {
	var o options
	for _, set := range opts {
		set(&o)
	}
	if len(urls) == 0 {
		return nil, errors.New("no Alertmanager url: set alertmanager.urls")
	}
	c := &Client{}
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("alertmanager url %q: want http://host:port or https://host:port", redact.URL(raw))
		}
		cfg := amclient.DefaultTransportConfig().
			WithHost(u.Host).
			WithBasePath(path.Join("/", u.Path, "api/v2")).
			WithSchemes([]string{u.Scheme})
		rt := httptransport.New(cfg.Host, cfg.BasePath, cfg.Schemes)
		if o.wrap != nil {
			rt.Transport = o.wrap(rt.Transport)
		}
		c.instances = append(c.instances, instance{url: redact.URL(raw), api: amclient.New(rt, strfmt.Default)})
	}
	return c, nil
}

// each calls f on every instance at once; it fails only when all do.
func (c *Client) each(f func(in instance) error) error {
	errs := make([]error, len(c.instances))
	var wg sync.WaitGroup
	for i, in := range c.instances {
		wg.Go(func() {
			if err := f(in); err != nil {
				errs[i] = fmt.Errorf("alertmanager %s: %w", in.url, err)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err == nil {
			return nil
		}
	}
	return errors.Join(errs...)
}

// first calls f on the instances in order until one succeeds.
func (c *Client) first(f func(in instance) error) error {
	var errs []error
	for _, in := range c.instances {
		err := f(in)
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("alertmanager %s: %w", in.url, err))
	}
	return errors.Join(errs...)
}

// Alerts returns the cluster's active, silenced and inhibited alerts, each
// once: when instances disagree, the most recently updated copy wins.
func (c *Client) Alerts(ctx context.Context) ([]incident.Alert, error) {
	var mu sync.Mutex
	latest := map[string]*models.GettableAlert{}
	err := c.each(func(in instance) error {
		res, err := in.api.Alert.GetAlerts(alert.NewGetAlertsParamsWithContext(ctx))
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, a := range res.Payload {
			if a == nil || a.Fingerprint == nil {
				continue
			}
			if old, ok := latest[*a.Fingerprint]; !ok || when(a.UpdatedAt).After(when(old.UpdatedAt)) {
				latest[*a.Fingerprint] = a
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]incident.Alert, 0, len(latest))
	for _, a := range latest {
		out = append(out, alertOf(a))
	}
	return out, nil
}

func alertOf(a *models.GettableAlert) incident.Alert {
	out := incident.Alert{
		Fingerprint:  *a.Fingerprint,
		Name:         a.Labels["alertname"],
		State:        incident.Firing,
		Labels:       map[string]string(a.Labels),
		Annotations:  map[string]string(a.Annotations),
		StartsAt:     when(a.StartsAt),
		GeneratorURL: string(a.GeneratorURL),
	}
	if a.Status != nil {
		out.SilencedBy = a.Status.SilencedBy
		out.InhibitedBy = a.Status.InhibitedBy
	}
	return out
}

// Groups returns the notification groups of the first instance that answers.
func (c *Client) Groups(ctx context.Context) ([]incident.Group, error) {
	var out []incident.Group
	err := c.first(func(in instance) error {
		res, err := in.api.Alertgroup.GetAlertGroups(alertgroup.NewGetAlertGroupsParamsWithContext(ctx))
		if err != nil {
			return err
		}
		out = make([]incident.Group, 0, len(res.Payload))
		for _, g := range res.Payload {
			grp := incident.Group{Labels: map[string]string(g.Labels)}
			if g.Receiver != nil && g.Receiver.Name != nil {
				grp.Receiver = *g.Receiver.Name
			}
			for _, a := range g.Alerts {
				if a != nil && a.Fingerprint != nil {
					grp.Alerts = append(grp.Alerts, alertOf(a))
				}
			}
			out = append(out, grp)
		}
		return nil
	})
	return out, err
}

// Silences returns the cluster's silences (active, pending and expired),
// each once, the most recently updated copy winning.
func (c *Client) Silences(ctx context.Context) ([]incident.Silence, error) {
	var mu sync.Mutex
	latest := map[string]*models.GettableSilence{}
	err := c.each(func(in instance) error {
		res, err := in.api.Silence.GetSilences(silence.NewGetSilencesParamsWithContext(ctx))
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, s := range res.Payload {
			if s == nil || s.ID == nil {
				continue
			}
			if old, ok := latest[*s.ID]; !ok || when(s.UpdatedAt).After(when(old.UpdatedAt)) {
				latest[*s.ID] = s
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]incident.Silence, 0, len(latest))
	for _, s := range latest {
		sil, err := silenceOf(s)
		if err != nil {
			return nil, err
		}
		out = append(out, sil)
	}
	return out, nil
}

func silenceOf(s *models.GettableSilence) (incident.Silence, error) {
	out := incident.Silence{
		ID:        *s.ID,
		StartsAt:  when(s.StartsAt),
		EndsAt:    when(s.EndsAt),
		CreatedBy: str(s.CreatedBy),
		Comment:   str(s.Comment),
		UpdatedAt: when(s.UpdatedAt),
	}
	if s.Status != nil {
		out.State = str(s.Status.State)
	}
	for _, m := range s.Matchers {
		if m == nil {
			continue
		}
		t := incident.MatchEqual
		switch regex, equal := m.IsRegex != nil && *m.IsRegex, m.IsEqual == nil || *m.IsEqual; {
		case regex && equal:
			t = incident.MatchRegexp
		case regex:
			t = incident.MatchNotRegexp
		case !equal:
			t = incident.MatchNotEqual
		}
		im, err := incident.NewMatcher(t, str(m.Name), str(m.Value))
		if err != nil {
			return incident.Silence{}, fmt.Errorf("silence %s: %w", out.ID, err)
		}
		out.Matchers = append(out.Matchers, im)
	}
	return out, nil
}

// CreateSilence creates s on the first instance that answers and returns
// its id; with s.ID set, it updates that silence (Alertmanager keeps the id
// when only the end or the comment change).
func (c *Client) CreateSilence(ctx context.Context, s incident.Silence) (string, error) {
	ms := make(models.Matchers, len(s.Matchers))
	for i, m := range s.Matchers {
		regex := m.Type == incident.MatchRegexp || m.Type == incident.MatchNotRegexp
		equal := m.Type == incident.MatchEqual || m.Type == incident.MatchRegexp
		ms[i] = &models.Matcher{Name: ptr(m.Name), Value: ptr(m.Value), IsRegex: &regex, IsEqual: &equal}
	}
	starts, ends := strfmt.DateTime(s.StartsAt), strfmt.DateTime(s.EndsAt)
	body := &models.PostableSilence{Silence: models.Silence{
		Matchers:  ms,
		StartsAt:  &starts,
		EndsAt:    &ends,
		CreatedBy: ptr(s.CreatedBy),
		Comment:   ptr(s.Comment),
	}}
	if s.ID != "" {
		body.ID = s.ID
	}
	var id string
	err := c.first(func(in instance) error {
		res, err := in.api.Silence.PostSilences(silence.NewPostSilencesParamsWithContext(ctx).WithSilence(body))
		if err != nil {
			return err
		}
		id = res.Payload.SilenceID
		return nil
	})
	return id, err
}

// ExpireSilence expires the silence with this id.
func (c *Client) ExpireSilence(ctx context.Context, id string) error {
	if !strfmt.IsUUID(id) {
		return fmt.Errorf("silence id %q is not a UUID: copy it from the silences list", id)
	}
	return c.first(func(in instance) error {
		_, err := in.api.Silence.DeleteSilence(silence.NewDeleteSilenceParamsWithContext(ctx).WithSilenceID(strfmt.UUID(id)))
		var notFound *silence.DeleteSilenceNotFound
		if errors.As(err, &notFound) {
			return fmt.Errorf("no silence %s (Alertmanager answered): its id is in `vigil alerts` and the silences list", id)
		}
		return err
	})
}

// ParseMatchers parses matchers with Alertmanager's own parser (the one
// amtool and Alertmanager use by default since 0.27), e.g.
// `severity="critical",namespace=~"prod.*"` or `{alertname="HostDown"}`.
// Its errors give the position of the problem, e.g.
// "0:14: end of input: expected close brace".
func ParseMatchers(input string) ([]incident.Matcher, error) {
	ms, err := parse.Matchers(input)
	if err != nil {
		return nil, err
	}
	out := make([]incident.Matcher, len(ms))
	for i, m := range ms {
		if out[i], err = incident.NewMatcher(incident.MatchType(m.Type.String()), m.Name, m.Value); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func when(t *strfmt.DateTime) time.Time {
	if t == nil {
		return time.Time{}
	}
	return time.Time(*t)
}

func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func ptr[T any](v T) *T { return &v }
