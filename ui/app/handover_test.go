package app

import (
	"context"
	"strings"
	"testing"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/handover"
)

// The next person to open vigil is shown the latest hand-over, once; its
// author is not.
func TestHandoverShownOnceAtStart(t *testing.T) {
	j := testJournal(t)
	bob := access.Actor{Name: "bob", Role: access.Operator}
	if _, err := handover.Write(context.Background(), bob, access.Guard{}, j, handover.Handover{}, "db backup still running"); err != nil {
		t.Fatal(err)
	}
	open := func(name string) string {
		m := newShell(t, nil, func(o *Options) {
			o.Journal = j
			o.Actor = access.Actor{Name: name, Role: access.Operator, Source: "local"}
		})
		return strings.Join(m.toasts.Texts(), "\n")
	}
	if got := open("alice"); !strings.Contains(got, "Hand-over from bob, 0s ago") || !strings.Contains(got, "db backup still running") {
		t.Fatalf("alice's first session says %q", got)
	}
	if got := open("alice"); strings.Contains(got, "Hand-over") {
		t.Fatalf("alice's second session says %q", got)
	}
	if got := open("bob"); strings.Contains(got, "Hand-over") {
		t.Fatalf("bob is shown his own hand-over: %q", got)
	}
}
