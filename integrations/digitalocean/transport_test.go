package digitalocean

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// flaky serves failures first, then 200s with the given rate-limit headers.
func flaky(t *testing.T, failures []int, remaining int, reset time.Time) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			t.Errorf("request without the token: %q", r.Header.Get("Authorization"))
		}
		i := int(n.Add(1)) - 1
		w.Header().Set("RateLimit-Remaining", strconv.Itoa(remaining))
		w.Header().Set("RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		if i < len(failures) {
			if failures[i] == 429 {
				w.Header().Set("Retry-After", "1")
			}
			w.WriteHeader(failures[i])
			fmt.Fprint(w, `{"id":"x","message":"injected"}`)
			return
		}
		fmt.Fprint(w, `{}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestTransportRetries(t *testing.T) {
	cases := []struct {
		name     string
		failures []int
		retries  int
		status   int
		calls    int32
		minWait  time.Duration
	}{
		{"429 waits Retry-After", []int{429, 429}, 5, 200, 3, 2 * time.Second},
		{"5xx retried", []int{503, 500, 502}, 5, 200, 4, 0},
		{"gives up after retries", []int{503, 503, 503}, 2, 503, 3, 0},
		{"4xx not retried", []int{422}, 5, 422, 1, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, n := flaky(t, c.failures, 4000, time.Now().Add(time.Hour))
			tr := newTransport(http.DefaultTransport, "tok")
			tr.retries, tr.backoff = c.retries, 10*time.Millisecond
			var waited time.Duration
			tr.onWait = func(_ string, d time.Duration) { waited += d }
			req, _ := http.NewRequest("POST", srv.URL, strings.NewReader(`{"a":1}`))
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.status || n.Load() != c.calls {
				t.Fatalf("status %d after %d calls, want %d after %d", resp.StatusCode, n.Load(), c.status, c.calls)
			}
			if waited < c.minWait {
				t.Fatalf("waited %s, want at least %s", waited, c.minWait)
			}
		})
	}
}

func TestTransportPacesWhenBudgetLow(t *testing.T) {
	srv, _ := flaky(t, nil, 3, time.Now().Add(4*time.Second))
	tr := newTransport(http.DefaultTransport, "tok")
	var waits []time.Duration
	tr.onWait = func(_ string, d time.Duration) { waits = append(waits, d) }
	for range 2 {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	// The first request learns 3 remaining with ~4s left: the second waits ~1s.
	if len(waits) != 1 || waits[0] < 500*time.Millisecond || waits[0] > 2*time.Second {
		t.Fatalf("waits %v, want one of about 1s", waits)
	}
}

func TestTransportCancelledWhileWaiting(t *testing.T) {
	srv, _ := flaky(t, []int{429, 429, 429}, 4000, time.Now().Add(time.Hour))
	tr := newTransport(http.DefaultTransport, "tok")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	start := time.Now()
	_, err := tr.RoundTrip(req)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Fatalf("got %v after %s, want the deadline within a second", err, time.Since(start))
	}
}
