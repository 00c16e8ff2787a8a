package inventory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/notify"
	"github.com/vigilops/vigil/ops/presence"
)

// Guarded actions, with their least role and danger, so that help, read-only
// mode and confirmations follow from data.
var (
	ActCreate     = access.Action{Name: "create host", MinRole: access.Operator, Mutates: true}
	ActDestroy    = access.Action{Name: "destroy host", MinRole: access.Operator, Mutates: true, Dangerous: true}
	ActPowerOn    = access.Action{Name: "power on host", MinRole: access.Operator, Mutates: true}
	ActPowerOff   = access.Action{Name: "power off host", MinRole: access.Operator, Mutates: true, Dangerous: true}
	ActPowerCycle = access.Action{Name: "power cycle host", MinRole: access.Operator, Mutates: true, Dangerous: true}
	ActReboot     = access.Action{Name: "reboot host", MinRole: access.Operator, Mutates: true, Dangerous: true}
	ActShutdown   = access.Action{Name: "shut down host", MinRole: access.Operator, Mutates: true, Dangerous: true}
	ActResize     = access.Action{Name: "resize host", MinRole: access.Operator, Mutates: true, Dangerous: true}
	ActSnapshot   = access.Action{Name: "snapshot host", MinRole: access.Operator, Mutates: true}
	ActTag        = access.Action{Name: "tag host", MinRole: access.Operator, Mutates: true}
	ActUntag      = access.Action{Name: "untag host", MinRole: access.Operator, Mutates: true}
)

// Actions describes each host action: its guard entry and the warning the
// UI shows before it.
var Actions = map[ActionKind]struct {
	Access  access.Action
	Warning string
}{
	PowerOn:    {ActPowerOn, ""},
	PowerOff:   {ActPowerOff, "Powering off cuts the host like a pulled plug: services stop, unsaved data is lost."},
	PowerCycle: {ActPowerCycle, "A power cycle cuts the power and restarts the host: services stop abruptly."},
	Reboot:     {ActReboot, "Rebooting stops every service on the host until it is back."},
	Shutdown:   {ActShutdown, "Shutting down stops every service on the host."},
	Resize:     {ActResize, "Resizing powers the host off, resizes it (its disk too, which cannot shrink back) and powers it on again: the host is down meanwhile."},
	Snapshot:   {ActSnapshot, "A snapshot of a running host may miss data not yet written to disk."},
}

// ErrProtected is returned when destroying a host tagged ProtectedTag.
var ErrProtected = access.Refuse(errors.New("host is tagged " + ProtectedTag + ": remove the tag first if it really must go"))

// Options tune a Service; zero values take the defaults.
type Options struct {
	Guard     access.Guard
	Templates []Template
	// PollInterval is how often a new host is checked; default 2s.
	PollInterval time.Duration
	// SSHTimeout bounds the wait for a new host's SSH server; default 3m.
	SSHTimeout time.Duration
	// Probe checks a new host's SSH server; default: ProbeSSH.
	Probe func(ctx context.Context, ip string) error
	// Now stamps refreshes, errors and snapshot names; time.Now when nil.
	Now func() time.Time
	// HostKeys, when set, records a new host's SSH key once it answers.
	HostKeys HostKeys
	// Holders, when set, says which playbook run holds a host: a held
	// host is not destroyed.
	Holders HostHolders
	// Metrics, when set, reads the hosts' node exporter figures
	// (HostFigures).
	Metrics HostMetrics
	// SSH is how OpenSSH reaches the hosts (user, key); the known_hosts
	// file is HostKeys' unless it names one.
	SSH SSHOptions
	// Storage, when set, gives volumes their snapshots (storage.go).
	Storage Storage
}

// HostHolders says whether a run holds a host, and which (the playbook
// service, across every vigil sharing its locks).
type HostHolders interface {
	HostHolder(ctx context.Context, host string) (holder string, held bool, err error)
}

// Service is the inventory: a cache of hosts refreshed from the cloud, and
// the guarded, journaled actions on them. Getters do no IO.
type Service struct {
	cloud   Cloud
	journal Journal
	opt     Options

	mu   sync.RWMutex
	snap *State
	subs notify.Subscribers
}

// New builds the service; call Refresh to load the hosts.
func New(cloud Cloud, journal Journal, opt Options) *Service {
	if opt.PollInterval <= 0 {
		opt.PollInterval = 2 * time.Second
	}
	if opt.SSHTimeout <= 0 {
		opt.SSHTimeout = 3 * time.Minute
	}
	if opt.Probe == nil {
		opt.Probe = ProbeSSH
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Service{cloud: cloud, journal: journal, opt: opt, snap: &State{}}
}

// TemplatesFrom converts the config's host templates.
func TemplatesFrom(ts []config.HostTemplate) []Template {
	out := make([]Template, len(ts))
	for i, t := range ts {
		out[i] = Template{
			Name: t.Name, Region: t.Region, Size: t.Size, Image: t.Image, SSHKeys: t.SSHKeys,
			Tags: t.Tags, UserData: t.UserData, VolumeGB: t.VolumeGB, VPC: t.VPC, Record: t.Record,
		}
	}
	return out
}

// Templates lists the host templates.
func (s *Service) Templates() []Template { return s.opt.Templates }

// Template finds a template by name.
func (s *Service) Template(name string) (Template, bool) {
	i := slices.IndexFunc(s.opt.Templates, func(t Template) bool { return t.Name == name })
	if i < 0 {
		return Template{}, false
	}
	return s.opt.Templates[i], true
}

// State returns the current hosts; it never blocks on IO and the result
// must not be modified.
func (s *Service) State() *State {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.snap
}

// Subscribe returns a channel that receives a value after each change of the
// snapshot (coalesced: one pending value at most), and a function ending it.
func (s *Service) Subscribe() (<-chan struct{}, func()) { return s.subs.Subscribe() }

func (s *Service) publish(snap *State) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.snap = snap
	s.subs.Notify()
}

// Refresh reloads hosts, sizes and volumes from the cloud. On failure the
// last good hosts stay, with the error and its time.
func (s *Service) Refresh(ctx context.Context) error {
	hosts, err := s.cloud.Hosts(ctx, "")
	if err != nil {
		old := s.State()
		next := *old
		next.Err, next.ErrAt = err, s.opt.Now()
		s.publish(&next)
		return err
	}
	var sizes []Size
	var vols []Volume
	var extra []error
	if sizes, err = s.cloud.Sizes(ctx); err != nil {
		extra = append(extra, err)
	}
	if vols, err = s.cloud.Volumes(ctx); err != nil {
		extra = append(extra, err)
	}
	snap := newState(hosts, sizes, vols, s.opt.Now())
	if err := errors.Join(extra...); err != nil {
		snap.Err, snap.ErrAt = err, snap.Fetched
	}
	s.publish(snap)
	return snap.Err
}

func target(h Host) string { return "host/" + h.Name }

// check asks the guard; a refusal is journaled and returned.
func (s *Service) check(ctx context.Context, actor access.Actor, act access.Action, targets []string, params map[string]string) error {
	err := s.opt.Guard.Check(actor, act)
	if err == nil {
		return nil
	}
	for _, t := range targets {
		err = errors.Join(err, s.record(ctx, actor, act, t, params, err))
	}
	return err
}

// record journals an outcome and returns the journal's own failure, if any.
func (s *Service) record(ctx context.Context, actor access.Actor, act access.Action, target string, params map[string]string, err error) error {
	if jerr := s.journal.Record(ctx, actor, act.Name, target, params, err); jerr != nil {
		return fmt.Errorf("the action's outcome could not be journaled: %w", jerr)
	}
	return nil
}

// DestroyPlan lists the hosts a destroy would take, fetched fresh, and the
// protected ones it will refuse.
type DestroyPlan struct {
	Hosts   []Host
	Refused []Host
}

// PlanDestroy looks up the hosts with the given ids, or tagged tag when ids
// is empty, so that the UI lists every one before it asks for confirmation.
func (s *Service) PlanDestroy(ctx context.Context, ids []int, tag string) (DestroyPlan, error) {
	var hosts []Host
	switch {
	case len(ids) > 0:
		for _, id := range ids {
			h, err := s.cloud.Host(ctx, id)
			if err != nil {
				return DestroyPlan{}, err
			}
			hosts = append(hosts, h)
		}
	case tag != "":
		var err error
		if hosts, err = s.cloud.Hosts(ctx, tag); err != nil {
			return DestroyPlan{}, err
		}
	default:
		return DestroyPlan{}, errors.New("destroy needs a selection of hosts or a tag")
	}
	var p DestroyPlan
	for _, h := range hosts {
		if h.Protected() {
			p.Refused = append(p.Refused, h)
		} else {
			p.Hosts = append(p.Hosts, h)
		}
	}
	return p, nil
}

// Destroy destroys the planned hosts one by one. Each host is looked up
// again first: one tagged protected since the plan is refused too. It
// returns every failure, joined.
func (s *Service) Destroy(ctx context.Context, actor access.Actor, plan DestroyPlan) error {
	all := append(slices.Clone(plan.Hosts), plan.Refused...)
	targets := make([]string, len(all))
	for i, h := range all {
		targets[i] = target(h)
	}
	if err := s.check(ctx, actor, ActDestroy, targets, nil); err != nil {
		return err
	}
	names := make([]string, len(all))
	for i, h := range all {
		names[i] = h.Name
	}
	defer presence.Begin(ctx, "destroying "+hostNames(names))()
	var errs []error
	for _, h := range all {
		err := s.destroyOne(ctx, h)
		if err != nil {
			err = fmt.Errorf("destroy %s: %w", h.Name, err)
			errs = append(errs, err)
		}
		params := map[string]string{"id": strconv.Itoa(h.ID), "ip": h.PublicIPv4}
		if jerr := s.record(ctx, actor, ActDestroy, target(h), params, err); jerr != nil {
			errs = append(errs, jerr)
		}
	}
	s.refreshQuietly(ctx)
	return errors.Join(errs...)
}

func (s *Service) destroyOne(ctx context.Context, planned Host) error {
	if s.opt.Holders != nil {
		holder, held, err := s.opt.Holders.HostHolder(ctx, planned.Name)
		if err != nil {
			return access.Refuse(fmt.Errorf("cannot tell whether a playbook run holds %s, so it is kept: %w", planned.Name, err))
		}
		if held {
			return access.Refuse(fmt.Errorf("a playbook run holds %s (%s): wait for it to end or cancel it, then destroy", planned.Name, holder))
		}
	}
	h, err := s.cloud.Host(ctx, planned.ID)
	if err != nil {
		return err
	}
	if h.Protected() {
		return ErrProtected
	}
	return s.cloud.Destroy(ctx, planned.ID)
}

// refreshQuietly refreshes after a mutation; its error is in the snapshot.
func (s *Service) refreshQuietly(ctx context.Context) {
	_ = s.Refresh(context.WithoutCancel(ctx))
}

// Act runs a power, resize or snapshot action on one host and waits for it.
func (s *Service) Act(ctx context.Context, actor access.Actor, h Host, a ActionRequest, progress func(ActionStatus)) error {
	info, ok := Actions[a.Kind]
	if !ok {
		return fmt.Errorf("unknown host action %q", a.Kind)
	}
	params := map[string]string{"id": strconv.Itoa(h.ID)}
	switch a.Kind {
	case Resize:
		if a.Size == "" {
			return errors.New("resize needs a size: pick one from the sizes list")
		}
		params["from"], params["to"] = h.Size, a.Size
	case Snapshot:
		if a.Name == "" {
			a.Name = h.Name + "-" + s.opt.Now().UTC().Format("20060102-150405")
		}
		params["name"] = a.Name
	}
	if err := s.check(ctx, actor, info.Access, []string{target(h)}, params); err != nil {
		return err
	}
	defer presence.Begin(ctx, actingOn(h, a))()
	var err error
	if a.Kind == Resize {
		err = s.resize(ctx, h.ID, a, params, progress)
	} else {
		err = s.cloud.Act(ctx, h.ID, a, progress)
	}
	if jerr := s.record(ctx, actor, info.Access, target(h), params, err); jerr != nil {
		err = errors.Join(err, jerr)
	}
	s.refreshQuietly(ctx)
	return err
}

// actingOn says what a host action does, for the other sessions:
// "powering off web-01".
func actingOn(h Host, a ActionRequest) string {
	switch a.Kind {
	case PowerOn:
		return "powering on " + h.Name
	case PowerOff:
		return "powering off " + h.Name
	case PowerCycle:
		return "power-cycling " + h.Name
	case Reboot:
		return "rebooting " + h.Name
	case Shutdown:
		return "shutting down " + h.Name
	case Resize:
		return "resizing " + h.Name + " to " + a.Size
	case Snapshot:
		return "taking snapshot " + a.Name + " of " + h.Name
	}
	return string(a.Kind) + " on " + h.Name
}

// hostNames names up to three hosts, or counts them: "web-01 and web-02",
// "5 hosts".
func hostNames(names []string) string {
	switch n := len(names); {
	case n == 0:
		return "no hosts"
	case n == 1:
		return names[0]
	case n <= 3:
		return strings.Join(names[:n-1], ", ") + " and " + names[n-1]
	default:
		return strconv.Itoa(n) + " hosts"
	}
}

// resize powers a running host off, resizes it and powers it on again, as
// the cloud only resizes hosts that are off.
func (s *Service) resize(ctx context.Context, id int, a ActionRequest, params map[string]string, progress func(ActionStatus)) error {
	h, err := s.cloud.Host(ctx, id)
	if err != nil {
		return err
	}
	wasOn := h.Status == "active"
	if wasOn {
		params["powered_off"] = "true"
		if err := s.cloud.Act(ctx, id, ActionRequest{Kind: PowerOff}, progress); err != nil {
			return err
		}
	}
	if err := s.cloud.Act(ctx, id, a, progress); err != nil {
		return err
	}
	if wasOn {
		return s.cloud.Act(ctx, id, ActionRequest{Kind: PowerOn}, progress)
	}
	return nil
}

// Tag adds tag to the hosts.
func (s *Service) Tag(ctx context.Context, actor access.Actor, tag string, hosts []Host) error {
	return s.tagging(ctx, actor, ActTag, tag, hosts, s.cloud.Tag)
}

// Untag removes tag from the hosts.
func (s *Service) Untag(ctx context.Context, actor access.Actor, tag string, hosts []Host) error {
	return s.tagging(ctx, actor, ActUntag, tag, hosts, s.cloud.Untag)
}

func (s *Service) tagging(ctx context.Context, actor access.Actor, act access.Action, tag string, hosts []Host, do func(context.Context, string, []int) error) error {
	tag = strings.TrimSpace(tag)
	if tag == "" || len(hosts) == 0 {
		return errors.New("tagging needs a tag and at least one host")
	}
	targets := make([]string, len(hosts))
	ids := make([]int, len(hosts))
	for i, h := range hosts {
		targets[i], ids[i] = target(h), h.ID
	}
	params := map[string]string{"tag": tag}
	if err := s.check(ctx, actor, act, targets, params); err != nil {
		return err
	}
	err := do(ctx, tag, ids)
	for _, t := range targets {
		if jerr := s.record(ctx, actor, act, t, params, err); jerr != nil {
			err = errors.Join(err, jerr)
		}
	}
	s.refreshQuietly(ctx)
	return err
}
