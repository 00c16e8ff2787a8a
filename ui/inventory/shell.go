package inventory

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ui/common"
)

// sshOpenTimeout bounds preparing a shell: the guard, the host key check
// (bounded to 5 s by the service) and the journal.
const sshOpenTimeout = 15 * time.Second

// sshLogTail is how much of ssh's own messages a toast can show.
const sshLogTail = 2 << 10

// sshOpenedMsg carries a shell ready to run, or why there is none.
type sshOpenedMsg struct {
	host string
	sess *inventory.SSHSession
	err  error
}

// SSH opens a shell on the host called name: the service checks the
// session may (operators and admins), the host's key, and journals the
// start; the shell then runs on the session's terminal.
func (m *Model) SSH(name string) tea.Cmd {
	svc, actor, base := m.svc, m.Ctx.Actor, m.Ctx.Base
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, sshOpenTimeout)
		defer cancel()
		s, err := svc.OpenSSH(ctx, actor, name)
		return sshOpenedMsg{host: name, sess: s, err: err}
	}
}

func (m *Model) onSSHOpened(msg sshOpenedMsg) tea.Cmd {
	if msg.err != nil {
		return common.ToastCmd(common.Error, "ssh "+msg.host+": "+msg.err.Error())
	}
	sess := msg.sess
	argv := sess.Argv
	// ssh's own messages (connection refused, a host key refused) go to a
	// file, not to the terminal the console takes back at once: they are
	// shown in the toast after. The remote shell's output is the terminal's.
	log := ""
	if f, err := os.CreateTemp("", "vigil-ssh-*.log"); err == nil {
		log = f.Name()
		f.Close()
		argv = append([]string{argv[0], "-E", log}, argv[1:]...)
	}
	// The end is journaled where the shell ends, before the console has
	// it: under vigil serve, a client gone meanwhile ends the console too.
	base := m.Ctx.Base
	banner := "vigil: ssh to " + sess.Host + " (" + sess.Addr + "): the console comes back when the shell ends"
	return m.Ctx.Shell(common.ShellCommand{Argv: argv, Banner: banner}, func(err error) tea.Msg {
		said := readTail(log, sshLogTail)
		if log != "" {
			os.Remove(log)
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(base), sshOpenTimeout)
		defer cancel()
		jerr := sess.Close(ctx, err)
		t := sshEndText(sess.Host, err, said)
		if jerr != nil {
			t.Level, t.Text = common.Error, t.Text+" (journal: "+jerr.Error()+")"
		}
		return t
	})
}

// sshEndText says how a shell ended: ssh exits 255 when it could not
// connect (or lost the connection), else with the remote shell's status,
// which is the user's business.
func sshEndText(host string, err error, said string) common.ToastMsg {
	var exit *exec.ExitError
	switch {
	case err == nil:
		return common.ToastMsg{Level: common.Info, Text: "shell on " + host + " closed"}
	case errors.As(err, &exit) && exit.ExitCode() != 255:
		return common.ToastMsg{Level: common.Info, Text: "shell on " + host + " closed (exit " + strconv.Itoa(exit.ExitCode()) + ")"}
	}
	text := "ssh " + host + ": " + err.Error()
	if said != "" {
		text = "ssh " + host + ": " + said
	}
	return common.ToastMsg{Level: common.Error, Text: text}
}

// readTail returns the last lines of the file at path, at most n bytes,
// on one line; "" when there is none.
func readTail(path string, n int64) string {
	if path == "" {
		return ""
	}
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		f.Seek(st.Size()-n, io.SeekStart)
	}
	b, _ := io.ReadAll(io.LimitReader(f, n))
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, " · ")
}
