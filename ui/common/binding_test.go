package common

import (
	"slices"
	"testing"

	"github.com/vigilops/vigil/ops/access"
)

func TestRemap(t *testing.T) {
	quit := NewBinding("quit", "q", "quit", "q", "ctrl+c")
	down := NewBinding("activity.down", "↓/j", "older entry", "down", "j")
	unknown := Remap([]*Binding{quit, down}, map[string][]string{
		"quit": {"ctrl+q"}, "zz": {"z"}, "activity.dwn": {"n"},
	})
	if !slices.Equal(unknown, []string{"activity.dwn", "zz"}) {
		t.Fatalf("unknown = %q", unknown)
	}
	if !slices.Equal(quit.Keys(), []string{"ctrl+q"}) || quit.Help().Key != "ctrl+q" || quit.Help().Desc != "quit" {
		t.Fatalf("quit after remap: keys %q, help %+v", quit.Keys(), quit.Help())
	}
	if !slices.Equal(down.Keys(), []string{"down", "j"}) {
		t.Fatalf("an unmapped binding changed: %q", down.Keys())
	}
	err := &UnknownBindingsError{Unknown: unknown, Known: []string{"activity.down", "quit"}}
	if got := err.Error(); got != "keys: unknown binding activity.dwn, zz: use one of activity.down, quit (docs/keys.md lists them)" {
		t.Fatalf("error: %s", got)
	}
}

// A binding is dangerous, or changes something, as the ops actions it
// triggers are declared: one dangerous action makes it dangerous.
func TestBindingFollowsItsActions(t *testing.T) {
	read := access.Action{Name: "check"}
	ack := access.Action{Name: "ack", Mutates: true}
	destroy := access.Action{Name: "destroy", Mutates: true, Dangerous: true}
	for _, c := range []struct {
		actions            []access.Action
		mutates, dangerous bool
	}{
		{[]access.Action{read}, false, false},
		{[]access.Action{ack}, true, false},
		{[]access.Action{read, destroy}, true, true},
	} {
		b := NewBinding("x.y", "x", "x", "x").For(c.actions...)
		if b.Mutates != c.mutates || b.Dangerous != c.dangerous {
			t.Errorf("For(%v): mutates %v dangerous %v, want %v %v", c.actions, b.Mutates, b.Dangerous, c.mutates, c.dangerous)
		}
	}
}
