package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/vigilops/vigil/internal/closest"
)

var (
	runbookName = regexp.MustCompile(`^[a-z0-9]([a-z0-9_.-]{0,62})$`)
	labelName   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	placeholder = regexp.MustCompile(`\{([^{}]*)\}`)
)

// RunbookPlaceholders are the placeholders a runbook command may hold,
// besides {label:NAME}.
var RunbookPlaceholders = []string{"alert", "workload", "env", "app", "namespace", "host"}

// CommandWords splits a runbook command into its words: the first is a
// palette command name, the others arguments that may hold placeholders.
// Words are separated by blanks; quotes and backslashes are refused, so
// that a word is what it looks like, and so is a value filled into it.
func CommandWords(cmd string) ([]string, error) {
	words := strings.Fields(strings.TrimPrefix(strings.TrimSpace(cmd), ":"))
	if len(words) == 0 {
		return nil, errors.New("missing: set a palette command line, like \"rollout {env}/{app}\"")
	}
	if i := strings.IndexAny(cmd, "'\"\\`"); i >= 0 {
		return nil, fmt.Errorf("%q: quotes and backslashes are not allowed: words are separated by blanks, and each placeholder fills one argument", cmd)
	}
	if !commandName.MatchString(words[0]) {
		return nil, fmt.Errorf("%q: the first word is a palette command name, in lower-case letters, digits and -, like rollout", words[0])
	}
	for _, w := range words[1:] {
		for _, m := range placeholder.FindAllStringSubmatch(w, -1) {
			if err := checkPlaceholder(m[1]); err != nil {
				return nil, err
			}
		}
		if strings.ContainsAny(placeholder.ReplaceAllString(w, ""), "{}") {
			return nil, fmt.Errorf("%q: unbalanced { or }: placeholders are written {workload}", w)
		}
	}
	return words, nil
}

var commandName = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

func checkPlaceholder(p string) error {
	if name, ok := strings.CutPrefix(p, "label:"); ok {
		if !labelName.MatchString(name) {
			return fmt.Errorf("{%s}: %q is not a label name", p, name)
		}
		return nil
	}
	if !slices.Contains(RunbookPlaceholders, p) {
		return fmt.Errorf("unknown placeholder {%s}: use {%s} or {label:NAME}", p, strings.Join(RunbookPlaceholders, "} {"))
	}
	return nil
}

func (v *validator) runbooks(c *Config) {
	names := map[string]int{}
	for i, r := range c.Runbooks {
		p := fmt.Sprintf("runbooks[%d]", i)
		if v.required(p+".name", r.Name, "a name for the action, like restart-api") {
			if !runbookName.MatchString(r.Name) {
				v.errorf(p+".name", "invalid name %q: use lower-case letters, digits, -, _ and ., up to 63 characters, like restart-api", r.Name)
			} else if j, dup := names[r.Name]; dup {
				v.errorf(p+".name", "runbook %q is already runbooks[%d]: names must be unique", r.Name, j)
			}
			names[r.Name] = i
		}
		if r.Alert == "" && len(r.Labels) == 0 {
			v.errorf(p, "no matcher: set alert (an alertname) or labels (label: regular expression), or both")
		}
		for name, re := range r.Labels {
			lp := join(p+".labels", name)
			if !labelName.MatchString(name) {
				v.errorf(lp, "bad matcher: %q is not a label name (letters, digits and _, not starting with a digit)", name)
			} else if _, err := regexp.Compile("^(?:" + re + ")$"); err != nil {
				v.errorf(lp, "bad matcher: %q is not a regular expression: %v", re, unwrapRegexpError(err))
			}
		}
		v.role(p+".role", r.Role)
		if !v.required(p+".kind", r.Kind, "what it does: "+strings.Join(RunbookKinds, ", ")) {
			continue
		}
		if !slices.Contains(RunbookKinds, r.Kind) {
			msg := fmt.Sprintf("unknown kind %q: use %s", r.Kind, strings.Join(RunbookKinds, ", "))
			if near := closest.Close(r.Kind, RunbookKinds); len(near) > 0 {
				msg = fmt.Sprintf("unknown kind %q: did you mean %q? (kinds are %s)", r.Kind, near[0], strings.Join(RunbookKinds, ", "))
			}
			v.errorf(p+".kind", "%s", msg)
			continue
		}
		only := func(key string, set bool, kind string) {
			if set && r.Kind != kind {
				v.errorf(p+"."+key, "only for kind %s, and this runbook is a %s: remove it", kind, r.Kind)
			}
		}
		only("playbook", r.Playbook != "", RunbookPlaybook)
		only("replicas", r.Replicas != nil, RunbookScale)
		only("command", r.Command != "", RunbookCommand)
		switch r.Kind {
		case RunbookPlaybook:
			v.runbookPlaybook(p+".playbook", r.Playbook, c.Ansible)
		case RunbookScale:
			if r.Replicas == nil {
				v.errorf(p+".replicas", "missing: a scale runbook sets the replicas, 0 or more")
			} else if *r.Replicas < 0 || *r.Replicas > 10000 {
				v.errorf(p+".replicas", "%d is out of range: use 0 to 10000", *r.Replicas)
			}
		case RunbookCommand:
			if _, err := CommandWords(r.Command); err != nil {
				v.errorf(p+".command", "%v", err)
			}
		}
		if (r.Kind == RunbookRestart || r.Kind == RunbookScale || r.Kind == RunbookRollback) && c.Kubernetes == nil {
			v.errorf(p+".kind", "%s acts on the alert's workload, and kubernetes is not configured: add the kubernetes section", r.Kind)
		}
	}
}

func (v *validator) runbookPlaybook(path, pb string, a *Ansible) {
	if !v.required(path, pb, "the playbook to run, a file of ansible.playbook_dir like restart-nginx.yml") {
		return
	}
	if filepath.IsAbs(pb) || slices.Contains(strings.Split(filepath.ToSlash(pb), "/"), "..") {
		v.errorf(path, "playbook %q must be a path inside ansible.playbook_dir, without .. and not absolute", pb)
		return
	}
	if a == nil {
		v.errorf(path, "playbook missing: %q runs with ansible, which is not configured: add the ansible section with its playbook_dir", pb)
		return
	}
	// A directory that does not exist yet (the example's) is not checked.
	if st, err := os.Stat(a.PlaybookDir); err == nil && st.IsDir() {
		if _, err := os.Stat(filepath.Join(a.PlaybookDir, pb)); err != nil {
			v.errorf(path, "playbook missing: %q is not in %s", pb, a.PlaybookDir)
		}
	}
}

func unwrapRegexpError(err error) string {
	s := err.Error()
	return strings.TrimPrefix(s, "error parsing regexp: ")
}
