package inventory

import (
	"context"
	"testing"

	"github.com/vigilops/vigil/ops/access"
)

// Trusting a host's new key asks first, naming the host and its address;
// a host the inventory does not have, or without an address, is not asked
// about (TrustKey refuses it with its reason).
func TestTrustKeyConfirmation(t *testing.T) {
	s, c, _ := setup(t, access.Guard{})
	h := c.hosts[1]
	h.PublicIPv4 = "203.0.113.7"
	c.hosts[1] = h
	if err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	conf, ok := s.TrustKeyConfirmation("web-1")
	if !ok || !conf.Needed() || conf.Target != "host/web-1" || conf.TypeName != "" ||
		conf.Title != "Trust the SSH host key web-1 (203.0.113.7) presents now, in place of the recorded one?" {
		t.Fatalf("web-1: %+v, %v", conf, ok)
	}
	for _, name := range []string{"db-1", "nosuch"} {
		if _, ok := s.TrustKeyConfirmation(name); ok {
			t.Errorf("%s is asked about", name)
		}
	}
}
