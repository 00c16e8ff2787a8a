package common

import (
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/vigilops/vigil/ops/access"
)

// Binding is a key binding as data: the name config remaps it by, its keys
// and help, what it does, and whether that mutates, dangerous or not, as
// the ops actions it declares with For say. Mutating bindings are disabled
// in read-only mode and for viewers; dangerous ones ask for confirmation.
type Binding struct {
	key.Binding
	Name      string
	Dangerous bool
	Mutates   bool
	// Why says why a disabled binding does nothing, e.g. "viewers may not
	// promote": pressing it shows this, and help lists it.
	Why string
	// Do is what pressing the binding does, set by its pane; nil for the
	// bindings a pane reads itself (movement, a view's or a prompt's own).
	Do func() tea.Cmd
}

// NewBinding declares a binding called name, shown in help as helpKey desc.
func NewBinding(name, helpKey, desc string, keys ...string) *Binding {
	return &Binding{Name: name, Binding: key.NewBinding(key.WithKeys(keys...), key.WithHelp(helpKey, desc))}
}

// For declares the ops actions b triggers: b mutates when one of them
// does, and is dangerous when one of them is, as ops/access declares them,
// so that help, docs/keys.md, the read-only mode and the ops guard agree.
func (b *Binding) For(actions ...access.Action) *Binding {
	for _, a := range actions {
		b.Mutates = b.Mutates || a.Mutates || a.Dangerous
		b.Dangerous = b.Dangerous || a.Dangerous
	}
	return b
}

// Handle runs the handler of the first binding of bs that has one and is
// on k, and reports whether one ran. A disabled binding matches nothing:
// the shell then says why (DisabledWhy).
func Handle(k tea.KeyPressMsg, bs ...*Binding) (tea.Cmd, bool) {
	for _, b := range bs {
		if b.Do != nil && key.Matches(k, b.Binding) {
			return b.Do(), true
		}
	}
	return nil, false
}

// Keys returns the bubbles bindings of bs, for help.KeyMap.
func Keys(bs ...*Binding) []key.Binding {
	out := make([]key.Binding, len(bs))
	for i, b := range bs {
		out[i] = b.Binding
	}
	return out
}

// Remap gives the bindings named in remap their new keys, and their help
// the new keys too. It returns the names in remap that match no binding.
func Remap(bs []*Binding, remap map[string][]string) (unknown []string) {
	byName := make(map[string]*Binding, len(bs))
	for _, b := range bs {
		byName[b.Name] = b
	}
	for name, keys := range remap {
		b, ok := byName[name]
		if !ok {
			unknown = append(unknown, name)
			continue
		}
		b.SetKeys(keys...)
		b.SetHelp(strings.Join(keys, "/"), b.Help().Desc)
	}
	slices.Sort(unknown)
	return unknown
}

// Restrict disables the bindings of bs that mutate when the session may
// not act.
func Restrict(bs []*Binding, mayAct bool) {
	for _, b := range bs {
		if b.Mutates {
			b.SetEnabled(mayAct)
		}
	}
}

// Disable disables the bindings of bs that mutate, saying why: who may not
// ("viewers", "read-only mode") is followed by the binding's description.
func Disable(bs []*Binding, who string) {
	for _, b := range bs {
		if b.Mutates {
			b.SetEnabled(false)
			b.Why = who + " may not " + b.Help().Desc
		}
	}
}

// DisabledWhy returns why k does nothing: the reason of a disabled binding
// of bs on k, when no enabled binding of bs is on k.
func DisabledWhy(bs []*Binding, k string) string {
	why := ""
	for _, b := range bs {
		if !slices.Contains(b.Keys(), k) {
			continue
		}
		if b.Enabled() {
			return ""
		}
		if why == "" && b.Why != "" {
			why = b.Why
		}
	}
	return why
}

// UnknownBindingsError names config keys that match no binding.
type UnknownBindingsError struct {
	Unknown []string
	Known   []string
}

func (e *UnknownBindingsError) Error() string {
	return fmt.Sprintf("keys: unknown binding %s: use one of %s (docs/keys.md lists them)",
		strings.Join(e.Unknown, ", "), strings.Join(e.Known, ", "))
}
