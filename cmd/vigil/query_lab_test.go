package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vigilops/vigil/internal/labtest"
)

// TestLabQuery runs vigil query against the lab's Prometheus: a table, a
// range, JSON, and a bad expression exiting 2 with Prometheus's message
// and its position.
func TestLabQuery(t *testing.T) {
	env := labtest.Env(t, "VIGIL_LAB_PROMETHEUS_URL")
	dir := sandbox(t)
	cfg := filepath.Join(dir, "vigil.yaml")
	if err := os.WriteFile(cfg, []byte("prometheus:\n  url: "+env["VIGIL_LAB_PROMETHEUS_URL"]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := cli(t, "--config", cfg, "query", `up{job="prometheus"}`)
	if code != 0 || !regexp.MustCompile(`(?m)^up\{instance="127\.0\.0\.1:\d+", job="prometheus"\} +1$`).MatchString(out) {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = cli(t, "--config", cfg, "query", `up{job="prometheus"}`, "--range", "5m")
	if code != 0 || !strings.HasPrefix(out, "SERIES") || !regexp.MustCompile(`job="prometheus"\} +1 +\S+ +1 +\d+`).MatchString(out) {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = cli(t, "--config", cfg, "query", "sum(up)", "--json")
	var got struct {
		Type   string `json:"type"`
		Vector []struct {
			Value float64 `json:"value"`
		} `json:"vector"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil || got.Type != "vector" || len(got.Vector) != 1 || got.Vector[0].Value < 1 {
		t.Fatalf("exit %d: %s", code, out)
	}
	code, out, errOut = cli(t, "--config", cfg, "query", "sum(rate(up[5m])")
	if code != 2 || out != "" || !strings.Contains(errOut, "bad_data") || !strings.Contains(errOut, "1:17: parse error") ||
		!strings.Contains(errOut, "(line 1, column 17)") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
}
