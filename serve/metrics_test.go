package serve

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"net/http/httptest"

	"github.com/vigilops/vigil/ops/audit"
)

// Journaled actions are counted by action and result, and those that say
// how long they took are timed: promotions, rollbacks, playbook runs and
// rule changes alike.
func TestActionMetrics(t *testing.T) {
	m := newMetrics()
	entries := make(chan audit.Entry, 8)
	for _, e := range []audit.Entry{
		{Action: "promote", Result: audit.Failed, Parameters: map[string]string{"duration": "2s"}},
		{Action: "promote", Result: audit.Failed, Parameters: map[string]string{"duration": "4s"}},
		{Action: "roll back", Result: audit.OK, Parameters: map[string]string{"duration": "1.5s"}},
		{Action: "apply playbook", Result: audit.OK, Parameters: map[string]string{"duration": "1m30s"}},
		{Action: "add an alerting rule", Result: audit.OK, Parameters: map[string]string{"duration": "5ms"}},
		{Action: "session.open", Result: audit.OK},
		{Action: "promote", Result: audit.OK, Parameters: map[string]string{"duration": "soon"}},
	} {
		entries <- e
	}
	close(entries)
	m.countActions(entries)
	text := scrape(m)
	for _, line := range []string{
		`vigil_actions_total{action="promote",result="failed"} 2`,
		`vigil_action_duration_seconds_sum{action="promote",result="failed"} 6`,
		`vigil_action_duration_seconds_count{action="promote",result="failed"} 2`,
		`vigil_action_duration_seconds_sum{action="roll back",result="ok"} 1.5`,
		`vigil_action_duration_seconds_bucket{action="apply playbook",result="ok",le="60"} 0`,
		`vigil_action_duration_seconds_bucket{action="apply playbook",result="ok",le="120"} 1`,
		`vigil_action_duration_seconds_bucket{action="add an alerting rule",result="ok",le="0.01"} 1`,
	} {
		if !strings.Contains(text, line) {
			t.Errorf("lacks %s:\n%s", line, text)
		}
	}
	for _, untimed := range []string{`vigil_action_duration_seconds_count{action="session.open"`, `vigil_action_duration_seconds_count{action="promote",result="ok"}`} {
		if strings.Contains(text, untimed) {
			t.Errorf("an untimed action is timed (%s):\n%s", untimed, text)
		}
	}
}

func scrape(m *Metrics) string {
	rec := httptest.NewRecorder()
	m.handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return rec.Body.String()
}

// The transport an integration's client goes through counts its errors
// (no answer, or 5xx) by integration.
func TestIntegrationErrors(t *testing.T) {
	m := newMetrics()
	answers := []func() (*http.Response, error){
		func() (*http.Response, error) { return nil, errors.New("connection refused") },
		func() (*http.Response, error) { return &http.Response{StatusCode: 503, Body: http.NoBody}, nil },
		func() (*http.Response, error) { return &http.Response{StatusCode: 200, Body: http.NoBody}, nil },
		func() (*http.Response, error) { return &http.Response{StatusCode: 404, Body: http.NoBody}, nil },
	}
	i := 0
	rt := m.Transport("prometheus", roundTripFunc(func(*http.Request) (*http.Response, error) { i++; return answers[i-1]() }))
	for range answers {
		req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:9/api/v1/rules", nil)
		if resp, err := rt.RoundTrip(req); err == nil {
			resp.Body.Close()
		}
	}
	text := scrape(m)
	for _, line := range []string{
		`vigil_integration_errors_total{integration="prometheus"} 2`,
		`vigil_integration_request_duration_seconds_count{integration="prometheus",outcome="error"} 2`,
		`vigil_integration_request_duration_seconds_count{integration="prometheus",outcome="ok"} 2`,
	} {
		if !strings.Contains(text, line) {
			t.Errorf("lacks %s:\n%s", line, text)
		}
	}
}
