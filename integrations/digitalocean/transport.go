package digitalocean

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// transport adds the token to every request and keeps vigil a good API
// citizen: it paces requests when the rate-limit budget runs low, waits out
// 429s per Retry-After, and retries 5xx with jittered exponential backoff.
// godo's own retry option (go-retryablehttp) knows neither the pacing nor
// our cancellation and progress needs, hence this small RoundTripper.
type transport struct {
	base    http.RoundTripper
	token   string
	retries int           // attempts after the first, for 429 and 5xx
	backoff time.Duration // first 5xx backoff; doubles each attempt
	maxWait time.Duration // longest single wait
	// reserve is the remaining budget under which requests are spread
	// evenly over the time left until the window resets.
	reserve int
	onWait  func(reason string, d time.Duration)

	mu        sync.Mutex
	remaining int // -1: unknown
	reset     time.Time
}

func newTransport(base http.RoundTripper, token string) *transport {
	return &transport{
		base: base, token: token, retries: 5, backoff: 500 * time.Millisecond, maxWait: time.Minute,
		reserve: 50, remaining: -1,
	}
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	body, err := bodyOf(req)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		if err := t.sleep(ctx, "rate limit low", t.pace()); err != nil {
			return nil, err
		}
		r := req.Clone(ctx)
		if body != nil {
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		r.Header.Set("Authorization", "Bearer "+t.token)
		resp, err := t.base.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		t.observe(resp.Header)
		wait, retry := t.retryAfter(resp, attempt)
		if !retry || attempt >= t.retries {
			return resp, nil
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		reason := fmt.Sprintf("HTTP %d", resp.StatusCode)
		if err := t.sleep(ctx, reason, wait); err != nil {
			return nil, err
		}
	}
}

func bodyOf(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	defer req.Body.Close()
	b, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	return b, nil
}

// retryAfter decides whether resp is worth another attempt and how long to
// wait before it.
func (t *transport) retryAfter(resp *http.Response, attempt int) (time.Duration, bool) {
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			return min(time.Duration(s)*time.Second, t.maxWait), true
		}
		t.mu.Lock()
		d := time.Until(t.reset)
		t.mu.Unlock()
		return min(max(d, time.Second), t.maxWait), true
	case resp.StatusCode >= 500:
		d := t.backoff << attempt
		// Full jitter: anywhere in [d/2, d), so that several clients spread out.
		d = d/2 + rand.N(d/2+1)
		return min(d, t.maxWait), true
	}
	return 0, false
}

// observe records the budget the response headers announce.
func (t *transport) observe(h http.Header) {
	rem, err := strconv.Atoi(h.Get("RateLimit-Remaining"))
	if err != nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.remaining = rem
	if s, err := strconv.ParseInt(h.Get("RateLimit-Reset"), 10, 64); err == nil {
		t.reset = time.Unix(s, 0)
	}
}

// pace is the wait before the next request: none while the budget is above
// reserve, else the time left in the window shared among what remains.
func (t *transport) pace() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.remaining < 0 || t.remaining > t.reserve {
		return 0
	}
	left := time.Until(t.reset)
	if left <= 0 {
		return 0
	}
	return min(left/time.Duration(t.remaining+1), t.maxWait)
}

func (t *transport) sleep(ctx context.Context, reason string, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	if t.onWait != nil {
		t.onWait(reason, d)
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
