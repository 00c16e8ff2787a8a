// Package refresh is the guided data refresh of one environment from
// another (`:refresh-data preprod from prod`, `vigil refresh-data`): six
// steps, each journaled and idempotent, with the run's state in a file so
// that a refresh interrupted anywhere (a failure, a killed process) resumes
// at the step it was on without taking a second snapshot or volume.
//
// Where the state lives. A JSON file per target environment, beside the
// audit journal (Dir), written atomically after every change, rather than
// the journal itself: the journal is the audit trail, append-only and
// shared by every vigil of a team, while a resume needs the run's working
// data (the snapshot's and the new volume's ids, the old volumes, the step
// it was on) exactly as this run left it, and a lock that dies with the
// process. The journal records each step's outcome; the file says where to
// go on.
package refresh

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ops/presence"
)

// Actions, declared with their danger: a refresh detaches the target's
// data volume (its services lose their data until the copy is attached),
// and deleting the old volume loses it for good.
var (
	ActRefresh         = access.Action{Name: "refresh data", MinRole: access.Operator, Mutates: true, Dangerous: true}
	ActDeleteOldVolume = access.Action{Name: "delete old data volume", MinRole: access.Operator, Mutates: true, Dangerous: true}
)

// Step is one step of a refresh, from 1.
type Step int

const (
	StepSnapshot Step = iota + 1
	StepCreateVolume
	StepDetachOld
	StepAttachNew
	StepPlaybook
	StepHook
	stepsEnd
)

// NumSteps is how many steps a refresh has.
const NumSteps = int(stepsEnd - 1)

// Name is the step's short name, as journaled ("refresh data: snapshot").
func (s Step) Name() string {
	switch s {
	case StepSnapshot:
		return "snapshot"
	case StepCreateVolume:
		return "create volume"
	case StepDetachOld:
		return "detach old volume"
	case StepAttachNew:
		return "attach new volume"
	case StepPlaybook:
		return "playbook"
	case StepHook:
		return "hook"
	}
	return "step " + strconv.Itoa(int(s))
}

// Describe says what the step does in this refresh.
func (st *State) Describe(s Step) string {
	switch s {
	case StepSnapshot:
		return fmt.Sprintf("take snapshot %s of %s's volume %s", st.SnapshotName, st.Source, st.SourceVolume.Name)
	case StepCreateVolume:
		return fmt.Sprintf("create volume %s from it in %s (%d GB)", st.NewVolume.Name, st.Region, st.SizeGB)
	case StepDetachOld:
		if len(st.OldVolumes) == 0 {
			return fmt.Sprintf("detach %s's old volume (none attached to %s)", st.Target, st.TargetHost.Name)
		}
		return fmt.Sprintf("detach %s's old volume %s from %s (kept)", st.Target, volumeNames(st.OldVolumes), st.TargetHost.Name)
	case StepAttachNew:
		return fmt.Sprintf("attach %s to %s", st.NewVolume.Name, st.TargetHost.Name)
	case StepPlaybook:
		return fmt.Sprintf("run %s on %s to mount and scrub it", st.Playbook, st.TargetHost.Name)
	case StepHook:
		if st.Hook == "" {
			return fmt.Sprintf("run %s's hook (none configured)", st.Target)
		}
		return fmt.Sprintf("run %s's hook cronjob/%s", st.Target, st.Hook)
	}
	return s.Name()
}

// Ref names a cloud object by id and name.
type Ref struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name"`
}

// HostRef names a host.
type HostRef struct {
	ID     int    `json:"id"`
	Name   string `json:"name"`
	Region string `json:"region"`
}

// StepRun is one attempt at a step.
type StepRun struct {
	Step    Step      `json:"step"`
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended,omitzero"`
	Err     string    `json:"error,omitempty"`
	Note    string    `json:"note,omitempty"` // what it found done already, the playbook run's id
}

// Took is how long the attempt took (0 while running).
func (r StepRun) Took() time.Duration {
	if r.Ended.IsZero() {
		return 0
	}
	return r.Ended.Sub(r.Started)
}

// State is a refresh: its plan, resolved once at the start and kept so that
// a resume acts on the same objects, and where it is.
type State struct {
	ID       string    `json:"id"` // YYYYMMDD-HHMMSS, the start's UTC time
	Source   string    `json:"source"`
	Target   string    `json:"target"`
	Actor    string    `json:"actor"`
	Started  time.Time `json:"started"`
	Playbook string    `json:"playbook"`
	Hook     string    `json:"hook,omitempty"`
	HookNS   string    `json:"hook_namespace,omitempty"`

	SourceVolume Ref     `json:"source_volume"`
	SourceHost   string  `json:"source_host"`
	TargetHost   HostRef `json:"target_host"`
	Region       string  `json:"region"`
	SizeGB       int     `json:"size_gb"`
	OldVolumes   []Ref   `json:"old_volumes"`
	SnapshotName string  `json:"snapshot_name"`
	SnapshotID   string  `json:"snapshot_id,omitempty"`
	NewVolume    Ref     `json:"new_volume"`

	// Next is the step to run: the one that failed or was interrupted,
	// stepsEnd once done.
	Next Step      `json:"next"`
	Runs []StepRun `json:"runs"`
	// Err is the last failure, "" when none; Ended is set once done.
	Err   string    `json:"error,omitempty"`
	Ended time.Time `json:"ended,omitzero"`
}

// Done reports whether every step succeeded.
func (st *State) Done() bool { return st.Next >= stepsEnd }

// Last returns the last attempt at step s.
func (st *State) Last(s Step) (StepRun, bool) {
	for i := len(st.Runs) - 1; i >= 0; i-- {
		if st.Runs[i].Step == s {
			return st.Runs[i], true
		}
	}
	return StepRun{}, false
}

// Status says where the refresh is, in one line.
func (st *State) Status() string {
	switch {
	case st.Done():
		return fmt.Sprintf("%s refreshed from %s (run %s)", st.Target, st.Source, st.ID)
	case st.Err != "":
		return fmt.Sprintf("stopped at step %d/%d (%s): %s", st.Next, NumSteps, st.Next.Name(), st.Err)
	}
	return fmt.Sprintf("at step %d/%d: %s", st.Next, NumSteps, st.Describe(st.Next))
}

func volumeNames(rs []Ref) string {
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = r.Name
	}
	return strings.Join(names, ", ")
}

// MountPath is where DigitalOcean auto-mounts a volume, and the lab's
// emulator shows it: /mnt/ and the name with dashes as underscores.
func MountPath(volume string) string { return "/mnt/" + strings.ReplaceAll(volume, "-", "_") }

// IsDataVolume reports whether a volume is env's data volume by name: the
// configured name, or a copy a refresh made (NAME-YYYYMMDD-HHMMSS).
func IsDataVolume(e config.DataEnvironment, name string) bool {
	if name == e.Volume {
		return true
	}
	rest, ok := strings.CutPrefix(name, e.Volume+"-")
	if !ok {
		return false
	}
	_, err := time.Parse("20060102-150405", rest)
	return err == nil
}

// Cloud is what a refresh needs from the cloud besides inventory.Storage;
// *digitalocean.Client implements both.
type Cloud interface {
	Hosts(ctx context.Context, tag string) ([]inventory.Host, error)
	Host(ctx context.Context, id int) (inventory.Host, error)
	Volumes(ctx context.Context) ([]inventory.Volume, error)
	CreateVolume(ctx context.Context, req inventory.VolumeRequest) (inventory.Volume, error)
	AttachVolume(ctx context.Context, volumeID string, hostID int, progress func(inventory.ActionStatus)) error
}

// Playbooks runs the refresh's playbook on one host and returns once it
// ended: an error when it failed. PlaybookService adapts *playbook.Service.
type Playbooks interface {
	RunPlaybook(ctx context.Context, actor access.Actor, playbook, host string, vars map[string]string) (runID string, err error)
}

// Hooks runs an environment's hook (a CronJob's job template) and returns
// once its Job ended. ReleaseHooks adapts release.Hooks.
type Hooks interface {
	RunHook(ctx context.Context, env, cronJob string) error
}

// Journal is the audit journal as the refresh uses it.
type Journal interface {
	Record(ctx context.Context, actor access.Actor, action, target string, params map[string]string, err error) error
}

// Options configure a Service.
type Options struct {
	Guard access.Guard
	Dir   string // where the state files live; required
	// Poll is how often a locked host is looked at again; default 2s.
	Poll time.Duration
	// UnlockTimeout bounds the wait for a host's pending action; default 5m.
	UnlockTimeout time.Duration
	Now           func() time.Time // default time.Now
	// Hooks may be nil when no environment has a hook.
	Hooks Hooks
}

// Service runs refreshes.
type Service struct {
	cfg     *config.Data
	cloud   Cloud
	storage inventory.Storage
	books   Playbooks
	journal Journal
	opt     Options
}

// New builds the service over the config's data section.
func New(cfg *config.Data, cloud Cloud, storage inventory.Storage, books Playbooks, journal Journal, opt Options) (*Service, error) {
	if cfg == nil {
		return nil, errors.New("no data section in the config: name each environment's data host and volume under data.environments (vigil config init shows one)")
	}
	if opt.Dir == "" {
		return nil, errors.New("refresh: no state directory")
	}
	if opt.Poll <= 0 {
		opt.Poll = 2 * time.Second
	}
	if opt.UnlockTimeout <= 0 {
		opt.UnlockTimeout = 5 * time.Minute
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Service{cfg: cfg, cloud: cloud, storage: storage, books: books, journal: journal, opt: opt}, nil
}

// Environments lists the environments that have data, in config order.
func (s *Service) Environments() []string {
	out := make([]string, len(s.cfg.Environments))
	for i, e := range s.cfg.Environments {
		out[i] = e.Name
	}
	return out
}

func (s *Service) env(name, role string) (config.DataEnvironment, error) {
	e, ok := s.cfg.Env(name)
	if !ok {
		return e, fmt.Errorf("no data for %s %q in the config: data.environments lists %s", role, name, strings.Join(s.Environments(), ", "))
	}
	return e, nil
}

// Confirmation is what the refresh asks before it starts: it detaches the
// target's data, so the target's name is typed.
func Confirmation(st *State) access.Confirmation {
	return access.Confirmation{
		Action: ActRefresh, Target: "env/" + st.Target, TypeName: st.Target,
		Title: fmt.Sprintf("Refresh %s's data from %s (detaches %s from %s)?", st.Target, st.Source, orNone(volumeNames(st.OldVolumes)), st.TargetHost.Name),
	}
}

func orNone(s string) string {
	if s == "" {
		return "no volume"
	}
	return s
}

// Plan resolves a refresh of target from source against the cloud: the
// source's data volume, the target's host and the volumes attached to it.
// An unfinished refresh of target is returned as it is instead, to resume
// (with a different source, that is an error). Plan does not act.
func (s *Service) Plan(ctx context.Context, target, source string) (*State, error) {
	if target == source {
		return nil, fmt.Errorf("refresh %s from itself: name another environment as the source", target)
	}
	if st, err := s.Load(target); err != nil {
		return nil, err
	} else if st != nil && !st.Done() {
		if st.Source != source {
			return nil, fmt.Errorf("a refresh of %s from %s is unfinished (%s): resume it with :refresh-data %s from %s first", target, st.Source, st.Status(), target, st.Source)
		}
		return st, nil
	}
	src, err := s.env(source, "source")
	if err != nil {
		return nil, err
	}
	dst, err := s.env(target, "target")
	if err != nil {
		return nil, err
	}
	hosts, err := s.cloud.Hosts(ctx, "")
	if err != nil {
		return nil, err
	}
	vols, err := s.cloud.Volumes(ctx)
	if err != nil {
		return nil, err
	}
	srcHost, err := findHost(hosts, src)
	if err != nil {
		return nil, err
	}
	dstHost, err := findHost(hosts, dst)
	if err != nil {
		return nil, err
	}
	var srcVol *inventory.Volume
	var old []Ref
	size := 0
	for i, v := range vols {
		switch {
		case slices.Contains(v.HostIDs, srcHost.ID) && IsDataVolume(src, v.Name):
			if srcVol != nil {
				return nil, fmt.Errorf("%s's host %s has two data volumes attached (%s and %s): detach one", source, srcHost.Name, srcVol.Name, v.Name)
			}
			srcVol = &vols[i]
		case slices.Contains(v.HostIDs, dstHost.ID) && IsDataVolume(dst, v.Name):
			old = append(old, Ref{ID: v.ID, Name: v.Name})
			size = max(size, v.SizeGB)
		}
	}
	if srcVol == nil {
		return nil, fmt.Errorf("%s's host %s has no data volume attached (named %s or %s-YYYYMMDD-HHMMSS): attach it, or fix data.environments", source, srcHost.Name, src.Volume, src.Volume)
	}
	if dstHost.Region != srcVol.Region {
		return nil, fmt.Errorf("%s's volume %s is in %s and %s's host %s in %s: a volume snapshot restores in its own region only, so move the host or refresh from a copy in %s",
			source, srcVol.Name, srcVol.Region, target, dstHost.Name, dstHost.Region, dstHost.Region)
	}
	now := s.opt.Now().UTC()
	id := now.Format("20060102-150405")
	st := &State{
		ID: id, Source: source, Target: target, Started: now, Playbook: s.cfg.Playbook, Hook: dst.Hook,
		SourceVolume: Ref{ID: srcVol.ID, Name: srcVol.Name}, SourceHost: srcHost.Name,
		TargetHost: HostRef{ID: dstHost.ID, Name: dstHost.Name, Region: dstHost.Region},
		Region:     srcVol.Region, SizeGB: max(size, srcVol.SizeGB), OldVolumes: old,
		SnapshotName: fmt.Sprintf("%s-for-%s-%s", srcVol.Name, target, id),
		NewVolume:    Ref{Name: dst.Volume + "-" + id},
		Next:         StepSnapshot,
	}
	return st, nil
}

func findHost(hosts []inventory.Host, e config.DataEnvironment) (inventory.Host, error) {
	var found []inventory.Host
	for _, h := range hosts {
		if h.Name == e.Host {
			found = append(found, h)
		}
	}
	switch len(found) {
	case 0:
		return inventory.Host{}, fmt.Errorf("%s's data host %s is not in the cloud: create it, or fix data.environments", e.Name, e.Host)
	case 1:
		return found[0], nil
	}
	return inventory.Host{}, fmt.Errorf("%d droplets are named %s: rename all but %s's data host", len(found), e.Host, e.Name)
}

// Progress is told the state after every change.
type Progress func(State)

// Run carries out st from its next step, saving and journaling as it goes,
// and returns the state it stopped in. It holds the target's lock file for
// its duration: a second vigil refreshing the same target is refused.
func (s *Service) Run(ctx context.Context, actor access.Actor, st *State, progress Progress) (*State, error) {
	if err := s.opt.Guard.Check(actor, ActRefresh); err != nil {
		jerr := s.journal.Record(ctx, actor, ActRefresh.Name, "env/"+st.Target, map[string]string{"source": st.Source, "run": st.ID}, err)
		return st, errors.Join(err, jerr)
	}
	unlock, err := s.lock(st.Target)
	if err != nil {
		return st, err
	}
	defer unlock()
	if st.Actor == "" {
		st.Actor = actor.Name
	}
	defer presence.Begin(ctx, fmt.Sprintf("refreshing %s's data from %s", st.Target, st.Source))()
	st.Err = ""
	if err := s.save(st); err != nil {
		return st, err
	}
	tell := func() {
		if progress != nil {
			progress(*st)
		}
	}
	tell()
	for st.Next < stepsEnd {
		step := st.Next
		st.Runs = append(st.Runs, StepRun{Step: step, Started: s.opt.Now()})
		if err := s.save(st); err != nil {
			return st, err
		}
		tell()
		note, err := s.do(ctx, actor, st, step)
		r := &st.Runs[len(st.Runs)-1]
		r.Ended, r.Note = s.opt.Now(), note
		if err != nil {
			r.Err, st.Err = err.Error(), err.Error()
		} else {
			st.Next++
		}
		params := map[string]string{"run": st.ID, "source": st.Source, "step": fmt.Sprintf("%d/%d %s", step, NumSteps, step.Name()), "took": r.Took().Round(time.Millisecond).String()}
		if note != "" {
			params["note"] = note
		}
		jerr := s.journal.Record(ctx, actor, ActRefresh.Name+": "+step.Name(), "env/"+st.Target, params, err)
		if st.Done() {
			st.Ended = s.opt.Now()
		}
		if serr := s.save(st); serr != nil {
			jerr = errors.Join(jerr, serr)
		}
		tell()
		if err != nil || jerr != nil {
			return st, errors.Join(stepError(st, step, err), jerr)
		}
	}
	return st, nil
}

func stepError(st *State, step Step, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("refresh of %s from %s stopped at step %d/%d (%s): %w; run it again to resume there", st.Target, st.Source, step, NumSteps, step.Name(), err)
}

// do runs one step. Each step looks first for its work done already (by an
// attempt killed before it saved), so that a resume never repeats it.
func (s *Service) do(ctx context.Context, actor access.Actor, st *State, step Step) (note string, err error) {
	switch step {
	case StepSnapshot:
		if st.SnapshotID != "" {
			return "taken already", nil
		}
		snaps, err := s.storage.VolumeSnapshots(ctx, st.SourceVolume.ID)
		if err != nil {
			return "", err
		}
		for _, sn := range snaps {
			if sn.Name == st.SnapshotName {
				st.SnapshotID = sn.ID
				return "found taken already: " + sn.ID, nil
			}
		}
		sn, err := s.storage.TakeVolumeSnapshot(ctx, st.SourceVolume.ID, st.SnapshotName, []string{"vigil-refresh"})
		if err != nil {
			return "", err
		}
		st.SnapshotID = sn.ID
		return sn.ID, nil

	case StepCreateVolume:
		if st.NewVolume.ID != "" {
			return "created already", nil
		}
		vols, err := s.cloud.Volumes(ctx)
		if err != nil {
			return "", err
		}
		for _, v := range vols {
			if v.Name == st.NewVolume.Name && v.Region == st.Region {
				st.NewVolume.ID = v.ID
				return "found created already: " + v.ID, nil
			}
		}
		v, err := s.cloud.CreateVolume(ctx, inventory.VolumeRequest{Name: st.NewVolume.Name, Region: st.Region, SizeGB: st.SizeGB, SnapshotID: st.SnapshotID})
		if err != nil {
			return "", err
		}
		st.NewVolume.ID = v.ID
		return v.ID, nil

	case StepDetachOld:
		vols, err := s.volumes(ctx)
		if err != nil {
			return "", err
		}
		var done []string
		for _, old := range st.OldVolumes {
			v, ok := vols[old.ID]
			if !ok || !slices.Contains(v.HostIDs, st.TargetHost.ID) {
				done = append(done, old.Name)
				continue
			}
			if err := s.waitUnlocked(ctx, st.TargetHost.ID); err != nil {
				return "", err
			}
			if err := s.storage.DetachVolume(ctx, old.ID, st.TargetHost.ID, nil); err != nil {
				return "", err
			}
		}
		if len(done) > 0 {
			return "detached already: " + strings.Join(done, ", "), nil
		}
		return "", nil

	case StepAttachNew:
		vols, err := s.volumes(ctx)
		if err != nil {
			return "", err
		}
		v, ok := vols[st.NewVolume.ID]
		switch {
		case !ok:
			return "", fmt.Errorf("the new volume %s (%s) is gone: it was deleted since step %d; delete %s's refresh state file to start again", st.NewVolume.Name, st.NewVolume.ID, StepCreateVolume, st.Target)
		case slices.Contains(v.HostIDs, st.TargetHost.ID):
			return "attached already", nil
		case len(v.HostIDs) > 0:
			return "", fmt.Errorf("the new volume %s is attached to droplet %d, not %s: detach it there", v.Name, v.HostIDs[0], st.TargetHost.Name)
		}
		if err := s.waitUnlocked(ctx, st.TargetHost.ID); err != nil {
			return "", err
		}
		return "", s.cloud.AttachVolume(ctx, st.NewVolume.ID, st.TargetHost.ID, nil)

	case StepPlaybook:
		if s.books == nil {
			return "", errors.New("playbook runs are not available: configure ansible")
		}
		return s.books.RunPlaybook(ctx, actor, st.Playbook, st.TargetHost.Name, map[string]string{
			"volume_name": st.NewVolume.Name, "mount_path": MountPath(st.NewVolume.Name),
		})

	case StepHook:
		if st.Hook == "" {
			return "no hook configured", nil
		}
		if s.opt.Hooks == nil {
			return "", fmt.Errorf("%s's hook cronjob/%s cannot run: Kubernetes is not configured", st.Target, st.Hook)
		}
		return "cronjob/" + st.Hook, s.opt.Hooks.RunHook(ctx, st.Target, st.Hook)
	}
	return "", fmt.Errorf("unknown step %d", step)
}

func (s *Service) volumes(ctx context.Context) (map[string]inventory.Volume, error) {
	vols, err := s.cloud.Volumes(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]inventory.Volume, len(vols))
	for _, v := range vols {
		out[v.ID] = v
	}
	return out, nil
}

// waitUnlocked waits for a host's pending action (one a killed run left
// going, say) to end: the cloud refuses another meanwhile.
func (s *Service) waitUnlocked(ctx context.Context, id int) error {
	deadline := s.opt.Now().Add(s.opt.UnlockTimeout)
	for {
		h, err := s.cloud.Host(ctx, id)
		if err != nil {
			return err
		}
		if !h.Locked {
			return nil
		}
		if s.opt.Now().After(deadline) {
			return fmt.Errorf("host %s has had an action pending for %s: look at it in DigitalOcean", h.Name, s.opt.UnlockTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(s.opt.Poll):
		}
	}
}
