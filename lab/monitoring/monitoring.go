// Package monitoring is the lab's Prometheus and Alertmanager (Debian's
// packages): their configuration, alerting rules and command lines.
package monitoring

import (
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/vigilops/vigil/lab/internal/labstate"
)

//go:embed rules.yml
var rules []byte

// WebhookURL is where Alertmanager sends notifications: vigil serves it
// (`vigil serve`); until then Alertmanager logs failed deliveries and goes on.
const WebhookURL = "http://127.0.0.1:9464/webhook/alertmanager"

// Files are the paths of the configuration, inside the state dir.
type Files struct{ State string }

func (f Files) PrometheusConfig() string {
	return filepath.Join(f.State, "prometheus", "prometheus.yml")
}
func (f Files) Rules() string { return filepath.Join(f.State, "prometheus", "rules.yml") }

// VigilRules is the rule file vigil owns (its config's
// prometheus.rule_files): vigil's rule form writes alerting rules into it
// and reloads Prometheus. up creates it empty (`groups: []`) and never
// overwrites it afterwards, so rules defined from the console survive a
// second up; down leaves it with the rest of the state dir.
func (f Files) VigilRules() string { return filepath.Join(f.State, "prometheus", "vigil-rules.yml") }

// emptyRules is a valid rule file with no rules.
const emptyRules = "# Alerting rules vigil owns (prometheus.rule_files in vigil.yaml): written by vigil.\ngroups: []\n"

// VigilMetricsTarget is vigil serve's HTTP listener (serve.http_listen's
// default), which Prometheus scrapes as job vigil. It is down while no
// vigil serve runs.
const VigilMetricsTarget = "127.0.0.1:9464"

func (f Files) PrometheusData() string { return filepath.Join(f.State, "prometheus", "data") }
func (f Files) AlertmanagerConfig() string {
	return filepath.Join(f.State, "alertmanager", "alertmanager.yml")
}
func (f Files) AlertmanagerData() string { return filepath.Join(f.State, "alertmanager", "data") }

// Alertmanager2Data is the second Alertmanager's: its silences and
// notification log, which gossip keeps equal to the first's.
func (f Files) Alertmanager2Data() string { return filepath.Join(f.State, "alertmanager", "data-2") }

// WebhookTokenFile holds the bearer token Alertmanager sends to vigil's
// webhook (its credentials_file) and vigil requires (serve.webhook_token).
func (f Files) WebhookTokenFile() string {
	return filepath.Join(f.State, "alertmanager", "webhook-token")
}

// writeToken creates the webhook token, once: a lab brought up again keeps
// it, so a vigil serve already running goes on accepting Alertmanager.
func (f Files) writeToken() error {
	if _, err := os.Stat(f.WebhookTokenFile()); !errors.Is(err, os.ErrNotExist) {
		return err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	return os.WriteFile(f.WebhookTokenFile(), []byte(hex.EncodeToString(b)+"\n"), 0o600)
}

// FileSDDir is where droplet targets are listed (the emulator writes them).
func (f Files) FileSDDir() string { return filepath.Join(f.State, "file_sd") }

// Write writes both configurations and the rules for the given ports.
func (f Files) Write(p labstate.Ports) error {
	for _, d := range []string{f.PrometheusData(), f.AlertmanagerData(), f.Alertmanager2Data(), f.FileSDDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := f.writeToken(); err != nil {
		return err
	}
	files := map[string][]byte{
		f.Rules():              rules,
		f.PrometheusConfig():   []byte(f.prometheusConfig(p)),
		f.AlertmanagerConfig(): []byte(f.alertmanagerConfig()),
	}
	for path, b := range files {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return err
		}
	}
	if _, err := os.Stat(f.VigilRules()); errors.Is(err, os.ErrNotExist) {
		return os.WriteFile(f.VigilRules(), []byte(emptyRules), 0o644)
	} else if err != nil {
		return err
	}
	return nil
}

func (f Files) prometheusConfig(p labstate.Ports) string {
	return fmt.Sprintf(`# Written by vigil-lab up.
global:
  scrape_interval: 5s
  scrape_timeout: 4s
  evaluation_interval: 5s
rule_files:
  - %q
  - %q
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:%d", "127.0.0.1:%d"]
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["127.0.0.1:%d"]
  - job_name: alertmanager
    static_configs:
      - targets: ["127.0.0.1:%d", "127.0.0.1:%d"]
  - job_name: lab-exporter
    static_configs:
      - targets: ["127.0.0.1:%d"]
  # vigil serve's /metrics (down while no vigil serve runs).
  - job_name: vigil
    static_configs:
      - targets: [%q]
  # Droplets: each runs a node exporter on its own address.
  - job_name: droplets
    file_sd_configs:
      - files: [%q]
        refresh_interval: 5s
`, f.Rules(), f.VigilRules(), p.Alertmanager, p.Alertmanager2, p.Prometheus, p.Alertmanager, p.Alertmanager2, p.Exporter, VigilMetricsTarget,
		filepath.Join(f.FileSDDir(), "*.json"))
}

// alertmanagerConfig sends every alert to vigil's webhook, with the
// bearer token, at most 1,000 alerts a post (vigil's bound).
func (f Files) alertmanagerConfig() string {
	return fmt.Sprintf(`# Written by vigil-lab up.
route:
  receiver: vigil
  group_by: [alertname, namespace]
  group_wait: 1s
  group_interval: 5s
  repeat_interval: 1h
receivers:
  - name: vigil
    webhook_configs:
      - url: %q
        send_resolved: true
        max_alerts: 1000
        http_config:
          authorization:
            credentials_file: %q
`, WebhookURL, f.WebhookTokenFile())
}

// PrometheusArgs is Prometheus's command line.
func (f Files) PrometheusArgs(p labstate.Ports) []string {
	return []string{
		"prometheus",
		"--config.file=" + f.PrometheusConfig(),
		"--storage.tsdb.path=" + f.PrometheusData(),
		"--storage.tsdb.retention.time=2d",
		"--web.listen-address=127.0.0.1:" + strconv.Itoa(p.Prometheus),
		"--web.external-url=http://127.0.0.1:" + strconv.Itoa(p.Prometheus) + "/",
		// POST /-/reload: vigil reloads the rules it writes.
		"--web.enable-lifecycle",
	}
}

// AlertmanagerArgs is the first Alertmanager's command line: peered with
// the second over gossip on loopback, so that a silence made through one
// holds on both and each notification goes out once.
func (f Files) AlertmanagerArgs(p labstate.Ports) []string {
	return f.alertmanagerArgs(f.AlertmanagerData(), p.Alertmanager, p.AlertmanagerGossip, p.Alertmanager2Gossip)
}

// Alertmanager2Args is the second Alertmanager's, peered with the first.
func (f Files) Alertmanager2Args(p labstate.Ports) []string {
	return f.alertmanagerArgs(f.Alertmanager2Data(), p.Alertmanager2, p.Alertmanager2Gossip, p.AlertmanagerGossip)
}

func (f Files) alertmanagerArgs(data string, web, gossip, peer int) []string {
	self := "127.0.0.1:" + strconv.Itoa(gossip)
	return []string{
		"prometheus-alertmanager",
		"--config.file=" + f.AlertmanagerConfig(),
		"--storage.path=" + data,
		"--web.listen-address=127.0.0.1:" + strconv.Itoa(web),
		"--web.external-url=http://127.0.0.1:" + strconv.Itoa(web) + "/",
		"--cluster.listen-address=" + self,
		"--cluster.advertise-address=" + self,
		"--cluster.peer=127.0.0.1:" + strconv.Itoa(peer),
		// Loopback: no need for the defaults' patience.
		"--cluster.settle-timeout=5s",
		"--cluster.pushpull-interval=10s",
		"--cluster.gossip-interval=100ms",
	}
}
