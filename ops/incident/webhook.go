package incident

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"
)

// What the webhook takes, so that no sender can fill the memory that every
// session shares. Alertmanager sends a group's alerts in one post; its
// webhook_config max_alerts (the lab sets it to MaxWebhookAlertsPerPost)
// keeps a larger group within the bound. A group of 1,000 alerts with
// their labels and annotations is well below the body limit.
const (
	MaxWebhookBody          = 4 << 20
	MaxWebhookAlertsPerPost = 1000
	// MaxWebhookAlerts bounds the Alertmanager alerts held at once; a post
	// that would bring in more firing alerts is refused whole.
	MaxWebhookAlerts = 10000
)

// webhookMessage is Alertmanager's webhook payload (version 4).
type webhookMessage struct {
	Version  string         `json:"version"`
	GroupKey string         `json:"groupKey"`
	Status   string         `json:"status"`
	Receiver string         `json:"receiver"`
	Alerts   []webhookAlert `json:"alerts"`
}

type webhookAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// WebhookHandler receives Alertmanager's webhook notifications and updates
// the list at once, without waiting for the next poll. A request that is
// refused changes nothing: 415 for a body that is not application/json, 413
// for one over MaxWebhookBody, 400 for a malformed payload, 422 for one past
// the alert bounds.
func (s *Service) WebhookHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "POST an Alertmanager webhook payload here", http.StatusMethodNotAllowed)
			return
		}
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			http.Error(w, "send the payload as Content-Type: application/json", http.StatusUnsupportedMediaType)
			return
		}
		msg, err := decodeWebhook(http.MaxBytesReader(w, r.Body, MaxWebhookBody))
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			http.Error(w, fmt.Sprintf("payload over %d bytes: set max_alerts in Alertmanager's webhook_config", MaxWebhookBody), http.StatusRequestEntityTooLarge)
			return
		case err != nil:
			http.Error(w, "bad Alertmanager webhook payload: "+err.Error(), http.StatusBadRequest)
			return
		case len(msg.Alerts) > MaxWebhookAlertsPerPost:
			http.Error(w, fmt.Sprintf("%d alerts in one post, more than %d: set max_alerts: %d in Alertmanager's webhook_config",
				len(msg.Alerts), MaxWebhookAlertsPerPost, MaxWebhookAlertsPerPost), http.StatusUnprocessableEntity)
			return
		}
		if err := s.applyWebhook(msg); err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		s.flushTransitions(context.WithoutCancel(r.Context()))
		w.WriteHeader(http.StatusNoContent)
	})
}

func decodeWebhook(r io.Reader) (*webhookMessage, error) {
	dec := json.NewDecoder(r)
	var msg webhookMessage
	if err := dec.Decode(&msg); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data after the JSON object")
	}
	if msg.Version != "4" {
		return nil, fmt.Errorf("version %q: this receiver reads version 4 of the webhook format", msg.Version)
	}
	if msg.Alerts == nil {
		return nil, errors.New(`no "alerts" list`)
	}
	for i, a := range msg.Alerts {
		switch {
		case a.Status != "firing" && a.Status != "resolved":
			return nil, fmt.Errorf("alert %d: status %q is neither firing nor resolved", i, a.Status)
		case strings.TrimSpace(a.Fingerprint) == "":
			return nil, fmt.Errorf("alert %d: no fingerprint", i)
		case a.Labels["alertname"] == "":
			return nil, fmt.Errorf("alert %d: no alertname label", i)
		}
	}
	return &msg, nil
}

// applyWebhook merges a notification into Alertmanager's data: firing
// alerts are active and unmuted (Alertmanager does not notify muted ones),
// resolved ones leave the list. It refuses, changing nothing, a
// notification that would hold more than MaxWebhookAlerts.
func (s *Service) applyWebhook(msg *webhookMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	held := map[string]bool{}
	for _, w := range msg.Alerts {
		if _, ok := s.amAlerts[w.Fingerprint]; ok || held[w.Fingerprint] {
			continue
		}
		if w.Status == "firing" {
			held[w.Fingerprint] = true
		}
	}
	if n := len(s.amAlerts) + len(held); n > MaxWebhookAlerts {
		return fmt.Errorf("vigil holds at most %d alerts and this post would bring %d: the rest come with the next poll of Alertmanager", MaxWebhookAlerts, n)
	}
	// Polls started before this notification must not undo it.
	s.seq++
	s.amSeq = s.seq
	for _, w := range msg.Alerts {
		if s.o.JournalAlerts && msg.GroupKey != "" && w.Status == "firing" {
			s.groupKeys[w.Fingerprint] = msg.GroupKey
		}
		if w.Status == "resolved" {
			if _, ok := s.active[w.Fingerprint]; ok && s.o.JournalAlerts {
				s.endsAt[w.Fingerprint] = w.EndsAt // journaled as its resolution time
			}
			delete(s.amAlerts, w.Fingerprint)
			s.promAlerts = slices.DeleteFunc(s.promAlerts, func(a Alert) bool { return a.Fingerprint == w.Fingerprint })
			continue
		}
		s.amAlerts[w.Fingerprint] = Alert{
			Fingerprint:  w.Fingerprint,
			State:        Firing,
			Labels:       w.Labels,
			Annotations:  w.Annotations,
			StartsAt:     w.StartsAt,
			GeneratorURL: w.GeneratorURL,
		}
	}
	s.publish(s.o.Now())
	return nil
}
