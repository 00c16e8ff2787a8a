package refresh

import (
	"context"
	"fmt"
	"strings"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/playbook"
	"github.com/vigilops/vigil/ops/release"
)

// PlaybookService runs the refresh's playbook through the playbook service,
// so that the run is journaled, kept in the history and holds its host.
type PlaybookService struct{ Svc *playbook.Service }

var _ Playbooks = PlaybookService{}

func (p PlaybookService) RunPlaybook(ctx context.Context, actor access.Actor, book, host string, vars map[string]string) (string, error) {
	id, err := p.Svc.Start(ctx, actor, playbook.Request{
		Playbook: book, Target: playbook.Target{Kind: playbook.TargetHosts, Hosts: []string{host}}, Mode: playbook.Apply, ExtraVars: vars,
	})
	if err != nil {
		return "", err
	}
	select {
	case <-ctx.Done():
		p.Svc.Cancel(context.WithoutCancel(ctx), actor, id)
		return "run " + id, ctx.Err()
	case <-p.Svc.Done(id):
	}
	run, err := p.Svc.Run(id)
	if err != nil {
		return "run " + id, err
	}
	if run.State != playbook.Succeeded {
		why := run.Error
		if f := run.FailedHosts(); len(f) > 0 && why == "" {
			why = "failed on " + strings.Join(f, ", ")
		}
		return "run " + id, fmt.Errorf("playbook %s %s (run %s): %s", book, run.State, id, why)
	}
	return "run " + id, nil
}

// ReleaseHooks runs a hook as a promotion hook is run: a Job from the
// CronJob's template in the environment's namespace.
type ReleaseHooks struct {
	Hooks        release.Hooks
	Environments []config.Environment
}

var _ Hooks = ReleaseHooks{}

func (r ReleaseHooks) RunHook(ctx context.Context, env, cronJob string) error {
	for _, e := range r.Environments {
		if e.Name == env {
			return r.Hooks.RunHook(ctx, release.Target{Context: e.Context, Namespace: e.Namespace}, cronJob, nil)
		}
	}
	return fmt.Errorf("environment %s is not in kubernetes.environments: its hook cannot run", env)
}
