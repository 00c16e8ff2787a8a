// Package styles turns a theme into lipgloss styles, once per theme: panes
// read them from the session context and never build styles while drawing.
package styles

import (
	"slices"

	"charm.land/bubbles/v2/help"
	"charm.land/lipgloss/v2"

	"github.com/vigilops/vigil/themes"
)

// Styles are the semantic styles of one theme.
type Styles struct {
	Theme   string // the theme's name
	NoColor bool

	Body          lipgloss.Style
	Title         lipgloss.Style // a pane's title in its frame
	Muted         lipgloss.Style
	Frame         lipgloss.Style // the colour of the focused pane's frame lines
	BorderFocused lipgloss.Style // a rounded border in the focused colour
	BorderBlurred lipgloss.Style
	TabActive     lipgloss.Style
	TabInactive   lipgloss.Style
	TableHeader   lipgloss.Style
	TableSelected lipgloss.Style
	StatusOK      lipgloss.Style
	StatusWarn    lipgloss.Style
	StatusCrit    lipgloss.Style
	StatusUnknown lipgloss.Style
	HelpKey       lipgloss.Style
	HelpDesc      lipgloss.Style
	DialogBody    lipgloss.Style
	DialogBorder  lipgloss.Style // a rounded border around dialogs
	DialogTitle   lipgloss.Style
	StatusBar     lipgloss.Style
	// Pods are the colours a logs view gives pods, one per pod as stern
	// does: the palette's signal colours (not its text, background,
	// border or muted ones), in the order of their names. Without colour,
	// one plain style.
	Pods []lipgloss.Style
	// Match marks what a logs filter's regex matched.
	Match lipgloss.Style
	// Help is the bubbles/help styling of the help bar and overlay.
	Help help.Styles
}

// New builds the styles of t. With noColor, no colour is set (NO_COLOR)
// but attributes stay, so the selection still shows in reverse video.
func New(t *themes.Theme, noColor bool) *Styles {
	b := builder{t: t, noColor: noColor}
	s := &Styles{
		Theme:         t.Name,
		NoColor:       noColor,
		Body:          b.style(t.Body),
		Muted:         b.style(themes.Style{FG: t.Tabs.Inactive.FG, Faint: noColor}),
		Frame:         b.style(themes.Style{FG: t.Border.Focused.FG}),
		TabActive:     b.style(t.Tabs.Active),
		TabInactive:   b.style(t.Tabs.Inactive),
		TableHeader:   b.style(t.Table.Header),
		TableSelected: b.style(t.Table.Selected),
		StatusOK:      b.style(t.Status.OK),
		StatusWarn:    b.style(t.Status.Warn),
		StatusCrit:    b.style(t.Status.Crit),
		StatusUnknown: b.style(t.Status.Unknown),
		HelpKey:       b.style(t.Help.Key),
		HelpDesc:      b.style(t.Help.Desc),
		DialogBody:    b.style(t.Dialog.Body),
		DialogTitle:   b.style(t.Dialog.Title),
		StatusBar:     b.style(t.StatusBar),
	}
	if noColor {
		// Without colour, the selection and the active tab must still be visible.
		s.TableSelected = s.TableSelected.Reverse(true).Bold(true)
		s.TabActive = s.TabActive.Reverse(true).Bold(true)
	}
	s.Title = s.Body.Bold(true)
	s.Pods = b.pods()
	s.Match = s.StatusWarn.Reverse(true)
	s.BorderFocused = b.border(t.Border.Focused)
	s.BorderBlurred = b.border(t.Border.Blurred)
	s.DialogBorder = b.border(t.Dialog.Border)
	s.Help = help.Styles{
		Ellipsis:       s.HelpDesc,
		ShortKey:       s.HelpKey,
		ShortDesc:      s.HelpDesc,
		ShortSeparator: s.HelpDesc,
		FullKey:        s.HelpKey,
		FullDesc:       s.HelpDesc,
		FullSeparator:  s.HelpDesc,
	}
	return s
}

type builder struct {
	t       *themes.Theme
	noColor bool
}

func (b builder) style(ts themes.Style) lipgloss.Style {
	s := lipgloss.NewStyle().Bold(ts.Bold).Italic(ts.Italic).Underline(ts.Underline).Reverse(ts.Reverse).Faint(ts.Faint)
	if b.noColor {
		return s
	}
	if c := b.t.Resolve(ts.FG); c != "" {
		s = s.Foreground(lipgloss.Color(c))
	}
	if c := b.t.Resolve(ts.BG); c != "" {
		s = s.Background(lipgloss.Color(c))
	}
	return s
}

// pods returns a style per palette colour that is not one of text,
// background, border, selection or muted, sorted by name; a palette made
// only of those gives the body's style.
func (b builder) pods() []lipgloss.Style {
	t := b.t
	if b.noColor {
		return []lipgloss.Style{lipgloss.NewStyle()}
	}
	taken := map[string]bool{}
	for _, c := range []string{t.Body.FG, t.Body.BG, t.Border.Blurred.FG, t.Tabs.Inactive.FG, t.Tabs.Active.FG,
		t.Table.Selected.BG, t.Dialog.Body.BG, t.StatusBar.BG} {
		if r := t.Resolve(c); r != "" {
			taken[r] = true
		}
	}
	names := make([]string, 0, len(t.Palette))
	for n := range t.Palette {
		names = append(names, n)
	}
	slices.Sort(names)
	var out []lipgloss.Style
	seen := map[string]bool{}
	for _, n := range names {
		c := t.Resolve(n)
		if c == "" || taken[c] || seen[c] {
			continue
		}
		seen[c] = true
		out = append(out, lipgloss.NewStyle().Foreground(lipgloss.Color(c)))
	}
	if len(out) == 0 {
		out = append(out, b.style(t.Body))
	}
	return out
}

func (b builder) border(ts themes.Style) lipgloss.Style {
	s := lipgloss.NewStyle().Border(lipgloss.RoundedBorder())
	if !b.noColor {
		if c := b.t.Resolve(ts.FG); c != "" {
			s = s.BorderForeground(lipgloss.Color(c))
		}
	}
	return s
}
