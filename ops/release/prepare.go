package release

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/presence"
)

// ActPrepare creates and seeds an environment.
var ActPrepare = access.Action{Name: "prepare an environment", MinRole: access.Operator, Mutates: true, Dangerous: true}

// PreparePlan is the preview of preparing an environment.
type PreparePlan struct {
	Env  Env  `json:"env"`
	From Env  `json:"from"`
	Seed Seed `json:"seed"`
	// Warnings are shown with the preview (Secrets to provide, …).
	Warnings []string `json:"warnings,omitempty"`
}

// Creates lists the objects the plan creates.
func (p *PreparePlan) Creates() []SeedObject {
	var out []SeedObject
	for _, o := range p.Seed.Objects {
		if !o.Exists {
			out = append(out, o)
		}
	}
	return out
}

// PlanPrepare previews seeding env from the environment before it. It
// reads the clusters: run it in a command, not in a getter.
func (s *Service) PlanPrepare(ctx context.Context, envName string) (PreparePlan, error) {
	env, err := s.Env(envName)
	if err != nil {
		return PreparePlan{}, err
	}
	from, err := s.Previous(envName)
	if err != nil {
		return PreparePlan{}, fmt.Errorf("cannot prepare %s: %w", envName, err)
	}
	seed, err := s.cluster.PlanSeed(ctx, from.Target(), env.Target(), s.opt.Selector)
	if err != nil {
		return PreparePlan{}, err
	}
	p := PreparePlan{Env: env, From: from, Seed: seed}
	if len(seed.Secrets) > 0 {
		p.Warnings = append(p.Warnings, fmt.Sprintf("%s uses Secrets that vigil does not copy: create %s in namespace %s before the apps can start",
			from.Name, strings.Join(seed.Secrets, ", "), env.Namespace))
	}
	if len(p.Creates()) == 0 {
		p.Warnings = append(p.Warnings, fmt.Sprintf("%s already holds everything %s has: nothing to create", env.Name, from.Name))
	}
	return p, nil
}

// Prepare applies plan as actor.
func (s *Service) Prepare(ctx context.Context, actor access.Actor, plan PreparePlan) error {
	params := map[string]string{"from": plan.From.Name, "objects": fmt.Sprint(len(plan.Creates()))}
	if err := s.opt.Guard.Check(actor, ActPrepare); err != nil {
		return s.record(ctx, actor, ActPrepare, plan.Env.Name, params, err)
	}
	defer presence.Begin(ctx, "preparing "+plan.Env.Name+" from "+plan.From.Name)()
	err := s.prepare(ctx, actor, plan)
	return s.record(ctx, actor, ActPrepare, plan.Env.Name, params, err)
}

// prepareLock names the lock of env's preparations.
func prepareLock(env string) string { return "vigil-prepare-" + env }

// prepare seeds plan's objects, holding the preparation's lock, unless a
// promotion into the environment is in flight: then it is refused naming
// the promotion's holder. The lock lives in the source's namespace: the
// environment's may not exist yet.
func (s *Service) prepare(ctx context.Context, actor access.Actor, plan PreparePlan) error {
	src, lock, holder := plan.From.Target(), prepareLock(plan.Env.Name), s.holder(actor)
	if err := s.cluster.Lock(ctx, src, lock, s.lockHolder(actor, "prepare "+plan.Env.Name), s.opt.LockTTL); err != nil {
		return err
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		_ = s.cluster.Unlock(uctx, src, lock, holder)
		cancel()
	}()
	held, err := s.cluster.Held(ctx, plan.Env.Target(), lockName(""))
	if err != nil {
		return err
	}
	for _, l := range held {
		if l.Holder != holder {
			return fmt.Errorf("a promotion into %s is in flight: %w", plan.Env.Name, l)
		}
	}
	// Under the lock, the environment as it is now: what another
	// preparation created since the plan was made is not created again,
	// nor reported as created by this one.
	now, err := s.cluster.PlanSeed(ctx, plan.From.Target(), plan.Env.Target(), s.opt.Selector)
	if err != nil {
		return err
	}
	var exist []string
	for _, o := range plan.Creates() {
		for _, n := range now.Objects {
			if n.Kind == o.Kind && n.Name == o.Name && n.Exists {
				exist = append(exist, o.Kind+"/"+o.Name)
			}
		}
	}
	if len(exist) > 0 {
		return &PreparedSinceError{Env: plan.Env.Name, Exist: exist}
	}
	return s.cluster.Seed(ctx, plan.From.Target(), plan.Env.Target(), plan.Creates())
}

// PreparedSinceError refuses a preparation whose environment gained, between
// the plan and the lock, objects the plan would create: another preparation
// (or someone outside vigil) came first. Nothing is created.
type PreparedSinceError struct {
	Env   string
	Exist []string // Kind/Name
}

// Refused marks it as a refusal (access.Refusal): exit 3, journaled as
// refused.
func (e *PreparedSinceError) Refused() bool { return true }

func (e *PreparedSinceError) Error() string {
	verb := "exists"
	if len(e.Exist) > 1 {
		verb = "exist"
	}
	return fmt.Sprintf("%s changed since this preparation was planned: %s %s now (another preparation came first): nothing was done; prepare again to see what is left",
		e.Env, strings.Join(e.Exist, ", "), verb)
}
