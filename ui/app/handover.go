package app

import (
	"context"
	"fmt"
	"strings"
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
		text += " (:handover shows it in full)"
		return common.ToastMsg{Level: common.Info, Text: text}
	}
}

// handoverCommand is :handover TEXT, which journals the hand-over (what
// fires, acknowledgements, incidents, rollouts, freezes, runs, and the
// text), and :handover alone, which opens the latest in full in the
// Activity pane. It is the shell's: a hand-over needs no integration.
func (m *Model) handoverCommand() components.Spec {
	return components.Spec{
		Name: "handover", Args: "[TEXT…]",
		Help: "write the hand-over: what fires, who acknowledged what, incidents, rollouts, freezes, runs, and your text; alone, show the latest in full",
		Run: func(args []string) (tea.Cmd, error) {
			text := strings.TrimSpace(strings.Join(args, " "))
			if text == "" {
				return func() tea.Msg { return common.GotoMsg{Pane: common.ActivityPane, Target: common.HandoverTarget} }, nil
			}
			c := m.ctx
			src := handover.SourcesOf(c.Services.Incident, c.Services.Release, c.Services.Playbook)
			return func() tea.Msg {
				ctx, cancel := context.WithTimeout(c.Base, handoverTimeout)
				defer cancel()
				h, err := handover.Write(ctx, c.Actor, c.Guard, c.Journal, handover.Collect(src, c.Now()), text)
				if err != nil {
					return common.ToastMsg{Level: common.Error, Text: "hand-over: " + err.Error()}
				}
				return common.ToastMsg{Level: common.Success, Text: "hand-over written: " + handover.Summary(h)}
			}, nil
		},
	}
}

// handoverTimeout bounds collecting and journaling a hand-over.
const handoverTimeout = 15 * time.Second
