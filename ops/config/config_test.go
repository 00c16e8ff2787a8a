package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigilops/vigil/internal/yamlbound"
	"github.com/vigilops/vigil/internal/yamlbound/bombs"
)

const pubKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDrJl5rAkAmaCiTo3BySIBY3kL0K56vDXj3lfbo3c7tN alice@laptop"

func writeConfig(t testing.TB, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestErrorsNameFileLineAndKey(t *testing.T) {
	t.Setenv("USER", "alice")
	tests := []struct {
		name string
		yaml string
		line int
		key  string
		msg  string
	}{
		{"unknown top-level key", "theme: dark\npromethus:\n  url: http://x\n", 2, "promethus", `did you mean "prometheus"?`},
		{"unknown nested key", "kubernetes:\n  environments:\n    - name: dev\n    - name: prod\n      namspace: shop\n", 5, "kubernetes.environments[1].namspace", `did you mean "namespace"?`},
		{"far unknown key lists known ones", "identity:\n  shoe: x\n", 2, "identity.shoe", "known keys here are name, role"},
		{"duplicate key", "theme: dark\ntheme: light\n", 2, "theme", "duplicate key"},
		{"mapping for a string", "theme:\n  name: dark\n", 2, "theme", "expected a string, got a mapping"},
		{"string for a list", "alertmanager:\n  urls: http://127.0.0.1:9093\n", 2, "alertmanager.urls", "expected a list, got a string"},
		{"string for a bool", "kubernetes:\n  environments:\n    - name: prod\n      protected: yes please\n", 4, "kubernetes.environments[0].protected", "expected true or false"},
		{"string for an int", "serve:\n  max_sessions: many\n", 2, "serve.max_sessions", "expected a whole number"},
		{"list for a section", "serve: [a]\n", 1, "serve", "expected a mapping of keys, got a list"},
		{"duration without unit", "prometheus:\n  url: http://x\n  poll_interval: 5\n", 3, "prometheus.poll_interval", `invalid duration "5"`},
		{"zero duration", "alertmanager:\n  urls: [http://x]\n  poll_interval: 0s\n", 3, "alertmanager.poll_interval", "must be positive"},
		{"negative duration", "serve:\n  idle_timeout: -1m\n", 2, "serve.idle_timeout", "must be positive"},
		{"URL scheme", "prometheus:\n  url: ftp://prom:9090\n", 2, "prometheus.url", "must start with http:// or https://"},
		{"URL without host", "alertmanager:\n  urls:\n    - http://am:9093\n    - http://\n", 4, "alertmanager.urls[1]", "has no host"},
		{"URL unparseable", "digitalocean:\n  api_url: \"http://a b:x\"\n", 2, "digitalocean.api_url", "invalid URL"},
		{"missing URL at section line", "\nprometheus:\n  poll_interval: 5s\n", 2, "prometheus.url", "missing"},
		{"no alertmanager URL", "alertmanager: {}\n", 1, "alertmanager.urls", "missing"},
		{"environment name syntax", "kubernetes:\n  environments:\n    - name: Prod_1\n", 3, "kubernetes.environments[0].name", "invalid environment name"},
		{"environment names unique", "kubernetes:\n  environments:\n    - name: dev\n    - name: prod\n    - name: dev\n", 5, "kubernetes.environments[2].name", "already environments[0]"},
		{"no environments", "kubernetes:\n  kubeconfig: /k\n", 1, "kubernetes.environments", "missing"},
		{"unknown journal backend", "audit:\n  backend: sqlite\n", 2, "audit.backend", "use bolt (this host's file, the default) or postgres"},
		{"postgres without DSN", "audit:\n  backend: postgres\n", 1, "audit.postgres.dsn", "needs its DSN from an environment variable"},
		{"DSN inline, password hidden", "audit:\n  backend: postgres\n  postgres:\n    dsn:\n      env: postgres://vigil:hunter2secret@db:5432/vigil\n", 5, "audit.postgres.dsn.env", "this looks like a DSN, not a variable name (the value is not shown)"},
		{"log buffer too small", "kubernetes:\n  environments: [{name: dev}]\n  logs:\n    buffer_lines: 10\n", 4, "kubernetes.logs.buffer_lines", "10 is out of range: keep between 100 and 1000000"},
		{"namespace syntax", "kubernetes:\n  environments:\n    - name: dev\n      namespace: Shop Dev\n", 4, "kubernetes.environments[0].namespace", "invalid namespace"},
		{"promotion hooks key", "kubernetes:\n  promotion_hook:\n    api: m\n", 2, "kubernetes.promotion_hook", `did you mean "promotion_hooks"?`},
		{"promotion hooks list", "kubernetes:\n  environments: [{name: dev}]\n  promotion_hooks: [api-migrate]\n", 3, "kubernetes.promotion_hooks", "expected a mapping"},
		{"promotion hook CronJob name", "kubernetes:\n  environments: [{name: dev}]\n  promotion_hooks:\n    api: Migrate_DB\n", 4, "kubernetes.promotion_hooks.api", `invalid CronJob name "Migrate_DB"`},
		{"promotion hook CronJob length", "kubernetes:\n  environments: [{name: dev}]\n  promotion_hooks:\n    api: " + strings.Repeat("m", 53) + "\n", 4, "kubernetes.promotion_hooks.api", "up to 52 characters"},
		{"promotion hook app name", "kubernetes:\n  environments: [{name: dev}]\n  promotion_hooks:\n    API: migrate\n", 4, "kubernetes.promotion_hooks.API", `invalid app name "API"`},
		{"promotion hook empty", "kubernetes:\n  environments:\n    - name: prod\n      promotion_hooks:\n        api: \"\"\n", 5, "kubernetes.environments[0].promotion_hooks.api", "missing: set the name of the suspended CronJob"},
		{"promotion hooks duplicate app", "kubernetes:\n  environments: [{name: dev}]\n  promotion_hooks:\n    api: a\n    api: b\n", 5, "kubernetes.promotion_hooks.api", "duplicate key"},
		{"role", "identity:\n  role: root\n", 2, "identity.role", `unknown role "root"`},
		{"theme syntax", "theme: Dark Mode\n", 1, "theme", "invalid theme name"},
		{"empty key list", "keys:\n  quit: []\n", 2, "keys.quit", "no keys"},
		{"empty key", "keys:\n  quit: [\"q\", \"\"]\n", 2, "keys.quit[1]", "empty key"},
		{"secret env and file", "digitalocean:\n  token:\n    env: T\n    file: /t\n", 2, "digitalocean.token", "not both"},
		{"secret unknown key", "digitalocean:\n  token:\n    value: x\n", 3, "digitalocean.token", "unknown key (not shown)"},
		{"template required fields", "digitalocean:\n  templates:\n    - name: web\n      size: s-1vcpu-1gb\n      image: debian-12-x64\n", 3, "digitalocean.templates[0].region", "missing"},
		{"template names unique", "digitalocean:\n  templates:\n    - {name: a, region: r, size: s, image: i}\n    - {name: a, region: r, size: s, image: i}\n", 4, "digitalocean.templates[1].name", "twice"},
		{"volume size", "digitalocean:\n  templates:\n    - {name: a, region: r, size: s, image: i, volume_gb: -5}\n", 3, "digitalocean.templates[0].volume_gb", "0 (no volume) or more"},
		{"ansible playbook dir", "ansible:\n  user: root\n", 1, "ansible.playbook_dir", "missing"},
		{"listen address", "serve:\n  listen: 2222\n", 2, "serve.listen", "write host:port"},
		{"listen port", "serve:\n  http_listen: 127.0.0.1:99999\n", 2, "serve.http_listen", "invalid port"},
		{"max sessions", "serve:\n  max_sessions: -1\n", 2, "serve.max_sessions", "0 (no limit) or more"},
		{"user key", "serve:\n  users:\n    - name: bob\n      role: viewer\n      keys: [\"ssh-ed25519 notbase64\"]\n", 5, "serve.users[0].keys[0]", "not an authorized_keys line"},
		{"user without keys", "serve:\n  users:\n    - name: bob\n      role: viewer\n", 3, "serve.users[0].keys", "at least one public key"},
		{"user role", "serve:\n  users:\n    - name: bob\n      role: boss\n      keys: [\"" + pubKey + "\"]\n", 4, "serve.users[0].role", "unknown role"},
		{"users unique", "serve:\n  users:\n    - {name: bob, role: admin, keys: [\"" + pubKey + "\"]}\n    - {name: bob, role: admin, keys: [\"" + pubKey + "\"]}\n", 4, "serve.users[1].name", "listed twice"},
		{"runbook unknown kind", "runbooks:\n  - name: r\n    alert: A\n    kind: restrat\n", 4, "runbooks[0].kind", `unknown kind "restrat": did you mean "restart"?`},
		{"runbook kind missing", "runbooks:\n  - name: r\n    alert: A\n", 2, "runbooks[0].kind", "missing: set what it does: playbook, restart"},
		{"runbook playbook missing", "ansible:\n  playbook_dir: /nonexistent\nrunbooks:\n  - name: r\n    alert: A\n    kind: playbook\n", 4, "runbooks[0].playbook", "missing: set the playbook to run"},
		{"runbook playbook without ansible", "runbooks:\n  - name: r\n    alert: A\n    kind: playbook\n    playbook: x.yml\n", 5, "runbooks[0].playbook", "playbook missing: \"x.yml\" runs with ansible, which is not configured"},
		{"runbook playbook escapes", "ansible:\n  playbook_dir: /p\nrunbooks:\n  - name: r\n    alert: A\n    kind: playbook\n    playbook: ../etc/x.yml\n", 7, "runbooks[0].playbook", "without .."},
		{"runbook bad matcher regexp", "runbooks:\n  - name: r\n    labels:\n      namespace: \"prod(\"\n    kind: rollback\nkubernetes:\n  environments: [{name: prod}]\n", 4, "runbooks[0].labels.namespace", "bad matcher: \"prod(\" is not a regular expression"},
		{"runbook bad matcher label", "runbooks:\n  - name: r\n    labels:\n      9ns: prod\n    kind: command\n    command: silences\n", 4, "runbooks[0].labels.9ns", "bad matcher: \"9ns\" is not a label name"},
		{"runbook no matcher", "runbooks:\n  - name: r\n    kind: command\n    command: silences\n", 2, "runbooks[0]", "no matcher: set alert"},
		{"runbook role unknown", "runbooks:\n  - name: r\n    alert: A\n    kind: command\n    command: silences\n    role: sre\n", 6, "runbooks[0].role", `unknown role "sre"`},
		{"runbook name syntax", "runbooks:\n  - name: Restart API\n    alert: A\n    kind: command\n    command: silences\n", 2, "runbooks[0].name", `invalid name "Restart API"`},
		{"runbook names unique", "runbooks:\n  - {name: r, alert: A, kind: command, command: silences}\n  - {name: r, alert: B, kind: command, command: silences}\n", 3, "runbooks[1].name", "already runbooks[0]"},
		{"runbook scale without replicas", "kubernetes:\n  environments: [{name: prod}]\nrunbooks:\n  - name: r\n    alert: A\n    kind: scale\n", 4, "runbooks[0].replicas", "missing: a scale runbook sets the replicas"},
		{"runbook replicas on restart", "kubernetes:\n  environments: [{name: prod}]\nrunbooks:\n  - name: r\n    alert: A\n    kind: restart\n    replicas: 3\n", 7, "runbooks[0].replicas", "only for kind scale"},
		{"runbook restart without kubernetes", "runbooks:\n  - name: r\n    alert: A\n    kind: restart\n", 4, "runbooks[0].kind", "kubernetes is not configured"},
		{"runbook command placeholder", "runbooks:\n  - name: r\n    alert: A\n    kind: command\n    command: rollout {enviroment}/{app}\n", 5, "runbooks[0].command", "unknown placeholder {enviroment}"},
		{"runbook command quotes", "runbooks:\n  - name: r\n    alert: A\n    kind: command\n    command: note 'a b'\n", 5, "runbooks[0].command", "quotes and backslashes are not allowed"},
		{"runbook command name", "runbooks:\n  - name: r\n    alert: A\n    kind: command\n    command: \"{alert} x\"\n", 5, "runbooks[0].command", "the first word is a palette command name"},
		{"YAML syntax", "theme: dark\nkeys:\n\tquit: [q]\n", 3, "", "not valid YAML"},
		{"two documents", "theme: dark\n---\ntheme: light\n", 2, "", "one YAML document"},
		{"top level not a mapping", "- theme\n", 1, "", "expected a mapping of keys, got a list"},
		{"merge key of a scalar", "theme: dark\nidentity:\n  <<: x\n", 3, "identity", "merge key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.yaml)
			c, err := Load(path)
			if err == nil {
				t.Fatalf("Load accepted:\n%s\ngot %+v", tt.yaml, c)
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error is %T, not Errors: %v", err, err)
			}
			var found *Error
			for _, e := range errs {
				if e.Key == tt.key && strings.Contains(e.Msg, tt.msg) {
					found = e
				}
			}
			if found == nil {
				t.Fatalf("no error for key %q containing %q in:\n%v", tt.key, tt.msg, err)
			}
			if found.File != path || found.Line != tt.line {
				t.Errorf("error at %s:%d, want %s:%d: %v", found.File, found.Line, path, tt.line, found)
			}
			want := fmt.Sprintf("%s:%d: ", path, tt.line)
			if tt.key != "" {
				want += tt.key + ": "
			}
			if !strings.HasPrefix(found.Error(), want) {
				t.Errorf("error text %q does not start with %q", found.Error(), want)
			}
			var one *Error
			if !errors.As(err, &one) {
				t.Error("errors.As cannot find an *Error in the list")
			}
		})
	}
}

func TestAllProblemsReportedInLineOrder(t *testing.T) {
	t.Setenv("USER", "alice")
	path := writeConfig(t, `identity:
  role: chief
theme: "!"
prometheus:
  url: gopher://x
  pol_interval: 5s
kubernetes:
  environments:
    - name: dev
    - name: dev
`)
	_, err := Load(path)
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("want Errors, got %v", err)
	}
	var keys []string
	var lines []int
	for _, e := range errs {
		keys = append(keys, e.Key)
		lines = append(lines, e.Line)
	}
	want := []string{"identity.role", "theme", "prometheus.url", "prometheus.pol_interval", "kubernetes.environments[1].name"}
	if !slices.Equal(keys, want) {
		t.Errorf("keys %v, want %v", keys, want)
	}
	if !slices.IsSorted(lines) {
		t.Errorf("lines %v not in order", lines)
	}
	if n := strings.Count(err.Error(), "\n"); n != len(want)-1 {
		t.Errorf("error text has %d lines, want one per problem:\n%v", n+1, err)
	}
}

func TestBadValueReportedOnce(t *testing.T) {
	// A value that fails to decode is not reported again by validation.
	_, err := Load(writeConfig(t, "alertmanager:\n  urls: 5\n"))
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 1 {
		t.Fatalf("want exactly one error, got %v", err)
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"kubeconfig", "app_selector", "environments"}
	tests := map[string]string{
		"enviroments":  `did you mean "environments"?`,
		"Kubeconfig":   `did you mean "kubeconfig"?`,
		"app_selecter": `did you mean "app_selector"?`,
		"context":      "known keys here are app_selector, environments, kubeconfig",
		"x":            "known keys here are",
	}
	for key, want := range tests {
		if got := suggest(key, known); !strings.Contains(got, want) {
			t.Errorf("suggest(%q) = %q, want it to contain %q", key, got, want)
		}
	}
	if got := suggest("ur", []string{"url"}); !strings.Contains(got, `"url"`) {
		t.Errorf("suggest(ur) = %q", got)
	}
}

func TestDefaults(t *testing.T) {
	t.Setenv("USER", "alice")
	t.Setenv("XDG_STATE_HOME", "/state")
	c, err := Load(writeConfig(t, `digitalocean: {}
kubernetes:
  environments:
    - name: dev
    - name: prod
      namespace: shop-prod
prometheus:
  url: http://127.0.0.1:9090
alertmanager:
  urls: [http://127.0.0.1:9093]
serve: {}
`))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"identity.name", c.Identity.Name, "alice"},
		{"identity.role", c.Identity.Role, "operator"},
		{"theme", c.Theme, "dark"},
		{"digitalocean.api_url", c.DigitalOcean.APIURL, "https://api.digitalocean.com/"},
		{"digitalocean.token", c.DigitalOcean.Token, Secret{Env: "DIGITALOCEAN_ACCESS_TOKEN"}},
		{"environments[0].namespace", c.Kubernetes.Environments[0].Namespace, "dev"},
		{"environments[1].namespace", c.Kubernetes.Environments[1].Namespace, "shop-prod"},
		{"prometheus.poll_interval", c.Prometheus.PollInterval, 5 * time.Second},
		{"alertmanager.poll_interval", c.Alertmanager.PollInterval, 5 * time.Second},
		{"serve.listen", c.Serve.Listen, "127.0.0.1:2222"},
		{"serve.http_listen", c.Serve.HTTPListen, "127.0.0.1:9464"},
		{"audit.path", c.Audit.Path, "/state/vigil/journal.db"},
		{"kubernetes.logs.buffer_lines", c.Kubernetes.Logs.BufferLines, 50_000},
		{"kubernetes.logs.since", c.Kubernetes.Logs.Since, 15 * time.Minute},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	if c.Ansible != nil {
		t.Error("an absent section must stay nil")
	}
}

func TestDefaultWithoutFile(t *testing.T) {
	t.Setenv("USER", "bob")
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("HOME", "/home/bob")
	c := Default()
	if c.Identity.Name != "bob" || c.Identity.Role != "operator" || c.Theme != "dark" {
		t.Errorf("identity %+v theme %q", c.Identity, c.Theme)
	}
	if want := "/home/bob/.local/state/vigil/journal.db"; c.Audit.Path != want {
		t.Errorf("audit.path = %q, want %q", c.Audit.Path, want)
	}
	if got := c.Integrations(); len(got) != 0 {
		t.Errorf("Integrations() = %v, want none", got)
	}
	empty, err := Load(writeConfig(t, "# nothing yet\n"))
	if err != nil {
		t.Fatalf("an empty file: %v", err)
	}
	empty.Path = ""
	if fmt.Sprint(empty) != fmt.Sprint(c) {
		t.Errorf("an empty file gives %+v, Default gives %+v", empty, c)
	}
}

func TestHomeExpansion(t *testing.T) {
	t.Setenv("HOME", "/home/carol")
	c, err := Load(writeConfig(t, "identity: {name: carol}\nkubernetes:\n  kubeconfig: ~/.kube/config\n  environments: [{name: dev}]\naudit:\n  path: ~/j.db\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Kubernetes.Kubeconfig != "/home/carol/.kube/config" || c.Audit.Path != "/home/carol/j.db" {
		t.Errorf("kubeconfig %q, audit %q", c.Kubernetes.Kubeconfig, c.Audit.Path)
	}
}

func TestMergeKeysAndAliases(t *testing.T) {
	c, err := Load(writeConfig(t, `identity: {name: dan}
kubernetes:
  environments:
    - &base {name: dev, context: lab}
    - <<: *base
      name: prod
      protected: true
`))
	if err != nil {
		t.Fatal(err)
	}
	prod := c.Kubernetes.Environments[1]
	if prod.Name != "prod" || prod.Context != "lab" || !prod.Protected {
		t.Errorf("merged environment = %+v", prod)
	}
}

func TestResolve(t *testing.T) {
	t.Setenv("VIGIL_CONFIG", "")
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("HOME", "/home/erin")
	if got := Resolve(""); got != "/home/erin/.config/vigil/config.yaml" {
		t.Errorf("fallback: %q", got)
	}
	t.Setenv("XDG_CONFIG_HOME", "/xdg")
	if got := Resolve(""); got != "/xdg/vigil/config.yaml" {
		t.Errorf("XDG: %q", got)
	}
	t.Setenv("VIGIL_CONFIG", "/etc/vigil.yaml")
	if got := Resolve(""); got != "/etc/vigil.yaml" {
		t.Errorf("env: %q", got)
	}
	if got := Resolve("./mine.yaml"); got != "./mine.yaml" {
		t.Errorf("flag: %q", got)
	}
}

func TestLoadOrDefault(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none.yaml")
	c, err := LoadOrDefault(missing, false)
	if err != nil || c == nil || c.Path != "" {
		t.Fatalf("implicit missing file: %v, %+v", err, c)
	}
	_, err = LoadOrDefault(missing, true)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "vigil config init") {
		t.Errorf("explicit missing file: %v", err)
	}
	// A broken file is an error even when the path was not explicit.
	if _, err := LoadOrDefault(writeConfig(t, "thme: dark\n"), false); err == nil {
		t.Error("a bad implicit file was accepted")
	}
}

func TestExampleLoads(t *testing.T) {
	c, err := Load(writeConfig(t, string(Example())))
	if err != nil {
		t.Fatalf("the example config does not load:\n%v", err)
	}
	want := []string{"digitalocean", "ansible", "kubernetes", "prometheus", "alertmanager"}
	if got := c.Integrations(); !slices.Equal(got, want) {
		t.Errorf("Integrations() = %v, want %v", got, want)
	}
	if c.Serve == nil || len(c.Serve.Users) == 0 || len(c.Keys) == 0 || len(c.DigitalOcean.Templates) == 0 {
		t.Errorf("the example leaves a section out: %+v", c)
	}
	if n := len(c.Kubernetes.Environments); n != 4 {
		t.Errorf("example has %d environments, want the 4 of the pipeline", n)
	}
	if k := c.Kubernetes; k.PromotionHooks["api"] != "api-migrate" || k.Environments[3].PromotionHooks["api"] != "api-migrate-prod" || k.Environments[0].PromotionHooks != nil {
		t.Errorf("promotion hooks: pipeline %v, per environment %v", k.PromotionHooks, k.Environments)
	}
	// Every key of the Config types appears in the example.
	var doc yaml.Node
	if err := yaml.Unmarshal(Example(), &doc); err != nil {
		t.Fatal(err)
	}
	written := map[string]bool{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := join(path, n.Content[i].Value)
				written[p] = true
				walk(n.Content[i+1], p)
			}
		}
	}
	walk(&doc, "")
	for _, p := range structPaths(reflect.TypeFor[Config](), "") {
		// token.file is shown commented out: env and file exclude each other.
		if !written[p] && p != "digitalocean.token.file" && p != "serve.webhook_token.file" && p != "audit.postgres.dsn.file" {
			t.Errorf("the example does not show %s", p)
		}
	}
}

// structPaths lists the YAML key paths of a type; list items share their
// list's path, and map keys are not followed.
func structPaths(t reflect.Type, prefix string) []string {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == durationType {
		return nil
	}
	var out []string
	for _, f := range fieldsOf(t) {
		p := join(prefix, f.name)
		out = append(out, p)
		out = append(out, structPaths(t.Field(f.index).Type, p)...)
	}
	return out
}

func TestInit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "config.yaml")
	if err := Init(path); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("config written with mode %v, want 0600", info.Mode().Perm())
	}
	if dir, _ := os.Stat(filepath.Dir(path)); dir.Mode().Perm() != 0o700 {
		t.Errorf("config directory mode %v, want 0700", dir.Mode().Perm())
	}
	if _, err := Load(path); err != nil {
		t.Errorf("the written config does not load: %v", err)
	}

	const mine = "theme: light\n"
	if err := os.WriteFile(path, []byte(mine), 0o600); err != nil {
		t.Fatal(err)
	}
	err = Init(path)
	if err == nil || !strings.Contains(err.Error(), "already exists") || !strings.Contains(err.Error(), path) {
		t.Errorf("Init over an existing file: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != mine {
		t.Errorf("Init changed the existing file to:\n%s", b)
	}
}

// TestBombsRejected: files that expand past any reasonable size, through
// aliases or merge keys, or are simply too large, are refused at once with
// an error naming the file, before anything follows the aliases.
func TestBombsRejected(t *testing.T) {
	for _, tt := range []struct{ name, body, want string }{
		{"billion laughs", strings.Replace(bombs.BillionLaughs, "bomb:", "keys:\n  quit:", 1), ":5: its aliases and merge keys (<<) expand to more than 100000 values"},
		{"merge keys", strings.Replace(bombs.MergeBomb, "bomb:", "keys:", 1), ":5: its aliases and merge keys (<<) expand to more than 100000 values"},
		{"too large", "theme: dark\n" + strings.Repeat("# padding\n", yamlbound.MaxBytes/10), ": larger than 256 KB"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.body)
			done := make(chan error, 1)
			go func() {
				_, err := Load(path)
				done <- err
			}()
			select {
			case err := <-done:
				var errs Errors
				if !errors.As(err, &errs) || !strings.HasPrefix(err.Error(), path+tt.want) {
					t.Fatalf("got %v, want %s%s", err, path, tt.want)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("still decoding after 5s")
			}
		})
	}
}

// kubernetes.refuse_unhealthy_source_for_protected decodes, and is
// refused with its line when no environment is protected.
func TestRefuseUnhealthySource(t *testing.T) {
	c, err := Load(writeConfig(t, "kubernetes:\n  refuse_unhealthy_source_for_protected: true\n  environments:\n    - name: dev\n    - name: prod\n      protected: true\n"))
	if err != nil || !c.Kubernetes.RefuseUnhealthySourceForProtected {
		t.Fatalf("%v %+v", err, c)
	}
	_, err = Load(writeConfig(t, "kubernetes:\n  refuse_unhealthy_source_for_protected: true\n  environments:\n    - name: dev\n"))
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 1 || errs[0].Key != "kubernetes.refuse_unhealthy_source_for_protected" || errs[0].Line != 2 ||
		!strings.Contains(errs[0].Msg, "no environment is protected") {
		t.Fatalf("want one error on line 2 naming the key, got %v", err)
	}
	_, err = Load(writeConfig(t, "kubernetes:\n  refuse_unhealthy_source_for_protected: sometimes\n  environments:\n    - name: dev\n"))
	if err == nil || !strings.Contains(err.Error(), "refuse_unhealthy_source_for_protected") {
		t.Fatalf("a non-boolean value: %v", err)
	}
}

func TestRunbookPlaybookMustExist(t *testing.T) {
	t.Setenv("USER", "alice")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "restart-nginx.yml"), []byte("- hosts: all\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	body := "ansible:\n  playbook_dir: " + dir + "\nrunbooks:\n  - name: r\n    alert: NginxDown\n    kind: playbook\n    playbook: %s\n"
	c, err := Load(writeConfig(t, fmt.Sprintf(body, "restart-nginx.yml")))
	if err != nil {
		t.Fatalf("a playbook of the directory is refused: %v", err)
	}
	if r := c.Runbooks[0]; r.Role != DefaultRole || r.Playbook != "restart-nginx.yml" {
		t.Errorf("runbook %+v: want the default role %s", r, DefaultRole)
	}
	_, err = Load(writeConfig(t, fmt.Sprintf(body, "restart-apache.yml")))
	if err == nil || !strings.Contains(err.Error(), `runbooks[0].playbook: playbook missing: "restart-apache.yml" is not in `+dir) {
		t.Errorf("a playbook not in the directory: %v", err)
	}
}

func TestCommandWords(t *testing.T) {
	w, err := CommandWords(":rollout {env}/{app} {label:team}")
	if err != nil || !slices.Equal(w, []string{"rollout", "{env}/{app}", "{label:team}"}) {
		t.Errorf("CommandWords = %q, %v", w, err)
	}
	for _, bad := range []string{"", "rollout {env", "rollout env}", "rollout {label:9x}", "rollout a\\ b", "rollout \"a b\""} {
		if _, err := CommandWords(bad); err == nil {
			t.Errorf("CommandWords(%q) accepted", bad)
		}
	}
}

func TestDataValidation(t *testing.T) {
	base := "digitalocean: {}\nansible: {playbook_dir: /tmp}\nkubernetes:\n  environments: [{name: preprod}, {name: prod}]\n"
	for _, tc := range []struct{ body, want string }{
		{"data:\n  playbook: scrub.yml\n  environments:\n    - {name: prod, host: prod-db-1, volume: prod-data}\n    - {name: prod, host: x, volume: y}\n", `environment "prod" is already data.environments[0]`},
		{"data:\n  playbook: scrub.yml\n  environments:\n    - {name: prod, host: prod-db-1, volume: Prod_Data}\n    - {name: preprod, host: x, volume: y}\n", `invalid volume name "Prod_Data"`},
		{"data:\n  environments:\n    - {name: prod, host: a, volume: a}\n    - {name: preprod, host: x, volume: y}\n", "data.playbook: missing"},
		{"data:\n  playbook: scrub.yml\n  environments:\n    - {name: prod, host: a, volume: a}\n    - {name: qa, host: x, volume: y, hook: db-migrate}\n", `"qa" is not in kubernetes.environments`},
		{"data:\n  playbook: scrub.yml\n  environments:\n    - {name: prod, volume: a}\n", "list at least two"},
	} {
		_, err := Load(writeConfig(t, base+tc.body))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.body, err, tc.want)
		}
	}
	_, err := Load(writeConfig(t, "data:\n  playbook: s.yml\n  environments: [{name: a, host: h, volume: v}, {name: b, host: i, volume: w}]\n"))
	if err == nil || !strings.Contains(err.Error(), "needs the digitalocean section") || !strings.Contains(err.Error(), "needs the ansible section") {
		t.Errorf("data without digitalocean and ansible: %v", err)
	}
	c, err := Load(writeConfig(t, base+"data:\n  playbook: scrub.yml\n  environments:\n    - {name: prod, host: prod-db-1, volume: prod-data}\n    - {name: preprod, host: preprod-db-1, volume: preprod-data, hook: db-migrate}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := c.Data.Env("preprod"); !ok || e.Hook != "db-migrate" || e.Host != "preprod-db-1" {
		t.Errorf("preprod's data: %+v %v", e, ok)
	}
}

// A DSN written into the config is refused without being repeated: it
// holds a password.
func TestDSNNeverShown(t *testing.T) {
	t.Setenv("USER", "alice")
	for _, y := range []string{
		"audit:\n  backend: postgres\n  postgres:\n    dsn:\n      env: postgres://vigil:hunter2secret@db:5432/vigil\n",
		"audit:\n  backend: postgres\n  postgres:\n    dsn:\n      file: host=db password=hunter2secret\n",
	} {
		_, err := Load(writeConfig(t, y))
		if err == nil || strings.Contains(err.Error(), "hunter2secret") {
			t.Errorf("%q: %v", y, err)
		}
	}
	c, err := Load(writeConfig(t, "audit:\n  backend: postgres\n  postgres:\n    dsn:\n      file: ~/pg.dsn\n"))
	if err != nil || c.Audit.Backend != BackendPostgres || !strings.HasSuffix(c.Audit.Postgres.DSN.File, "/pg.dsn") || strings.HasPrefix(c.Audit.Postgres.DSN.File, "~") {
		t.Fatalf("%+v, %v", c, err)
	}
	if d := Default(); d.Audit.Backend != BackendBolt {
		t.Errorf("default backend %q", d.Audit.Backend)
	}
}
