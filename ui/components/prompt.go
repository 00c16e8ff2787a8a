package components

import (
	"fmt"
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
	Label string
	Hint  string // shown under the input
	// Error is shown under the input, in the error style, with a caret
	// under column Mark (1-based) of the value when Mark is set.
	Error string
	Mark  int
	// Complete, when set, lists the words that complete word (the
	// identifier before the cursor, see TrailingIdent); tab puts in the
	// first, again the next, and the hint lists a few.
	Complete func(word string) []string
	input    textinput.Model
	submit   func(string) tea.Cmd
	matches  []string
	match    int
	head     string // the value before the completed word, while tab cycles
	tail     string // and after it
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
	case p.Complete != nil && k.String() == "tab":
		p.tab()
		return false, nil
	}
	p.matches, p.head = nil, ""
	p.input, cmd = p.input.Update(k)
	return false, cmd
}

// tab completes the word before the cursor, or puts in the next match.
func (p *Prompt) tab() {
	if p.matches == nil {
		v := []rune(p.input.Value())
		before := string(v[:min(p.input.Position(), len(v))])
		word := TrailingIdent(before)
		p.matches = p.Complete(word)
		p.head, p.match = before[:len(before)-len(word)], -1
		p.tail = string(v[min(p.input.Position(), len(v)):])
	}
	if len(p.matches) == 0 {
		return
	}
	p.match = (p.match + 1) % len(p.matches)
	p.input.SetValue(p.head + p.matches[p.match] + p.tail)
	p.input.SetCursor(len([]rune(p.head + p.matches[p.match])))
}

// Value is the text typed so far.
func (p *Prompt) Value() string { return p.input.Value() }

// Lines draws the prompt in width cells: its label, the input and the hint.
func (p *Prompt) Lines(width int, st *styles.Styles) []string {
	p.input.SetWidth(max(width-3, 1))
	lines := []string{st.TableHeader.Render(ansi.Truncate(p.Label, width, "…")), ansi.Truncate(p.input.View(), width, "")}
	if p.Mark > 0 && len(p.input.Prompt)+p.Mark <= width {
		lines = append(lines, st.StatusCrit.Render(strings.Repeat(" ", len(p.input.Prompt)+p.Mark-1)+"^"))
	}
	if p.Error != "" {
		for _, l := range strings.Split(lipgloss.Wrap(p.Error, width, " "), "\n") {
			lines = append(lines, st.StatusCrit.Render(ansi.Truncate(l, width, "…")))
		}
	}
	if len(p.matches) > 1 {
		shown := p.matches[:min(len(p.matches), 8)]
		more := ""
		if len(p.matches) > len(shown) {
			more = fmt.Sprintf(" … %d more", len(p.matches)-len(shown))
		}
		lines = append(lines, st.Muted.Render(ansi.Truncate("tab: "+strings.Join(shown, " ")+more, width, "…")))
	}
	if p.Hint != "" {
		for _, l := range strings.Split(lipgloss.Wrap(p.Hint, width, " "), "\n") {
			lines = append(lines, st.Muted.Render(ansi.Truncate(l, width, "…")))
		}
	}
	return lines
}
