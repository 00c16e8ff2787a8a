package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vigilops/vigil/lab/kube"
)

// writeEnv writes STATE/lab.env (KEY=value lines, for tests and shells)
// and STATE/vigil.yaml (a vigil config for the lab).
func (l *lab) writeEnv(token, labDir string) error {
	vigilConfig := l.path("vigil.yaml")
	env := [][2]string{
		{"KUBECONFIG", l.kubeconfig()},
		{"VIGIL_LAB_PROMETHEUS_URL", l.url(l.ports.Prometheus)},
		{"VIGIL_LAB_ALERTMANAGER_URL", l.url(l.ports.Alertmanager)},
		{"VIGIL_LAB_ALERTMANAGER_2_URL", l.url(l.ports.Alertmanager2)},
		{"DIGITALOCEAN_API_URL", l.url(l.ports.Emulator) + "/"},
		{"DIGITALOCEAN_ACCESS_TOKEN", token},
		{"VIGIL_LAB_SSH_KEY", l.sshKey()},
		{"VIGIL_LAB_STATE", l.state},
		{"VIGIL_LAB_WEBHOOK_TOKEN_FILE", l.mon.WebhookTokenFile()},
		{"VIGIL_LAB_RULES_FILE", l.mon.VigilRules()},
		{"VIGIL_CONFIG", vigilConfig},
		{"VIGIL_LAB_POSTGRES_DSN_FILE", l.pgDSNFile()},
	}
	pw, err := l.pgPassword()
	if err != nil {
		return err
	}
	env = append(env, [2]string{"VIGIL_LAB_POSTGRES_DSN", l.pgDSN(pw)})
	var b strings.Builder
	b.WriteString("# Written by vigil-lab up; removed by vigil-lab down.\n")
	for _, kv := range env {
		fmt.Fprintf(&b, "%s=%s\n", kv[0], kv[1])
	}
	if err := os.WriteFile(vigilConfig, []byte(l.vigilConfig(labDir)), 0o644); err != nil {
		return err
	}
	return os.WriteFile(l.envFile(), []byte(b.String()), 0o600)
}

// vigilConfig is a vigil config (ops/config) for the lab.
func (l *lab) vigilConfig(labDir string) string {
	q := strconv.Quote
	var b strings.Builder
	b.WriteString("# vigil against the lab; written by vigil-lab up.\n")
	fmt.Fprintf(&b, "kubernetes:\n  kubeconfig: %s\n  app_selector: app.kubernetes.io/part-of\n  environments:\n", q(l.kubeconfig()))
	for _, env := range kube.Environments {
		fmt.Fprintf(&b, "    - name: %s\n      context: %s\n      namespace: %s\n", env, l.cluster("").Context(), env)
		if env == "prod" {
			b.WriteString("      protected: true\n")
		}
	}
	// vigil owns this rule file: its rule form writes there and reloads.
	fmt.Fprintf(&b, "prometheus:\n  url: %s\n  rule_files: [%s]\n", q(l.url(l.ports.Prometheus)), q(l.mon.VigilRules()))
	fmt.Fprintf(&b, "alertmanager:\n  urls: [%s, %s]\n", q(l.url(l.ports.Alertmanager)), q(l.url(l.ports.Alertmanager2)))
	fmt.Fprintf(&b, "digitalocean:\n  api_url: %s\n  token:\n    file: %s\n", q(l.url(l.ports.Emulator)+"/"), q(l.tokenFile()))
	// The emulator registers the lab key as "vigil-lab"; lab/playbooks/flaky.yml
	// fails on hosts tagged flaky.
	b.WriteString(`  templates:
    - {name: web, region: ams3, size: s-1vcpu-1gb, image: debian-12-x64, ssh_keys: [vigil-lab], tags: [web, shop]}
    - {name: worker, region: fra1, size: s-2vcpu-4gb, image: debian-12-x64, ssh_keys: [vigil-lab], tags: [worker, shop]}
    - {name: flaky, region: ams3, size: s-1vcpu-1gb, image: debian-12-x64, ssh_keys: [vigil-lab], tags: [flaky]}
`)
	// vigil runs on this machine: the droplets see its SSH come from
	// 127.0.0.1 (the kernel's source address on lo).
	b.WriteString(`  network:
    bastion: 127.0.0.1
    domain: shop.lab
    firewalls:
      - {name: web, rules: ["80,443 from anywhere", "22 from bastion", "9100 from anywhere"], tags: [web]}
      - {name: exporter-only, rules: ["9100 from anywhere"]}
`)
	fmt.Fprintf(&b, "ansible:\n  playbook_dir: %s\n  private_key: %s\n  user: root\n  prometheus_sd: %s\n",
		q(filepath.Join(labDir, "playbooks")), q(l.sshKey()), q(filepath.Join(l.mon.FileSDDir(), "vigil.json")))
	// The journal stays this host's file; the lab's PostgreSQL is named for
	// `vigil store migrate` and for bastions set to backend: postgres.
	fmt.Fprintf(&b, "audit:\n  path: %s\n  backend: bolt\n  postgres:\n    dsn:\n      file: %s\n", q(l.path("vigil", "journal.db")), q(l.pgDSNFile()))
	// The token the lab's Alertmanager sends: vigil serve requires it.
	fmt.Fprintf(&b, "serve:\n  webhook_token:\n    file: %s\n", q(l.mon.WebhookTokenFile()))
	return b.String()
}

func runEnv(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("env", flag.ContinueOnError)
	path := fs.Bool("path", false, "print the env file's path instead of its content")
	if err := fs.Parse(args); err != nil {
		return err
	}
	l := openLab(os.Stdout)
	b, err := os.ReadFile(l.envFile())
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("the lab is not up (no %s): run `make lab-up`", l.envFile())
		}
		return err
	}
	if *path {
		fmt.Println(l.envFile())
		return nil
	}
	_, err = os.Stdout.Write(b)
	return err
}
