package config

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigilops/vigil/internal/redact"
	"github.com/vigilops/vigil/ops/access"
	"golang.org/x/crypto/ssh"
)

var (
	// dnsLabel is what Kubernetes accepts as a namespace name (RFC 1123 label).
	dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	// dnsSubdomain is what Kubernetes accepts as a Deployment or CronJob
	// name (RFC 1123 subdomain); lengths are checked apart.
	dnsSubdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)
	themeName    = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	yamlLine     = regexp.MustCompile(`line (\d+)`)
)

// yamlErrLine extracts the line from a yaml.v3 syntax error, 0 when absent.
func yamlErrLine(err error) int {
	m := yamlLine.FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// sortErrors orders errors by line; errors about absent keys (line 0) last.
func sortErrors(es Errors) {
	sort.SliceStable(es, func(i, j int) bool {
		li, lj := es[i].Line, es[j].Line
		if li == 0 || lj == 0 {
			return lj == 0 && li != 0
		}
		return li < lj
	})
}

// validator checks decoded values; it reports through the decoder so that
// errors land at the line of the key, or of its nearest written parent.
type validator struct {
	*decoder
	bad map[string]bool // paths that already failed to decode
}

func parent(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

func (v *validator) errorf(path, format string, args ...any) {
	for p := path; p != ""; p = parent(p) {
		if v.bad[p] {
			return // the decode error already says what is wrong here
		}
	}
	line := 0
	for p := path; p != ""; p = parent(p) {
		if l, ok := v.lines[p]; ok {
			line = l
			break
		}
	}
	v.fail(line, path, format, args...)
}

func (v *validator) required(path, value, what string) bool {
	if strings.TrimSpace(value) == "" {
		v.errorf(path, "missing: set %s", what)
		return false
	}
	return true
}

func (v *validator) url(path, raw string) {
	if !v.required(path, raw, "an http:// or https:// URL") {
		return
	}
	u, err := url.Parse(raw)
	shown := redact.URL(raw)
	switch {
	case err != nil && strings.Contains(raw, "@"):
		// The parser's reason may quote a piece of the password.
		v.errorf(path, "invalid URL %q: write http://user:password@host:port/path", shown)
	case err != nil:
		v.errorf(path, "invalid URL %q: %v", shown, unwrapURLError(err))
	case u.Scheme != "http" && u.Scheme != "https":
		v.errorf(path, "URL %q must start with http:// or https://", shown)
	case u.Host == "":
		v.errorf(path, "URL %q has no host", shown)
	}
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

func (v *validator) listen(path, addr string) {
	if _, port, err := net.SplitHostPort(addr); err != nil {
		v.errorf(path, "invalid listen address %q: write host:port, like 127.0.0.1:2222", addr)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		v.errorf(path, "invalid port %q in %q: use 0 to 65535", port, addr)
	}
}

func (v *validator) role(path, role string) {
	if _, err := access.ParseRole(role); err != nil {
		v.errorf(path, "%v", err)
	}
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// secret checks where a secret comes from; no message shows the name
// written, which may be the token itself pasted in the wrong place.
func (v *validator) secret(path string, s Secret) {
	if s.Env != "" && s.File != "" {
		v.errorf(path, "set env or file, not both")
	}
	const revoke = " (the value is not shown): remove it from the config, revoke it, and name where it is kept instead"
	switch {
	case LooksLikeToken(s.Env):
		v.errorf(path+".env", "this looks like a token, not a variable name"+revoke)
	case s.Env != "" && !envName.MatchString(s.Env):
		v.errorf(path+".env", "not a variable name (not shown): use letters, digits and _, like DIGITALOCEAN_ACCESS_TOKEN")
	}
	if LooksLikeToken(s.File) {
		v.errorf(path+".file", "this looks like a token, not a file name"+revoke)
	}
}

func (v *validator) config(c *Config) {
	if c.Identity.Name == "" {
		v.errorf("identity.name", "missing: $USER is empty and the user is unknown, so set identity.name")
	}
	v.role("identity.role", c.Identity.Role)
	if !themeName.MatchString(c.Theme) {
		v.errorf("theme", "invalid theme name %q: use lower-case letters, digits, - and _, like dark or high-contrast", c.Theme)
	}
	for name, keys := range c.Keys {
		p := join("keys", name)
		if len(keys) == 0 {
			v.errorf(p, "no keys: list at least one, like [\"q\"], or remove the binding to keep its default")
		}
		for i, k := range keys {
			if strings.TrimSpace(k) == "" {
				v.errorf(fmt.Sprintf("%s[%d]", p, i), "empty key: write a key like \"ctrl+c\" or \"q\"")
			}
		}
	}
	if do := c.DigitalOcean; do != nil {
		v.digitalOcean(do)
	}
	if a := c.Ansible; a != nil {
		v.required("ansible.playbook_dir", a.PlaybookDir, "the directory holding the playbooks")
	}
	if k := c.Kubernetes; k != nil {
		v.kubernetes(k)
	}
	if p := c.Prometheus; p != nil {
		v.url("prometheus.url", p.URL)
		for i, f := range p.RuleFiles {
			if !filepath.IsAbs(f) && !strings.HasPrefix(f, "~/") {
				v.errorf(fmt.Sprintf("prometheus.rule_files[%d]", i), "%q: give an absolute path (or one under ~/), the one Prometheus's rule_files names", f)
			}
		}
	}
	if a := c.Alertmanager; a != nil {
		if len(a.URLs) == 0 {
			v.errorf("alertmanager.urls", "missing: list at least one Alertmanager URL")
		}
		for i, u := range a.URLs {
			v.url(fmt.Sprintf("alertmanager.urls[%d]", i), u)
		}
		for i, s := range a.NotifySeverities {
			if strings.TrimSpace(s) == "" {
				v.errorf(fmt.Sprintf("alertmanager.notify_severities[%d]", i), "empty: name a severity label value, such as critical")
			}
		}
	}
	if s := c.Serve; s != nil {
		v.serve(s)
	}
	v.runbooks(c)
	if c.Data != nil {
		v.data(c)
	}
	v.required("audit.path", c.Audit.Path, "the journal file path (there is no home directory to default to)")
	v.audit(c.Audit)
}

func (v *validator) audit(a Audit) {
	switch a.Backend {
	case BackendBolt:
	case BackendPostgres:
		if a.Postgres == nil || a.Postgres.DSN.Env == "" && a.Postgres.DSN.File == "" {
			v.errorf("audit.postgres.dsn", "missing: the postgres backend needs its DSN from an environment variable (env: VIGIL_POSTGRES_DSN) or a file (file: /path, mode 0600)")
			return
		}
	default:
		v.errorf("audit.backend", "unknown backend %q: use bolt (this host's file, the default) or postgres (shared by several bastions)", a.Backend)
		return
	}
	if a.Postgres == nil {
		return
	}
	dsn := a.Postgres.DSN
	// A DSN written where its variable's or file's name goes is never
	// repeated: it holds a password.
	const shown = " (the value is not shown): put the DSN in an environment variable or a file and name that here; change the password if the config was shared"
	switch {
	case strings.Contains(dsn.Env, "://") || strings.Contains(dsn.Env, "password="):
		v.errorf("audit.postgres.dsn.env", "this looks like a DSN, not a variable name"+shown)
		return
	case strings.Contains(dsn.File, "://") || strings.Contains(dsn.File, "password="):
		v.errorf("audit.postgres.dsn.file", "this looks like a DSN, not a file name"+shown)
		return
	}
	v.secret("audit.postgres.dsn", dsn)
}

func (v *validator) digitalOcean(do *DigitalOcean) {
	v.url("digitalocean.api_url", do.APIURL)
	v.secret("digitalocean.token", do.Token)
	names := map[string]bool{}
	for i, t := range do.Templates {
		p := fmt.Sprintf("digitalocean.templates[%d]", i)
		if v.required(p+".name", t.Name, "a template name") {
			if names[t.Name] {
				v.errorf(p+".name", "template %q is defined twice: names must be unique", t.Name)
			}
			names[t.Name] = true
		}
		v.required(p+".region", t.Region, "a region slug, like ams3")
		v.required(p+".size", t.Size, "a size slug, like s-1vcpu-1gb")
		v.required(p+".image", t.Image, "an image slug, like debian-12-x64")
		if t.VolumeGB < 0 {
			v.errorf(p+".volume_gb", "must be 0 (no volume) or more")
		}
	}
	v.network(do.Network)
	for i, t := range do.Templates {
		if t.Record && do.Network.Domain == "" {
			v.errorf(fmt.Sprintf("digitalocean.templates[%d].record", i), "is true, but digitalocean.network.domain is not set: set the domain the records go in")
		}
	}
}

func (v *validator) kubernetes(k *Kubernetes) {
	if len(k.Environments) == 0 {
		v.errorf("kubernetes.environments", "missing: list the environments in pipeline order, like dev, test, preprod, prod")
	}
	seen := map[string]int{}
	for i, e := range k.Environments {
		p := fmt.Sprintf("kubernetes.environments[%d]", i)
		if !v.required(p+".name", e.Name, "an environment name, like prod") {
			continue
		}
		if !dnsLabel.MatchString(e.Name) {
			v.errorf(p+".name", "invalid environment name %q: use lower-case letters, digits and -, up to 63 characters", e.Name)
		} else if j, dup := seen[e.Name]; dup {
			v.errorf(p+".name", "environment %q is already environments[%d]: names must be unique", e.Name, j)
		}
		seen[e.Name] = i
		if e.Namespace != e.Name && !dnsLabel.MatchString(e.Namespace) {
			v.errorf(p+".namespace", "invalid namespace %q: use lower-case letters, digits and -, up to 63 characters", e.Namespace)
		}
		v.hooks(p+".promotion_hooks", e.PromotionHooks)
	}
	v.hooks("kubernetes.promotion_hooks", k.PromotionHooks)
	if n := k.Logs.BufferLines; n != 0 && (n < MinLogLines || n > MaxLogLines) {
		v.errorf("kubernetes.logs.buffer_lines", "%d is out of range: keep between %d and %d lines (default %d)", n, MinLogLines, MaxLogLines, DefaultLogLines)
	}
	if k.LockTTL != 0 && (k.LockTTL < time.Second || k.LockTTL%time.Second != 0) {
		v.errorf("kubernetes.lock_ttl", "%s: write whole seconds, 1s or more (a Lease counts seconds; default 10m)", k.LockTTL)
	}
	if k.RefuseUnhealthySourceForProtected && !slices.ContainsFunc(k.Environments, func(e Environment) bool { return e.Protected }) {
		v.errorf("kubernetes.refuse_unhealthy_source_for_protected", "is set, but no environment is protected: mark the ones it guards with protected: true, or remove it")
	}
}

// Kubernetes refuses CronJob names longer than this: the Jobs it makes
// from them add a suffix.
const maxCronJobName = 52

// hooks checks a map of app → promotion hook CronJob.
func (v *validator) hooks(path string, hooks map[string]string) {
	for app, cronJob := range hooks {
		p := join(path, app)
		if len(app) > 253 || !dnsSubdomain.MatchString(app) {
			v.errorf(p, "invalid app name %q: write the name of the Deployment or StatefulSet, in lower-case letters, digits, - and .", app)
		}
		if !v.required(p, cronJob, "the name of the suspended CronJob whose job template runs before the promotion") {
			continue
		}
		if len(cronJob) > maxCronJobName || !dnsSubdomain.MatchString(cronJob) {
			v.errorf(p, "invalid CronJob name %q: use lower-case letters, digits, - and ., up to %d characters", cronJob, maxCronJobName)
		}
	}
}

func (v *validator) serve(s *Serve) {
	v.listen("serve.listen", s.Listen)
	v.listen("serve.http_listen", s.HTTPListen)
	v.secret("serve.webhook_token", s.WebhookToken)
	if s.MaxSessions < 0 {
		v.errorf("serve.max_sessions", "must be 0 (no limit) or more")
	}
	if s.MemoryLimitMB != 0 && s.MemoryLimitMB < 64 {
		v.errorf("serve.memory_limit_mb", "must be 0 (no limit) or at least 64 (MiB): a lower limit makes the server collect without end")
	}
	names := map[string]bool{}
	for i, u := range s.Users {
		p := fmt.Sprintf("serve.users[%d]", i)
		if v.required(p+".name", u.Name, "the user's name, as the journal records it") {
			if names[u.Name] {
				v.errorf(p+".name", "user %q is listed twice: put all their keys in one entry", u.Name)
			}
			names[u.Name] = true
		}
		if v.required(p+".role", u.Role, "viewer, operator or admin") {
			v.role(p+".role", u.Role)
		}
		if len(u.Keys) == 0 {
			v.errorf(p+".keys", "missing: list at least one public key, as an authorized_keys line")
		}
		for j, line := range u.Keys {
			if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line)); err != nil {
				v.errorf(fmt.Sprintf("%s.keys[%d]", p, j), "not an authorized_keys line (like \"ssh-ed25519 AAAA… alice@host\"): %v", err)
			}
		}
	}
}
