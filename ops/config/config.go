// Package config is vigil's configuration: its shape, strict decoding with
// errors that name file, line and key, and validation.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigilops/vigil/internal/yamlbound"
)

// Config is the whole configuration file. Optional sections are pointers:
// nil means the integration is not configured and its pane does not exist.
type Config struct {
	Identity     Identity            `yaml:"identity"`
	Theme        string              `yaml:"theme"`
	Keys         map[string][]string `yaml:"keys"` // binding name → keys, e.g. "quit": ["q", "ctrl+c"]
	DigitalOcean *DigitalOcean       `yaml:"digitalocean"`
	Ansible      *Ansible            `yaml:"ansible"`
	Kubernetes   *Kubernetes         `yaml:"kubernetes"`
	Prometheus   *Prometheus         `yaml:"prometheus"`
	Alertmanager *Alertmanager       `yaml:"alertmanager"`
	Serve        *Serve              `yaml:"serve"`
	Data         *Data               `yaml:"data"` // the data refresh (data.go)
	Audit        Audit               `yaml:"audit"`
	// Runbooks are the actions an alert's detail offers, for the alerts
	// they match (see Runbook).
	Runbooks []Runbook `yaml:"runbooks"`

	// Path is the file this config was read from ("" for defaults).
	Path string `yaml:"-"`
}

// Identity is the local actor; over SSH the actor comes from Serve.Users.
type Identity struct {
	Name string `yaml:"name"` // default: $USER
	Role string `yaml:"role"` // viewer, operator or admin; default operator
}

type DigitalOcean struct {
	APIURL    string         `yaml:"api_url"` // default https://api.digitalocean.com/
	Token     Secret         `yaml:"token"`   // default env DIGITALOCEAN_ACCESS_TOKEN
	Templates []HostTemplate `yaml:"templates"`
	// Network configures firewalls, load balancers and DNS (ops/network).
	Network Network `yaml:"network"`
}

type HostTemplate struct {
	Name     string   `yaml:"name"`
	Region   string   `yaml:"region"`
	Size     string   `yaml:"size"`
	Image    string   `yaml:"image"`
	SSHKeys  []string `yaml:"ssh_keys"`
	Tags     []string `yaml:"tags"`
	UserData string   `yaml:"user_data"`
	VolumeGB int      `yaml:"volume_gb"`
	VPC      string   `yaml:"vpc"` // a VPC name or ID; empty: the region's default
	// Record, when true, offers to register NAME.<network.domain> for each
	// new host once it is up.
	Record bool `yaml:"record"`
}

type Ansible struct {
	PlaybookDir  string `yaml:"playbook_dir"`
	PrivateKey   string `yaml:"private_key"`
	User         string `yaml:"user"`
	PrometheusSD string `yaml:"prometheus_sd"` // file_sd file kept in sync with hosts
}

type Kubernetes struct {
	Kubeconfig  string `yaml:"kubeconfig"`
	AppSelector string `yaml:"app_selector"` // label selector; empty: all workloads
	// PromotionHooks maps an app to the suspended CronJob whose job template
	// runs in the target namespace before the app is promoted there, in
	// every environment. An environment's own entry for the app wins, and
	// both win over the workload's vigil.dev/promotion-hook annotation.
	PromotionHooks map[string]string `yaml:"promotion_hooks"`
	// RefuseUnhealthySourceForProtected refuses a promotion into a
	// protected environment from a source that is not healthy (stalled,
	// degraded, still rolling out, or with an alert firing on it); without
	// it the preview warns and the console asks a second confirmation.
	RefuseUnhealthySourceForProtected bool `yaml:"refuse_unhealthy_source_for_protected"`
	// LockTTL is how long a promotion, rollback or preparation lock
	// outlives a vigil that died holding it (default 10m): until then
	// another bastion is refused, told who holds it, where, and until when.
	LockTTL      time.Duration `yaml:"lock_ttl"`
	Logs         Logs          `yaml:"logs"`
	Environments []Environment `yaml:"environments"` // ordered pipeline
}

// Logs is how vigil follows the pods' logs (the logs view, vigil logs).
type Logs struct {
	BufferLines int           `yaml:"buffer_lines"` // lines a logs view keeps, the oldest dropped; default 50,000
	Since       time.Duration `yaml:"since"`        // how far back a follow starts; default 15m
}

type Environment struct {
	Name           string            `yaml:"name"`
	Context        string            `yaml:"context"`
	Namespace      string            `yaml:"namespace"`
	Protected      bool              `yaml:"protected"`
	AutoRollback   bool              `yaml:"auto_rollback"`
	PromotionHooks map[string]string `yaml:"promotion_hooks"` // app → CronJob, in this environment only
}

type Prometheus struct {
	URL          string        `yaml:"url"`
	PollInterval time.Duration `yaml:"poll_interval"`
	// RuleFiles are the rule files vigil owns: the same paths as in
	// Prometheus's own rule_files, on the machine vigil runs on. vigil's
	// rule form adds, edits and deletes alerting rules in them (new rules
	// go to the first) and reloads Prometheus; it never writes any other
	// file. Empty: defining alerts from the console is off.
	RuleFiles []string `yaml:"rule_files"`
}

type Alertmanager struct {
	URLs         []string      `yaml:"urls"`
	PollInterval time.Duration `yaml:"poll_interval"` // default 5s
	// Notifications turns on, for every session, a desktop notification
	// through the terminal when an alert of NotifySeverities (default
	// critical) fires; :notify on|off changes it for one session.
	Notifications    bool     `yaml:"notifications"`
	NotifySeverities []string `yaml:"notify_severities"`
}

type Serve struct {
	Listen      string        `yaml:"listen"`      // SSH, default 127.0.0.1:2222
	HTTPListen  string        `yaml:"http_listen"` // webhook, /metrics, /healthz; default 127.0.0.1:9464
	HostKey     string        `yaml:"host_key"`
	MaxSessions int           `yaml:"max_sessions"`
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// MemoryLimitMB is a soft limit on the server's memory, in MiB: the
	// runtime collects harder near it (runtime/debug.SetMemoryLimit); 0
	// for none.
	MemoryLimitMB int    `yaml:"memory_limit_mb"`
	Users         []User `yaml:"users"`
	// WebhookToken, when set, is the bearer token the Alertmanager webhook
	// requires (Alertmanager's http_config authorization credentials).
	WebhookToken Secret `yaml:"webhook_token"`
}

type User struct {
	Name string   `yaml:"name"`
	Role string   `yaml:"role"`
	Keys []string `yaml:"keys"` // authorized_keys lines
}

// Runbook is an action offered for the alerts it matches: an alert name,
// labels, or both. Its Kind says what it does, on what the alert names:
//
//   - playbook: run Playbook on the alert's host;
//   - restart, scale: restart the alert's workload, or scale it to Replicas;
//   - rollback: roll back the promotion of the alert's workload;
//   - command: run Command, a palette line such as "logs {workload}",
//     whose placeholders {alert} {workload} {env} {app} {namespace} {host}
//     and {label:NAME} are filled from the alert, each as one argument.
type Runbook struct {
	Name  string `yaml:"name"`
	Alert string `yaml:"alert"` // alertname, exactly
	// Labels maps label names to regular expressions their values must
	// match whole, as Alertmanager's =~ does.
	Labels   map[string]string `yaml:"labels"`
	Kind     string            `yaml:"kind"`
	Playbook string            `yaml:"playbook"` // kind playbook: a file of ansible.playbook_dir
	Replicas *int              `yaml:"replicas"` // kind scale
	Command  string            `yaml:"command"`  // kind command
	// Role is the least role that may run it; default operator.
	Role string `yaml:"role"`
	// Confirm asks y/N before it runs. Dangerous marks it dangerous: it asks,
	// and is refused in read-only mode (as is any runbook above the viewer
	// role). Restart, scale, rollback and playbook runs are dangerous
	// whatever this says, as ops declares them.
	Confirm   bool `yaml:"confirm"`
	Dangerous bool `yaml:"dangerous"`
}

// Runbook kinds.
const (
	RunbookPlaybook = "playbook"
	RunbookRestart  = "restart"
	RunbookScale    = "scale"
	RunbookRollback = "rollback"
	RunbookCommand  = "command"
)

// RunbookKinds lists the kinds a runbook may have.
var RunbookKinds = []string{RunbookPlaybook, RunbookRestart, RunbookScale, RunbookRollback, RunbookCommand}

type Audit struct {
	Path string `yaml:"path"` // default $XDG_STATE_HOME/vigil/journal.db
	// Backend is where the journal lives: bolt (the default: the file at
	// Path, this host's) or postgres (shared by several bastions).
	Backend  string         `yaml:"backend"`
	Postgres *AuditPostgres `yaml:"postgres"`
}

// Journal backends (audit.backend).
const (
	BackendBolt     = "bolt"
	BackendPostgres = "postgres"
)

// AuditPostgres is the shared journal's database.
type AuditPostgres struct {
	// DSN is postgres://user:password@host:port/database, from an
	// environment variable or a file: it holds a password.
	DSN Secret `yaml:"dsn"`
}

// Default values applied to what the file leaves unset.
const (
	DefaultRole         = "operator"
	DefaultTheme        = "dark"
	DefaultPollInterval = 5 * time.Second
	DefaultListen       = "127.0.0.1:2222"
	DefaultHTTPListen   = "127.0.0.1:9464"
	DefaultDOTokenEnv   = "DIGITALOCEAN_ACCESS_TOKEN"
	DefaultDOAPIURL     = "https://api.digitalocean.com/"
	DefaultLogLines     = 50_000
	DefaultLogSince     = 15 * time.Minute
	// A logs view keeps between these many lines (about 200 bytes each).
	MinLogLines = 100
	MaxLogLines = 1_000_000
)

// Resolve picks the config path: the flag, else $VIGIL_CONFIG, else
// $XDG_CONFIG_HOME/vigil/config.yaml (~/.config when XDG_CONFIG_HOME is unset).
func Resolve(flagPath string) string {
	if flagPath != "" {
		return flagPath
	}
	if p := os.Getenv("VIGIL_CONFIG"); p != "" {
		return p
	}
	return filepath.Join(xdgDir("XDG_CONFIG_HOME", ".config"), "vigil", "config.yaml")
}

// xdgDir returns $env, else ~/fallback, else fallback relative to the
// working directory when there is no home.
// StateDir is vigil's state directory's parent: $XDG_STATE_HOME, or
// ~/.local/state when it is unset or not absolute. The journal defaults
// to StateDir()/vigil/journal.db; exports and excerpts go beside it.
func StateDir() string { return xdgDir("XDG_STATE_HOME", filepath.Join(".local", "state")) }

func xdgDir(env, fallback string) string {
	if d := os.Getenv(env); d != "" && filepath.IsAbs(d) {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return fallback
	}
	return filepath.Join(home, fallback)
}

// Default is the configuration used when there is no file: identity and
// audit journal only, no integration.
func Default() *Config {
	c := &Config{}
	c.applyDefaults()
	return c
}

// LoadOrDefault loads path; a missing file yields Default unless the path
// was given explicitly (flag or $VIGIL_CONFIG), where it is an error.
func LoadOrDefault(path string, explicit bool) (*Config, error) {
	c, err := Load(path)
	if err != nil && !explicit && errors.Is(err, fs.ErrNotExist) {
		return Default(), nil
	}
	return c, err
}

// Load reads, decodes, completes and validates the config file at path.
// Problems in the file come back as Errors, each naming file, line and key.
func Load(path string) (*Config, error) {
	data, err := yamlbound.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("config file %s does not exist: write one with `vigil config init`: %w", path, err)
	case errors.Is(err, yamlbound.ErrTooLarge):
		return nil, Errors{{File: path, Msg: err.Error()}}
	case err != nil:
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := parse(path, data)
	if err != nil {
		return nil, err
	}
	c.Path = path
	return c, nil
}

func parse(file string, data []byte) (*Config, error) {
	d := &decoder{file: file, lines: map[string]int{}}
	c := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	switch err := dec.Decode(&doc); {
	case errors.Is(err, io.EOF):
		// An empty file: defaults only.
	case err != nil:
		return nil, Errors{{File: file, Line: yamlErrLine(err), Msg: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}}
	default:
		if err := yamlbound.Check(&doc); err != nil {
			var ee *yamlbound.ExpansionError
			errors.As(err, &ee)
			return nil, Errors{{File: file, Line: ee.Line, Msg: ee.Msg}}
		}
		root := &doc
		if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
			root = root.Content[0]
		}
		if !(root.Kind == yaml.ScalarNode && root.Tag == "!!null") {
			d.decodeStruct(root, reflect.ValueOf(c).Elem(), "")
		}
		var next yaml.Node
		if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
			d.fail(next.Line, "", "a config file holds one YAML document: remove everything after the second ---")
		}
	}
	c.applyDefaults()
	v := &validator{decoder: d, bad: map[string]bool{}}
	for _, e := range d.errs {
		v.bad[e.Key] = true
	}
	v.config(c)
	if len(d.errs) > 0 {
		sortErrors(d.errs)
		return nil, d.errs
	}
	return c, nil
}

func (c *Config) applyDefaults() {
	if c.Identity.Name == "" {
		c.Identity.Name = os.Getenv("USER")
	}
	if c.Identity.Name == "" {
		if u, err := user.Current(); err == nil {
			c.Identity.Name = u.Username
		}
	}
	if c.Identity.Role == "" {
		c.Identity.Role = DefaultRole
	}
	if c.Theme == "" {
		c.Theme = DefaultTheme
	}
	if do := c.DigitalOcean; do != nil {
		if do.APIURL == "" {
			do.APIURL = DefaultDOAPIURL
		}
		if do.Token.Env == "" && do.Token.File == "" {
			do.Token.Env = DefaultDOTokenEnv
		}
	}
	if k := c.Kubernetes; k != nil {
		if k.Logs.BufferLines == 0 {
			k.Logs.BufferLines = DefaultLogLines
		}
		if k.Logs.Since == 0 {
			k.Logs.Since = DefaultLogSince
		}
		for i := range k.Environments {
			if k.Environments[i].Namespace == "" {
				k.Environments[i].Namespace = k.Environments[i].Name
			}
		}
	}
	if p := c.Prometheus; p != nil && p.PollInterval == 0 {
		p.PollInterval = DefaultPollInterval
	}
	if a := c.Alertmanager; a != nil && a.PollInterval == 0 {
		a.PollInterval = DefaultPollInterval
	}
	if s := c.Serve; s != nil {
		if s.Listen == "" {
			s.Listen = DefaultListen
		}
		if s.HTTPListen == "" {
			s.HTTPListen = DefaultHTTPListen
		}
	}
	if c.Audit.Path == "" {
		c.Audit.Path = filepath.Join(StateDir(), "vigil", "journal.db")
	}
	for i := range c.Runbooks {
		if c.Runbooks[i].Role == "" {
			c.Runbooks[i].Role = DefaultRole
		}
	}
	if c.Audit.Backend == "" {
		c.Audit.Backend = BackendBolt
	}
	c.expandHome()
}

// expandHome turns a leading ~/ in every path setting into the home directory.
func (c *Config) expandHome() {
	home, err := os.UserHomeDir()
	if err != nil {
		return
	}
	expand := func(p *string) {
		if *p == "~" || strings.HasPrefix(*p, "~/") {
			*p = filepath.Join(home, (*p)[1:])
		}
	}
	expand(&c.Audit.Path)
	if p := c.Audit.Postgres; p != nil {
		expand(&p.DSN.File)
	}
	if do := c.DigitalOcean; do != nil {
		expand(&do.Token.File)
	}
	if a := c.Ansible; a != nil {
		expand(&a.PlaybookDir)
		expand(&a.PrivateKey)
		expand(&a.PrometheusSD)
	}
	if p := c.Prometheus; p != nil {
		for i := range p.RuleFiles {
			expand(&p.RuleFiles[i])
		}
	}
	if k := c.Kubernetes; k != nil {
		expand(&k.Kubeconfig)
	}
	if s := c.Serve; s != nil {
		expand(&s.HostKey)
		expand(&s.WebhookToken.File)
	}
}

// Integrations names the configured integrations, in a fixed order. With
// none, the console opens on its welcome screen.
func (c *Config) Integrations() []string {
	var out []string
	for _, i := range []struct {
		name string
		on   bool
	}{
		{"digitalocean", c.DigitalOcean != nil},
		{"ansible", c.Ansible != nil},
		{"kubernetes", c.Kubernetes != nil},
		{"prometheus", c.Prometheus != nil},
		{"alertmanager", c.Alertmanager != nil},
	} {
		if i.on {
			out = append(out, i.name)
		}
	}
	return out
}

// Init writes the commented example config to path, with mode 0600 and its
// parent directories, and refuses to overwrite an existing file.
func Init(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create config directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists: vigil does not overwrite it; edit it, or move it away and run init again", path)
	}
	if err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	if _, err := f.Write(Example()); err != nil {
		f.Close()
		return fmt.Errorf("write config %s: %w", path, err)
	}
	return f.Close()
}
