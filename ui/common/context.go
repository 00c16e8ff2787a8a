// Package common is what every pane of a session shares: the session
// context, named key bindings, and the messages panes send the shell.
package common

import (
	"context"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/themes"
	"github.com/vigilops/vigil/ui/styles"
)

// Context is one session's shared state. The shell owns it and hands the
// same pointer to every pane; it is never a package global, because
// `vigil serve` runs one session per SSH connection in one process.
type Context struct {
	Width, Height int // the whole terminal

	Config   *config.Config
	Theme    *themes.Theme
	ThemeDir string // user themes, for :theme
	Styles   *styles.Styles
	NoColor  bool

	Actor    access.Actor
	Guard    access.Guard
	Journal  *audit.Journal
	Services *Services // never nil
	// Base is the context every action of the session starts from: under
	// vigil serve it carries the session's presence, so that an action in
	// progress shows to every administrator. Never nil.
	Base context.Context
	Now  func() time.Time
	// Exec runs a command on the session's terminal (see Shell): set by
	// vigil serve, whose sessions' terminals are SSH channels; nil for
	// the local terminal.
	Exec ShellFunc
}

// MayAct reports whether this session may run mutating actions at all:
// not in read-only mode and not as a viewer. Finer checks are the Guard's.
func (c *Context) MayAct() bool {
	return !c.Guard.ReadOnly && c.Actor.Role.AtLeast(access.Operator)
}

// WhoMayNotAct names why this session may not act, for the reasons of
// disabled bindings ("viewers", "read-only mode"); "" when it may.
func (c *Context) WhoMayNotAct() string {
	switch {
	case c.Guard.ReadOnly:
		return "read-only mode: vigil"
	case !c.Actor.Role.AtLeast(access.Operator):
		if c.Actor.Role == "" {
			return "sessions without a role"
		}
		return string(c.Actor.Role) + "s"
	}
	return ""
}

// SetTheme switches the session to t, building its styles once.
func (c *Context) SetTheme(t *themes.Theme) {
	c.Theme = t
	c.Styles = styles.New(t, c.NoColor)
}
