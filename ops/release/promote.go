package release

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/presence"
)

// ImageChange is one container of the target workload in a promotion plan.
type ImageChange struct {
	Container string `json:"container"`
	Init      bool   `json:"init,omitempty"`
	From      string `json:"from"`
	To        string `json:"to"`
}

// Changed reports whether the promotion changes this container.
func (c ImageChange) Changed() bool { return c.From != c.To }

// PromotePlan is exactly what a promotion will change: the preview shown
// before confirming, and what Promote applies.
type PromotePlan struct {
	App         string            `json:"app"`
	Kind        Kind              `json:"kind"`
	From        Env               `json:"from"`
	To          Env               `json:"to"`
	Images      []ImageChange     `json:"images"`
	Annotations map[string]string `json:"annotations"`
	// Hook is the job template run in the target before the rollout, and
	// HookFrom where it was named: HookFromConfig or HookFromAnnotation.
	Hook     string `json:"hook,omitempty"`
	HookFrom string `json:"hook_from,omitempty"`
	// Frozen is the target's freeze as last seen (Promote checks it again).
	Frozen *Freeze `json:"frozen,omitempty"`
	// Source is the state of the app in From when planned: the preview
	// warns when it is not healthy (SourceWarning).
	Source Assessment `json:"source"`
	// Revision is the source's revision promoted, when one was chosen
	// from its history rather than what it runs now (0).
	Revision int64 `json:"revision,omitempty"`
}

// SourceWarning says why the source is not a safe one to promote from:
// it is stalled, degraded, still rolling out, paused, or an alert fires on
// it; "" when it is healthy.
func (p *PromotePlan) SourceWarning() string {
	if p.Revision > 0 { // the state of what runs there, not of the revision chosen
		return ""
	}
	return sourceWarning(p.App, p.From.Name, p.Source)
}

func sourceWarning(app, env string, a Assessment) string {
	if a.Health == Healthy || a.Health == "" {
		return ""
	}
	msg := fmt.Sprintf("%s/%s, the source, is %s", env, app, a.Health)
	if a.Reason != "" {
		msg += ": " + a.Reason
	}
	return msg
}

// UnhealthySourceError refuses a promotion into a protected environment
// from a source that is not healthy, when the config says so
// (kubernetes.refuse_unhealthy_source_for_protected).
type UnhealthySourceError struct {
	App, From, To string
	Warning       string
}

// Refused marks it as a refusal (access.Refusal): exit 3, journaled as refused.
func (e *UnhealthySourceError) Refused() bool { return true }

func (e *UnhealthySourceError) Error() string {
	return fmt.Sprintf("%s is protected and %s; kubernetes.refuse_unhealthy_source_for_protected refuses promoting from it: fix or roll back %s/%s first",
		e.To, e.Warning, e.From, e.App)
}

// CheckSource refuses plan when its target is protected, the config
// refuses unhealthy sources for protected targets, and the source is not
// healthy now. Promote checks it too; the console asks it first, to refuse
// before any dialog.
func (s *Service) CheckSource(plan PromotePlan) error {
	if !plan.To.Protected || !s.opt.RefuseUnhealthySource || plan.Revision > 0 {
		return nil
	}
	a := plan.Source
	if c, ok := s.Matrix().Cell(plan.App, plan.From.Name); ok {
		a = c.Assessment // as it is now, not as planned
	}
	if w := sourceWarning(plan.App, plan.From.Name, a); w != "" {
		return &UnhealthySourceError{App: plan.App, From: plan.From.Name, To: plan.To.Name, Warning: w}
	}
	return nil
}

// Changes reports whether the plan changes any image.
func (p *PromotePlan) Changes() bool {
	for _, c := range p.Images {
		if c.Changed() {
			return true
		}
	}
	return false
}

// Containers are the target's containers once promoted: what Wait waits for.
func (p *PromotePlan) Containers() []Container {
	out := make([]Container, len(p.Images))
	for i, c := range p.Images {
		out[i] = Container{Name: c.Container, Image: c.To, Init: c.Init}
	}
	return out
}

// Previous returns the environment before env in the pipeline.
func (s *Service) Previous(env string) (Env, error) {
	i, ok := s.store.idx[env]
	if !ok {
		_, err := s.Env(env)
		return Env{}, err
	}
	if i == 0 {
		return Env{}, fmt.Errorf("%s is the first environment: nothing comes before it to promote from; name one with --from", env)
	}
	return s.envs[i-1], nil
}

// Next returns the environment after env in the pipeline.
func (s *Service) Next(env string) (Env, error) {
	i, ok := s.store.idx[env]
	if !ok {
		_, err := s.Env(env)
		return Env{}, err
	}
	if i == len(s.envs)-1 {
		return Env{}, fmt.Errorf("%s is the last environment: there is nothing to promote it to", env)
	}
	return s.envs[i+1], nil
}

// PlanPromote computes the promotion of app into to from from ("" for the
// environment before to), by actor, from the cache. It does no IO.
func (s *Service) PlanPromote(actor access.Actor, app, from, to string) (PromotePlan, error) {
	toEnv, err := s.Env(to)
	if err != nil {
		return PromotePlan{}, err
	}
	var fromEnv Env
	if from == "" {
		fromEnv, err = s.Previous(to)
	} else {
		fromEnv, err = s.Env(from)
	}
	if err != nil {
		return PromotePlan{}, err
	}
	if fromEnv.Name == toEnv.Name {
		return PromotePlan{}, fmt.Errorf("cannot promote %s from %s to itself: name another environment", app, to)
	}
	m := s.Matrix()
	src, ok := m.Cell(app, fromEnv.Name)
	if !ok {
		return PromotePlan{}, m.noApp(app, fromEnv.Name, "nothing to promote from; check its name with `vigil status`")
	}
	dst, ok := m.Cell(app, toEnv.Name)
	if !ok {
		return PromotePlan{}, m.noApp(app, toEnv.Name, "prepare the environment first, so the workload exists")
	}
	if src.Workload.Kind != dst.Workload.Kind {
		return PromotePlan{}, fmt.Errorf("%s is a %s in %s but a %s in %s: align the workloads first", app, src.Workload.Kind, fromEnv.Name, dst.Workload.Kind, toEnv.Name)
	}
	plan := PromotePlan{App: app, Kind: dst.Workload.Kind, From: fromEnv, To: toEnv, Source: src.Assessment}
	plan.Hook, plan.HookFrom = hook(toEnv, src.Workload, dst.Workload)
	for _, sc := range src.Workload.Containers {
		found := false
		for _, dc := range dst.Workload.Containers {
			if dc.Name == sc.Name && dc.Init == sc.Init {
				plan.Images = append(plan.Images, ImageChange{Container: sc.Name, Init: sc.Init, From: dc.Image, To: sc.Image})
				found = true
				break
			}
		}
		if !found {
			return PromotePlan{}, fmt.Errorf("%s in %s has no container %q that %s has: align the pod templates (prepare the environment again) first", app, toEnv.Name, sc.Name, fromEnv.Name)
		}
	}
	version := src.Version
	plan.Annotations = map[string]string{
		AnnotationPromotedFrom: fromEnv.Name,
		AnnotationPromotedBy:   actor.String(),
		AnnotationPromotedAt:   s.opt.Now().UTC().Format(time.RFC3339),
		AnnotationChangeCause:  fmt.Sprintf("vigil: %s promoted %s %s from %s", actor.Name, app, version, fromEnv.Name),
	}
	plan.Annotations[AnnotationImages] = ImagesAnnotation(plan.Containers())
	for _, es := range m.Envs {
		if es.Name == toEnv.Name && es.Freeze.Active(s.opt.Now()) {
			plan.Frozen = es.Freeze
		}
	}
	return plan, nil
}

// SourceRevisions are the revisions of app in env that a promotion from
// env can take, newest first: their images, age and who made them.
func (s *Service) SourceRevisions(app, env string) ([]Revision, error) {
	_, ref, _, err := s.ref(app, env)
	if err != nil {
		return nil, err
	}
	return s.cluster.History(ref)
}

// PlanPromoteRevision plans promoting revision of app's source, chosen from
// its history, instead of what the source runs now; 0, or the source's
// current revision, plans what it runs now (PlanPromote).
func (s *Service) PlanPromoteRevision(actor access.Actor, app, from, to string, revision int64) (PromotePlan, error) {
	plan, err := s.PlanPromote(actor, app, from, to)
	if err != nil || revision == 0 {
		return plan, err
	}
	revs, err := s.SourceRevisions(app, plan.From.Name)
	if err != nil {
		return PromotePlan{}, err
	}
	i := slices.IndexFunc(revs, func(r Revision) bool { return r.Number == revision })
	if i < 0 {
		nums := make([]string, len(revs))
		for j, r := range revs {
			nums[j] = strconv.FormatInt(r.Number, 10)
		}
		return PromotePlan{}, fmt.Errorf("%s in %s has no revision %d: choose one of %s", app, plan.From.Name, revision, strings.Join(nums, ", "))
	}
	r := revs[i]
	if r.Current {
		return plan, nil
	}
	version := ""
	for k := range plan.Images {
		ch := &plan.Images[k]
		j := slices.IndexFunc(r.Containers, func(c Container) bool { return c.Name == ch.Container && c.Init == ch.Init })
		if j < 0 {
			return PromotePlan{}, fmt.Errorf("revision %d of %s in %s has no container %q: choose a revision with the same containers", revision, app, plan.From.Name, ch.Container)
		}
		ch.To = r.Containers[j].Image
		if !ch.Init && version == "" {
			version = ImageVersion(ch.To)
		}
	}
	plan.Revision = r.Number
	plan.Annotations[AnnotationChangeCause] = fmt.Sprintf("vigil: %s promoted %s %s from %s (its revision %d)", actor.Name, app, version, plan.From.Name, r.Number)
	plan.Annotations[AnnotationImages] = ImagesAnnotation(plan.Containers())
	return plan, nil
}

// Where a promotion hook was named.
const (
	HookFromConfig     = "config"
	HookFromAnnotation = "annotation " + AnnotationHook
)

// hook picks the promotion hook of promoting src into dst in env: the one
// the config names for the app in env, else the annotation on the target
// workload, else the one on the source. Config wins because it is the
// administrators' reviewed choice for the whole pipeline, while anyone who
// can edit a workload can annotate it.
func hook(env Env, src, dst *Workload) (name, from string) {
	if h := env.Hooks[dst.Name]; h != "" {
		return h, HookFromConfig
	}
	for _, w := range []*Workload{dst, src} {
		if w.Hook != "" {
			return w.Hook, HookFromAnnotation
		}
	}
	return "", ""
}

func lockName(app string) string { return "vigil-promote-" + app }

// Promote applies plan as actor: guard, freeze, lock, hook, then the new
// images and provenance annotations. The lock stays held while the
// rollout runs, and is freed when it settles (or after the lock's TTL).
func (s *Service) Promote(ctx context.Context, actor access.Actor, plan PromotePlan) error {
	action := PromoteAction(plan.To)
	tgt := target(plan.App, plan.To.Name)
	params := map[string]string{"from": plan.From.Name}
	if plan.Hook != "" {
		params["hook"] = plan.Hook
	}
	for _, c := range plan.Images {
		if c.Changed() {
			params["image."+c.Container] = c.From + " -> " + c.To
		}
	}
	if err := s.opt.Guard.Check(actor, action); err != nil {
		return s.record(ctx, actor, action, tgt, params, err)
	}
	if err := s.CheckSource(plan); err != nil {
		return s.record(ctx, actor, action, tgt, params, err)
	}
	// Every session sees the promotion until its rollout settles, as long
	// as the lock covers it.
	end := presence.Begin(ctx, "promoting "+plan.App+" to "+plan.To.Name)
	start := s.opt.Now()
	perr := s.promote(ctx, actor, plan)
	params[DurationParam] = s.opt.Now().Sub(start).String()
	err := s.record(ctx, actor, action, tgt, params, perr)
	if perr != nil {
		end()
		return err
	}
	if hold := s.opt.TestHoldAfterPromote; hold != nil {
		hold(ctx, "promotion of "+plan.App+" to "+plan.To.Name)
	}
	go s.unlockWhenSettled(context.WithoutCancel(ctx), plan.App, plan.To.Target(), plan.To.Name, plan.Containers(), s.holder(actor), end)
	return err
}

// promote checks the freeze, takes the lock and applies plan; on failure
// it frees the lock.
func (s *Service) promote(ctx context.Context, actor access.Actor, plan PromotePlan) error {
	t := plan.To.Target()
	f, err := s.cluster.GetFreeze(ctx, t)
	if err != nil {
		return fmt.Errorf("cannot read the freeze of %s: %w", plan.To.Name, err)
	}
	if f.Active(s.opt.Now()) {
		return &FrozenError{Env: plan.To.Name, Freeze: *f}
	}
	lock := lockName(plan.App)
	if err := s.cluster.Lock(ctx, t, lock, s.lockHolder(actor, "promote from "+plan.From.Name), s.opt.LockTTL); err != nil {
		return err
	}
	err = s.unchanged(ctx, plan)
	if err == nil {
		err = s.apply(ctx, plan)
	}
	if err != nil {
		// Free the lock even if ctx was cancelled.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		_ = s.cluster.Unlock(uctx, t, lock, s.holder(actor))
		cancel()
		return err
	}
	return nil
}

// unchanged checks, under the lock, that the target still runs the images
// plan was made from: read live when the cluster can, else from the cache.
// A change since (a promotion or rollback that settled and freed the lock
// before this one took it, or a release from outside vigil) is a
// *ChangedError, so that two image changes never interleave unseen.
func (s *Service) unchanged(ctx context.Context, plan PromotePlan) error {
	ref := Ref{Target: plan.To.Target(), Kind: plan.Kind, Name: plan.App}
	var now []Container
	var cause string
	if live, ok := s.cluster.(LiveReader); ok {
		var err error
		if now, cause, err = live.LiveContainers(ctx, ref); err != nil {
			return fmt.Errorf("cannot read %s in %s before promoting it: %w", plan.App, plan.To.Name, err)
		}
	} else if cell, ok := s.Matrix().Cell(plan.App, plan.To.Name); ok && cell.Workload != nil {
		now, cause = cell.Workload.Containers, cell.Workload.ChangeCause
	} else {
		return nil
	}
	for _, c := range plan.Images {
		cur := ""
		for _, n := range now {
			if n.Name == c.Container && n.Init == c.Init {
				cur = n.Image
			}
		}
		if cur == c.From {
			continue
		}
		return &ChangedError{App: plan.App, Env: plan.To.Name, Container: c.Container, Planned: c.From, Now: cur, Change: cause}
	}
	return nil
}

func (s *Service) apply(ctx context.Context, plan PromotePlan) error {
	ref := Ref{Target: plan.To.Target(), Kind: plan.Kind, Name: plan.App}
	images := plan.Containers()
	if plan.Hook != "" {
		if err := s.cluster.RunHook(ctx, ref.Target, plan.Hook, images); err != nil {
			return err
		}
	}
	return s.cluster.SetImages(ctx, ref, images, plan.Annotations)
}

// holder names actor in a lock: who, and through which vigil (a Holder's ID).
func (s *Service) holder(actor access.Actor) string { return s.lockHolder(actor, "").ID() }

// lockHolder is actor, through this vigil, taking a lock for action.
func (s *Service) lockHolder(actor access.Actor, action string) Holder {
	return Holder{Actor: actor.Name, Bastion: s.opt.Bastion, Action: action}
}

// unlock frees app's lock in t if holder still holds it.
func (s *Service) unlock(ctx context.Context, t Target, app, holder string) error {
	return s.cluster.Unlock(ctx, t, lockName(app), holder)
}

// unlockWhenSettled frees app's lock in t (environment env) once its
// rollout to want is healthy, stalled or complete; the lock's TTL frees it
// otherwise. Then it calls end.
func (s *Service) unlockWhenSettled(ctx context.Context, app string, t Target, env string, want []Container, holder string, end func()) {
	defer end()
	ctx, cancel := context.WithTimeout(ctx, s.opt.LockTTL)
	defer cancel()
	ch, stop := s.Subscribe()
	defer stop()
	for {
		if c, ok := s.Matrix().Cell(app, env); ok && hasImages(c.Workload.Containers, want) {
			if c.Health == Healthy || c.Health == Stalled || c.RolledOut {
				_ = s.unlock(ctx, t, app, holder)
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-ch:
		}
	}
}
