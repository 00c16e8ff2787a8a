// Package runbook is the actions config declares for alerts (config
// Runbooks): which ones match an alert, what each acts on, filled from the
// alert, and running them through the ops services that own them, so that
// the guard, the journal and presence apply as they do to the same action
// taken by hand.
package runbook

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ops/playbook"
	"github.com/vigilops/vigil/ops/release"
)

// Action is one runbook of the config, compiled.
type Action struct {
	config.Runbook
	labels map[string]*regexp.Regexp
	words  []string // kind command: the command's words, placeholders unfilled
	role   access.Role
}

// Book is the runbooks of a config.
type Book struct {
	actions []*Action
}

// New compiles the config's runbooks; config validation has refused the
// errors it returns.
func New(rs []config.Runbook) (*Book, error) {
	b := &Book{}
	for _, r := range rs {
		a := &Action{Runbook: r, labels: map[string]*regexp.Regexp{}}
		var err error
		if a.role, err = access.ParseRole(r.Role); err != nil {
			return nil, fmt.Errorf("runbook %s: %w", r.Name, err)
		}
		for name, expr := range r.Labels {
			re, err := regexp.Compile("^(?:" + expr + ")$")
			if err != nil {
				return nil, fmt.Errorf("runbook %s: label %s: %w", r.Name, name, err)
			}
			a.labels[name] = re
		}
		if r.Kind == config.RunbookCommand {
			if a.words, err = config.CommandWords(r.Command); err != nil {
				return nil, fmt.Errorf("runbook %s: %w", r.Name, err)
			}
		}
		if !slices.Contains(config.RunbookKinds, r.Kind) {
			return nil, fmt.Errorf("runbook %s: unknown kind %q", r.Name, r.Kind)
		}
		b.actions = append(b.actions, a)
	}
	return b, nil
}

// Len is the number of runbooks.
func (b *Book) Len() int {
	if b == nil {
		return 0
	}
	return len(b.actions)
}

// For returns the runbooks that match a, in config order.
func (b *Book) For(a *incident.Alert) []*Action {
	if b == nil || a == nil {
		return nil
	}
	var out []*Action
	for _, r := range b.actions {
		if r.Matches(a) {
			out = append(out, r)
		}
	}
	return out
}

// Lookup finds the runbook called name among those that match a.
func (b *Book) Lookup(a *incident.Alert, name string) (*Action, error) {
	var names []string
	for _, r := range b.For(a) {
		if r.Name == name {
			return r, nil
		}
		names = append(names, r.Name)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no runbook matches %s", a.Name)
	}
	return nil, fmt.Errorf("no runbook %q for %s: its runbooks are %s", name, a.Name, strings.Join(names, ", "))
}

// Matches reports whether alert a is one r is for: its name, when r names
// one, and every label r lists matching whole (an absent label is "").
func (r *Action) Matches(a *incident.Alert) bool {
	if r.Alert != "" && r.Alert != a.Name {
		return false
	}
	for name, re := range r.labels {
		if !re.MatchString(a.Labels[name]) {
			return false
		}
	}
	return true
}

// Access is the runbook as an ops action: its own name, the least role
// config gives it, and dangerous when config says so or when what it does
// is (restart, scale, rollback, a playbook run), as ops declares them.
func (r *Action) Access() access.Action {
	act := access.Action{Name: "runbook " + r.Name, MinRole: r.role, Mutates: r.role != access.Viewer, Dangerous: r.Runbook.Dangerous}
	switch r.Kind {
	case config.RunbookRestart:
		act.Dangerous = act.Dangerous || release.ActRestart.Dangerous
	case config.RunbookScale:
		act.Dangerous = act.Dangerous || release.ActScale.Dangerous
	case config.RunbookRollback:
		act.Dangerous = act.Dangerous || release.ActRollback.Dangerous
	case config.RunbookPlaybook:
		act.Dangerous = act.Dangerous || playbook.ActApply.Dangerous
	}
	act.Mutates = act.Mutates || act.Dangerous
	return act
}

// Asks reports whether the runbook asks before it runs: dangerous, or
// declared with confirm.
func (r *Action) Asks() bool { return r.Access().Dangerous || r.Confirm }

// Target is what a runbook acts on, from the alert it runs for.
type Target struct {
	Alert       string // the alert's name
	Fingerprint string
	Workload    string // namespace/name
	Namespace   string
	App         string
	Env         string // the environment of Namespace
	Host        string
	// Args is, for a command, the palette command's name and arguments,
	// each one word whatever the alert's values hold.
	Args []string
}

// Resolve fills what r acts on from alert a. envs are the pipeline's
// environments, to find the workload's (nil without kubernetes).
func (r *Action) Resolve(a *incident.Alert, envs []release.Env) (Target, error) {
	t := Target{Alert: a.Name, Fingerprint: a.Fingerprint, Workload: a.Workload, Host: a.Host}
	if ns, name, ok := strings.Cut(a.Workload, "/"); ok {
		t.Namespace, t.App = ns, name
		for _, e := range envs {
			if e.Name == ns || (t.Env == "" && e.Namespace == ns) {
				t.Env = e.Name
			}
		}
	}
	switch r.Kind {
	case config.RunbookRestart, config.RunbookScale, config.RunbookRollback:
		if t.App == "" {
			return t, fmt.Errorf("runbook %s acts on the alert's workload, and %s names none: it has no namespace and deployment or statefulset labels", r.Name, a.Name)
		}
		if t.Env == "" {
			return t, fmt.Errorf("runbook %s: %s is no environment or namespace of the pipeline", r.Name, t.Namespace)
		}
	case config.RunbookPlaybook:
		if t.Host == "" {
			return t, fmt.Errorf("runbook %s runs on the alert's host, and %s names none: it has no droplet or instance label", r.Name, a.Name)
		}
	case config.RunbookCommand:
		args, err := Fill(r.words, t, a.Labels)
		if err != nil {
			return t, fmt.Errorf("runbook %s: %w", r.Name, err)
		}
		t.Args = args
	}
	return t, nil
}

// safeValue is what a value filled into a command may hold: a name, a
// workload or a host, never a blank, quote, comma, = or leading -, so that
// it stays one plain argument of the command it fills.
var safeValue = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.@/+-]{0,252}$`)

var placeholder = regexp.MustCompile(`\{([^{}]*)\}`)

// Fill fills the placeholders of a command's words from t and the alert's
// labels. Each word stays one argument; a value that is empty or not a
// plain name (safeValue) is refused, naming the placeholder, rather than
// passed on.
func Fill(words []string, t Target, labels map[string]string) ([]string, error) {
	vals := map[string]string{"alert": t.Alert, "workload": t.Workload, "env": t.Env, "app": t.App, "namespace": t.Namespace, "host": t.Host}
	out := make([]string, len(words))
	var errs []error
	for i, w := range words {
		out[i] = placeholder.ReplaceAllStringFunc(w, func(p string) string {
			name := p[1 : len(p)-1]
			v, ok := vals[name]
			if l, isLabel := strings.CutPrefix(name, "label:"); isLabel {
				v, ok = labels[l], true
			}
			switch {
			case !ok:
				errs = append(errs, fmt.Errorf("unknown placeholder %s", p))
			case v == "":
				errs = append(errs, fmt.Errorf("%s is empty for this alert", p))
			case !safeValue.MatchString(v):
				errs = append(errs, fmt.Errorf("%s is %s, which is not a plain name (letters, digits, _ . @ / + -): refused, so that an alert cannot add arguments", p, strconv.QuoteToASCII(v)))
			}
			return v
		})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// Describe says what r does on t, for a dialog, a list or the journal:
// "restart api in prod (shop-prod/api)", "run restart-nginx.yml on web-1".
func (r *Action) Describe(t Target) string {
	switch r.Kind {
	case config.RunbookRestart:
		return fmt.Sprintf("restart %s in %s (%s)", t.App, t.Env, t.Workload)
	case config.RunbookScale:
		return fmt.Sprintf("scale %s in %s (%s) to %d replicas", t.App, t.Env, t.Workload, *r.Replicas)
	case config.RunbookRollback:
		return fmt.Sprintf("roll back the promotion of %s in %s (%s)", t.App, t.Env, t.Workload)
	case config.RunbookPlaybook:
		return fmt.Sprintf("run %s on %s", r.Playbook, t.Host)
	case config.RunbookCommand:
		return ":" + strings.Join(t.Args, " ")
	}
	return r.Kind
}

// Summary is what r does, before an alert fills it: "restart {workload}".
func (r *Action) Summary() string {
	switch r.Kind {
	case config.RunbookRestart:
		return "restart the alert's workload"
	case config.RunbookScale:
		return fmt.Sprintf("scale the alert's workload to %d", *r.Replicas)
	case config.RunbookRollback:
		return "roll back the workload's promotion"
	case config.RunbookPlaybook:
		return "run " + r.Playbook + " on the alert's host"
	}
	return ":" + strings.Join(r.words, " ")
}

// Journal records attempts, as ops/audit's journal does.
type Journal interface {
	Record(ctx context.Context, actor access.Actor, action, target string, params map[string]string, err error) error
}

// Check lets actor run r on t, or refuses it: the runbook's own role and
// read-only mode. A refusal is journaled ("runbook NAME" on the alert).
// What the runbook does then checks its own action in its service.
func (r *Action) Check(ctx context.Context, g access.Guard, j Journal, actor access.Actor, t Target) error {
	err := g.Check(actor, r.Access())
	if err != nil && j != nil {
		params := map[string]string{"kind": r.Kind, "on": r.Describe(t)}
		err = errors.Join(err, j.Record(ctx, actor, r.Access().Name, "alert/"+t.Fingerprint, params, err))
	}
	return err
}

// Services are the ops services runbooks run through; nil for those not
// configured.
type Services struct {
	Release  *release.Service
	Playbook *playbook.Service
}

// ErrNotHere says the runbook kind runs elsewhere: a rollback through the
// console's or CLI's rollback flow, a command through the palette.
var ErrNotHere = errors.New("this runbook runs through the console")

// Run runs a restart, scale or playbook runbook on t, as actor, through
// its service, which checks, journals and shows it. It returns the run's
// id for a playbook. Check comes first.
func (r *Action) Run(ctx context.Context, s Services, actor access.Actor, t Target) (string, error) {
	switch r.Kind {
	case config.RunbookRestart, config.RunbookScale:
		if s.Release == nil {
			return "", errors.New("no kubernetes environments are configured")
		}
		if r.Kind == config.RunbookRestart {
			return "", s.Release.Restart(ctx, actor, t.App, t.Env)
		}
		return "", s.Release.Scale(ctx, actor, t.App, t.Env, int32(*r.Replicas))
	case config.RunbookPlaybook:
		if s.Playbook == nil {
			return "", errors.New("ansible is not configured")
		}
		return s.Playbook.Start(ctx, actor, playbook.Request{
			Playbook: r.Playbook, Target: playbook.Target{Kind: playbook.TargetHosts, Hosts: []string{t.Host}}, Mode: playbook.Apply,
		})
	}
	return "", ErrNotHere
}

// Names lists the runbooks' names, sorted.
func (b *Book) Names() []string {
	if b == nil {
		return nil
	}
	set := map[string]bool{}
	for _, r := range b.actions {
		set[r.Name] = true
	}
	return slices.Sorted(maps.Keys(set))
}
