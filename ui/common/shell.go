package common

import (
	"errors"
	"io"
	"os/exec"

	tea "charm.land/bubbletea/v2"
)

// ShellCommand is a command to run on the session's terminal.
type ShellCommand struct {
	Argv []string
	// Banner is written to the terminal first, on a line of its own
	// ("ssh to web-01…"): the command may say nothing for a while.
	Banner string
}

// ShellFunc runs a command on the session's terminal, the console
// suspended until it ends; done turns how it ended into the console's
// next message.
type ShellFunc func(sh ShellCommand, done tea.ExecCallback) tea.Cmd

// Shell runs sh (an ssh command line, say) on this session's terminal:
// the console suspends, the command has the terminal, and the console
// resumes when it exits, with done's message. Locally it is the user's
// terminal (tea.ExecProcess); under vigil serve, Context.Exec runs the
// command on the bastion with the SSH session as its terminal.
func (c *Context) Shell(sh ShellCommand, done tea.ExecCallback) tea.Cmd {
	if len(sh.Argv) == 0 {
		return func() tea.Msg { return done(errors.New("no command to run")) }
	}
	if c.Exec != nil {
		return c.Exec(sh, done)
	}
	return tea.Exec(&localShell{Cmd: exec.Command(sh.Argv[0], sh.Argv[1:]...), banner: sh.Banner}, done)
}

// localShell runs a command on the console's own terminal, after its banner.
type localShell struct {
	*exec.Cmd
	banner string
}

func (l *localShell) SetStdin(r io.Reader)  { l.Stdin = r }
func (l *localShell) SetStdout(w io.Writer) { l.Stdout = w }
func (l *localShell) SetStderr(w io.Writer) { l.Stderr = w }

func (l *localShell) Run() error {
	if l.banner != "" && l.Stdout != nil {
		io.WriteString(l.Stdout, l.banner+"\r\n")
	}
	return l.Cmd.Run()
}
