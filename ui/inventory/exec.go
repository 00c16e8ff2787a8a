package inventory

import (
	"context"
	"errors"
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/vigilops/vigil/ops/playbook"
	"github.com/vigilops/vigil/ui/common"
)

// execDoneMsg ends an ad-hoc command.
type execDoneMsg struct {
	exec playbook.Exec
	err  error
}

// Exec runs `:exec CMD [on HOSTS]`: without " on ", on the pane's targets
// (the selection, else the host under the cursor), which the confirmation
// names. It asks as the action declares, then runs the command with
// Ansible in a command, and the Runs pane shows it.
func (m *Model) Exec(line string) (tea.Cmd, error) {
	pb := m.Ctx.Services.Playbook
	if pb == nil {
		return nil, errors.New("exec needs the ansible section of the config: commands run with Ansible")
	}
	req, err := playbook.ParseExec(line)
	if err != nil {
		return nil, err
	}
	if req.Target.Kind == "" {
		hosts := m.Targets()
		if len(hosts) == 0 {
			return nil, errors.New("on which hosts? :exec CMD on HOSTS (names separated by commas, tag:T or group:G), or select hosts in the Inventory pane")
		}
		req.Target = playbook.Target{Kind: playbook.TargetHosts, Hosts: m.names(hosts)}
	}
	conf, err := pb.ExecConfirmation(req)
	if err != nil {
		return nil, err
	}
	actor, base := m.Ctx.Actor, m.Ctx.Base
	run := func() tea.Msg {
		// Ansible's own timeout per host bounds it (req.Timeout).
		e, err := pb.Exec(context.WithoutCancel(base), actor, req)
		return execDoneMsg{exec: e, err: err}
	}
	// The Runs pane opens the command once it starts: the first of this
	// session's newer than the newest now (runs.ExecsTarget).
	show := func() tea.Msg {
		newest := ""
		if es := pb.Execs(); len(es) > 0 {
			newest = es[0].ID
		}
		return common.GotoMsg{Pane: common.RunsPane, Target: "execs:" + newest}
	}
	body := "The command runs with each host's shell, as Ansible's user: it can change anything there.\n" +
		"It is journaled as typed: keep secrets out of it."
	return m.Ctx.Confirm(conf, body, tea.Sequence(show, run)), nil
}

// onExecDone says how an ad-hoc command ended; the Runs pane shows each
// host's outcome.
func (m *Model) onExecDone(msg execDoneMsg) tea.Cmd {
	e := msg.exec
	what := fmt.Sprintf("`%s` on %s", e.Command, short(e.Hosts))
	if len(e.Hosts) == 0 {
		what = fmt.Sprintf("`%s` on %s", e.Command, e.Target)
	}
	switch {
	case errors.Is(msg.err, playbook.ErrExecFailed):
		return common.ToastCmd(common.Error, what+": failed on "+strings.Join(e.Failed(), ", "))
	case msg.err != nil:
		return common.ToastCmd(common.Error, what+": "+msg.err.Error())
	}
	return common.ToastCmd(common.Success, what+": exit 0 everywhere")
}
