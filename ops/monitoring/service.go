package monitoring

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ops/notify"
	"github.com/vigilops/vigil/ops/playbook"
)

// InstallPlaybook is the playbook that installs the node exporter, in the
// playbook directory (lab/playbooks/monitoring.yml in the lab).
const InstallPlaybook = "monitoring.yml"

// ActInstall installs the node exporter on a host and lists it in the
// file_sd file: it changes a server, as any applied playbook does.
var ActInstall = access.Action{Name: "install node exporter", MinRole: access.Operator, Mutates: true, Dangerous: true}

// Inventory is the inventory's cache as monitoring reads it.
type Inventory interface {
	State() *inventory.State
}

// Runs starts and follows playbook runs (ops/playbook's Service).
type Runs interface {
	Start(ctx context.Context, actor access.Actor, req playbook.Request) (string, error)
	Done(id string) <-chan struct{}
	Run(id string) (playbook.Run, error)
}

// Journal is the audit journal as monitoring uses it.
type Journal interface {
	Record(ctx context.Context, actor access.Actor, action, target string, params map[string]string, err error) error
}

var (
	_ Inventory = (*inventory.Service)(nil)
	_ Runs      = (*playbook.Service)(nil)
	_ Journal   = (*audit.Journal)(nil)
)

// Options configure a Service.
type Options struct {
	Prometheus Prometheus
	// Inventory, when set, is correlated with the targets; Runs and
	// Journal, when set too, allow Install.
	Inventory Inventory
	Runs      Runs
	Journal   Journal
	Guard     access.Guard
	// FileSD is the file_sd file Install lists hosts in (one vigil owns,
	// read by a file_sd_configs of Prometheus); "" lists them nowhere.
	FileSD string
	// Interval between two reads of Prometheus in Run; default 10s.
	Interval time.Duration
	// Timeout of one read; default 10s.
	Timeout time.Duration
	Now     func() time.Time
}

// Flag says why a host or a target needs a look.
type Flag string

const (
	NotScraped Flag = "not scraped" // an active host with no target up
	Stale      Flag = "stale"       // a target of a host the inventory does not have
)

// Flagged is a host no target scrapes, or a target of no host.
type Flagged struct {
	Flag Flag
	Host string // the host's name, or the stale target's host label
	// Address is the host's public IPv4, or the stale target's instance.
	Address string
	// Target is the host's down target or the stale one; zero when the
	// host has none.
	Target *Target
	// Reason says it in a few words: "no target", "down: connection refused".
	Reason string
}

// Snapshot is one read of Prometheus. It is immutable.
type Snapshot struct {
	Targets []Target // by job, then instance
	Groups  []RuleGroup
	Flagged []Flagged // not scraped hosts by name, then stale targets
	// Correlated is false when there is no inventory to compare with, or
	// it has not loaded yet.
	Correlated bool
	Fetched    time.Time // of the data shown; zero before the first read
	// Err is the last read's error; the data is then from Fetched.
	Err   error
	ErrAt time.Time
}

// Service keeps the latest read of Prometheus's targets and rules.
type Service struct {
	opt  Options
	mu   sync.RWMutex
	snap *Snapshot
	subs notify.Subscribers
	// installs are the hosts an install runs for, by name → run id.
	installs map[string]string
	poke     chan struct{}
}

// New builds a service; Run keeps it fresh.
func New(opt Options) (*Service, error) {
	if opt.Prometheus == nil {
		return nil, errors.New("monitoring needs a Prometheus")
	}
	if opt.Interval <= 0 {
		opt.Interval = 10 * time.Second
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 10 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Service{opt: opt, snap: &Snapshot{}, installs: map[string]string{}, poke: make(chan struct{}, 1)}, nil
}

// Prometheus is the server the service reads, for queries.
func (s *Service) Prometheus() Prometheus { return s.opt.Prometheus }

// Snapshot returns the latest read; it never blocks on IO.
func (s *Service) Snapshot() *Snapshot {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.snap
}

// Subscribe returns a channel that receives a value after each new
// snapshot (coalesced), and a function ending it.
func (s *Service) Subscribe() (<-chan struct{}, func()) { return s.subs.Subscribe() }

// Installing returns the run id of the install running on host, if any.
func (s *Service) Installing(host string) (string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.installs[host]
	return id, ok
}

// Run reads Prometheus now and every Interval until ctx ends; a failed
// read keeps the last data with the error, and the next one retries.
// The inventory's changes correlate again without a read.
func (s *Service) Run(ctx context.Context) {
	var changes <-chan struct{}
	if sub, ok := s.opt.Inventory.(interface {
		Subscribe() (<-chan struct{}, func())
	}); ok {
		ch, cancel := sub.Subscribe()
		defer cancel()
		changes = ch
	}
	t := time.NewTicker(s.opt.Interval)
	defer t.Stop()
	s.Refresh(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Refresh(ctx)
		case <-s.poke:
			s.Refresh(ctx)
		case <-changes:
			s.recorrelate()
		}
	}
}

// Refresh reads targets and rules once.
func (s *Service) Refresh(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.opt.Timeout)
	defer cancel()
	var (
		targets []Target
		groups  []RuleGroup
		terr    error
		wg      sync.WaitGroup
	)
	wg.Go(func() { targets, terr = s.opt.Prometheus.Targets(ctx) })
	groups, gerr := s.opt.Prometheus.RuleGroups(ctx)
	wg.Wait()
	now := s.opt.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := errors.Join(terr, gerr); err != nil {
		next := *s.snap
		next.Err, next.ErrAt = err, now
		s.snap = &next
		s.subs.Notify()
		return err
	}
	next := &Snapshot{Targets: targets, Groups: groups, Fetched: now}
	s.correlate(next)
	s.snap = next
	s.subs.Notify()
	return nil
}

func (s *Service) recorrelate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := *s.snap
	s.correlate(&next)
	s.snap = &next
	s.subs.Notify()
}

// correlate sets snap's Flagged from the inventory's hosts.
func (s *Service) correlate(snap *Snapshot) {
	snap.Flagged, snap.Correlated = nil, false
	if s.opt.Inventory == nil || snap.Fetched.IsZero() {
		return
	}
	st := s.opt.Inventory.State()
	if st == nil || st.Fetched.IsZero() {
		return
	}
	snap.Flagged, snap.Correlated = Correlate(st.Hosts, snap.Targets), true
}

// Correlate flags the active hosts that no target scrapes (none up that
// carries their name in HostLabel or their address), and the targets with
// a HostLabel that names no host (a stale file_sd entry).
func Correlate(hosts []inventory.Host, targets []Target) []Flagged {
	byHost := map[string][]int{}
	byAddr := map[string][]int{}
	for i, t := range targets {
		if h := t.Host(); h != "" {
			byHost[h] = append(byHost[h], i)
		}
		if addr, _, err := net.SplitHostPort(t.Instance); err == nil {
			byAddr[addr] = append(byAddr[addr], i)
		}
	}
	names := map[string]bool{}
	var out []Flagged
	for _, h := range hosts {
		names[h.Name] = true
		if h.Status != "active" {
			continue // off, new or archived: not expected to answer
		}
		mine := byHost[h.Name]
		if len(mine) == 0 && h.PublicIPv4 != "" {
			mine = byAddr[h.PublicIPv4]
		}
		f := Flagged{Flag: NotScraped, Host: h.Name, Address: h.PublicIPv4, Reason: "no target"}
		up := false
		for _, i := range mine {
			if targets[i].Health == Up {
				up = true
				break
			}
			t := targets[i]
			f.Target = &t
			f.Reason = string(t.Health)
			if t.LastError != "" {
				f.Reason += ": " + t.LastError
			}
		}
		if !up {
			out = append(out, f)
		}
	}
	for i, t := range targets {
		if h := t.Host(); h != "" && !names[h] {
			t := targets[i]
			out = append(out, Flagged{Flag: Stale, Host: h, Address: t.Instance, Target: &t,
				Reason: "no host " + h + " in the inventory"})
		}
	}
	return out
}

// Install installs the node exporter on host: it runs InstallPlaybook on
// it through the Runs machinery and, once the run succeeded, lists the
// host in the file_sd file, so that its target comes up with no further
// step. It returns the run's id; the rest happens after it returns, and
// is journaled when done.
func (s *Service) Install(ctx context.Context, actor access.Actor, host string) (string, error) {
	target := "host/" + host
	params := map[string]string{"playbook": InstallPlaybook}
	if s.opt.FileSD != "" {
		params["file_sd"] = s.opt.FileSD
	}
	if err := s.opt.Guard.Check(actor, ActInstall); err != nil {
		return "", errors.Join(err, s.record(ctx, actor, target, params, err))
	}
	if s.opt.Runs == nil || s.opt.Inventory == nil {
		return "", errors.New("installing needs the inventory and ansible configured")
	}
	st := s.opt.Inventory.State()
	if st == nil {
		return "", errors.New("the inventory has not been read yet")
	}
	h, ok := st.Host(host)
	if !ok {
		return "", fmt.Errorf("no host %s in the inventory", host)
	}
	s.mu.Lock()
	if id, ok := s.installs[host]; ok {
		s.mu.Unlock()
		return "", access.Refuse(fmt.Errorf("the node exporter is being installed on %s already (run %s)", host, id))
	}
	s.installs[host] = ""
	s.mu.Unlock()
	id, err := s.opt.Runs.Start(ctx, actor, playbook.Request{
		Playbook: InstallPlaybook, Target: playbook.Target{Kind: playbook.TargetHosts, Hosts: []string{host}}, Mode: playbook.Apply,
	})
	if err != nil {
		s.mu.Lock()
		delete(s.installs, host)
		s.mu.Unlock()
		return "", errors.Join(err, s.record(ctx, actor, target, params, err))
	}
	params["run"] = id
	s.mu.Lock()
	s.installs[host] = id
	s.subs.Notify()
	s.mu.Unlock()
	bg := context.WithoutCancel(ctx)
	go func() {
		<-s.opt.Runs.Done(id)
		err := s.finishInstall(h, id)
		s.record(bg, actor, target, params, err)
		s.mu.Lock()
		delete(s.installs, host)
		s.subs.Notify()
		s.mu.Unlock()
		select {
		case s.poke <- struct{}{}:
		default:
		}
	}()
	return id, nil
}

func (s *Service) finishInstall(h inventory.Host, id string) error {
	run, err := s.opt.Runs.Run(id)
	if err != nil {
		return err
	}
	if run.State != playbook.Succeeded {
		msg := fmt.Sprintf("%s on %s: run %s %s", InstallPlaybook, h.Name, id, run.State)
		if run.Error != "" {
			msg += ": " + run.Error
		}
		return errors.New(msg)
	}
	if s.opt.FileSD == "" {
		return nil
	}
	return Register(s.opt.FileSD, h)
}

func (s *Service) record(ctx context.Context, actor access.Actor, target string, params map[string]string, err error) error {
	if s.opt.Journal == nil {
		return nil
	}
	return s.opt.Journal.Record(ctx, actor, ActInstall.Name, target, params, err)
}

// sdMu serialises Register's read-modify-write of file_sd files.
var sdMu sync.Mutex

// Register lists h in the file_sd file at path, replacing an entry of the
// same host, written atomically (Prometheus watches the file). The entry
// has the labels vigil's own file_sd gives a host (playbook.FileSD).
func Register(path string, h inventory.Host) error {
	sdMu.Lock()
	defer sdMu.Unlock()
	add := playbook.FileSD([]inventory.Host{h})
	if len(add) == 0 {
		return fmt.Errorf("%s has no public IPv4 to scrape", h.Name)
	}
	var groups []playbook.SDGroup
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return err
	default:
		if err := json.Unmarshal(data, &groups); err != nil {
			return fmt.Errorf("file_sd %s: %w", path, err)
		}
	}
	groups = slices.DeleteFunc(groups, func(g playbook.SDGroup) bool { return g.Labels[HostLabel] == h.Name })
	groups = append(groups, add...)
	slices.SortFunc(groups, func(a, b playbook.SDGroup) int { return strings.Compare(a.Labels[HostLabel], b.Labels[HostLabel]) })
	out, err := json.MarshalIndent(groups, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write file_sd %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(out, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write file_sd %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write file_sd %s: %w", path, err)
	}
	return nil
}
