package release

import (
	"fmt"

	"github.com/vigilops/vigil/ops/access"
)

// What the release actions ask before they run, in the console and on the
// CLI alike: each names the app and the environment it acts on, and a
// protected environment's name must be typed.

// Confirmation of promoting as planned: dangerous, with the name to type,
// only into a protected environment (PromoteAction).
func (p *PromotePlan) Confirmation() access.Confirmation {
	c := access.Confirmation{
		Action: PromoteAction(p.To),
		Target: target(p.App, p.To.Name),
		Title:  fmt.Sprintf("Promote %s from %s to %s?", p.App, p.From.Name, p.To.Name),
	}
	if p.Revision > 0 {
		c.Title = fmt.Sprintf("Promote %s from %s (its revision %d) to %s?", p.App, p.From.Name, p.Revision, p.To.Name)
	}
	if p.To.Protected {
		c.TypeName = p.To.Name
	}
	return c
}

// Confirmation of preparing as planned.
func (p *PreparePlan) Confirmation() access.Confirmation {
	c := access.Confirmation{
		Action: ActPrepare,
		Target: p.Env.Name,
		Title:  fmt.Sprintf("Prepare %s from %s?", p.Env.Name, p.From.Name),
	}
	if p.Env.Protected {
		c.TypeName = p.Env.Name
	}
	return c
}

// RollbackWhat says what rolling app in env back to revision (0: the
// previous one) does: "roll api in prod back to revision 3".
func RollbackWhat(app, env string, revision int64) string {
	if revision == 0 {
		return fmt.Sprintf("roll %s in %s back to the previous revision", app, env)
	}
	return fmt.Sprintf("roll %s in %s back to revision %d", app, env, revision)
}

// RollbackConfirmation is the confirmation of rolling app in env back to
// revision (0: the previous one); protected is env's flag.
func RollbackConfirmation(app, env string, protected bool, revision int64) access.Confirmation {
	what := RollbackWhat(app, env, revision)
	c := access.Confirmation{Action: ActRollback, Target: target(app, env), Title: "R" + what[1:] + "?"}
	if protected {
		c.TypeName = env
	}
	return c
}
