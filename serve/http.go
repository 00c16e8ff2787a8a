package serve

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// WebhookPath is where the Alertmanager webhook receiver listens.
const WebhookPath = "/webhook/alertmanager"

// httpTimeouts bound each request of the side HTTP listener, so that a
// client trickling its headers or its body, or holding an idle connection,
// is cut off (tests shorten them). Alertmanager posts and Prometheus
// scrapes take milliseconds.
var httpTimeouts = struct{ header, read, write, idle time.Duration }{
	header: 5 * time.Second,
	read:   30 * time.Second,
	write:  30 * time.Second,
	idle:   2 * time.Minute,
}

// httpServer builds the side HTTP listener's server: /healthz, /metrics
// and the webhook, which requires serve.webhook_token's bearer token when
// one is configured. Listening beyond loopback with no token is allowed,
// but said in the log and on /healthz.
func (s *Server) httpServer() (*http.Server, error) {
	var token string
	if t := s.opts.Serve.WebhookToken; t.Env != "" || t.File != "" {
		v, err := t.Value()
		if err != nil {
			return nil, fmt.Errorf("serve.webhook_token: %w", err)
		}
		token = v
	}
	var warning string
	if token == "" && s.opts.Services.Webhook != nil && !loopback(s.httpLn.Addr()) {
		warning = fmt.Sprintf("the Alertmanager webhook on %s is reachable beyond loopback and takes alerts from anyone: set serve.webhook_token", s.httpLn.Addr())
		s.log.Warn(warning)
	}
	return &http.Server{
		Handler:           s.mux(token, warning),
		ReadHeaderTimeout: httpTimeouts.header,
		ReadTimeout:       httpTimeouts.read,
		WriteTimeout:      httpTimeouts.write,
		IdleTimeout:       httpTimeouts.idle,
		MaxHeaderBytes:    64 << 10,
	}, nil
}

// loopback reports whether addr is a loopback address only (0.0.0.0 and ::
// are every address).
func loopback(addr net.Addr) bool {
	a, ok := addr.(*net.TCPAddr)
	return ok && a.IP.IsLoopback()
}

// mux is the side HTTP listener's handler.
func (s *Server) mux(token, warning string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		s.mu.Lock()
		closing, n := s.closing, len(s.live)
		s.mu.Unlock()
		if closing {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "ok: %d sessions\n", n)
		if warning != "" {
			fmt.Fprintf(w, "warning: %s\n", warning)
		}
	})
	mux.Handle("GET /metrics", s.metrics.handler())
	if h := s.opts.Services.Webhook; h != nil {
		if token != "" {
			h = requireBearer(token, h)
		}
		mux.Handle("POST "+WebhookPath, h)
	}
	return mux
}

// requireBearer lets through requests that carry token as Alertmanager's
// http_config authorization sends it: "Authorization: Bearer TOKEN".
func requireBearer(token string, next http.Handler) http.Handler {
	// Hashes compare in constant time whatever the lengths.
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(got))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="vigil webhook"`)
			http.Error(w, "a bearer token is required: give Alertmanager's webhook_config http_config.authorization.credentials_file the file serve.webhook_token reads", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}
