package inventory

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/presence"
)

// Shell sessions on hosts. A shell can change anything on its host, so it
// is an operator's action, refused to viewers and in read-only mode; it is
// not confirmed (opening one changes nothing by itself), and it is
// journaled when it opens and when it ends.
var (
	ActSSH    = access.Action{Name: "open a shell on a host", MinRole: access.Operator, Mutates: true}
	ActSSHEnd = access.Action{Name: "end a shell on a host", MinRole: access.Operator, Mutates: true}
)

// sshKeyCheckTimeout bounds reading a host's key before a shell.
const sshKeyCheckTimeout = 5 * time.Second

// SSHOptions say how vigil reaches its hosts: the ansible section's user
// and key, and vigil's own known_hosts (Options.HostKeys).
type SSHOptions struct {
	User       string // ssh -l; empty: the local user's name
	PrivateKey string // ssh -i; empty: the user's agent and default keys
	// KnownHosts is the known_hosts file checked strictly; empty:
	// Options.HostKeys' file. There is no way to turn the check off.
	KnownHosts string
	// Binary is the ssh client; default "ssh".
	Binary string
	// ConnectTimeout bounds the connection; default 10s.
	ConnectTimeout time.Duration
}

// SSHArgv is the command line (argv[0] the client) that opens a shell on
// the host at addr, or runs remote there: vigil's known_hosts only,
// checked strictly (an unknown or changed key refuses the connection),
// the configured user and key. They are command-line options, which win
// over the same options in the user's ssh config.
func SSHArgv(addr string, o SSHOptions, remote ...string) ([]string, error) {
	if net.ParseIP(addr) == nil {
		return nil, fmt.Errorf("%q is not an IP address: the host has no public address yet", addr)
	}
	if o.KnownHosts == "" {
		return nil, errors.New("no known_hosts file: vigil checks host keys strictly against its own (the ansible section)")
	}
	bin := o.Binary
	if bin == "" {
		bin = "ssh"
	}
	timeout := o.ConnectTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	argv := []string{bin,
		"-o", "StrictHostKeyChecking=yes",
		"-o", "UserKnownHostsFile=" + o.KnownHosts,
		"-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "UpdateHostKeys=no",
		"-o", "ConnectTimeout=" + strconv.Itoa(int(max(timeout/time.Second, 1))),
	}
	if o.PrivateKey != "" {
		argv = append(argv, "-o", "IdentitiesOnly=yes", "-i", o.PrivateKey)
	}
	if o.User != "" {
		argv = append(argv, "-l", o.User)
	}
	argv = append(argv, "--", addr)
	return append(argv, remote...), nil
}

// SSHSession is one shell on a host: who opened it, where, when it started
// and ended. OpenSSH journals its start; Close journals its end.
type SSHSession struct {
	ID    string    `json:"id"`
	Actor string    `json:"actor"`
	Host  string    `json:"host"`
	Addr  string    `json:"addr"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end,omitzero"`
	// Argv is the ssh command line to run (locally through the console's
	// tea.ExecProcess, or by `vigil serve` on the bastion); add a remote
	// command after it to run that instead of a shell.
	Argv []string `json:"argv"`
	// KeyRecorded is the host key fingerprint recorded by this call, on
	// first contact with a host vigil did not create.
	KeyRecorded string `json:"key_recorded,omitempty"`

	actor access.Actor
	svc   *Service
	once  sync.Once
	shown func()
}

func (s *SSHSession) params() map[string]string {
	p := map[string]string{"session": s.ID, "ip": s.Addr, "start": s.Start.UTC().Format(time.RFC3339)}
	if !s.End.IsZero() {
		p["end"] = s.End.UTC().Format(time.RFC3339)
		p["duration"] = s.End.Sub(s.Start).Round(time.Second).String()
	}
	if s.KeyRecorded != "" {
		p["key_recorded"] = s.KeyRecorded
	}
	return p
}

// OpenSSH prepares a shell on the host named name for actor: the guard
// (viewers and read-only mode are refused, with the reason), the host's
// key checked against vigil's known_hosts (recorded on first contact; a
// changed key refuses, as for runs), then the start journaled and shown
// to the other sessions. Run Argv, then call Close with how it ended.
func (s *Service) OpenSSH(ctx context.Context, actor access.Actor, name string) (*SSHSession, error) {
	tgt := "host/" + name
	if err := s.check(ctx, actor, ActSSH, []string{tgt}, nil); err != nil {
		return nil, err
	}
	var h *Host
	for _, c := range s.State().Hosts {
		if c.Name == name {
			h = &c
			break
		}
	}
	if h == nil || h.PublicIPv4 == "" {
		return nil, fmt.Errorf("no host named %s with a public address in the inventory: see vigil inventory --list", name)
	}
	o := s.opt.SSH
	if o.KnownHosts == "" && s.opt.HostKeys != nil {
		o.KnownHosts = s.opt.HostKeys.File()
	}
	argv, err := SSHArgv(h.PublicIPv4, o)
	if err != nil {
		return nil, err
	}
	now := s.opt.Now()
	sess := &SSHSession{ID: now.UTC().Format("20060102T150405.000000000"), Actor: actor.String(), Host: name, Addr: h.PublicIPv4,
		Start: now, Argv: argv, actor: actor, svc: s}
	if s.opt.HostKeys != nil {
		// A host that does not answer is ssh's to report, on screen: the
		// check does not hold the console longer than this.
		cctx, cancel := context.WithTimeout(ctx, sshKeyCheckTimeout)
		k, err := s.opt.HostKeys.Check(cctx, h.PublicIPv4)
		cancel()
		var changed *HostKeyChangedError
		switch {
		case errors.As(err, &changed):
			changed.Host = name
			return nil, errors.Join(access.Refuse(changed), s.record(ctx, actor, ActSSH, tgt, sess.params(), access.Refuse(changed)))
		case err != nil:
		case k.Recorded:
			sess.KeyRecorded = k.Fingerprint
		}
	}
	if err := s.record(ctx, actor, ActSSH, tgt, sess.params(), nil); err != nil {
		return nil, err
	}
	sess.shown = presence.Begin(ctx, "in a shell on "+name)
	return sess, nil
}

// Close records the session's end, with the error ssh ended with (nil
// when it exited 0), once; later calls do nothing.
func (s *SSHSession) Close(ctx context.Context, exit error) error {
	var err error
	s.once.Do(func() {
		if s.shown != nil {
			s.shown()
		}
		s.End = s.svc.opt.Now()
		err = s.svc.record(ctx, s.actor, ActSSHEnd, "host/"+s.Host, s.params(), exit)
	})
	return err
}

// String is the session in a line: "alice on web-1 (203.0.113.5) since 14:02".
func (s *SSHSession) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s on %s (%s) since %s", s.Actor, s.Host, s.Addr, s.Start.Format("15:04"))
	if !s.End.IsZero() {
		fmt.Fprintf(&b, ", ended %s", s.End.Format("15:04"))
	}
	return b.String()
}
