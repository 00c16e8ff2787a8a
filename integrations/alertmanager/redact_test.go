package alertmanager_test

import (
	"context"
	"net"
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
