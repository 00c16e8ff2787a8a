package incident_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/vigilops/vigil/ops/incident"
)

func post(h http.Handler, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(rec, req)
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

// firing is a webhook payload of n firing alerts with fingerprints
// prefix-0…, each padded with pad bytes of annotation.
func firing(prefix string, n, pad int) string {
	var b strings.Builder
	b.WriteString(`{"version":"4","status":"firing","alerts":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"status":"firing","fingerprint":"%s-%d","labels":{"alertname":"Flood"},"annotations":{"pad":"%s"}}`,
			prefix, i, strings.Repeat("x", pad))
	}
	b.WriteString(`]}`)
	return b.String()
}

// TestWebhookFloodsAreBounded: a body over the limit is 413, too many
// alerts in one post 422, and posts that would hold more than
// MaxWebhookAlerts are refused whole; nothing refused changes the list.
func TestWebhookFloodsAreBounded(t *testing.T) {
	f := newFixture(t)
	h := f.svc.WebhookHandler()
	held := func() int { return len(f.svc.Snapshot().Alerts) }

	big := firing("big", 100, incident.MaxWebhookBody/100+1)
	if rec := post(h, big); rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "max_alerts") {
		t.Errorf("a %d-byte body: %d %q", len(big), rec.Code, rec.Body)
	}
	if rec := post(h, firing("many", incident.MaxWebhookAlertsPerPost+1, 0)); rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("%d alerts in a post: %d %q", incident.MaxWebhookAlertsPerPost+1, rec.Code, rec.Body)
	}
	if n := held(); n != 0 {
		t.Fatalf("%d alerts held after refused posts", n)
	}
	posts := incident.MaxWebhookAlerts/incident.MaxWebhookAlertsPerPost + 3
	accepted := 0
	for i := range posts {
		rec := post(h, firing(fmt.Sprint("p", i), incident.MaxWebhookAlertsPerPost, 100))
		switch rec.Code {
		case http.StatusNoContent:
			accepted++
		case http.StatusUnprocessableEntity:
		default:
			t.Fatalf("post %d: %d %q", i, rec.Code, rec.Body)
		}
	}
	if n := held(); n != incident.MaxWebhookAlerts || accepted != incident.MaxWebhookAlerts/incident.MaxWebhookAlertsPerPost {
		t.Errorf("%d posts: %d accepted, %d alerts held; want %d held", posts, accepted, n, incident.MaxWebhookAlerts)
	}
	// At the bound, resolving still works, and known alerts may fire again.
	if rec := post(h, strings.ReplaceAll(firing("p0", 10, 0), `"status":"firing"`, `"status":"resolved"`)); rec.Code != http.StatusNoContent {
		t.Errorf("resolving at the bound: %d %q", rec.Code, rec.Body)
	}
	if rec := post(h, firing("p1", 10, 0)); rec.Code != http.StatusNoContent {
		t.Errorf("known alerts at the bound: %d %q", rec.Code, rec.Body)
	}
}

func TestWebhookWantsJSON(t *testing.T) {
	f := newFixture(t)
	h := f.svc.WebhookHandler()
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "application/jsonx"} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(firing("ct", 1, 0)))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnsupportedMediaType {
			t.Errorf("Content-Type %q: %d", ct, rec.Code)
		}
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(firing("ct", 1, 0)))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if h.ServeHTTP(rec, req); rec.Code != http.StatusNoContent {
		t.Errorf("application/json with a charset: %d %q", rec.Code, rec.Body)
	}
	if n := len(f.svc.Snapshot().Alerts); n != 1 {
		t.Errorf("%d alerts held, want the one sent as JSON", n)
	}
}
