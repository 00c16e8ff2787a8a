package network

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// DialProber checks a port with a TCP connection from this machine.
type DialProber struct{ Timeout time.Duration }

func (d DialProber) Probe(ctx context.Context, addr string, port int) error {
	dl := net.Dialer{Timeout: d.Timeout}
	c, err := dl.DialContext(ctx, "tcp", net.JoinHostPort(addr, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return c.Close()
}

// Reachability is the answer to "can the bastion reach HOST on PORT".
type Reachability struct {
	Host, Address string
	Port          int
	Covering      []string // the firewalls covering the host
	Allowed       bool     // the firewalls let tcp PORT in from the bastion
	Why           string   // the rule that allows it, or why not
	Answers       bool     // a TCP connection from here succeeded
	ProbeErr      string   // why it did not
}

// Verdict is one line: "web-1:22 open: allowed by web (tcp 22 from …) and answers".
func (r Reachability) Verdict() string {
	state := "closed"
	if r.Allowed && r.Answers {
		state = "open"
	}
	fw := "allowed: " + r.Why
	if !r.Allowed {
		fw = "refused by the firewalls: " + r.Why
	}
	ans := "answers"
	if !r.Answers {
		ans = "does not answer (" + r.ProbeErr + ")"
	}
	return fmt.Sprintf("%s:%d (%s) %s — %s; from here it %s", r.Host, r.Port, r.Address, state, fw, ans)
}

// Check says whether the firewalls allow tcp port on the host from the
// bastion, and whether it answers from here. The firewalls come from the
// last refresh; the probe is live.
func (s *Service) Check(ctx context.Context, hostName string, port int) (Reachability, error) {
	if port < 1 || port > 65535 {
		return Reachability{}, fmt.Errorf("port %d: use 1 to 65535", port)
	}
	h, err := s.host(hostName)
	if err != nil {
		return Reachability{}, err
	}
	if h.PublicIPv4 == "" {
		return Reachability{}, fmt.Errorf("%s has no public address yet", h.Name)
	}
	r := Reachability{Host: h.Name, Address: h.PublicIPv4, Port: port}
	src := s.bastionIP()
	if src == nil {
		src = net.IPv4(192, 0, 2, 1) // TEST-NET-1: "someone anywhere"
	}
	var by string
	r.Allowed, by, r.Covering = allowed(s.State().Firewalls, h, "tcp", port, src)
	switch {
	case r.Allowed:
		r.Why = by
	case s.bastionIP() == nil:
		r.Why = fmt.Sprintf("no rule of %s opens tcp %d to anywhere (digitalocean.network.bastion is not set, so rules for it are not considered)", strings.Join(r.Covering, ", "), port)
	default:
		r.Why = fmt.Sprintf("no rule of %s allows tcp %d from the bastion (%s)", strings.Join(r.Covering, ", "), port, s.opt.Bastion)
	}
	if err := s.opt.Prober.Probe(ctx, h.PublicIPv4, port); err != nil {
		r.ProbeErr = shortNetErr(err)
	} else {
		r.Answers = true
	}
	return r, nil
}

func shortNetErr(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "refused"):
		return "connection refused"
	case strings.Contains(msg, "timeout"), strings.Contains(msg, "deadline"):
		return "no answer (timeout)"
	}
	return msg
}
