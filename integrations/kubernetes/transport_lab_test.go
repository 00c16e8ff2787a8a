package kubernetes_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/vigilops/vigil/integrations/kubernetes"
	"github.com/vigilops/vigil/ops/release"
)

// countingTransport counts the requests that pass it.
type countingTransport struct {
	next http.RoundTripper
	n    *atomic.Int64
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

// TestTransportWrapsEveryRequest: WithTransport's wrapper (vigil serve's
// metrics) sees the requests of the clientsets the client builds.
func TestTransportWrapsEveryRequest(t *testing.T) {
	var n atomic.Int64
	c := kubernetes.New(context.Background(), lab(t), kubernetes.WithTransport(func(rt http.RoundTripper) http.RoundTripper {
		return countingTransport{next: rt, n: &n}
	}))
	if _, err := c.GetFreeze(context.Background(), release.Target{Namespace: "default"}); err != nil {
		t.Fatal(err)
	}
	if n.Load() == 0 {
		t.Fatal("the request did not pass the wrapper")
	}
}
