package components

import (
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/styles"
)

// ConfirmKeys are the confirm dialog's bindings.
type ConfirmKeys struct {
	Yes, No, Submit *common.Binding
}

// NewConfirmKeys declares the confirm dialog's default bindings.
func NewConfirmKeys() ConfirmKeys {
	return ConfirmKeys{
		Yes:    common.NewBinding("confirm.yes", "y", "confirm", "y"),
		No:     common.NewBinding("confirm.no", "n/esc", "cancel", "n", "esc", "ctrl+c"),
		Submit: common.NewBinding("confirm.submit", "enter", "confirm the typed name", "enter"),
	}
}

// Bindings lists every confirm dialog binding.
func (k ConfirmKeys) Bindings() []*common.Binding { return []*common.Binding{k.Yes, k.No, k.Submit} }

// Decision is what the user answered.
type Decision int

const (
	Pending Decision = iota
	Accepted
	Rejected
)

// Confirm asks a yes/no question, or, with a name to type, accepts only
// when the typed text equals that name exactly.
type Confirm struct {
	Keys  ConfirmKeys
	req   common.ConfirmMsg
	input textinput.Model
	// Mismatch is set after enter with a wrong name.
	Mismatch bool
}

// NewConfirm opens a dialog for req.
func NewConfirm(req common.ConfirmMsg, keys ConfirmKeys, st *styles.Styles) (*Confirm, tea.Cmd) {
	c := &Confirm{Keys: keys, req: req}
	if req.TypeName == "" {
		return c, nil
	}
	c.input = newInput("> ", st)
	return c, c.input.Focus()
}

// Request is what the dialog asks.
func (c *Confirm) Request() common.ConfirmMsg { return c.req }

// Update handles a key and returns the decision so far.
func (c *Confirm) Update(msg tea.Msg) (Decision, tea.Cmd) {
	k, isKey := msg.(tea.KeyPressMsg)
	if c.req.TypeName == "" {
		switch {
		case !isKey:
		case key.Matches(k, c.Keys.Yes.Binding):
			return Accepted, nil
		case key.Matches(k, c.Keys.No.Binding):
			return Rejected, nil
		}
		return Pending, nil
	}
	if isKey {
		switch {
		case key.Matches(k, c.Keys.Submit.Binding):
			if c.input.Value() == c.req.TypeName {
				return Accepted, nil
			}
			c.Mismatch = true
			return Pending, nil
		case k.String() == "esc" || k.String() == "ctrl+c":
			// Only these cancel here: n and y are letters of names.
			return Rejected, nil
		}
	}
	var cmd tea.Cmd
	c.input, cmd = c.input.Update(msg)
	return Pending, cmd
}

func dialogInner(width int) int { return max(min(width-4, 60), 1) }

// SetWidth fits the name input to a screen width cells wide.
func (c *Confirm) SetWidth(width int) { c.input.SetWidth(max(dialogInner(width)-3, 1)) }

// View renders the dialog box, at most width cells wide.
func (c *Confirm) View(width int, st *styles.Styles) string {
	inner := dialogInner(width)
	var b strings.Builder
	b.WriteString(st.DialogTitle.Render(c.req.Title))
	if c.req.Body != "" {
		b.WriteString("\n\n" + lipgloss.Wrap(c.req.Body, inner, " "))
	}
	b.WriteString("\n\n")
	if c.req.TypeName == "" {
		b.WriteString(st.HelpKey.Render("y") + st.HelpDesc.Render(" confirm  ") + st.HelpKey.Render("n/esc") + st.HelpDesc.Render(" cancel"))
	} else {
		b.WriteString(lipgloss.Wrap("Type "+c.req.TypeName+" to confirm:", inner, " ") + "\n")
		b.WriteString(c.input.View())
		if c.Mismatch {
			b.WriteString("\n" + st.StatusCrit.Render("that is not the name"))
		}
		b.WriteString("\n" + st.HelpKey.Render("enter") + st.HelpDesc.Render(" confirm  ") + st.HelpKey.Render("esc") + st.HelpDesc.Render(" cancel"))
	}
	return Box(b.String(), inner, st)
}

// Box draws content in the dialog style, inner cells wide.
func Box(content string, inner int, st *styles.Styles) string {
	return st.DialogBorder.Padding(0, 1).Width(inner + 4).Render(content)
}
