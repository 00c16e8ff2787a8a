package prometheus

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// TestErrorsMaskPasswords: the password of the Prometheus URL appears in
// no error when the server does not answer.
func TestErrorsMaskPasswords(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	c, err := New("http://bob:s3cret@" + addr)
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

// TestMonitoringErrorsMaskPasswords: the same for the monitoring reads.
func TestMonitoringErrorsMaskPasswords(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c, err := New("http://bob:s3cret@" + addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, e1 := c.Targets(ctx)
	_, e2 := c.RuleGroups(ctx)
	_, e3 := c.Instant(ctx, "up", time.Now())
	_, e4 := c.MetricNames(ctx)
	for i, err := range []error{e1, e2, e3, e4} {
		if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "bob:xxxxx@"+addr) {
			t.Errorf("%d: %v", i, err)
		}
	}
}
