package serve

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	"github.com/creack/pty"

	"github.com/vigilops/vigil/ui/common"
)

// A shell from the console (the Inventory's s) runs on the bastion, with
// the SSH session as its terminal. wish.Command cannot do it here: vigil
// serves its sessions with an emulated PTY (channel.go), which has no
// device to start a command on, and it reads the session's input itself
// (readInput). So the command gets a PTY of its own, sized as the
// client's terminal and resized with it, and the session's input is
// switched to it while it runs.

// inputSwitch is the session's input, read once: handed to the console's
// reader, or to the shell that runs.
type inputSwitch struct {
	console *io.PipeWriter
	reader  *io.PipeReader // the console's side

	mu    sync.Mutex
	shell io.Writer // nil: the console
}

func newInputSwitch() *inputSwitch {
	r, w := io.Pipe()
	return &inputSwitch{console: w, reader: r}
}

// pump reads src until it fails, handing what it reads to the console or
// the shell; the console's reader then ends with src's error.
func (in *inputSwitch) pump(src io.Reader) {
	buf := make([]byte, 4096)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			in.mu.Lock()
			to := in.shell
			in.mu.Unlock()
			if to != nil {
				to.Write(buf[:n]) // a shell that is gone drops its keys
			} else if _, werr := in.console.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			in.console.CloseWithError(err)
			return
		}
	}
}

// divert sends the input to w (nil: back to the console).
func (in *inputSwitch) divert(w io.Writer) {
	in.mu.Lock()
	in.shell = w
	in.mu.Unlock()
}

// shellEndedMsg is a shell's end on its way to the console.
type shellEndedMsg struct{ msg tea.Msg }

// shellState says whether the session runs a shell, and when the last one
// ended: the session is in use meanwhile, so serve.idle_timeout counts
// from the shell's end (the console itself has no input while it runs).
type shellState struct {
	running atomic.Bool
	end     atomic.Int64 // unix nanoseconds
}

func (s *shellState) ended() time.Time {
	if n := s.end.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// shellResizeEvery is how often a running shell's PTY follows the
// client's window.
const shellResizeEvery = 250 * time.Millisecond

// sessionShell is the session's common.ShellFunc.
func sessionShell(sess ssh.Session, in *inputSwitch, state *shellState, now func() time.Time) common.ShellFunc {
	return func(sh common.ShellCommand, done tea.ExecCallback) tea.Cmd {
		c := &bastionShell{sess: sess, in: in, argv: sh.Argv, banner: sh.Banner, state: state, now: now}
		return tea.Exec(c, func(err error) tea.Msg { return shellEndedMsg{msg: done(err)} })
	}
}

// bastionShell runs argv on a PTY of its own for the session.
type bastionShell struct {
	sess   ssh.Session
	in     *inputSwitch
	argv   []string
	banner string
	state  *shellState
	now    func() time.Time
}

// The program's input and output are the session's, which Run uses itself.
func (c *bastionShell) SetStdin(io.Reader)  {}
func (c *bastionShell) SetStdout(io.Writer) {}
func (c *bastionShell) SetStderr(io.Writer) {}

func (c *bastionShell) Run() error {
	c.state.running.Store(true)
	defer func() {
		c.state.end.Store(c.now().UnixNano())
		c.state.running.Store(false)
	}()
	win, _, ok := c.sess.Pty()
	if !ok {
		return errors.New("this session has no terminal")
	}
	cmd := exec.Command(c.argv[0], c.argv[1:]...)
	cmd.Env = append(shellEnv(), "TERM="+win.Term)
	size := func(w ssh.Window) *pty.Winsize {
		return &pty.Winsize{Cols: uint16(max(w.Width, 1)), Rows: uint16(max(w.Height, 1))}
	}
	ptmx, err := pty.StartWithSize(cmd, size(win.Window))
	if err != nil {
		return err
	}
	defer ptmx.Close()
	// The PTY's output is a terminal's already: it goes to the channel
	// as is, without the emulated PTY's newline translation.
	out := io.Writer(c.sess)
	if cs, ok := c.sess.(*channelSession); ok {
		out = cs.Channel
	}
	if c.banner != "" {
		io.WriteString(out, c.banner+"\r\n")
	}
	copied := make(chan struct{})
	go func() { defer close(copied); io.Copy(out, ptmx) }()
	c.in.divert(ptmx)
	defer c.in.divert(nil)

	// The PTY follows the client's window; a client gone ends the command.
	stop, resized := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(resized)
		t := time.NewTicker(shellResizeEvery)
		defer t.Stop()
		last := win.Window
		for {
			select {
			case <-stop:
				return
			case <-c.sess.Context().Done():
				cmd.Process.Kill()
				return
			case <-t.C:
				if now, _, ok := c.sess.Pty(); ok && now.Window != last {
					last = now.Window
					pty.Setsize(ptmx, size(last))
				}
			}
		}
	}()
	err = cmd.Wait()
	close(stop)
	<-resized // before the PTY closes
	// The last of its output, once the command's side of the PTY is closed.
	select {
	case <-copied:
	case <-time.After(time.Second):
	}
	return err
}

// shellEnv is what a shell from the console inherits of the server's
// environment: enough for ssh to run, and none of the server's secrets
// (a DigitalOcean token, a webhook token) that a ProxyCommand or a SendEnv
// could pass on.
func shellEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "SSH_AUTH_SOCK"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}
