package closest

import (
	"slices"
	"testing"
)

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"", "abc", 3}, {"kitten", "sitting", 3}, {"thme", "theme", 1},
		{"ssh", "snapshot", 5}, {"naïve", "naive", 1}, {"promethus", "prometheus", 1},
		{"a", "", 1}, {"namspace", "namespace", 1}, {"thème", "theme", 1}, // moved from ops/config
	} {
		if got := Distance(c.a, c.b); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := Distance(c.b, c.a); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d (symmetric)", c.b, c.a, got, c.want)
		}
	}
}

func TestClose(t *testing.T) {
	cmds := []string{"snapshot", "theme", "quit", "rollback", "scale", "stop", "ack"}
	for _, c := range []struct {
		s    string
		want []string
	}{
		{"ssh", nil}, // a subsequence of snapshot, not close to it
		{"thme", []string{"theme"}},
		{"Theme", []string{"theme"}},
		{"rolback", []string{"rollback"}},
		{"stap", []string{"stop"}},
		{"scal", []string{"scale"}},
		{"zzz", nil},
		{"ak", []string{"ack"}},
		{"sh", nil}, // two edits from "stop": half the word
	} {
		if got := Close(c.s, cmds); !slices.Equal(got, c.want) {
			t.Errorf("Close(%q) = %q, want %q", c.s, got, c.want)
		}
	}
	if got := Within("stale", []string{"scale", "state", "stable"}, 2); !slices.Equal(got, []string{"scale", "state", "stable"}) {
		t.Errorf("Within orders by distance then input: %q", got)
	}
	if got := Within("ab", []string{"x"}, 3); got != nil && len(got) != 0 {
		t.Errorf("a candidate replaced whole is not close: %q", got)
	}
}
