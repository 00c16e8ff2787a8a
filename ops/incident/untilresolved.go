package incident

import (
	"context"
	"strings"
	"time"

	"github.com/vigilops/vigil/ops/access"
)

// An acknowledgement until resolved is a silence whose comment carries
// UntilResolvedMark: it ends UntilResolvedStep ahead, vigil moves its end
// on while an alert it mutes fires, and expires it once none does. Its
// state lives in the silence alone, so it holds across restarts and across
// every vigil reading the same Alertmanager.
const (
	UntilResolvedMark = "[until resolved]"
	UntilResolvedStep = 15 * time.Minute
)

// holdEntry is the journal's name for moving such a silence's end on.
const holdEntry = "alert.ack.hold"

// untilResolved reports whether sil is an acknowledgement until resolved.
func untilResolved(sil Silence) bool {
	return sil.State == "active" && strings.Contains(sil.Comment, UntilResolvedMark)
}

// keepUntilResolved moves on the end of each acknowledgement until
// resolved whose alert still fires, and expires those whose alerts all
// resolved, journaled as done by the acknowledger on their behalf. It runs
// after a poll that reached Alertmanager: with Alertmanager unreachable it
// touches nothing, and the next poll that reaches it resumes.
func (s *Service) keepUntilResolved(ctx context.Context) {
	snap := s.Snapshot()
	now := s.o.Now()
	for _, sil := range snap.Silences {
		if !untilResolved(sil) {
			continue
		}
		firing := false
		for _, a := range snap.Alerts {
			if a.Active() && MatchAll(sil.Matchers, a.Labels) {
				firing = true
				break
			}
		}
		onBehalf := access.Actor{Name: sil.CreatedBy, Source: "vigil, on their behalf"}
		target := "silence/" + sil.ID
		switch {
		case firing && sil.EndsAt.Sub(now) < UntilResolvedStep/2:
			upd := sil
			upd.EndsAt = now.Add(UntilResolvedStep)
			id, err := s.o.Alertmanager.CreateSilence(ctx, upd)
			_ = s.record(ctx, onBehalf, holdEntry, target, map[string]string{"until": upd.EndsAt.UTC().Format(time.RFC3339), "silence": id}, err)
		case !firing:
			err := s.o.Alertmanager.ExpireSilence(ctx, sil.ID)
			_ = s.record(ctx, onBehalf, unackEntry, target, map[string]string{"reason": "resolved: acknowledged until resolved"}, err)
		}
	}
}
