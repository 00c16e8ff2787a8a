package release

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/vigilops/vigil/ops/access"
)

// Exit codes of the non-interactive verbs.
const (
	ExitOK      = 0
	ExitFailed  = 1 // the action was tried and failed, or a rollout stalled
	ExitUsage   = 2 // bad flags or arguments (cobra's)
	ExitRefused = 3 // refused: role, read-only mode, freeze or lock
)

// ExitCode maps an error of this package to an exit code.
func ExitCode(err error) int {
	switch {
	case err == nil:
		return ExitOK
	case access.IsRefusal(err):
		return ExitRefused
	}
	return ExitFailed
}

// WriteStatus prints the matrix for `vigil status`: a table, or JSON.
func (s *Service) WriteStatus(w io.Writer, asJSON bool) error {
	m := s.Matrix()
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := []string{"APP"}
	for _, e := range m.Envs {
		h := e.Name
		if e.Protected {
			h += " (protected)"
		}
		if e.Freeze.Active(s.opt.Now()) {
			h += " (frozen)"
		}
		if !e.Conn.Connected {
			h += " (disconnected)"
		}
		head = append(head, h)
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, r := range m.Rows {
		line := []string{r.App}
		for _, c := range r.Cells {
			if c.Workload == nil {
				line = append(line, "-")
				continue
			}
			cell := fmt.Sprintf("%s %d/%d %s", c.Version, c.Available, c.Desired, c.Health)
			if len(c.Alerts) > 0 {
				names := make([]string, 0, len(c.Alerts))
				for _, a := range c.Alerts {
					if !slices.Contains(names, a.Name) {
						names = append(names, a.Name)
					}
				}
				cell += " (" + strings.Join(names, ", ") + ")"
			}
			if c.Drift {
				cell += " (drift from " + c.DriftFrom + ")"
			}
			line = append(line, cell)
		}
		fmt.Fprintln(tw, strings.Join(line, "\t"))
	}
	return tw.Flush()
}

// Confirm asks a person to confirm a dangerous action once its plan is
// printed. It returns nil to go on, or the refusal (an access.Refusal)
// when the confirmation is not given; it asks only when c.Needed().
type Confirm func(c access.Confirmation) error

// PromoteCLI runs `vigil promote APP --to ENV [--from ENV] [--revision N]
// [--wait]`, printing the plan and the outcome to out, and returns the exit
// code. Revision, when not 0, is the source's revision to promote (from its
// history) rather than what it runs now. Between the plan and the
// promotion, confirm (nil: none) may refuse it.
func (s *Service) PromoteCLI(ctx context.Context, actor access.Actor, out io.Writer, confirm Confirm, app, from, to string, revision int64, wait bool) int {
	plan, err := s.PlanPromoteRevision(actor, app, from, to, revision)
	if err != nil {
		fmt.Fprintln(out, "vigil promote:", err)
		return ExitCode(err)
	}
	if plan.Revision > 0 {
		fmt.Fprintf(out, "promote %s from %s (its revision %d) to %s:\n", app, plan.From.Name, plan.Revision, plan.To.Name)
	} else {
		fmt.Fprintf(out, "promote %s from %s to %s:\n", app, plan.From.Name, plan.To.Name)
	}
	for _, c := range plan.Images {
		mark := "  unchanged"
		if c.Changed() {
			mark = "  " + c.From + " -> " + c.To
		}
		kind := "container"
		if c.Init {
			kind = "init container"
		}
		fmt.Fprintf(out, "  %s %s:%s\n", kind, c.Container, mark)
	}
	if plan.Hook != "" {
		fmt.Fprintf(out, "  hook: job template %s runs first (named in %s)\n", plan.Hook, plan.HookFrom)
	}
	if w := plan.SourceWarning(); w != "" {
		fmt.Fprintf(out, "  warning: %s\n", w)
	}
	if !plan.Changes() {
		fmt.Fprintf(out, "%s in %s already runs these images: nothing to promote\n", app, plan.To.Name)
		return ExitOK
	}
	// Refused before anything is asked (Promote checks it again).
	if err := s.CheckSource(plan); err != nil {
		err = s.record(ctx, actor, PromoteAction(plan.To), target(app, plan.To.Name), map[string]string{"from": plan.From.Name}, err)
		fmt.Fprintln(out, "vigil promote:", err)
		return ExitCode(err)
	}
	// A freeze seen in the cache is not asked about: Promote refuses it.
	if confirm != nil && plan.Frozen == nil {
		if err := confirm(plan.Confirmation()); err != nil {
			fmt.Fprintln(out, "vigil promote:", err)
			return ExitCode(err)
		}
	}
	if err := s.Promote(ctx, actor, plan); err != nil {
		fmt.Fprintln(out, "vigil promote:", err)
		return ExitCode(err)
	}
	fmt.Fprintf(out, "promoted %s to %s\n", app, plan.To.Name)
	// The process ends here: free the lock now rather than at its TTL.
	defer func() {
		if err := s.unlock(context.WithoutCancel(ctx), plan.To.Target(), plan.App, s.holder(actor)); err != nil {
			fmt.Fprintf(out, "vigil promote: could not free the promotion lock (it expires in %s): %v\n", s.opt.LockTTL, err)
		}
	}()
	if !wait {
		return ExitOK
	}
	if err := s.Wait(ctx, actor, app, plan.To.Name, plan.Containers()); err != nil {
		fmt.Fprintln(out, "vigil promote:", err)
		return ExitFailed
	}
	fmt.Fprintf(out, "rollout of %s in %s complete\n", app, plan.To.Name)
	return ExitOK
}

// RollbackCLI runs `vigil rollback APP --env ENV [--to-revision N] [--wait]`.
// Before the rollback, confirm (nil: none) may refuse it; an app or an
// environment that does not exist is not asked about, Rollback says so.
//
// It first prints what the rollback restores, from the cached history:
// the revision (the previous one resolved to its number, kubectl's rule:
// the second newest) and its images against the current ones. That
// revision is the one confirmed and the one restored.
func (s *Service) RollbackCLI(ctx context.Context, actor access.Actor, out io.Writer, confirm Confirm, app, env string, revision int64, wait bool) int {
	if e, ref, w, err := s.ref(app, env); err == nil {
		if history, err := s.cluster.History(ref); err == nil {
			if rev, ok := rollbackTo(history, revision); ok {
				revision = rev.Number
				writeRollback(out, app, env, w.Containers, rev)
			}
		}
		if confirm != nil {
			if err := confirm(RollbackConfirmation(app, env, e.Protected, revision)); err != nil {
				fmt.Fprintln(out, "vigil rollback:", err)
				return ExitCode(err)
			}
		}
	}
	rev, err := s.Rollback(ctx, actor, app, env, revision)
	if err != nil {
		fmt.Fprintln(out, "vigil rollback:", err)
		return ExitCode(err)
	}
	fmt.Fprintf(out, "rolled %s in %s back to revision %d\n", app, env, rev.Number)
	// The process ends here: free the lock now rather than at its TTL.
	defer func() {
		if e, err := s.Env(env); err == nil {
			if err := s.unlock(context.WithoutCancel(ctx), e.Target(), app, s.holder(actor)); err != nil {
				fmt.Fprintf(out, "vigil rollback: could not free the lock of %s (it expires in %s): %v\n", app, s.opt.LockTTL, err)
			}
		}
	}()
	if !wait {
		return ExitOK
	}
	if err := s.wait(ctx, app, env, rev.Containers); err != nil {
		fmt.Fprintln(out, "vigil rollback:", err)
		return ExitFailed
	}
	fmt.Fprintf(out, "rollout of %s in %s complete\n", app, env)
	return ExitOK
}

// rollbackTo is the revision of history that rolling back to revision
// restores: that number, or for 0 the second newest, as kubectl's undo
// picks it. It is false when history has no such revision.
func rollbackTo(history []Revision, revision int64) (Revision, bool) {
	var newest, previous *Revision
	for i := range history {
		r := &history[i]
		switch {
		case revision > 0:
			if r.Number == revision {
				return *r, true
			}
		case newest == nil || r.Number > newest.Number:
			newest, previous = r, newest
		case previous == nil || r.Number > previous.Number:
			previous = r
		}
	}
	if revision == 0 && previous != nil {
		return *previous, true
	}
	return Revision{}, false
}

// writeRollback prints what restoring rev of app in env changes, one line
// per container, as PromoteCLI prints a promotion.
func writeRollback(out io.Writer, app, env string, current []Container, rev Revision) {
	fmt.Fprintf(out, "roll %s in %s back to revision %d:\n", app, env, rev.Number)
	for _, c := range rev.Containers {
		kind := "container"
		if c.Init {
			kind = "init container"
		}
		mark := "unchanged"
		for _, cur := range current {
			if cur.Name == c.Name && cur.Init == c.Init && cur.Image != c.Image {
				mark = cur.Image + " -> " + c.Image
			}
		}
		fmt.Fprintf(out, "  %s %s:  %s\n", kind, c.Name, mark)
	}
	if rev.ChangeCause != "" {
		fmt.Fprintf(out, "  revision %d was: %s\n", rev.Number, rev.ChangeCause)
	}
}
