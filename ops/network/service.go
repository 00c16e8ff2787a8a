package network

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ops/notify"
	"github.com/vigilops/vigil/ops/presence"
)

// Options tune a Service.
type Options struct {
	Guard access.Guard
	// Bastion is the address the hosts see vigil's SSH come from (IP or
	// CIDR); empty: SSH access is not checked, and plans say so.
	Bastion string
	// Domain is where host records go by default.
	Domain    string
	Templates []config.FirewallTemplate
	// Hosts lists the inventory's hosts (inventory.Service.State().Hosts).
	Hosts func() []inventory.Host
	// Prober checks that a port answers; default: a TCP dial from here.
	Prober Prober
	Now    func() time.Time
}

// State is everything the network view shows, from one refresh.
type State struct {
	Firewalls     []Firewall
	LoadBalancers []LoadBalancer
	Domains       []Domain
	Records       []Record // of every domain, by domain then name
	VPCs          []VPC
	ReservedIPs   []ReservedIP
	Fetched       time.Time
	Err           error
}

// Service is the network: a cache refreshed from the cloud, plans, and the
// guarded, journaled changes. Getters do no IO.
type Service struct {
	cloud   Cloud
	journal Journal
	opt     Options

	mu   sync.RWMutex
	snap *State
	subs notify.Subscribers
}

// New builds the service; call Refresh to load.
func New(cloud Cloud, journal Journal, opt Options) *Service {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Prober == nil {
		opt.Prober = DialProber{Timeout: 2 * time.Second}
	}
	if opt.Hosts == nil {
		opt.Hosts = func() []inventory.Host { return nil }
	}
	return &Service{cloud: cloud, journal: journal, opt: opt, snap: &State{}}
}

// OptionsFrom reads the config's network section.
func OptionsFrom(n config.Network) Options {
	return Options{Bastion: n.Bastion, Domain: n.Domain, Templates: n.Firewalls}
}

// State returns the last refresh; it never blocks on IO and must not be modified.
func (s *Service) State() *State {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.snap
}

// Subscribe notifies after every refresh.
func (s *Service) Subscribe() (<-chan struct{}, func()) { return s.subs.Subscribe() }

// Templates lists the firewall templates.
func (s *Service) Templates() []config.FirewallTemplate { return s.opt.Templates }

// Bastion is the configured bastion address, or "".
func (s *Service) Bastion() string { return s.opt.Bastion }

// Refresh reloads everything; on failure the last state stays, with Err set.
func (s *Service) Refresh(ctx context.Context) error {
	next := &State{Fetched: s.opt.Now()}
	var errs []error
	var err error
	if next.Firewalls, err = s.cloud.Firewalls(ctx); err != nil {
		errs = append(errs, err)
	}
	if next.LoadBalancers, err = s.cloud.LoadBalancers(ctx); err != nil {
		errs = append(errs, err)
	}
	if next.VPCs, err = s.cloud.VPCs(ctx); err != nil {
		errs = append(errs, err)
	}
	if next.ReservedIPs, err = s.cloud.ReservedIPs(ctx); err != nil {
		errs = append(errs, err)
	}
	if next.Domains, err = s.cloud.Domains(ctx); err != nil {
		errs = append(errs, err)
	}
	for _, d := range next.Domains {
		rs, err := s.cloud.Records(ctx, d.Name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		next.Records = append(next.Records, rs...)
	}
	slices.SortStableFunc(next.Records, func(a, b Record) int {
		if c := strings.Compare(a.Domain, b.Domain); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	s.mu.Lock()
	if err := errors.Join(errs...); err != nil {
		prev := *s.snap
		prev.Err = err
		s.snap = &prev
	} else {
		s.snap = next
	}
	s.mu.Unlock()
	s.subs.Notify()
	return errors.Join(errs...)
}

func (s *Service) hosts() []inventory.Host { return s.opt.Hosts() }

// host finds a host by name (or by numeric ID written as text).
func (s *Service) host(name string) (inventory.Host, error) {
	for _, h := range s.hosts() {
		if h.Name == name || fmt.Sprint(h.ID) == name {
			return h, nil
		}
	}
	return inventory.Host{}, fmt.Errorf("no host named %s in the inventory: check the name, or refresh the inventory", name)
}

func (s *Service) hostByID(id int) (inventory.Host, bool) {
	for _, h := range s.hosts() {
		if h.ID == id {
			return h, true
		}
	}
	return inventory.Host{}, false
}

func (s *Service) hostName(id int) string {
	if h, ok := s.hostByID(id); ok {
		return h.Name
	}
	return fmt.Sprintf("droplet %d", id)
}

// Apply carries out a plan for actor: the guard first, then a refusal the
// plan carries (journaled as refused), then the change, journaled with the
// plan's lines; the state is refreshed after. Dangerous plans must have
// been confirmed by the caller (Plan.Confirmation).
func (s *Service) Apply(ctx context.Context, actor access.Actor, p Plan) error {
	params := p.params()
	if err := s.opt.Guard.Check(actor, p.Action); err != nil {
		return errors.Join(err, s.record(ctx, actor, p, params, err))
	}
	if p.Refusal != nil {
		return errors.Join(p.Refusal, s.record(ctx, actor, p, params, p.Refusal))
	}
	if p.Empty() {
		return nil
	}
	defer presence.Begin(ctx, strings.ToLower(p.Title[:1])+p.Title[1:])()
	err := p.apply(ctx)
	if jerr := s.record(ctx, actor, p, params, err); jerr != nil {
		err = errors.Join(err, jerr)
	}
	if rerr := s.Refresh(ctx); rerr != nil && err == nil {
		// The change is done; a failed refresh shows in the state.
		_ = rerr
	}
	return err
}

func (s *Service) record(ctx context.Context, actor access.Actor, p Plan, params map[string]string, err error) error {
	if jerr := s.journal.Record(ctx, actor, p.Entry, p.Target, params, err); jerr != nil {
		return fmt.Errorf("the change's outcome could not be journaled: %w", jerr)
	}
	return nil
}
