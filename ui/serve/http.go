package serve

import (
	"fmt"
	"net/http"
)

// WebhookPath is where the Alertmanager webhook receiver listens.
const WebhookPath = "/webhook/alertmanager"

// mux is the side HTTP listener's handler.
func (s *Server) mux() http.Handler {
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
	})
	mux.Handle("GET /metrics", s.metrics.handler())
	if h := s.opts.Services.Webhook; h != nil {
		mux.Handle("POST "+WebhookPath, h)
	}
	return mux
}
