package alertmanager_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/integrations/alertmanager"
)

// TestErrorsMaskPasswords: the password of an Alertmanager URL appears in
// no error, whether the URL is refused or the server does not answer.
func TestErrorsMaskPasswords(t *testing.T) {
	if _, err := alertmanager.New([]string{"ftp://bob:s3cret@am:9093"}); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("New: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	c, err := alertmanager.New([]string{"http://bob:s3cret@" + addr})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = c.Alerts(ctx)
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "bob:xxxxx@"+addr) {
		t.Errorf("Alerts: %v", err)
	}
}

// TestExpireUnknownSilence: a silence Alertmanager does not know is
// reported as such, saying that Alertmanager answered.
func TestExpireUnknownSilence(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodDelete || !strings.HasPrefix(r.URL.Path, "/api/v2/silence/") {
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`"silence not found"`))
	}))
	defer srv.Close()
	c, err := alertmanager.New([]string{srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	id := "6c1b2a4e-0d7f-4c1e-9a51-2b8f3e7d9c10"
	if err := c.ExpireSilence(context.Background(), id); err == nil || !strings.Contains(err.Error(), "no silence "+id+" (Alertmanager answered)") {
		t.Fatalf("got %v", err)
	}
}
