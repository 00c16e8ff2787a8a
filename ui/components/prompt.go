package components

import (
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/styles"
)

// Prompt is a one-line question inside a pane, such as the names of new
// hosts or a masked password. While it is open, its pane captures every key.
type Prompt struct {
	Label  string
	Hint   string // shown under the input
	input  textinput.Model
	submit func(string) tea.Cmd
}

// NewPrompt opens a prompt holding value; submit receives the text on enter.
// A masked prompt shows a mask for each character typed.
func NewPrompt(label, hint, value string, masked bool, st *styles.Styles, submit func(string) tea.Cmd) (*Prompt, tea.Cmd) {
	in := textinput.New()
	in.Prompt = "> "
	if masked {
		in.EchoMode = textinput.EchoPassword
	}
	// A static cursor: a blinking one would wake the program for nothing.
	in.SetStyles(textinput.Styles{
		Focused: textinput.StyleState{Text: st.Body, Placeholder: st.Muted, Suggestion: st.Muted, Prompt: st.HelpKey},
		Blurred: textinput.StyleState{Text: st.Muted, Placeholder: st.Muted, Suggestion: st.Muted, Prompt: st.Muted},
		Cursor:  textinput.CursorStyle{Shape: tea.CursorBlock, Color: lipgloss.NoColor{}},
	})
	in.SetValue(value)
	in.CursorEnd()
	p := &Prompt{Label: label, Hint: hint, input: in, submit: submit}
	return p, p.input.Focus()
}

// Update handles a key: submit runs the prompt's action, cancel drops it.
// done reports that the prompt is finished either way.
func (p *Prompt) Update(k tea.KeyPressMsg, submit, cancel *common.Binding) (done bool, cmd tea.Cmd) {
	switch {
	case key.Matches(k, submit.Binding):
		v := p.input.Value()
		p.input.SetValue("")
		return true, p.submit(v)
	case key.Matches(k, cancel.Binding):
		p.input.SetValue("")
		return true, nil
	}
	p.input, cmd = p.input.Update(k)
	return false, cmd
}

// Lines draws the prompt in width cells: its label, the input and the hint.
func (p *Prompt) Lines(width int, st *styles.Styles) []string {
	p.input.SetWidth(max(width-3, 1))
	lines := []string{st.TableHeader.Render(ansi.Truncate(p.Label, width, "…")), ansi.Truncate(p.input.View(), width, "")}
	if p.Hint != "" {
		for _, l := range strings.Split(lipgloss.Wrap(p.Hint, width, " "), "\n") {
			lines = append(lines, st.Muted.Render(ansi.Truncate(l, width, "…")))
		}
	}
	return lines
}
