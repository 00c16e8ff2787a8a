package playbook

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vigilops/vigil/ops/access"
)

// ActRunAnyway runs a playbook on hosts another run holds: an admin's
// decision, journaled with the holders it overrode.
var ActRunAnyway = access.Action{Name: "run playbook on a busy host", MinRole: access.Admin, Mutates: true, Dangerous: true}

// HostLocks keeps one applying run at a time on each host, across every
// vigil that shares the store the locks live in (the cluster's Leases), not
// only this process: a run takes its hosts before it starts, renews them
// while it lasts and frees them when it ends.
type HostLocks interface {
	// LockHost takes host for holder for ttl, or renews it when holder
	// has it. A host someone else holds is a *HostBusyError.
	LockHost(ctx context.Context, host, holder string, ttl time.Duration) error
	// UnlockHost frees host if holder still holds it.
	UnlockHost(ctx context.Context, host, holder string) error
	// HostHolder says who holds host, if anyone does.
	HostHolder(ctx context.Context, host string) (holder string, held bool, err error)
}

// HostBusyError refuses a run, or a destroy, on a host a run holds.
type HostBusyError struct {
	Host, Holder string
	Since, Until time.Time // zero when unknown
}

// Refused marks a busy host as a refusal (access.Refusal): journaled as
// refused, exit 3 on the command line.
func (e *HostBusyError) Refused() bool { return true }

func (e *HostBusyError) Error() string {
	since := ""
	if !e.Since.IsZero() {
		since = " since " + e.Since.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("%s is held by %s%s: wait for that run to end or cancel it; an admin may run anyway", e.Host, e.Holder, since)
}

// holderName names a run in a lock: who, which run, through which vigil.
func (s *Service) holderName(actor access.Actor, runID string) string {
	return fmt.Sprintf("%s, run %s, on %s", actor.Name, runID, s.opt.Bastion)
}

// claim takes host for holder in this vigil, or says who has it.
func (s *Service) claim(host, holder string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if other, ok := s.claims[host]; ok {
		return other, false
	}
	s.claims[host] = holder
	return "", true
}

// unclaim frees the hosts holder claimed in this vigil.
func (s *Service) unclaim(hosts []string, holder string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range hosts {
		if s.claims[h] == holder {
			delete(s.claims, h)
		}
	}
}

// HostHolder says which run holds host: one of this vigil's, or, through
// the shared locks, another vigil's.
func (s *Service) HostHolder(ctx context.Context, host string) (string, bool, error) {
	s.mu.Lock()
	h, ok := s.claims[host]
	s.mu.Unlock()
	if ok {
		return h, true, nil
	}
	if s.opt.HostLocks == nil {
		return "", false, nil
	}
	return s.opt.HostLocks.HostHolder(ctx, host)
}

// lockHosts takes hosts, in order, for holder: in this vigil, then in the
// shared locks. A host held by another run refuses the whole run and frees
// what was taken, unless anyway names it: then it is returned as overridden
// (host and holder) and the run goes on.
func (s *Service) lockHosts(ctx context.Context, hosts []string, holder string, anyway []string) (taken, overridden []string, err error) {
	hosts = slices.Sorted(slices.Values(hosts)) // one order for every vigil
	for _, h := range hosts {
		busy := s.lockHost(ctx, h, holder)
		if busy == nil {
			taken = append(taken, h)
			continue
		}
		var refused *HostBusyError
		if !errors.As(busy, &refused) || !slices.Contains(anyway, h) {
			s.unlockHosts(ctx, taken, holder)
			return nil, nil, busy
		}
		overridden = append(overridden, h+" ("+refused.Holder+")")
	}
	return taken, overridden, nil
}

// lockHost takes one host, or says why not: a *HostBusyError, or the error
// that kept the shared lock from being read.
func (s *Service) lockHost(ctx context.Context, host, holder string) error {
	if other, ok := s.claim(host, holder); !ok {
		return &HostBusyError{Host: host, Holder: other}
	}
	if s.opt.HostLocks == nil {
		return nil
	}
	err := s.opt.HostLocks.LockHost(ctx, host, holder, s.opt.HostLockTTL)
	if err == nil {
		return nil
	}
	s.unclaim([]string{host}, holder)
	if busy := (*HostBusyError)(nil); errors.As(err, &busy) {
		return busy
	}
	return fmt.Errorf("cannot take %s for the run: %w", host, err)
}

// unlockHosts frees hosts held by holder, here and in the shared locks; a
// shared lock that cannot be freed lapses after its time to live.
func (s *Service) unlockHosts(ctx context.Context, hosts []string, holder string) {
	s.unclaim(hosts, holder)
	if s.opt.HostLocks == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for _, h := range hosts {
		_ = s.opt.HostLocks.UnlockHost(ctx, h, holder)
	}
}

// keepHosts renews a run's shared locks until stop is closed, then frees
// its hosts.
func (s *Service) keepHosts(ctx context.Context, hosts []string, holder string, stop <-chan struct{}) {
	defer s.unlockHosts(ctx, hosts, holder)
	if s.opt.HostLocks == nil || len(hosts) == 0 {
		<-stop
		return
	}
	t := time.NewTicker(s.opt.HostLockTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			for _, h := range hosts {
				rctx, cancel := context.WithTimeout(ctx, s.opt.HostLockTTL/3)
				_ = s.opt.HostLocks.LockHost(rctx, h, holder, s.opt.HostLockTTL)
				cancel()
			}
		}
	}
}
