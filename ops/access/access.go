// Package access holds who acts (Actor), what they may do (Role), and the
// Guard every mutating ops method passes before it touches a system.
package access

import (
	"errors"
	"fmt"
	"strings"
)

// Role is an administrator's authority. Roles are ordered: each one may do
// everything the one before it may.
type Role string

const (
	Viewer   Role = "viewer"
	Operator Role = "operator"
	Admin    Role = "admin"
)

// Roles lists the valid roles from least to most powerful.
var Roles = []Role{Viewer, Operator, Admin}

func (r Role) rank() int {
	for i, v := range Roles {
		if v == r {
			return i
		}
	}
	return -1
}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return r.rank() >= 0 }

// AtLeast reports whether r has at least the authority of min.
func (r Role) AtLeast(min Role) bool { return r.Valid() && r.rank() >= min.rank() }

// ParseRole turns a config or CLI word into a Role.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if !r.Valid() {
		return "", fmt.Errorf("unknown role %q: use viewer, operator or admin", s)
	}
	return r, nil
}

// Actor is the person behind an action: a local user, or an SSH user
// identified by the fingerprint of their key and their source address.
type Actor struct {
	Name string
	Role Role
	// Source is "local" for the console run by hand, or "ssh".
	Source string
	// KeyFingerprint is the SHA256 fingerprint of the SSH key, when Source is "ssh".
	KeyFingerprint string
	// Address is the remote address of an SSH session.
	Address string
}

// String names the actor the way the journal and the status bar show it.
func (a Actor) String() string {
	if a.KeyFingerprint != "" {
		return a.Name + " (" + a.KeyFingerprint + ")"
	}
	return a.Name
}

// Action names something an actor does, with the least role it needs and
// whether it is dangerous (asks for confirmation, disappears in read-only mode).
type Action struct {
	Name      string
	MinRole   Role
	Dangerous bool
	// Mutates is false for reads; the guard lets reads through read-only mode.
	Mutates bool
}

// ErrReadOnly is returned for any mutation while read-only mode is on.
var ErrReadOnly = errors.New("vigil is in read-only mode: restart it without --read-only to act")

// DeniedError says that a role may not perform an action.
type DeniedError struct {
	Actor  Actor
	Action Action
}

func (e *DeniedError) Error() string {
	return fmt.Sprintf("%s is a %s and may not %s: it needs the %s role", e.Actor.Name, e.Actor.Role, e.Action.Name, e.Action.MinRole)
}

// Guard decides whether an actor may perform an action.
type Guard struct {
	ReadOnly bool
	// Journal, when set, is asked before every mutation: while it cannot
	// take the action's entry (the shared journal's server is away) the
	// action is refused with its reason, never done unjournaled.
	Journal interface{ Writable() error }
}

// Check returns nil when actor may perform action, ErrReadOnly, a
// *DeniedError or the journal's refusal otherwise.
func (g Guard) Check(actor Actor, action Action) error {
	if action.Mutates && g.ReadOnly {
		return ErrReadOnly
	}
	if action.Mutates && g.Journal != nil {
		if err := g.Journal.Writable(); err != nil {
			return Refuse(fmt.Errorf("%s is refused: it could not be journaled: %w", action.Name, err))
		}
	}
	if !actor.Role.AtLeast(action.MinRole) {
		return &DeniedError{Actor: actor, Action: action}
	}
	return nil
}

// Refusal is an error that refuses an action by policy (a freeze, a lock
// someone else holds, a protected host) rather than failing it: the journal
// records it as refused, and the CLI exits with its refusal code.
type Refusal interface {
	error
	Refused() bool
}

// Refuse marks err as a Refusal; errors.Is and errors.As still see err.
func Refuse(err error) error { return refusal{err} }

type refusal struct{ error }

func (refusal) Refused() bool   { return true }
func (r refusal) Unwrap() error { return r.error }

// IsRefusal reports whether err refuses an action: a role that may not,
// read-only mode, or a Refusal.
func IsRefusal(err error) bool {
	var denied *DeniedError
	var r Refusal
	return errors.As(err, &denied) || errors.Is(err, ErrReadOnly) || (errors.As(err, &r) && r.Refused())
}
