package components

import (
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/styles"
)

// FilterKeys are the filter bar's bindings while it is open.
type FilterKeys struct {
	Apply, Clear *common.Binding
}

// NewFilterKeys declares the filter bar's default bindings.
func NewFilterKeys() FilterKeys {
	return FilterKeys{
		Apply: common.NewBinding("filter.apply", "enter", "keep the filter", "enter"),
		Clear: common.NewBinding("filter.clear", "esc", "clear the filter", "esc", "ctrl+c"),
	}
}

// Bindings lists every filter bar binding.
func (k FilterKeys) Bindings() []*common.Binding { return []*common.Binding{k.Apply, k.Clear} }

// ShortHelp implements help.KeyMap.
func (k FilterKeys) ShortHelp() []key.Binding { return common.Keys(k.Apply, k.Clear) }

// FullHelp implements help.KeyMap.
func (k FilterKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// FilterChangedMsg carries the filter to the focused pane, as it is typed.
type FilterChangedMsg struct{ Filter string }

// FilterBar is the `/` line whose text filters the focused pane.
type FilterBar struct {
	Keys  FilterKeys
	input textinput.Model
	open  bool
}

// NewFilterBar returns a closed filter bar.
func NewFilterBar(keys FilterKeys, st *styles.Styles) *FilterBar {
	in := newInput("/", st)
	in.Placeholder = "actor:NAME target:PATH or text"
	return &FilterBar{Keys: keys, input: in}
}

// SetStyles restyles the bar after a theme change.
func (f *FilterBar) SetStyles(st *styles.Styles) { setInputStyles(&f.input, st) }

// Active reports whether the bar has the keyboard.
func (f *FilterBar) Active() bool { return f.open }

// Open gives the bar the keyboard, starting from the pane's current filter.
func (f *FilterBar) Open(current string) tea.Cmd {
	f.open = true
	f.input.SetValue(current)
	f.input.CursorEnd()
	return f.input.Focus()
}

// Update handles a key while the bar is open; the returned command
// delivers a FilterChangedMsg whenever the filter changes.
func (f *FilterBar) Update(msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, f.Keys.Apply.Binding):
			f.open = false
			f.input.Blur()
			return nil
		case key.Matches(k, f.Keys.Clear.Binding):
			f.open = false
			f.input.Blur()
			f.input.Reset()
			return changed("")
		}
	}
	before := f.input.Value()
	var cmd tea.Cmd
	f.input, cmd = f.input.Update(msg)
	if v := f.input.Value(); v != before {
		return tea.Batch(cmd, changed(v))
	}
	return cmd
}

func changed(v string) tea.Cmd {
	return func() tea.Msg { return FilterChangedMsg{Filter: v} }
}

// View renders the filter line, width cells wide.
func (f *FilterBar) View(width int) string {
	f.input.SetWidth(max(width-2, 1))
	return ansi.Truncate(f.input.View(), width, "")
}
