package common

import (
	"slices"
	"testing"
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
