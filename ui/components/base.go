package components

import (
	"charm.land/bubbles/v2/help"
	tea "charm.land/bubbletea/v2"

	"github.com/vigilops/vigil/ui/common"
)

// Keys is a pane's key map: help's view of it and its named bindings.
type Keys interface {
	help.KeyMap
	Bindings() []*common.Binding
}

// Base is what every pane embeds: the session context, the pane's title
// and key map, the cells it draws in, its feed of a service's changes and
// the prompt open at its bottom. A pane keeps only what is its own.
type Base struct {
	Ctx           *common.Context
	Width, Height int
	Feed          *Feed
	Prompt        *Prompt
	title         string
	keys          Keys
	next          func() tea.Msg
}

// NewBase returns the base of a pane called title with keys.
func NewBase(ctx *common.Context, title string, keys Keys) Base {
	return Base{Ctx: ctx, title: title, keys: keys, Feed: NewFeed()}
}

// Title names the pane in its tab.
func (b *Base) Title() string { return b.title }

// KeyMap returns the pane's bindings, for help.
func (b *Base) KeyMap() help.KeyMap { return b.keys }

// Bindings lists the pane's bindings.
func (b *Base) Bindings() []*common.Binding { return b.keys.Bindings() }

// Capturing reports whether a prompt takes every key.
func (b *Base) Capturing() bool { return b.Prompt != nil }

// Close ends the subscription.
func (b *Base) Close() { b.Feed.Close() }

// Resize records the pane's size and reports whether its width changed,
// which is when rendered rows are stale.
func (b *Base) Resize(width, height int) bool {
	changed := width != b.Width
	b.Width, b.Height = width, height
	return changed
}

// Subscribe takes a service's subscription: next's message, read now and
// after each change, tells the pane what changed. It returns the commands
// that deliver the first and wait for the next.
func (b *Base) Subscribe(changes <-chan struct{}, cancel func(), next func() tea.Msg) tea.Cmd {
	b.next = next
	if !b.Feed.Subscribed(changes, cancel) {
		return nil
	}
	return tea.Batch(next, b.Wait())
}

// Wait re-arms the subscription after a change.
func (b *Base) Wait() tea.Cmd { return b.Feed.WaitCmd(b.next) }

// Ask opens a prompt at the bottom of the pane; submit receives its text.
func (b *Base) Ask(label, hint, value string, masked bool, submit func(string) tea.Cmd) tea.Cmd {
	var cmd tea.Cmd
	b.Prompt, cmd = NewPrompt(label, hint, value, masked, b.Ctx.Styles, submit)
	return cmd
}

// PromptKey hands k to the open prompt, closing it when it is done; it
// reports whether a prompt was open.
func (b *Base) PromptKey(k tea.KeyPressMsg, submit, cancel *common.Binding) (bool, tea.Cmd) {
	if b.Prompt == nil {
		return false, nil
	}
	p := b.Prompt
	done, cmd := p.Update(k, submit, cancel)
	if done && b.Prompt == p { // submit may have opened another
		b.Prompt = nil
	}
	return true, cmd
}

// PromptLines draws the open prompt, if any, in the pane's width.
func (b *Base) PromptLines() []string {
	if b.Prompt == nil {
		return nil
	}
	return b.Prompt.Lines(b.Width, b.Ctx.Styles)
}

// WithPrompt draws the open prompt over the last of lines, within the
// pane's height.
func (b *Base) WithPrompt(lines []string) []string {
	if p := b.PromptLines(); p != nil {
		keep := max(b.Height-len(p), 0)
		lines = append(lines[:min(len(lines), keep)], p...)
	}
	if len(lines) > b.Height {
		lines = lines[:max(b.Height, 0)]
	}
	return lines
}
