package components

import (
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/vigilops/vigil/ui/styles"
)

// newInput is a one-line input with a static cursor: a blinking one would
// wake the program twice a second for nothing.
func newInput(prompt string, st *styles.Styles) textinput.Model {
	in := textinput.New()
	in.Prompt = prompt
	setInputStyles(&in, st)
	return in
}

func setInputStyles(in *textinput.Model, st *styles.Styles) {
	s := textinput.Styles{
		Focused: textinput.StyleState{Text: st.Body, Placeholder: st.Muted, Suggestion: st.Muted, Prompt: st.HelpKey},
		Blurred: textinput.StyleState{Text: st.Muted, Placeholder: st.Muted, Suggestion: st.Muted, Prompt: st.Muted},
		Cursor:  textinput.CursorStyle{Shape: tea.CursorBlock, Color: lipgloss.NoColor{}},
	}
	if fg := st.Body.GetForeground(); fg != nil && !st.NoColor {
		s.Cursor.Color = fg
	}
	in.SetStyles(s)
}
