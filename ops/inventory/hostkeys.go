package inventory

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/vigilops/vigil/ops/access"
)

// ActTrustKey accepts a host's new SSH host key in place of the recorded
// one: it is what a man in the middle would want, so admins only.
var ActTrustKey = access.Action{Name: "trust host key", MinRole: access.Admin, Mutates: true, Dangerous: true}

// HostKeys are the SSH host keys vigil trusts: its own known_hosts file,
// which Ansible checks strictly. A key is recorded when vigil creates the
// host, or on first contact for a host it did not create.
type HostKeys interface {
	// Check compares the key addr presents with the recorded one, and
	// records it when none is (Recorded is then true). A different key is
	// a *HostKeyChangedError.
	Check(ctx context.Context, addr string) (HostKey, error)
	// Trust records the key addr presents now in place of any other, and
	// returns it with the one it replaced (Previous).
	Trust(ctx context.Context, addr string) (HostKey, error)
	// File is the known_hosts file to give ssh.
	File() string
}

// HostKey is the key a host presented.
type HostKey struct {
	Addr        string
	Fingerprint string // SHA256:…
	Recorded    bool   // recorded by this call (creation or first contact)
	Previous    string // the fingerprint Trust replaced, if any
}

// HostKeyChangedError says a host presents another key than the recorded
// one: a rebuilt host, or someone in between.
type HostKeyChangedError struct {
	Host     string // the host's name, when known
	Addr     string
	Recorded string
	Presents string
}

func (e *HostKeyChangedError) Error() string {
	who := e.Addr
	if e.Host != "" {
		who = e.Host + " (" + e.Addr + ")"
	}
	name := e.Host
	if name == "" {
		name = e.Addr
	}
	return fmt.Sprintf("the SSH host key of %s changed: recorded %s, now %s; nothing was run on it. "+
		"If the host was rebuilt, an admin accepts the new key with `vigil inventory trust-key %s`", who, e.Recorded, e.Presents, name)
}

// TrustKeyConfirmation is what trusting name's new key asks first: it
// names the host and its address. It is false when the inventory has no
// such host with a public address, which TrustKey refuses with its reason.
func (s *Service) TrustKeyConfirmation(name string) (access.Confirmation, bool) {
	for _, h := range s.State().Hosts {
		if h.Name == name && h.PublicIPv4 != "" {
			return access.Confirmation{Action: ActTrustKey, Target: target(h),
				Title: "Trust the SSH host key " + h.Name + " (" + h.PublicIPv4 + ") presents now, in place of the recorded one?"}, true
		}
	}
	return access.Confirmation{}, false
}

// TrustKey records the key host presents now in place of the recorded one,
// journaled with both fingerprints. Admins only.
func (s *Service) TrustKey(ctx context.Context, actor access.Actor, name string) (HostKey, error) {
	if err := s.check(ctx, actor, ActTrustKey, []string{"host/" + name}, nil); err != nil {
		return HostKey{}, err
	}
	if s.opt.HostKeys == nil {
		return HostKey{}, errors.New("no known_hosts file is configured (ansible section)")
	}
	var h *Host
	for _, c := range s.State().Hosts {
		if c.Name == name {
			h = &c
			break
		}
	}
	if h == nil || h.PublicIPv4 == "" {
		return HostKey{}, fmt.Errorf("no host named %s with a public address in the inventory: see vigil inventory --list", name)
	}
	k, err := s.opt.HostKeys.Trust(ctx, h.PublicIPv4)
	params := map[string]string{"id": strconv.Itoa(h.ID), "ip": h.PublicIPv4, "key": k.Fingerprint, "replaced": k.Previous}
	if jerr := s.record(ctx, actor, ActTrustKey, target(*h), params, err); jerr != nil {
		return k, errors.Join(err, jerr)
	}
	return k, err
}
