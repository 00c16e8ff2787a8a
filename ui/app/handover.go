package app

import (
	"fmt"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/vigilops/vigil/ops/handover"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
)

// showHandover says, once per person, the latest hand-over someone else
// wrote: who, when, its counts and text. Read and journaled as seen in a
// command, off the first frame.
func showHandover(ctx *common.Context) tea.Cmd {
	j, actor, base, now := ctx.Journal, ctx.Actor, ctx.Base, ctx.Now
	return func() tea.Msg {
		h, ok, err := handover.Unseen(j, actor.Name)
		if err != nil || !ok {
			return nil // no hand-over to show; a journal that cannot be read says so elsewhere
		}
		if err := handover.MarkSeen(base, j, actor); err != nil {
			return nil
		}
		text := fmt.Sprintf("Hand-over from %s, %s ago: %s.", h.By, components.Age(now().Sub(h.Time).Round(time.Minute)), handover.Summary(h))
		if h.Text != "" {
			text += " " + h.Text
		}
		return common.ToastMsg{Level: common.Info, Text: text}
	}
}
