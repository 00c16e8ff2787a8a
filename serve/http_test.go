package serve

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigilops/vigil/ops/config"
)

// countingWebhook counts the requests that reach the webhook.
func countingWebhook(n *atomic.Int32) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		n.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})
}

func postWebhook(t *testing.T, ts *testServer, auth string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+ts.HTTPAddr().String()+WebhookPath, strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
	return resp.StatusCode
}

// TestWebhookToken: with serve.webhook_token set, from a file or the
// environment, only the bearer token reaches the webhook.
func TestWebhookToken(t *testing.T) {
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("s3cret-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VIGIL_TEST_WEBHOOK_TOKEN", "s3cret-from-env")
	for _, c := range []struct {
		name   string
		secret config.Secret
		token  string
	}{
		{"file", config.Secret{File: file}, "s3cret-from-file"},
		{"env", config.Secret{Env: "VIGIL_TEST_WEBHOOK_TOKEN"}, "s3cret-from-env"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var calls atomic.Int32
			ts := startServer(t, func(o *Options) {
				o.Serve.WebhookToken = c.secret
				o.Services.Webhook = countingWebhook(&calls)
			})
			for _, auth := range []string{"", "Bearer", "Bearer ", "Bearer wrong", "Basic " + c.token, "bearer " + c.token, "Bearer " + c.token + "x"} {
				if code := postWebhook(t, ts, auth); code != http.StatusUnauthorized {
					t.Errorf("Authorization %q: %d, want 401", auth, code)
				}
			}
			if n := calls.Load(); n != 0 {
				t.Fatalf("%d requests reached the webhook without the token", n)
			}
			if code := postWebhook(t, ts, "Bearer "+c.token); code != http.StatusNoContent || calls.Load() != 1 {
				t.Errorf("with the token: %d, %d calls", code, calls.Load())
			}
		})
	}
}

func TestWebhookTokenUnreadableStopsListen(t *testing.T) {
	dir := t.TempDir()
	_, line := newKey(t)
	_, err := Listen(Options{
		Serve: config.Serve{Listen: "127.0.0.1:0", HTTPListen: "127.0.0.1:0", HostKey: filepath.Join(dir, "hk"),
			Users:        []config.User{{Name: "alice", Role: "operator", Keys: []string{line}}},
			WebhookToken: config.Secret{File: filepath.Join(dir, "absent")}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err == nil || !strings.Contains(err.Error(), "serve.webhook_token") || !strings.Contains(err.Error(), "absent") {
		t.Fatalf("Listen = %v, want an error naming serve.webhook_token and the file", err)
	}
}

// TestExposedWebhookWarns: beyond loopback without a token, the log and
// /healthz say so; with a token, or on loopback, they do not.
func TestExposedWebhookWarns(t *testing.T) {
	t.Setenv("VIGIL_TEST_WEBHOOK_TOKEN", "tok")
	for _, c := range []struct {
		listen string
		token  config.Secret
		warn   bool
	}{
		{"0.0.0.0:0", config.Secret{}, true},
		{"0.0.0.0:0", config.Secret{Env: "VIGIL_TEST_WEBHOOK_TOKEN"}, false},
		{"127.0.0.1:0", config.Secret{}, false},
	} {
		var calls atomic.Int32
		var logged buffer
		ts := startServer(t, func(o *Options) {
			o.Serve.HTTPListen = c.listen
			o.Serve.WebhookToken = c.token
			o.Services.Webhook = countingWebhook(&calls)
			o.Logger = slog.New(slog.NewTextHandler(&logged, nil))
		})
		port := ts.HTTPAddr().(*net.TCPAddr).Port
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", port))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		inHealth := strings.Contains(string(body), "warning: ") && strings.Contains(string(body), "serve.webhook_token")
		inLog := strings.Contains(logged.String(), "level=WARN") && strings.Contains(logged.String(), "beyond loopback")
		if inHealth != c.warn || inLog != c.warn || !strings.HasPrefix(string(body), "ok: ") {
			t.Errorf("%s, token %v: /healthz %q, log %q; want a warning: %v", c.listen, c.token, body, logged.String(), c.warn)
		}
		ts.shutdown(t)
	}
}

// TestHTTPTimeouts: clients that trickle their headers or their body, or
// hold an idle connection, are cut off by the listener's timeouts.
func TestHTTPTimeouts(t *testing.T) {
	saved := httpTimeouts
	defer func() { httpTimeouts = saved }()
	httpTimeouts.header, httpTimeouts.read, httpTimeouts.write, httpTimeouts.idle =
		300*time.Millisecond, 600*time.Millisecond, 600*time.Millisecond, 300*time.Millisecond
	var calls atomic.Int32
	ts := startServer(t, func(o *Options) { o.Services.Webhook = countingWebhook(&calls) })
	addr := ts.HTTPAddr().String()

	// cutAfter writes parts one every 100 ms (40 s in all, were it let
	// through) and reports how long the server kept the connection.
	cutAfter := func(first string, trickle string) time.Duration {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		closed := make(chan struct{})
		go func() {
			defer close(closed)
			io.Copy(io.Discard, c) // until the server closes
		}()
		if _, err := io.WriteString(c, first); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 400; i++ {
			select {
			case <-closed:
				return time.Since(start)
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := c.Write([]byte{trickle[i%len(trickle)]}); err != nil {
				<-closed
				return time.Since(start)
			}
		}
		t.Fatal("the server kept a trickling connection for 40 s")
		return 0
	}
	if d := cutAfter("POST "+WebhookPath+" HTTP/1.1\r\n", "X-Slow: a"); d > 5*time.Second {
		t.Errorf("trickled headers were cut after %v", d)
	}
	body := "POST " + WebhookPath + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
	if d := cutAfter(body, "{"); d > 5*time.Second {
		t.Errorf("a trickled body was cut after %v", d)
	}

	// An idle keep-alive connection is closed too.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	io.Copy(io.Discard, resp.Body)
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := c.Read(make([]byte, 1)); err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("idle connection: read %d, %v after %v; want it closed by the idle timeout", n, err, time.Since(start))
	}
}
