package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/vigilops/vigil/integrations/prometheus"
	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/audit"
)

// TestLabScrapesServe: vigil serve on the lab's vigil target (127.0.0.1:9464)
// is scraped by the lab's Prometheus (job vigil up), and what it counts gets
// there: a journaled action by action and result, and the requests its
// Prometheus client made, by integration. Skipped when another vigil
// serve holds the port.
func TestLabScrapesServe(t *testing.T) {
	env := labtest.Env(t, "VIGIL_LAB_PROMETHEUS_URL")
	promURL := env["VIGIL_LAB_PROMETHEUS_URL"]
	const target = "127.0.0.1:9464"
	if ln, err := net.Listen("tcp", target); err != nil {
		t.Skipf("%s is taken (another vigil serve?): %v", target, err)
	} else {
		ln.Close()
	}
	dir := sandbox(t)
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	sshPub, _ := gossh.NewPublicKey(pub)
	journal := filepath.Join(dir, "journal.db")
	cfg := filepath.Join(dir, "config.yaml")
	writeFile(t, cfg, fmt.Sprintf(`identity: {name: local}
prometheus:
  url: %q
audit:
  path: %q
serve:
  users:
    - name: alice
      role: operator
      keys: [%q]
`, promURL, journal, strings.TrimSpace(string(gossh.MarshalAuthorizedKey(sshPub)))))
	var stderr lockedBuffer
	cmd := newServeCmd(&globals{configPath: cfg})
	cmd.SetArgs([]string{"--listen", "127.0.0.1:0", "--http-listen", target})
	cmd.SetErr(&stderr)
	cmd.SetOut(io.Discard)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop")
		}
	}()
	for deadline := time.Now().Add(10 * time.Second); !regexp.MustCompile(`/metrics on http://`).MatchString(stderr.String()); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start; stderr:\n%s", stderr.String())
		}
	}
	j, err := audit.Open(journal)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	probe := fmt.Sprintf("lab scrape probe %d", time.Now().UnixNano())
	if _, err := j.Append(audit.Entry{Actor: "lab", Action: probe, Target: "lab", Result: audit.Failed,
		Parameters: map[string]string{"duration": "1.5s"}}); err != nil {
		t.Fatal(err)
	}

	pc, err := prometheus.New(promURL)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`up{job="vigil"} == 1`,
		fmt.Sprintf(`vigil_actions_total{job="vigil",action=%q,result="failed"} == 1`, probe),
		fmt.Sprintf(`vigil_action_duration_seconds_sum{job="vigil",action=%q} == 1.5`, probe),
		`vigil_integration_request_duration_seconds_count{job="vigil",integration="prometheus"} > 0`,
	} {
		deadline := time.Now().Add(30 * time.Second)
		for {
			qctx, qcancel := context.WithTimeout(context.Background(), 5*time.Second)
			got, err := pc.Query(qctx, q, time.Now())
			qcancel()
			if err == nil && len(got) > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Prometheus never answered %s: %v, %v", q, got, err)
			}
			time.Sleep(time.Second)
		}
	}
}
