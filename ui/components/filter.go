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

// FilterBar is the `/` line whose text filters the focused pane.
type FilterBar struct {
	Keys  FilterKeys
	input textinput.Model
	open  bool
}

// NewFilterBar returns a closed filter bar.
func NewFilterBar(keys FilterKeys, st *styles.Styles) *FilterBar {
	return &FilterBar{Keys: keys, input: newInput("/", st)}
}

// SetStyles restyles the bar after a theme change.
func (f *FilterBar) SetStyles(st *styles.Styles) { setInputStyles(&f.input, st) }

// Active reports whether the bar has the keyboard.
func (f *FilterBar) Active() bool { return f.open }

// Open gives the bar the keyboard, starting from the pane's current filter,
// with hint (the pane's filter syntax) shown while it is empty.
func (f *FilterBar) Open(current, hint string) tea.Cmd {
	f.open = true
	f.input.Placeholder = hint
	f.input.SetValue(current)
	f.input.CursorEnd()
	return f.input.Focus()
}

// Value is the filter typed so far.
func (f *FilterBar) Value() string { return f.input.Value() }

// Update handles a key while the bar is open. The caller compares Value
// before and after, and filters the pane at once: a message per change
// could arrive out of order.
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
			return nil
		}
	}
	var cmd tea.Cmd
	f.input, cmd = f.input.Update(msg)
	return cmd
}

// SetWidth fits the filter line to width cells.
func (f *FilterBar) SetWidth(width int) { f.input.SetWidth(max(width-2, 1)) }

// View renders the filter line, cut to width cells.
func (f *FilterBar) View(width int) string {
	return ansi.Truncate(f.input.View(), width, "")
}
