package incident

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// maxWebhookBody bounds a webhook request; Alertmanager's payloads for a
// group of thousands of alerts stay well below it.
const maxWebhookBody = 16 << 20

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
// the list at once, without waiting for the next poll. A malformed body is
// answered 400 and changes nothing.
func (s *Service) WebhookHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "POST an Alertmanager webhook payload here", http.StatusMethodNotAllowed)
			return
		}
		msg, err := decodeWebhook(http.MaxBytesReader(w, r.Body, maxWebhookBody))
		if err != nil {
			http.Error(w, "bad Alertmanager webhook payload: "+err.Error(), http.StatusBadRequest)
			return
		}
		s.applyWebhook(msg)
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
// resolved ones leave the list.
func (s *Service) applyWebhook(msg *webhookMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Polls started before this notification must not undo it.
	s.seq++
	s.amSeq = s.seq
	for _, w := range msg.Alerts {
		if w.Status == "resolved" {
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
}
