package common

import (
	"errors"
	"os/exec"

	tea "charm.land/bubbletea/v2"
)

// ShellFunc runs argv on the session's terminal, the console suspended
// until it ends; done turns how it ended into the console's next message.
type ShellFunc func(argv []string, done tea.ExecCallback) tea.Cmd

// Shell runs argv (an ssh command line, say) on this session's terminal:
// the console suspends, the command has the terminal, and the console
// resumes when it exits, with done's message. Locally it is the user's
// terminal (tea.ExecProcess); under vigil serve, Context.Exec runs the
// command on the bastion with the SSH session as its terminal.
func (c *Context) Shell(argv []string, done tea.ExecCallback) tea.Cmd {
	if len(argv) == 0 {
		return func() tea.Msg { return done(errors.New("no command to run")) }
	}
	if c.Exec != nil {
		return c.Exec(argv, done)
	}
	return tea.ExecProcess(exec.Command(argv[0], argv[1:]...), done)
}
