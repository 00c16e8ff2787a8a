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
	if got := open("alice"); !strings.Contains(got, "Hand-over from bob, 0s ago") || !strings.Contains(got, "db backup still running") ||
		!strings.Contains(got, "(:handover shows it in full)") {
		t.Fatalf("alice's first session says %q", got)
	}
	if got := open("alice"); strings.Contains(got, "Hand-over") {
		t.Fatalf("alice's second session says %q", got)
	}
	if got := open("bob"); strings.Contains(got, "Hand-over") {
		t.Fatalf("bob is shown his own hand-over: %q", got)
	}
}

// :handover TEXT journals a hand-over; the next person, told of it at
// start, opens it in full with :handover alone, in the Activity pane.
func TestHandoverWrittenThenOpenedInFull(t *testing.T) {
	j := testJournal(t)
	shell := func(name string) *Model {
		return newShell(t, nil, func(o *Options) {
			o.Journal = j
			o.Actor = access.Actor{Name: name, Role: access.Operator, Source: "local"}
		})
	}
	bob := shell("bob")
	press(bob, ":")
	typeText(bob, "handover db backup still running")
	press(bob, "enter")
	if got := strings.Join(bob.toasts.Texts(), "\n"); !strings.Contains(got, "hand-over written: 0 alerts firing") {
		t.Fatalf("bob's :handover says %q", got)
	}
	h, err := handover.Latest(j)
	if err != nil || h.By != "bob" || h.Text != "db backup still running" {
		t.Fatalf("journaled %+v, %v", h, err)
	}

	alice := shell("alice")
	press(alice, ":")
	typeText(alice, "handover")
	press(alice, "enter")
	s := screen(alice)
	for _, want := range []string{"Activity", "hand-over", "Hand-over by bob", "db backup still running", "Firing alerts:"} {
		if !strings.Contains(s, want) {
			t.Fatalf("%q is not on screen after :handover:\n%s", want, s)
		}
	}
	if strings.Contains(s, `"firing"`) {
		t.Fatalf("the hand-over shows as JSON:\n%s", s)
	}
}
