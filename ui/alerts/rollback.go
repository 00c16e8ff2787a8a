package alerts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ui/common"
)

// RollbackTimeout bounds the rollback the alert offers.
const RollbackTimeout = time.Minute

// Promotion is the promotion of an alert's workload among its recent
// changes, and the revisions on either side of it.
type Promotion struct {
	App, Env string
	By       string    // who promoted, e.g. "bob (operator)"
	At       time.Time // when
	Bad      release.Revision
	Good     release.Revision // the revision that ran before the promotion
}

// From and To are the versions the rollback goes from and to.
func (p Promotion) From() string { return versionOf(p.Bad) }
func (p Promotion) To() string   { return versionOf(p.Good) }

func versionOf(r release.Revision) string {
	for _, c := range r.Containers {
		if !c.Init {
			return release.ImageVersion(c.Image)
		}
	}
	return fmt.Sprintf("revision %d", r.Number)
}

// rollbackOfferMsg carries the promotion to undo, or why there is none.
type rollbackOfferMsg struct {
	p   Promotion
	err error
}

// errNoPromotion says that the alert's workload was not promoted recently.
var errNoPromotion = errors.New("no promotion")

// rolledBackError says that the workload's promotion was already rolled
// back: undoing "the promotion" again would restore the bad release.
type rolledBackError struct {
	By string
	At time.Time
}

func (e *rolledBackError) Error() string { return "already rolled back by " + e.By }

// FindPromotion finds, for alert a, the promotion of its workload in the
// last window: from the journal's promote entries and the promoted-by
// annotation of the workload. The revision before it is the newest one
// older than the current.
func FindPromotion(svc *release.Service, journal *audit.Journal, a *incident.Alert, now time.Time, window time.Duration) (Promotion, error) {
	ns, name, ok := strings.Cut(a.Workload, "/")
	if !ok {
		return Promotion{}, fmt.Errorf("%s names no workload: it has no namespace and deployment or statefulset labels", a.Name)
	}
	env := ""
	for _, e := range svc.Envs() {
		if e.Name == ns || (env == "" && e.Namespace == ns) {
			env = e.Name
		}
	}
	if env == "" {
		return Promotion{}, fmt.Errorf("%s is no environment or namespace of the pipeline", ns)
	}
	p := Promotion{App: name, Env: env}
	var rolled *rolledBackError
	if mat := svc.Matrix(); mat != nil {
		if c, ok := mat.Cell(name, env); ok && c.Workload != nil && !c.Workload.PromotedAt.IsZero() && now.Sub(c.Workload.PromotedAt) <= window {
			if c.Workload.RolledBackFrom > 0 { // the current revision is a rollback, not a promotion
				rolled = &rolledBackError{By: c.Workload.PromotedBy, At: c.Workload.PromotedAt}
			} else {
				p.By, p.At = c.Workload.PromotedBy, c.Workload.PromotedAt
			}
		}
	}
	if journal != nil {
		es, err := journal.Query(audit.Query{Since: now.Add(-window), Until: now.Add(time.Second), Target: env + "/" + name})
		if err != nil {
			return Promotion{}, fmt.Errorf("reading the journal for %s/%s: %w", env, name, err)
		}
		for _, e := range es {
			if e.Result != audit.OK || e.Target != env+"/"+name {
				continue
			}
			if strings.HasPrefix(e.Action, release.ActPromote.Name) && e.Time.After(p.At) {
				p.At, p.By = e.Time, e.Actor
				if e.Role != "" {
					p.By += " (" + e.Role + ")"
				}
			}
			if e.Action == release.ActRollback.Name && (rolled == nil || e.Time.After(rolled.At)) {
				rolled = &rolledBackError{By: e.Actor, At: e.Time}
			}
		}
	}
	if p.At.IsZero() {
		return p, errNoPromotion
	}
	if rolled != nil && !rolled.At.Before(p.At) {
		return p, rolled
	}
	revs, err := svc.History(name, env)
	if err != nil {
		return p, fmt.Errorf("cannot read the history of %s in %s: %w", name, env, err)
	}
	cur := -1
	for i, r := range revs {
		if r.Current {
			cur = i
			break
		}
	}
	if cur < 0 || cur+1 >= len(revs) {
		return p, fmt.Errorf("%s in %s has no revision before the current one to roll back to", name, env)
	}
	p.Bad, p.Good = revs[cur], revs[cur+1] // newest first
	return p, nil
}

// offerRollbackCmd finds the promotion of a's workload to undo.
func (m *Model) offerRollbackCmd(a *incident.Alert) tea.Cmd {
	svc := m.Ctx.Services.Release
	if svc == nil {
		return common.ToastCmd(common.Info, "no rollback from here: the session has no environments configured")
	}
	if a.Workload == "" {
		return common.ToastCmd(common.Info, a.Name+" names no workload: it has no namespace and deployment or statefulset labels")
	}
	journal, now, alert := m.Ctx.Journal, m.Ctx.Now(), *a
	return func() tea.Msg {
		p, err := FindPromotion(svc, journal, &alert, now, ChangesWindow)
		return rollbackOfferMsg{p: p, err: err}
	}
}

// onRollbackOffer asks to confirm the rollback of the promotion. Back to
// the revision that ran before, it is a restoring action: y confirms,
// with no name to type, whether or not the environment is protected.
func (m *Model) onRollbackOffer(msg rollbackOfferMsg) tea.Cmd {
	p := msg.p
	var rolled *rolledBackError
	switch {
	case errors.Is(msg.err, errNoPromotion):
		return common.ToastCmd(common.Info, fmt.Sprintf("%s/%s was not promoted in the last %s: choose a revision in Rollouts (enter on it, then u)", p.Env, p.App, durationLabel(ChangesWindow)))
	case errors.As(msg.err, &rolled):
		return common.ToastCmd(common.Info, fmt.Sprintf("%s/%s's promotion was already rolled back by %s at %s: nothing to undo; another revision is chosen in Rollouts (enter on it, then u)",
			p.Env, p.App, rolled.By, rolled.At.In(m.loc).Format("15:04")))
	case msg.err != nil:
		return common.ToastCmd(common.Error, msg.err.Error())
	}
	what := fmt.Sprintf("roll back %s/%s from %s to %s", p.Env, p.App, p.From(), p.To())
	by := p.By
	if by == "" {
		by = "someone"
	}
	title := fmt.Sprintf("%s (the revision before the promotion by %s at %s)?", capitalize(what), by, p.At.In(m.loc).Format("15:04"))
	body := fmt.Sprintf("Revision %d → revision %d.\nNow: %s\nRestores: %s\nIt restores what ran before the promotion: y confirms. A rollback to any other revision, from Rollouts, asks for the environment's name.",
		p.Bad.Number, p.Good.Number, imagesOf(p.Bad), imagesOf(p.Good))
	svc, base, actor := m.Ctx.Services.Release, m.Ctx.Base, m.Ctx.Actor
	app, env, rev := p.App, p.Env, p.Good.Number
	run := func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, RollbackTimeout)
		defer cancel()
		_, err := svc.Rollback(ctx, actor, app, env, rev)
		if err != nil && !access.IsRefusal(err) {
			err = fmt.Errorf("could not %s: %w", what, err)
		} else if err != nil {
			err = fmt.Errorf("refused: %w", err)
		}
		return actionDoneMsg{what: "done: " + what, err: err}
	}
	// Under way, the rollout's live detail shows its progress.
	watch := func() tea.Msg { return common.GotoMsg{Pane: common.RolloutsPane, Target: env + "/" + app} }
	req := common.ConfirmMsg{Title: title, Body: body, OnYes: tea.Batch(run, watch)}
	if !m.Ctx.MayAct() {
		return run // ops refuses and journals it
	}
	return func() tea.Msg { return req }
}

func imagesOf(r release.Revision) string {
	var out []string
	for _, c := range r.Containers {
		if !c.Init {
			out = append(out, c.Image)
		}
	}
	return strings.Join(out, ", ")
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
