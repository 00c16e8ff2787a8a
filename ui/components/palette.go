package components

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/sahilm/fuzzy"

	"github.com/vigilops/vigil/internal/closest"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/styles"
)

// Spec declares a palette command. Panes add theirs to the Registry.
type Spec struct {
	Name string
	Args string // usage of the arguments, e.g. "NAME"; "" for none
	Help string
	// Complete lists the candidates for argument i (0-based); nil for none.
	Complete func(i int) []string
	// Run carries the command out; an error is shown as a toast.
	Run func(args []string) (tea.Cmd, error)
	// Raw hands Run the text after the name as it was typed, as one
	// argument (none when empty), for a language with quotes of its own
	// such as PromQL; Complete(0) then lists the names that complete the
	// identifier at the end of the line.
	Raw bool
}

// Registry is the table of palette commands, in the order they were added.
type Registry struct {
	specs []Spec
}

// Add registers s, replacing a command of the same name.
func (r *Registry) Add(s Spec) {
	if i := r.index(s.Name); i >= 0 {
		r.specs[i] = s
		return
	}
	r.specs = append(r.specs, s)
}

// Specs returns the registered commands.
func (r *Registry) Specs() []Spec { return r.specs }

// Lookup finds the command called name.
func (r *Registry) Lookup(name string) (Spec, bool) {
	if i := r.index(name); i >= 0 {
		return r.specs[i], true
	}
	return Spec{}, false
}

func (r *Registry) index(name string) int {
	return slices.IndexFunc(r.specs, func(s Spec) bool { return s.Name == name })
}

func (r *Registry) names() []string {
	out := make([]string, len(r.specs))
	for i, s := range r.specs {
		out[i] = s.Name
	}
	return out
}

// Run parses line and runs its command.
func (r *Registry) Run(line string) (tea.Cmd, error) {
	c, err := ParseCommand(line)
	if err != nil {
		return nil, err
	}
	s, ok := r.Lookup(c.Name)
	if ok && s.Raw {
		if rest := rawArgs(line); rest != "" {
			return s.Run([]string{rest})
		}
		return s.Run(nil)
	}
	if !ok {
		// Only close names are offered: a subsequence is no guess.
		if near := closest.Close(c.Name, r.names()); len(near) > 0 {
			return nil, fmt.Errorf("unknown command %q: did you mean :%s? (:help lists the commands)", c.Name, strings.Join(near, " or :"))
		}
		return nil, fmt.Errorf("unknown command %q: type :help to list the commands, or one of %s", c.Name, strings.Join(r.names(), ", "))
	}
	return s.Run(c.Args)
}

// RunArgs runs the command args[0] with the arguments args[1:], each one
// word as given: nothing is parsed, for a command line a pane fills in.
func (r *Registry) RunArgs(args []string) (tea.Cmd, error) {
	if len(args) == 0 || !validName(args[0]) {
		return nil, errors.New("no command to run: name one, like rollout")
	}
	s, ok := r.Lookup(args[0])
	if !ok {
		return nil, fmt.Errorf("unknown command %q: type :help to list the commands", args[0])
	}
	if s.Raw && len(args) > 1 {
		// Filled-in values are plain names: joined, they read as typed.
		return s.Run([]string{strings.Join(args[1:], " ")})
	}
	return s.Run(slices.Clone(args[1:]))
}

// Complete returns whole palette lines that complete line, best first:
// command names while the first word is typed, then the arguments the
// command offers, fuzzy-matched against what is typed.
func (r *Registry) Complete(line string) []string {
	if name, rest, ok := strings.Cut(strings.TrimPrefix(strings.TrimLeft(line, " "), ":"), " "); ok {
		if s, found := r.Lookup(name); found && s.Raw {
			if s.Complete == nil {
				return nil
			}
			return completeIdent(line, rest, s.Complete(0))
		}
	}
	words, open, err := splitWords(strings.TrimPrefix(strings.TrimLeft(line, " "), ":"))
	if err != nil {
		return nil
	}
	if len(words) == 0 || (len(words) == 1 && open) {
		partial := ""
		if len(words) == 1 {
			partial = words[0]
		}
		return matchName(partial, r.names())
	}
	s, ok := r.Lookup(words[0])
	if !ok || s.Complete == nil {
		return nil
	}
	typed := words
	partial := ""
	if open {
		typed, partial = words[:len(words)-1], words[len(words)-1]
	}
	prefix := ""
	for _, w := range typed {
		prefix += quoteWord(w) + " "
	}
	return match(partial, s.Complete(len(typed)-1), prefix)
}

func match(partial string, candidates []string, prefix string) []string {
	var out []string
	if partial == "" {
		for _, c := range candidates {
			out = append(out, prefix+quoteWord(c))
		}
		return out
	}
	for _, m := range fuzzy.Find(partial, candidates) {
		out = append(out, prefix+quoteWord(m.Str))
	}
	return out
}

// matchName completes a command name: the names partial begins, then
// those close to it by edit distance. Unlike arguments, names are not
// matched as subsequences: "ssh" must not offer "snapshot".
func matchName(partial string, names []string) []string {
	if partial == "" {
		return slices.Clone(names)
	}
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, strings.ToLower(partial)) {
			out = append(out, n)
		}
	}
	for _, n := range closest.Close(partial, names) {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// quoteWord quotes w when it holds anything ParseCommand would split or unescape.
func quoteWord(w string) string {
	if w != "" && !strings.ContainsAny(w, " \t\n'\"\\") {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}

// PaletteKeys are the palette's bindings while it is open.
type PaletteKeys struct {
	Run, Complete, Older, Newer, Cancel *common.Binding
}

// NewPaletteKeys declares the palette's default bindings.
func NewPaletteKeys() PaletteKeys {
	return PaletteKeys{
		Run:      common.NewBinding("palette.run", "enter", "run the command", "enter"),
		Complete: common.NewBinding("palette.complete", "tab", "complete (again: next match)", "tab"),
		Older:    common.NewBinding("palette.older", "↑", "older command from history", "up", "ctrl+p"),
		Newer:    common.NewBinding("palette.newer", "↓", "newer command from history", "down", "ctrl+n"),
		Cancel:   common.NewBinding("palette.cancel", "esc", "close the palette", "esc", "ctrl+c"),
	}
}

// Bindings lists every palette binding.
func (k PaletteKeys) Bindings() []*common.Binding {
	return []*common.Binding{k.Run, k.Complete, k.Older, k.Newer, k.Cancel}
}

// ShortHelp implements help.KeyMap.
func (k PaletteKeys) ShortHelp() []key.Binding {
	return common.Keys(k.Run, k.Complete, k.Older, k.Cancel)
}

// FullHelp implements help.KeyMap.
func (k PaletteKeys) FullHelp() [][]key.Binding { return [][]key.Binding{common.Keys(k.Bindings()...)} }

// Palette is the `:` command line: input, completion and history.
type Palette struct {
	Keys    PaletteKeys
	reg     *Registry
	input   textinput.Model
	open    bool
	history []string
	histPos int    // len(history) when not browsing it
	draft   string // what was typed before browsing history
	matches []string
	sel     int  // the match tab last put in the input, -1 for none
	cycling bool // the last key was tab: the next tab moves to the next match
}

// NewPalette returns a closed palette over reg.
func NewPalette(reg *Registry, keys PaletteKeys, st *styles.Styles) *Palette {
	return &Palette{Keys: keys, reg: reg, input: newInput(":", st), sel: -1}
}

// SetStyles restyles the palette after a theme change.
func (p *Palette) SetStyles(st *styles.Styles) { setInputStyles(&p.input, st) }

// Active reports whether the palette is open.
func (p *Palette) Active() bool { return p.open }

// Open shows an empty palette with every command as a match.
func (p *Palette) Open() tea.Cmd {
	p.open = true
	p.input.Reset()
	p.histPos, p.draft = len(p.history), ""
	p.refresh()
	return p.input.Focus()
}

// Close hides the palette.
func (p *Palette) Close() {
	p.open = false
	p.input.Blur()
}

// Value is the line typed so far.
func (p *Palette) Value() string { return p.input.Value() }

// Matches are the completions of the current line, best first.
func (p *Palette) Matches() []string { return p.matches }

// History is the lines run so far, oldest first.
func (p *Palette) History() []string { return p.history }

func (p *Palette) refresh() {
	p.matches = p.reg.Complete(p.input.Value())
	p.sel, p.cycling = -1, false
}

func (p *Palette) set(v string) {
	p.input.SetValue(v)
	p.input.CursorEnd()
}

// Update handles a key while the palette is open. Running a line closes
// the palette and returns its command, or a toast with its error.
func (p *Palette) Update(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		var cmd tea.Cmd
		p.input, cmd = p.input.Update(msg)
		return cmd
	}
	switch {
	case key.Matches(k, p.Keys.Cancel.Binding):
		p.Close()
		return nil
	case key.Matches(k, p.Keys.Run.Binding):
		line := strings.TrimSpace(p.input.Value())
		p.Close()
		if line == "" {
			return nil
		}
		if n := len(p.history); n == 0 || p.history[n-1] != line {
			p.history = append(p.history, line)
		}
		cmd, err := p.reg.Run(line)
		if err != nil {
			return common.ToastCmd(common.Error, err.Error())
		}
		return cmd
	case key.Matches(k, p.Keys.Complete.Binding):
		if len(p.matches) == 0 {
			return nil
		}
		if p.cycling {
			p.sel = (p.sel + 1) % len(p.matches)
		} else {
			p.sel = 0
		}
		p.set(p.matches[p.sel])
		p.cycling = true
		return nil
	case key.Matches(k, p.Keys.Older.Binding):
		if p.histPos > 0 {
			if p.histPos == len(p.history) {
				p.draft = p.input.Value()
			}
			p.histPos--
			p.set(p.history[p.histPos])
			p.refresh()
		}
		return nil
	case key.Matches(k, p.Keys.Newer.Binding):
		if p.histPos < len(p.history) {
			p.histPos++
			if p.histPos == len(p.history) {
				p.set(p.draft)
			} else {
				p.set(p.history[p.histPos])
			}
			p.refresh()
		}
		return nil
	}
	before := p.input.Value()
	var cmd tea.Cmd
	p.input, cmd = p.input.Update(msg)
	if p.input.Value() != before {
		p.refresh()
	}
	return cmd
}

// SetWidth fits the command line to width cells.
func (p *Palette) SetWidth(width int) { p.input.SetWidth(max(width-2, 1)) }

// View renders the command line, cut to width cells.
func (p *Palette) View(width int) string {
	return ansi.Truncate(p.input.View(), width, "")
}

// SuggestionsView renders up to n matches with their help, the one tab
// selected marked, each line at most width cells; "" without matches.
func (p *Palette) SuggestionsView(width, n int, st *styles.Styles) string {
	if len(p.matches) == 0 || n <= 0 {
		return ""
	}
	// Scroll so the selected match stays visible.
	start := 0
	if p.sel >= n {
		start = p.sel - n + 1
	}
	lines := make([]string, 0, n)
	for i := start; i < len(p.matches) && i < start+n; i++ {
		m := p.matches[i]
		text := " " + m
		if c, err := ParseCommand(m); err == nil && len(c.Args) == 0 {
			if s, ok := p.reg.Lookup(c.Name); ok {
				if s.Args != "" {
					text += " " + s.Args
				}
				text += "  " + st.Muted.Render(s.Help)
			}
		}
		text = ansi.Truncate(text, width, "…")
		if i == p.sel {
			text = st.TableSelected.Render(ansi.Strip(text))
		}
		lines = append(lines, text)
	}
	return strings.Join(lines, "\n")
}

// rawArgs is what follows the command's name on line, untouched but for
// the spaces around it.
func rawArgs(line string) string {
	s := strings.TrimPrefix(strings.TrimLeftFunc(line, unicode.IsSpace), ":")
	i := strings.IndexFunc(s, unicode.IsSpace)
	if i < 0 {
		return ""
	}
	return strings.TrimSpace(s[i:])
}

// completeIdent completes the identifier (letters, digits, _ and :) that
// ends line with the candidates it begins, whole lines, in their order.
func completeIdent(line, rest string, candidates []string) []string {
	partial := TrailingIdent(rest)
	head := line[:len(line)-len(partial)]
	var out []string
	for _, c := range candidates {
		if strings.HasPrefix(c, partial) && c != partial {
			out = append(out, head+c)
		}
	}
	return out
}

// TrailingIdent is the PromQL identifier (metric or label name) s ends
// with; "" when it ends otherwise.
func TrailingIdent(s string) string {
	i := len(s)
	for i > 0 {
		c := s[i-1]
		if c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			i--
			continue
		}
		break
	}
	return s[i:]
}
