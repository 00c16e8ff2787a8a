package release

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/presence"
)

// Actions release performs, for the guard, the journal and the KeyMaps.
var (
	ActPromote          = access.Action{Name: "promote", MinRole: access.Operator, Mutates: true}
	ActPromoteProtected = access.Action{Name: "promote to a protected environment", MinRole: access.Operator, Mutates: true, Dangerous: true}
	ActRollback         = access.Action{Name: "roll back", MinRole: access.Operator, Mutates: true, Dangerous: true}
	ActPause            = access.Action{Name: "pause a rollout", MinRole: access.Operator, Mutates: true}
	ActResume           = access.Action{Name: "resume a rollout", MinRole: access.Operator, Mutates: true}
	ActRestart          = access.Action{Name: "restart", MinRole: access.Operator, Mutates: true, Dangerous: true}
	ActScale            = access.Action{Name: "scale", MinRole: access.Operator, Mutates: true, Dangerous: true}
	ActFreeze           = access.Action{Name: "freeze an environment", MinRole: access.Operator, Mutates: true, Dangerous: true}
	ActUnfreeze         = access.Action{Name: "unfreeze an environment", MinRole: access.Operator, Mutates: true, Dangerous: true}
)

// PromoteAction is the action promoting into env needs.
func PromoteAction(env Env) access.Action {
	if env.Protected {
		return ActPromoteProtected
	}
	return ActPromote
}

// FrozenError refuses a promotion into a frozen environment.
type FrozenError struct {
	Env    string
	Freeze Freeze
}

// Refused marks a freeze as a refusal (access.Refusal) for the journal and
// the exit code.
func (e *FrozenError) Refused() bool { return true }

func (e *FrozenError) Error() string {
	return fmt.Sprintf("%s is frozen by %s until %s (%s): promote after the freeze ends, or unfreeze it",
		e.Env, e.Freeze.By, e.Freeze.Until.Format(time.RFC3339), e.Freeze.Reason)
}

// StalledError says a rollout stopped progressing.
type StalledError struct {
	App, Env string
	Reason   string
	// RolledBackTo is the revision the environment's auto-rollback policy
	// restored, 0 when none ran.
	RolledBackTo int64
}

func (e *StalledError) Error() string {
	msg := fmt.Sprintf("the rollout of %s in %s stalled: %s", e.App, e.Env, e.Reason)
	if e.RolledBackTo > 0 {
		return msg + fmt.Sprintf("; %s rolls back automatically: revision %d was restored", e.Env, e.RolledBackTo)
	}
	return msg + "; roll it back with `vigil rollback " + e.App + " --env " + e.Env + "`"
}

// Options tune a Service.
type Options struct {
	// Selector finds apps (a label selector); empty means every workload.
	Selector string
	Guard    access.Guard
	// LockTTL is how long a promotion lock lasts if its holder vanishes
	// (default 10 minutes). The lock covers the rollout it starts.
	LockTTL time.Duration
	// RefuseUnhealthySource refuses promotions into protected environments
	// from a source that is not healthy (config:
	// kubernetes.refuse_unhealthy_source_for_protected).
	RefuseUnhealthySource bool
	// Now is the clock of freezes, annotations and the matrix; time.Now
	// when nil.
	Now func() time.Time
	// Bastion names this vigil in the locks it holds (the machine's name
	// by default), so that the one refused is told where the holder is.
	Bastion string
	// TestHoldAfterPromote, for tests only, is called by Promote once the
	// promotion is applied and journaled, with its lock still held and
	// before anything waits for the rollout: a test stops the process
	// there, in the middle of a promotion. Nil (always, outside tests):
	// nothing is held.
	TestHoldAfterPromote func(ctx context.Context, what string)
}

// Service is the release service, shared by every session of the process.
type Service struct {
	envs    []Env
	cluster Cluster
	journal Journal
	opt     Options
	store   *store
}

// New returns a service over envs (in pipeline order). Call Start once.
func New(envs []Env, cluster Cluster, journal Journal, opt Options) *Service {
	if opt.LockTTL == 0 {
		opt.LockTTL = 10 * time.Minute
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Bastion == "" {
		opt.Bastion, _ = os.Hostname()
	}
	return &Service{envs: envs, cluster: cluster, journal: journal, opt: opt, store: newStore(envs, opt.Now)}
}

// Start watches the clusters; it returns once the caches hold the current
// state and the matrix is built, and keeps it up to date until ctx ends.
// When the caches do not sync in time it returns the error, and the matrix
// still fills in as the clusters answer.
func (s *Service) Start(ctx context.Context) error {
	go s.store.run(ctx)
	err := s.cluster.Watch(ctx, s.envs, s.opt.Selector, s.store)
	s.store.rebuild()
	return err
}

// Envs returns the pipeline.
func (s *Service) Envs() []Env { return s.envs }

// Env returns the environment named name.
func (s *Service) Env(name string) (Env, error) {
	if i, ok := s.store.idx[name]; ok {
		return s.envs[i], nil
	}
	names := make([]string, len(s.envs))
	for i, e := range s.envs {
		names[i] = e.Name
	}
	return Env{}, fmt.Errorf("no environment %q: the pipeline is %v", name, names)
}

// Matrix returns the current matrix. It does no IO.
func (s *Service) Matrix() *Matrix { return s.store.cur.Load() }

// Subscribe returns a channel that receives a value whenever the matrix
// changes, and a func to stop. A pane waits on it in a tea.Cmd and re-arms.
func (s *Service) Subscribe() (<-chan struct{}, func()) { return s.store.subscribe() }

// ref returns app's workload ref in env from the matrix.
func (s *Service) ref(app, envName string) (Env, Ref, *Workload, error) {
	env, err := s.Env(envName)
	if err != nil {
		return Env{}, Ref{}, nil, err
	}
	m := s.Matrix()
	c, ok := m.Cell(app, envName)
	if !ok {
		return env, Ref{}, nil, m.noApp(app, envName, "check its name with `vigil status`")
	}
	return env, Ref{Target: env.Target(), Kind: c.Workload.Kind, Name: app}, c.Workload, nil
}

// Ref returns app's workload in env, from the matrix: what the workload
// detail (ops/workload) reads.
func (s *Service) Ref(app, env string) (Ref, error) {
	_, ref, _, err := s.ref(app, env)
	return ref, err
}

// Detail returns the rollout detail of app in env, from the cache.
func (s *Service) Detail(app, env string) (Detail, error) {
	_, ref, _, err := s.ref(app, env)
	if err != nil {
		return Detail{}, err
	}
	d, ok := s.cluster.Detail(ref)
	if !ok {
		return Detail{}, fmt.Errorf("%s is not in the cache yet: wait for the cluster to sync", ref)
	}
	s.assess(env, &d, false)
	return d, nil
}

// History returns app's revisions in env, newest first.
func (s *Service) History(app, env string) ([]Revision, error) {
	_, ref, _, err := s.ref(app, env)
	if err != nil {
		return nil, err
	}
	return s.cluster.History(ref)
}

func target(app, env string) string { return env + "/" + app }

// Locate returns the app and environment of a workload named as alerts
// name it, "namespace/name": the environment named namespace, else the one
// whose namespace it is. ok is false when the pipeline has neither.
func (s *Service) Locate(workload string) (app, env string, ok bool) {
	ns, name, found := strings.Cut(workload, "/")
	if !found || name == "" {
		return "", "", false
	}
	if _, known := s.store.idx[ns]; known {
		return name, ns, true
	}
	for _, e := range s.envs {
		if e.Namespace == ns {
			return name, e.Name, true
		}
	}
	return "", "", false
}

// DurationParam is the journal parameter saying how long a promotion or a
// rollback took, to its new revision applied (Go duration syntax):
// vigil serve's metrics time actions by it.
const DurationParam = "duration"

// record journals an action and returns err unchanged.
func (s *Service) record(ctx context.Context, actor access.Actor, action access.Action, tgt string, params map[string]string, err error) error {
	if s.journal == nil {
		return err
	}
	if jerr := s.journal.Record(ctx, actor, action.Name, tgt, params, err); jerr != nil {
		if err != nil {
			return fmt.Errorf("%w (and the journal failed: %v)", err, jerr)
		}
		return fmt.Errorf("done, but the journal failed: %w", jerr)
	}
	return err
}

// Rollback restores revision (0: the previous one) of app in env. A freeze
// does not stop it: taking a bad release back must always be possible. It
// takes the lock of app's promotions, though, so that it never interleaves
// with another image change of the workload: one in flight refuses it
// (a *LockedError naming the holder).
// The workload is annotated with the actor and the images from and to
// (RollbackAnnotations), and the journal entry names them too.
// It returns the revision restored, numbered as it was before the rollback.
func (s *Service) Rollback(ctx context.Context, actor access.Actor, app, envName string, revision int64) (Revision, error) {
	params := map[string]string{"to-revision": strconv.FormatInt(revision, 10)}
	tgt := target(app, envName)
	if err := s.opt.Guard.Check(actor, ActRollback); err != nil {
		return Revision{}, s.record(ctx, actor, ActRollback, tgt, params, err)
	}
	_, ref, _, err := s.ref(app, envName)
	if err != nil {
		return Revision{}, s.record(ctx, actor, ActRollback, tgt, params, err)
	}
	what := "rolling back " + app + " in " + envName
	if revision > 0 {
		what += " to revision " + strconv.FormatInt(revision, 10)
	}
	end := presence.Begin(ctx, what)
	// A rollback is an image change like a promotion: it takes the same
	// lock, so that it never interleaves with a promotion of the workload,
	// and holds it until its own rollout settles.
	holder := s.holder(actor)
	if err := s.cluster.Lock(ctx, ref.Target, lockName(app), s.lockHolder(actor, "roll back"), s.opt.LockTTL); err != nil {
		end()
		return Revision{}, s.record(ctx, actor, ActRollback, tgt, params, err)
	}
	var from, to *Revision
	annotate := func(f, t Revision) map[string]string {
		from, to = &f, &t
		return s.RollbackAnnotations(actor, app, f, t)
	}
	start := s.opt.Now()
	got, err := s.cluster.Rollback(ctx, ref, revision, annotate)
	params[DurationParam] = s.opt.Now().Sub(start).String()
	if err == nil {
		params["restored"] = strconv.FormatInt(got.Number, 10)
		go s.unlockWhenSettled(context.WithoutCancel(ctx), app, ref.Target, envName, got.Containers, holder, end)
	} else {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		_ = s.cluster.Unlock(uctx, ref.Target, lockName(app), holder)
		cancel()
		end()
	}
	if from != nil {
		// Recorded even when the change failed: it says what was tried.
		params["from-revision"] = strconv.FormatInt(from.Number, 10)
		for _, c := range imageChanges(from.Containers, to.Containers) {
			params["image."+c.Container] = c.From + " -> " + c.To
		}
	} else if err == nil {
		params["unchanged"] = "the current template already matches revision " + strconv.FormatInt(got.Number, 10)
	}
	return got, s.record(ctx, actor, ActRollback, tgt, params, err)
}

// RollbackAnnotations are the annotations a rollback of app by actor from
// revision from to revision to sets: who and when (the annotations of a
// promotion, so that every view that names a promoter names them), the
// revision replaced, and a change-cause with the images from and to.
func (s *Service) RollbackAnnotations(actor access.Actor, app string, from, to Revision) map[string]string {
	var imgs []string
	for _, c := range imageChanges(from.Containers, to.Containers) {
		imgs = append(imgs, c.Container+" "+c.From+" → "+c.To)
	}
	images := strings.Join(imgs, ", ")
	if images == "" {
		images = "same images"
	}
	return map[string]string{
		AnnotationPromotedBy:     actor.String(),
		AnnotationPromotedAt:     s.opt.Now().UTC().Format(time.RFC3339),
		AnnotationPromotedFrom:   "",
		AnnotationRolledBackFrom: strconv.FormatInt(from.Number, 10),
		AnnotationImages:         ImagesAnnotation(to.Containers),
		AnnotationChangeCause: fmt.Sprintf("vigil: %s rolled back %s from revision %d to revision %d: %s",
			actor.Name, app, from.Number, to.Number, images),
	}
}

// imageChanges lists the containers whose image differs between from and
// to, init containers first as in a pod template; a container only one
// side has shows "" on the other.
func imageChanges(from, to []Container) []ImageChange {
	var out []ImageChange
	seen := map[string]bool{}
	key := func(c Container) string { return fmt.Sprint(c.Init, c.Name) }
	for _, f := range from {
		seen[key(f)] = true
		t := ""
		for _, c := range to {
			if key(c) == key(f) {
				t = c.Image
			}
		}
		if t != f.Image {
			out = append(out, ImageChange{Container: f.Name, Init: f.Init, From: f.Image, To: t})
		}
	}
	for _, c := range to {
		if !seen[key(c)] {
			out = append(out, ImageChange{Container: c.Name, Init: c.Init, To: c.Image})
		}
	}
	return out
}

// Pause pauses app's rollout in env (Deployments only).
func (s *Service) Pause(ctx context.Context, actor access.Actor, app, env string) error {
	return s.simple(ctx, actor, ActPause, app, env, nil, "pausing the rollout of "+app+" in "+env, func(ref Ref) error { return s.cluster.SetPaused(ctx, ref, true) })
}

// Resume resumes app's paused rollout in env.
func (s *Service) Resume(ctx context.Context, actor access.Actor, app, env string) error {
	return s.simple(ctx, actor, ActResume, app, env, nil, "resuming the rollout of "+app+" in "+env, func(ref Ref) error { return s.cluster.SetPaused(ctx, ref, false) })
}

// Restart restarts app's pods in env as `kubectl rollout restart` does.
func (s *Service) Restart(ctx context.Context, actor access.Actor, app, env string) error {
	return s.simple(ctx, actor, ActRestart, app, env, nil, "restarting "+app+" in "+env, func(ref Ref) error { return s.cluster.Restart(ctx, ref, s.opt.Now()) })
}

// Scale sets app's replicas in env.
func (s *Service) Scale(ctx context.Context, actor access.Actor, app, env string, replicas int32) error {
	if replicas < 0 {
		return fmt.Errorf("cannot scale %s to %d replicas: use 0 or more", app, replicas)
	}
	params := map[string]string{"replicas": strconv.Itoa(int(replicas))}
	what := fmt.Sprintf("scaling %s in %s to %d replicas", app, env, replicas)
	return s.simple(ctx, actor, ActScale, app, env, params, what, func(ref Ref) error { return s.cluster.Scale(ctx, ref, replicas) })
}

// simple runs one mutation of app in env, shown to every session as what.
func (s *Service) simple(ctx context.Context, actor access.Actor, action access.Action, app, env string, params map[string]string, what string, do func(Ref) error) error {
	tgt := target(app, env)
	if err := s.opt.Guard.Check(actor, action); err != nil {
		return s.record(ctx, actor, action, tgt, params, err)
	}
	_, ref, _, err := s.ref(app, env)
	if err == nil {
		defer presence.Begin(ctx, what)()
		err = do(ref)
	}
	return s.record(ctx, actor, action, tgt, params, err)
}

// Freeze stops promotions into env until until, for reason.
func (s *Service) Freeze(ctx context.Context, actor access.Actor, envName, reason string, until time.Time) error {
	params := map[string]string{"reason": reason, "until": until.UTC().Format(time.RFC3339)}
	if err := s.opt.Guard.Check(actor, ActFreeze); err != nil {
		return s.record(ctx, actor, ActFreeze, envName, params, err)
	}
	env, err := s.Env(envName)
	if err == nil && reason == "" {
		err = errors.New("a freeze needs a reason: say why promotions must stop")
	}
	if err == nil && !until.After(s.opt.Now()) {
		err = fmt.Errorf("the freeze would end at %s, which is already past: give a future time", until.Format(time.RFC3339))
	}
	if err == nil {
		// Promotions in flight are not stopped: they finish their rollout.
		// The journal names them, so that it reads in the order things
		// happened: their promotion, the freeze, then their end.
		if held, herr := s.cluster.Held(ctx, env.Target(), lockName("")); herr == nil && len(held) > 0 {
			var names []string
			for _, l := range held {
				names = append(names, strings.TrimPrefix(strings.Fields(l.Lock)[0], lockName(""))+" ("+l.Holder+")")
			}
			params["in-flight"] = strings.Join(names, ", ")
		}
		err = s.cluster.PutFreeze(ctx, env.Target(), &Freeze{Reason: reason, By: s.holder(actor), At: s.opt.Now().UTC(), Until: until.UTC()})
	}
	return s.record(ctx, actor, ActFreeze, envName, params, err)
}

// Unfreeze lifts env's freeze.
func (s *Service) Unfreeze(ctx context.Context, actor access.Actor, envName string) error {
	if err := s.opt.Guard.Check(actor, ActUnfreeze); err != nil {
		return s.record(ctx, actor, ActUnfreeze, envName, nil, err)
	}
	env, err := s.Env(envName)
	if err == nil {
		err = s.cluster.PutFreeze(ctx, env.Target(), nil)
	}
	return s.record(ctx, actor, ActUnfreeze, envName, nil, err)
}

// Wait waits until app's rollout in env has taken images and settled.
// After a change, pass the images it set (PromotePlan.Containers): with nil,
// Wait takes whatever the cache holds, which may predate the change. It returns nil when healthy and a
// *StalledError when it stalled; an environment with auto-rollback then
// rolls back (as actor, journaled) and the error says so.
func (s *Service) Wait(ctx context.Context, actor access.Actor, app, envName string, images []Container) error {
	env, err := s.Env(envName)
	if err != nil {
		return err
	}
	err = s.wait(ctx, app, envName, images)
	var serr *StalledError
	if errors.As(err, &serr) && env.AutoRollback {
		rev, rerr := s.Rollback(ctx, actor, app, envName, 0)
		if rerr != nil {
			return fmt.Errorf("%w; the automatic rollback failed too: %v", serr, rerr)
		}
		serr.RolledBackTo = rev.Number
	}
	return err
}

func (s *Service) wait(ctx context.Context, app, envName string, images []Container) error {
	ch, cancel := s.Subscribe()
	defer cancel()
	for {
		if c, ok := s.Matrix().Cell(app, envName); ok && (images == nil || hasImages(c.Workload.Containers, images)) {
			switch {
			case c.Health == Stalled:
				return &StalledError{App: app, Env: envName, Reason: c.Reason}
			case c.Health == Healthy, c.RolledOut:
				// Rolled out, alert or not: the alert is the matrix's to show.
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gave up waiting for the rollout of %s in %s: %w", app, envName, ctx.Err())
		case <-ch:
		}
	}
}

// hasImages reports whether have holds every container of want with its image.
func hasImages(have, want []Container) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if h.Name == w.Name && h.Init == w.Init {
				found = h.Image == w.Image
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
