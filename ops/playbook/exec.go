package playbook

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/presence"
)

// ActExec runs a shell command on hosts (`:exec`, `vigil exec`): it can
// change anything there, so it is confirmed, operators and admins only.
var ActExec = access.Action{Name: "run a command on hosts", MinRole: access.Operator, Mutates: true, Dangerous: true}

// ErrExecFailed is wrapped by Exec's error when the command ran but failed
// (a non-zero exit) or could not reach some hosts.
var ErrExecFailed = errors.New("the command failed on some hosts")

// AdHocSpec is one ad-hoc command, as the AdHocRunner port receives it.
type AdHocSpec struct {
	// Command is run by the host's shell (Ansible's shell module).
	Command   string
	Inventory []byte // Inventory.Static
	Limit     []string
	// Timeout bounds the command on each host; 0: none.
	Timeout time.Duration
}

// AdHocRunner runs ad-hoc commands: the `ansible` CLI with a JSON stdout
// callback, never its screen text. It returns each host's outcome once
// every host is done; a host that failed is an outcome, not an error. When
// ctx ends, it interrupts the process as Runner does.
type AdHocRunner interface {
	RunAdHoc(ctx context.Context, spec AdHocSpec) ([]HostOutput, error)
}

// HostOutput is one host's outcome of an ad-hoc command.
type HostOutput struct {
	Host string `json:"host"`
	// Status is StatusChanged (it ran and exited 0), StatusFailed (a
	// non-zero exit, or the module failed) or StatusUnreachable.
	Status Status `json:"status"`
	// RC is the command's exit code; -1 when it did not run.
	RC     int    `json:"rc"`
	Stdout string `json:"stdout,omitempty"`
	Stderr string `json:"stderr,omitempty"`
	// Msg is Ansible's word when the command did not run or failed
	// ("non-zero return code", the SSH error of an unreachable host).
	Msg string `json:"msg,omitempty"`
	// Truncated is true when Stdout or Stderr were cut at MaxOutput.
	Truncated bool          `json:"truncated,omitempty"`
	Duration  time.Duration `json:"duration,omitempty"`
}

// MaxOutput bounds the stdout and the stderr kept of each host.
const MaxOutput = 64 << 10

// ExecRequest asks for an ad-hoc command.
type ExecRequest struct {
	Command string
	// Target is TargetHosts (names), TargetTag or TargetGroup.
	Target Target
	// Timeout bounds the command on each host; 0: DefaultExecTimeout.
	Timeout time.Duration
}

// DefaultExecTimeout bounds an ad-hoc command on each host.
const DefaultExecTimeout = 5 * time.Minute

// Exec is an ad-hoc command that ran: who, what, where and each host's
// outcome, sorted by host.
type Exec struct {
	ID           string            `json:"id"`
	Command      string            `json:"command"`
	Target       Target            `json:"target"`
	Hosts        []string          `json:"hosts"`
	Actor        string            `json:"actor"`
	Started      time.Time         `json:"started"`
	Ended        time.Time         `json:"ended"`
	Results      []HostOutput      `json:"results"`
	KeysRecorded map[string]string `json:"keys_recorded,omitempty"`
	// Error is why the command did not run everywhere, beside its hosts'
	// outcomes (Ansible could not start, it was interrupted).
	Error string `json:"error,omitempty"`
}

// Running reports whether the command has not ended yet.
func (e Exec) Running() bool { return e.Ended.IsZero() }

// Failed lists the hosts where the command failed or did not run.
func (e Exec) Failed() []string {
	var out []string
	for _, r := range e.Results {
		if r.Status != StatusChanged && r.Status != StatusOK {
			out = append(out, r.Host)
		}
	}
	return out
}

func (e Exec) params() map[string]string {
	p := map[string]string{"command": e.Command, "target": e.Target.String(), "hosts": strings.Join(e.Hosts, ","), "exec": e.ID}
	for _, r := range e.Results {
		if r.Status == StatusUnreachable {
			p["result."+r.Host] = "unreachable"
		} else {
			p["result."+r.Host] = "rc " + strconv.Itoa(r.RC)
		}
	}
	for h, fp := range e.KeysRecorded {
		p["key_recorded."+h] = fp
	}
	return p
}

// execTarget names an ad-hoc command's object in the journal.
func execTarget(t Target) string {
	switch t.Kind {
	case TargetHosts:
		return "hosts/" + strings.Join(t.Hosts, ",")
	case TargetTag, TargetGroup:
		return string(t.Kind) + "/" + t.Name
	}
	return "hosts/all"
}

func checkExec(req ExecRequest) error {
	if strings.TrimSpace(req.Command) == "" {
		return errors.New("no command to run: give one, e.g. `uptime`")
	}
	if req.Target.Kind == TargetAll || req.Target.Kind == "" {
		return errors.New("name the hosts to run on (by name, tag or group): a command on every host is not taken by default")
	}
	return nil
}

// ExecConfirmation is what running req asks first, naming the command and
// the hosts it covers now.
func (s *Service) ExecConfirmation(req ExecRequest) (access.Confirmation, error) {
	if err := checkExec(req); err != nil {
		return access.Confirmation{}, err
	}
	hosts, err := resolve(s.Inventory(), req.Target)
	if err != nil {
		return access.Confirmation{}, err
	}
	return access.Confirmation{Action: ActExec, Target: execTarget(req.Target),
		Title: fmt.Sprintf("Run `%s` on %s?", req.Command, onHosts(hosts))}, nil
}

// onHosts names hosts in a sentence: "web-1", "web-1 and web-2", "web-1,
// web-2, web-3 and 2 more".
func onHosts(hosts []string) string {
	switch n := len(hosts); {
	case n == 1:
		return hosts[0]
	case n <= 4:
		return strings.Join(hosts[:n-1], ", ") + " and " + hosts[n-1]
	default:
		return strings.Join(hosts[:3], ", ") + " and " + strconv.Itoa(n-3) + " more"
	}
}

// Exec runs req's command on its hosts with Ansible (ad-hoc, the shell
// module) and returns each host's rc, stdout and stderr once all are done.
// As an applying run does, it checks the hosts' SSH keys first and holds
// the hosts while it runs (a host a run holds refuses it); other sessions
// see it, and it is journaled with each host's outcome. The caller asks
// ExecConfirmation first. The error wraps ErrExecFailed when some hosts
// failed; the Exec is returned with it.
func (s *Service) Exec(ctx context.Context, actor access.Actor, req ExecRequest) (Exec, error) {
	e := Exec{ID: s.newID(), Command: req.Command, Target: req.Target, Actor: actor.String(), Started: s.opt.Now()}
	target := execTarget(req.Target)
	refuse := func(err error) (Exec, error) {
		return e, errors.Join(err, s.journal.Record(ctx, actor, ActExec.Name, target, e.params(), err))
	}
	if err := s.opt.Guard.Check(actor, ActExec); err != nil {
		return refuse(err)
	}
	if err := checkExec(req); err != nil {
		return e, err
	}
	adhoc, ok := s.runner.(AdHocRunner)
	if !ok {
		return e, errors.New("this vigil's Ansible runner cannot run ad-hoc commands")
	}
	inv := s.Inventory()
	hosts, err := resolve(inv, req.Target)
	if err != nil {
		return e, err
	}
	slices.Sort(hosts)
	e.Hosts = hosts
	static, err := inv.Static()
	if err != nil {
		return e, err
	}
	if e.KeysRecorded, err = s.checkHostKeys(ctx, inv, hosts); err != nil {
		return refuse(err)
	}
	holder := fmt.Sprintf("%s, command %s, on %s", actor.Name, e.ID, s.opt.Bastion)
	held, _, err := s.lockHosts(ctx, hosts, holder, nil)
	if err != nil {
		return refuse(err)
	}
	stop := make(chan struct{})
	kept := make(chan struct{})
	go func() { defer close(kept); s.keepHosts(context.WithoutCancel(ctx), held, holder, stop) }()
	shown := presence.Begin(ctx, "running `"+req.Command+"` on "+onHosts(hosts))
	s.keepExec(e)
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = DefaultExecTimeout
	}
	outs, err := adhoc.RunAdHoc(ctx, AdHocSpec{Command: req.Command, Inventory: static, Limit: hosts, Timeout: timeout})
	close(stop)
	<-kept
	shown()
	e.Ended = s.opt.Now()
	slices.SortFunc(outs, func(a, b HostOutput) int { return strings.Compare(a.Host, b.Host) })
	e.Results = outs
	if err == nil {
		// A host Ansible said nothing of did not run the command.
		for _, h := range hosts {
			if !slices.ContainsFunc(outs, func(o HostOutput) bool { return o.Host == h }) {
				e.Results = append(e.Results, HostOutput{Host: h, Status: StatusUnreachable, RC: -1, Msg: "Ansible reported nothing for this host"})
			}
		}
		slices.SortFunc(e.Results, func(a, b HostOutput) int { return strings.Compare(a.Host, b.Host) })
		if failed := e.Failed(); len(failed) > 0 {
			err = fmt.Errorf("%w: %s", ErrExecFailed, strings.Join(failed, ", "))
		}
	}
	if err != nil && !errors.Is(err, ErrExecFailed) {
		e.Error = err.Error()
	}
	s.keepExec(e)
	jerr := s.journal.Record(ctx, actor, ActExec.Name, target, e.params(), err)
	return e, errors.Join(err, jerr)
}

// RecentExecs is how many ad-hoc commands Execs keeps.
const RecentExecs = 50

// keepExec adds e to the recent commands, or updates it there, and wakes
// the subscribers.
func (s *Service) keepExec(e Exec) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := slices.IndexFunc(s.execs, func(x Exec) bool { return x.ID == e.ID }); i >= 0 {
		s.execs[i] = e
	} else {
		s.execs = slices.Insert(s.execs, 0, e)
		if len(s.execs) > RecentExecs {
			s.execs = s.execs[:RecentExecs]
		}
	}
	s.subs.Notify()
}

// Execs lists the ad-hoc commands this vigil ran since it started, newest
// first; one still running has no Ended time. Every session sees them;
// the journal keeps them for good.
func (s *Service) Execs() []Exec {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.execs)
}

// ParseExec reads the command palette's `:exec CMD on HOSTS` (the words
// after ":exec"): HOSTS, after the last " on ", is host names separated by
// commas, "tag:T" or "group:G". Without " on ", the Target is left empty
// for the caller to fill with the hosts selected on screen.
func ParseExec(s string) (ExecRequest, error) {
	s = strings.TrimSpace(s)
	cmd, hosts := s, ""
	if i := strings.LastIndex(s, " on "); i >= 0 {
		cmd, hosts = strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+len(" on "):])
	}
	req := ExecRequest{Command: cmd}
	if cmd == "" {
		return req, errors.New("no command: :exec CMD on HOSTS (names separated by commas, tag:T or group:G)")
	}
	if hosts == "" {
		if strings.HasSuffix(s, " on") {
			return req, errors.New("on which hosts? :exec CMD on HOSTS (names separated by commas, tag:T or group:G)")
		}
		return req, nil
	}
	if strings.ContainsAny(hosts, " \t") {
		return req, fmt.Errorf("hosts %q: names separated by commas without spaces, tag:T or group:G", hosts)
	}
	switch {
	case strings.HasPrefix(hosts, "tag:"):
		req.Target = Target{Kind: TargetTag, Name: strings.TrimPrefix(hosts, "tag:")}
	case strings.HasPrefix(hosts, "group:"):
		req.Target = Target{Kind: TargetGroup, Name: strings.TrimPrefix(hosts, "group:")}
	default:
		var names []string
		for _, h := range strings.Split(hosts, ",") {
			if h != "" && !slices.Contains(names, h) {
				names = append(names, h)
			}
		}
		req.Target = Target{Kind: TargetHosts, Hosts: names}
	}
	if req.Target.Name == "" && len(req.Target.Hosts) == 0 {
		return req, fmt.Errorf("hosts %q name no host", hosts)
	}
	return req, nil
}
