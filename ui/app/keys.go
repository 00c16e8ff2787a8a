package app

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"

	"github.com/vigilops/vigil/ui/activity"
	"github.com/vigilops/vigil/ui/alerts"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
	"github.com/vigilops/vigil/ui/environments"
	"github.com/vigilops/vigil/ui/inventory"
	"github.com/vigilops/vigil/ui/logs"
	"github.com/vigilops/vigil/ui/monitoring"
	"github.com/vigilops/vigil/ui/rollouts"
	"github.com/vigilops/vigil/ui/runs"
)

// GlobalKeys are the bindings that work on every pane.
type GlobalKeys struct {
	Quit, Help, Palette, Filter, NextPane, PrevPane *common.Binding
	Pane                                            [8]*common.Binding // 1…8
}

// NewGlobalKeys declares the global default bindings.
func NewGlobalKeys() GlobalKeys {
	k := GlobalKeys{
		Quit:     common.NewBinding("quit", "q", "quit", "q", "ctrl+c"),
		Help:     common.NewBinding("help", "?", "help", "?"),
		Palette:  common.NewBinding("palette", ":", "command palette", ":"),
		Filter:   common.NewBinding("filter", "/", "filter", "/"),
		NextPane: common.NewBinding("next_pane", "tab", "next pane", "tab"),
		PrevPane: common.NewBinding("prev_pane", "shift+tab", "previous pane", "shift+tab"),
	}
	for i := range k.Pane {
		n := fmt.Sprint(i + 1)
		k.Pane[i] = common.NewBinding("pane_"+n, n, "pane "+n, n)
	}
	return k
}

// Bindings lists every global binding.
func (k GlobalKeys) Bindings() []*common.Binding {
	return append([]*common.Binding{k.Quit, k.Help, k.Palette, k.Filter, k.NextPane, k.PrevPane}, k.Pane[:]...)
}

// helpGroup is the global column of the help overlay; panes lists the
// number keys of the panes that exist.
func (k GlobalKeys) helpGroup(panes []slot) []key.Binding {
	var g []key.Binding
	for _, s := range panes {
		if s.key > 0 {
			b := k.Pane[s.key-1].Binding
			b.SetHelp(b.Help().Key, s.pane.Title())
			g = append(g, b)
		}
	}
	return append(g, common.Keys(k.NextPane, k.PrevPane, k.Filter, k.Palette, k.Help, k.Quit)...)
}

// HelpKeys are the help overlay's bindings.
type HelpKeys struct {
	Up, Down, Close *common.Binding
}

// NewHelpKeys declares the help overlay's default bindings.
func NewHelpKeys() HelpKeys {
	return HelpKeys{
		Up:    common.NewBinding("help.up", "↑/k", "scroll up", "up", "k"),
		Down:  common.NewBinding("help.down", "↓/j", "scroll down", "down", "j"),
		Close: common.NewBinding("help.close", "?/esc", "close help", "?", "esc"),
	}
}

// Bindings lists every help overlay binding.
func (k HelpKeys) Bindings() []*common.Binding { return []*common.Binding{k.Up, k.Down, k.Close} }

// keySection is one table of docs/keys.md.
type keySection struct {
	title    string
	bindings []*common.Binding
	// pane sections share the keyboard with the global bindings; the
	// others (palette, dialogs) take every key while they are open.
	pane bool
}

// allKeys declares the default bindings of the shell and of every pane.
// A new pane adds its KeyMap here, so that remapping, BindingNames and
// docs/keys.md know it.
func allKeys() []keySection {
	return []keySection{
		{"Global", NewGlobalKeys().Bindings(), false},
		{"Command palette (:)", components.NewPaletteKeys().Bindings(), false},
		{"Filter bar (/)", components.NewFilterKeys().Bindings(), false},
		{"Help (?)", NewHelpKeys().Bindings(), false},
		{"Confirm dialog", components.NewConfirmKeys().Bindings(), false},
		{"Inventory pane (1)", inventory.NewKeyMap().PaneBindings(), true},
		{"Inventory prompt", inventory.NewKeyMap().PromptBindings(), false},
		{"Environments pane (2)", environments.NewKeyMap().Bindings(), true},
		{"Rollouts pane (3)", rollouts.NewKeyMap().PaneBindings(), true},
		{"Rollouts prompt", rollouts.NewKeyMap().PromptBindings(), false},
		{"Alerts pane (4)", alerts.NewKeyMap().PaneBindings(), true},
		{"Rule form (R on an alert's graph, a on a Monitoring graph)", alerts.NewKeyMap().Form.Bindings(), false},
		{"Activity pane (5)", activity.NewKeyMap().Bindings(), true},
		{"Runs pane (6)", runs.NewKeyMap().PaneBindings(), true},
		{"Runs prompt", runs.NewKeyMap().PromptBindings(), false},
		{"Logs pane (7)", logs.NewKeyMap().PaneBindings(), true},
		{"Logs prompt", logs.NewKeyMap().PromptBindings(), false},
		{"Monitoring pane (8)", monitoring.NewKeyMap().PaneBindings(), true},
		{"Monitoring prompt", monitoring.NewKeyMap().PromptBindings(), false},
	}
}

// BindingNames lists every binding name that config's `keys` may remap, sorted.
func BindingNames() []string {
	var names []string
	for _, s := range allKeys() {
		for _, b := range s.bindings {
			names = append(names, b.Name)
		}
	}
	slices.Sort(names)
	return names
}

// ValidateKeys checks a config's `keys` section: every name must be a
// binding, and no key may do two things at once (in a pane, with the
// global bindings; in the palette or a dialog, among its own).
func ValidateKeys(keys map[string][]string) error {
	sections := allKeys()
	var all []*common.Binding
	for _, s := range sections {
		all = append(all, s.bindings...)
	}
	var errs []error
	if unknown := common.Remap(all, keys); len(unknown) > 0 {
		errs = append(errs, &common.UnknownBindingsError{Unknown: unknown, Known: BindingNames()})
	}
	global := sections[0]
	for _, s := range sections {
		scope := s.bindings
		if s.pane {
			scope = append(slices.Clone(global.bindings), s.bindings...)
		}
		errs = append(errs, conflicts(scope, s.title)...)
	}
	return errors.Join(errs...)
}

// conflicts reports keys bound twice in bs.
func conflicts(bs []*common.Binding, where string) []error {
	var errs []error
	owner := map[string]string{}
	for _, b := range bs {
		for _, k := range b.Keys() {
			if o, ok := owner[k]; ok && o != b.Name {
				errs = append(errs, fmt.Errorf("keys: %s and %s both use %q (%s): give one of them another key", o, b.Name, k, where))
				continue
			}
			owner[k] = b.Name
		}
	}
	return errs
}

// KeysMarkdown renders docs/keys.md from the default KeyMaps.
func KeysMarkdown() string {
	var b strings.Builder
	b.WriteString("# vigil key bindings\n\n")
	b.WriteString("<!-- Generated from the KeyMaps in ui/ by `make docs`; do not edit. -->\n\n")
	b.WriteString("Every binding can be remapped by its name in the `keys` section of the config file;\n")
	b.WriteString("a name that is not listed here is a config error.\n\n")
	b.WriteString("```yaml\nkeys:\n  quit: [\"q\", \"ctrl+q\"]\n  activity.down: [\"j\", \"down\", \"ctrl+n\"]\n```\n\n")
	b.WriteString("Bindings marked dangerous start actions that ask for confirmation. They, and\n")
	b.WriteString("those marked as changing something, are disabled in read-only mode\n")
	b.WriteString("(`--read-only`) and for viewers.\n")
	for _, s := range allKeys() {
		fmt.Fprintf(&b, "\n## %s\n\n| name | keys | action |\n| --- | --- | --- |\n", s.title)
		for _, k := range s.bindings {
			keys := make([]string, len(k.Keys()))
			for i, kk := range k.Keys() {
				keys[i] = "`" + kk + "`"
			}
			desc := k.Help().Desc
			switch {
			case k.Dangerous:
				desc += " (dangerous)"
			case k.Mutates:
				desc += " (changes something)"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", k.Name, strings.Join(keys, " "), desc)
		}
	}
	return b.String()
}
