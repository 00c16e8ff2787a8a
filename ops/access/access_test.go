package access

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestGuard(t *testing.T) {
	promote := Action{Name: "promote", MinRole: Operator, Mutates: true}
	freeze := Action{Name: "freeze", MinRole: Admin, Mutates: true, Dangerous: true}
	view := Action{Name: "view", MinRole: Viewer}
	cases := []struct {
		name     string
		role     Role
		readOnly bool
		action   Action
		want     string // "", "denied", "readonly"
	}{
		{"viewer reads", Viewer, false, view, ""},
		{"viewer cannot promote", Viewer, false, promote, "denied"},
		{"operator promotes", Operator, false, promote, ""},
		{"operator cannot freeze", Operator, false, freeze, "denied"},
		{"admin freezes", Admin, false, freeze, ""},
		{"read-only stops admin", Admin, true, promote, "readonly"},
		{"read-only lets reads", Viewer, true, view, ""},
		{"unknown role denied", Role("root"), false, view, "denied"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Guard{ReadOnly: c.readOnly}.Check(Actor{Name: "alice", Role: c.role}, c.action)
			var denied *DeniedError
			switch c.want {
			case "":
				if err != nil {
					t.Fatalf("want allowed, got %v", err)
				}
			case "denied":
				if !errors.As(err, &denied) {
					t.Fatalf("want DeniedError, got %v", err)
				}
			case "readonly":
				if !errors.Is(err, ErrReadOnly) {
					t.Fatalf("want ErrReadOnly, got %v", err)
				}
			}
		})
	}
}

func TestParseRole(t *testing.T) {
	if r, err := ParseRole(" Operator "); err != nil || r != Operator {
		t.Fatalf("ParseRole(Operator) = %q, %v", r, err)
	}
	if _, err := ParseRole("root"); err == nil {
		t.Fatal("ParseRole(root) should fail")
	}
}

func TestIsRefusal(t *testing.T) {
	base := errors.New("host is tagged protected")
	refused := Refuse(base)
	for _, c := range []struct {
		err  error
		want bool
	}{
		{refused, true},
		{fmt.Errorf("destroy web-1: %w", refused), true},
		{&DeniedError{Actor: Actor{Name: "v", Role: Viewer}, Action: Action{Name: "x", MinRole: Operator}}, true},
		{fmt.Errorf("promote: %w", ErrReadOnly), true},
		{base, false},
		{nil, false},
	} {
		if got := IsRefusal(c.err); got != c.want {
			t.Errorf("IsRefusal(%v) = %v, want %v", c.err, got, c.want)
		}
	}
	if !errors.Is(refused, base) || refused.Error() != base.Error() {
		t.Fatal("Refuse hides the error it wraps")
	}
}

type journalState struct{ err error }

func (j *journalState) Writable() error { return j.err }

// While the journal cannot take entries, mutations are refused with its
// reason; reads go on; once it can, mutations pass again.
func TestGuardRefusesWhatCannotBeJournaled(t *testing.T) {
	j := &journalState{err: errors.New("the shared journal is unreachable")}
	g := Guard{Journal: j}
	alice := Actor{Name: "alice", Role: Admin}
	write := Action{Name: "scale", MinRole: Operator, Mutates: true}
	read := Action{Name: "view", MinRole: Viewer}
	err := g.Check(alice, write)
	if !IsRefusal(err) || !strings.Contains(err.Error(), "unreachable") || !strings.Contains(err.Error(), "scale is refused") {
		t.Fatalf("mutation while the journal is away: %v", err)
	}
	if err := g.Check(alice, read); err != nil {
		t.Fatalf("read while the journal is away: %v", err)
	}
	j.err = nil
	if err := g.Check(alice, write); err != nil {
		t.Fatalf("mutation once the journal is back: %v", err)
	}
}
