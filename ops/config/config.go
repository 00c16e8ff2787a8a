// Package config is vigil's configuration: its shape, strict decoding with
// errors that name file, line and key, and validation.
package config

import "time"

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
	Audit        Audit               `yaml:"audit"`

	// Path is the file this config was read from ("" for defaults).
	Path string `yaml:"-"`
}

// Identity is the local actor; over SSH the actor comes from Serve.Users.
type Identity struct {
	Name string `yaml:"name"` // default: $USER
	Role string `yaml:"role"` // viewer, operator or admin; default operator
}

// Secret is read from an environment variable or a file, never written in
// the config itself. Its value never appears in String, logs or errors.
type Secret struct {
	Env  string `yaml:"env"`
	File string `yaml:"file"`
}

type DigitalOcean struct {
	APIURL    string         `yaml:"api_url"` // default https://api.digitalocean.com/
	Token     Secret         `yaml:"token"`   // default env DIGITALOCEAN_ACCESS_TOKEN
	Templates []HostTemplate `yaml:"templates"`
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
}

type Ansible struct {
	PlaybookDir  string `yaml:"playbook_dir"`
	PrivateKey   string `yaml:"private_key"`
	User         string `yaml:"user"`
	PrometheusSD string `yaml:"prometheus_sd"` // file_sd file kept in sync with hosts
}

type Kubernetes struct {
	Kubeconfig   string        `yaml:"kubeconfig"`
	AppSelector  string        `yaml:"app_selector"` // label selector; empty: all workloads
	Environments []Environment `yaml:"environments"` // ordered pipeline
}

type Environment struct {
	Name         string `yaml:"name"`
	Context      string `yaml:"context"`
	Namespace    string `yaml:"namespace"`
	Protected    bool   `yaml:"protected"`
	AutoRollback bool   `yaml:"auto_rollback"`
}

type Prometheus struct {
	URL          string        `yaml:"url"`
	PollInterval time.Duration `yaml:"poll_interval"`
}

type Alertmanager struct {
	URLs         []string      `yaml:"urls"`
	PollInterval time.Duration `yaml:"poll_interval"` // default 5s
}

type Serve struct {
	Listen      string        `yaml:"listen"`      // SSH, default 127.0.0.1:2222
	HTTPListen  string        `yaml:"http_listen"` // webhook, /metrics, /healthz; default 127.0.0.1:9464
	HostKey     string        `yaml:"host_key"`
	MaxSessions int           `yaml:"max_sessions"`
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	Users       []User        `yaml:"users"`
}

type User struct {
	Name string   `yaml:"name"`
	Role string   `yaml:"role"`
	Keys []string `yaml:"keys"` // authorized_keys lines
}

type Audit struct {
	Path string `yaml:"path"` // default $XDG_STATE_HOME/vigil/journal.db
}
