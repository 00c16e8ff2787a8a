package incident_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/vigilops/vigil/ops/incident"
)

func post(h http.Handler, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(body)))
	return rec
}

// The payload in testdata was sent by Alertmanager 0.25 to a webhook
// receiver; integrations/alertmanager has a receiver a live Alertmanager
// sends to.
func TestWebhookCapturedPayload(t *testing.T) {
	body, err := os.ReadFile("testdata/webhook-firing-am0.25.json")
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	h := f.svc.WebhookHandler()
	if rec := post(h, string(body)); rec.Code != http.StatusNoContent {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	a, ok := f.svc.Snapshot().Alert("003ca9a25e202368")
	if !ok || a.State != incident.Firing || a.Workload != "prod/api" || a.Severity != incident.Critical || a.Annotations["summary"] != "api 5xx above 5%" {
		t.Fatalf("after the webhook: %+v, %v", a, ok)
	}
	resolved := strings.ReplaceAll(string(body), `"status":"firing"`, `"status":"resolved"`)
	if rec := post(h, resolved); rec.Code != http.StatusNoContent {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if a, _ := f.svc.Snapshot().Alert("003ca9a25e202368"); a.State != incident.Resolved {
		t.Fatalf("after the resolved notification: %+v", a)
	}
}

func TestWebhookRejectsMalformed(t *testing.T) {
	f := newFixture(t)
	f.am.set([]incident.Alert{mkAlert("a1", "HostDown", "critical", f.clock.Now())}, nil)
	f.svc.Refresh(context.Background())
	before := f.svc.Snapshot()
	h := f.svc.WebhookHandler()
	good := `{"version":"4","status":"resolved","alerts":[{"status":"resolved","fingerprint":"a1","labels":{"alertname":"HostDown"}}]}`
	for _, body := range []string{
		``,
		`not json`,
		`{"version":"4","alerts":[`,
		`{"version":"3","alerts":[]}`,
		`{"version":"4"}`,
		`{"version":"4","alerts":{"a":1}}`,
		`{"version":"4","alerts":[{"status":"resolved","labels":{"alertname":"HostDown"}}]}`,
		`{"version":"4","alerts":[{"status":"gone","fingerprint":"a1","labels":{"alertname":"HostDown"}}]}`,
		`{"version":"4","alerts":[{"status":"firing","fingerprint":"zz","labels":{}}]}`,
		good + `{}`,
		// One bad alert spoils the whole payload: nothing is applied.
		`{"version":"4","alerts":[{"status":"resolved","fingerprint":"a1","labels":{"alertname":"HostDown"}},{"status":"firing"}]}`,
	} {
		if rec := post(h, body); rec.Code != http.StatusBadRequest {
			t.Errorf("%q: status %d, want 400", body, rec.Code)
		}
		if f.svc.Snapshot() != before {
			t.Fatalf("%q changed the list", body)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/webhook", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", rec.Code)
	}
	if rec := post(h, good); rec.Code != http.StatusNoContent {
		t.Fatalf("good payload: %d %s", rec.Code, rec.Body)
	}
	if a, _ := f.svc.Snapshot().Alert("a1"); a.State != incident.Resolved {
		t.Fatalf("a1 after resolved webhook: %+v", a)
	}
}
