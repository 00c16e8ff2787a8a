// Package kubernetes adapts Kubernetes clusters (one per kubeconfig
// context) to the ports of ops/release: shared informers, started once per
// process, feed the release matrix; mutations go straight to the API server.
package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vigilops/vigil/ops/release"
)

var _ release.Cluster = (*Client)(nil)

// Client is every cluster vigil talks to. Create one per process and share
// it: informers start on first use and run until the context of New ends.
type Client struct {
	ctx        context.Context
	kubeconfig string
	wrap       func(http.RoundTripper) http.RoundTripper // see WithTransport

	mu       sync.Mutex
	clusters map[string]*cluster // by kubeconfig context ("" for the current one)
}

// New returns a client for the kubeconfig file (empty: $KUBECONFIG or
// ~/.kube/config). Its informers stop when ctx ends.
func New(ctx context.Context, kubeconfig string, opts ...Option) *Client {
	c := &Client{ctx: ctx, kubeconfig: kubeconfig, clusters: map[string]*cluster{}}
	for _, set := range opts {
		set(c)
	}
	return c
}

// Option changes how a client is built.
type Option func(*Client)

// WithTransport wraps the transport of every cluster's clientset (vigil
// serve's metrics count the requests so); nil changes nothing.
func WithTransport(wrap func(http.RoundTripper) http.RoundTripper) Option {
	return func(c *Client) { c.wrap = wrap }
}

// cluster is one API server: its clientset, connection health, and the
// informers of each watched namespace.
type cluster struct {
	name   string
	cs     kubernetes.Interface
	health *health

	mu     sync.Mutex
	spaces map[string]*space // by namespace + "\x00" + selector
}

func (c *Client) cluster(name string) (*cluster, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.clusters[name]; ok {
		return cl, nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if c.kubeconfig != "" {
		rules.ExplicitPath = c.kubeconfig
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: name}).ClientConfig()
	if err != nil {
		what := "the current context"
		if name != "" {
			what = "context " + name
		}
		return nil, fmt.Errorf("cannot load %s from the kubeconfig (%s): %w; check kubernetes.kubeconfig and the environment's context", what, kubeconfigName(c.kubeconfig), err)
	}
	// Protobuf for built-in kinds, JSON as a fallback.
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	cfg.QPS, cfg.Burst = 50, 100
	cfg.UserAgent = "vigil"
	h := &health{name: name}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return &probe{next: rt, h: h} })
	if c.wrap != nil {
		cfg.Wrap(c.wrap)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cannot build a client for context %q: %w", name, err)
	}
	h.ping = func(ctx context.Context) error {
		return cs.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).Error()
	}
	cl := &cluster{name: name, cs: cs, health: h, spaces: map[string]*space{}}
	c.clusters[name] = cl
	return cl, nil
}

func kubeconfigName(p string) string {
	if p == "" {
		return "$KUBECONFIG or ~/.kube/config"
	}
	return p
}

// Pings while the API server is quiet: a hung server (stopped, or stuck on
// etcd) keeps its connections open and says nothing, so only a request with
// a deadline tells. Together they flag a hang within pingEvery+pingTimeout.
const (
	pingEvery   = time.Second
	pingTimeout = 2 * time.Second
)

// health tracks whether the API server answers. Every request and every
// byte of a watch stream passes the probe: a dead server breaks the
// watches, the informers retry, and the retries fail here until it is back.
// While someone listens and nothing came for pingEvery, a ping with a
// deadline checks that the server still answers.
type health struct {
	name     string
	lastData atomic.Int64 // unix nanoseconds of the last response or watch data
	ping     func(ctx context.Context) error

	mu         sync.Mutex
	known      bool
	connected  bool
	err        string
	listeners  map[int]func(release.Conn)
	nextID     int
	stopPinger context.CancelFunc
}

func (h *health) conn() release.Conn {
	c := release.Conn{Context: h.name, Connected: h.connected, Err: h.err}
	if ns := h.lastData.Load(); ns != 0 {
		c.LastData = time.Unix(0, ns)
	}
	return c
}

func (h *health) ok() {
	h.lastData.Store(time.Now().UnixNano())
	h.mu.Lock()
	if h.known && h.connected {
		h.mu.Unlock()
		return
	}
	h.known, h.connected, h.err = true, true, ""
	h.notify()
}

func (h *health) fail(err error) {
	h.mu.Lock()
	if h.known && !h.connected && h.err == err.Error() {
		h.mu.Unlock()
		return
	}
	h.known, h.connected, h.err = true, false, err.Error()
	h.notify()
}

// notify unlocks h.mu and calls the listeners.
func (h *health) notify() {
	c := h.conn()
	ls := make([]func(release.Conn), 0, len(h.listeners))
	for _, l := range h.listeners {
		ls = append(ls, l)
	}
	h.mu.Unlock()
	for _, l := range ls {
		l(c)
	}
}

// listen calls fn now and on every change of state, until the returned
// func is called.
func (h *health) listen(fn func(release.Conn)) func() {
	h.mu.Lock()
	if h.listeners == nil {
		h.listeners = map[int]func(release.Conn){}
	}
	id := h.nextID
	h.nextID++
	h.listeners[id] = fn
	if h.stopPinger == nil && h.ping != nil {
		ctx, cancel := context.WithCancel(context.Background())
		h.stopPinger = cancel
		go h.pinger(ctx)
	}
	c := h.conn()
	h.mu.Unlock()
	fn(c)
	return func() {
		h.mu.Lock()
		delete(h.listeners, id)
		if len(h.listeners) == 0 && h.stopPinger != nil {
			h.stopPinger()
			h.stopPinger = nil
		}
		h.mu.Unlock()
	}
}

// pinger pings the API server whenever it was quiet for pingEvery, until
// ctx ends. A ping that times out marks the server as hung; any answer
// marks it connected again (through the probe): errors of requests are the
// informers' to report.
func (h *health) pinger(ctx context.Context) {
	t := time.NewTicker(pingEvery / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if last := h.lastData.Load(); last != 0 && time.Since(time.Unix(0, last)) < pingEvery {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, pingTimeout)
		_ = h.ping(pctx) // an answer, even an error, reaches the probe
		timedOut := pctx.Err() != nil
		cancel()
		if ctx.Err() != nil {
			return
		}
		if timedOut {
			h.fail(fmt.Errorf("the API server did not answer within %s (hung or overloaded)", pingTimeout))
		}
	}
}

type probe struct {
	next http.RoundTripper
	h    *health
}

func (p *probe) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := p.next.RoundTrip(req)
	if err != nil {
		if req.Context().Err() == nil {
			p.h.fail(err)
		}
		return nil, err
	}
	p.h.ok()
	resp.Body = &probedBody{ReadCloser: resp.Body, req: req, h: p.h}
	return resp, nil
}

type probedBody struct {
	io.ReadCloser
	req    *http.Request
	h      *health
	closed atomic.Bool // errors after our own Close say nothing of the server
}

func (b *probedBody) Close() error {
	b.closed.Store(true)
	return b.ReadCloser.Close()
}

func (b *probedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.h.lastData.Store(time.Now().UnixNano())
	}
	if err != nil && !errors.Is(err, io.EOF) && !b.closed.Load() && b.req.Context().Err() == nil {
		b.h.fail(err)
	}
	return n, err
}
