package runs

import (
	"context"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ops/playbook"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/uitest"
)

// The Inventory's :exec jumps here, then runs: the command opens as soon
// as it starts, and shows each host's rc, stdout and stderr once done;
// esc lists the commands, esc again goes back where the jump came from,
// and a switches between the runs and the commands.
func TestExecShowsEachHostsOutcome(t *testing.T) {
	r := &runner{tasks: 1, gate: make(chan struct{})}
	e := setup(t, r, hostsNamed("web-01", "flaky-01", "down-01"), 120, 30)
	e.Drive(e.m.Update(common.GotoMsg{Pane: common.RunsPane, Target: ExecsTarget + ":"}))
	if v := ansi.Strip(e.m.View()); !strings.Contains(v, "No ad-hoc command yet") {
		t.Fatalf("the empty list:\n%s", v)
	}
	done := make(chan error, 1)
	go func() {
		_, err := e.svc.Exec(context.Background(), e.ctx.Actor, playbook.ExecRequest{Command: "uptime",
			Target: playbook.Target{Kind: playbook.TargetHosts, Hosts: []string{"web-01", "flaky-01", "down-01"}}})
		done <- err
	}()
	e.waitFor(t, "the running command opens", func() bool {
		return strings.Contains(ansi.Strip(e.m.View()), "running…")
	})
	if v := ansi.Strip(e.m.View()); !strings.Contains(v, "`uptime` on hosts") || !strings.Contains(v, "running") {
		t.Fatalf("the running command:\n%s", v)
	}
	r.gate <- struct{}{}
	if err := <-done; err == nil {
		t.Fatal("the command failed nowhere")
	}
	e.waitFor(t, "the outcome", func() bool { return strings.Contains(ansi.Strip(e.m.View()), "failed 2/3") })
	v := ansi.Strip(e.m.View())
	for _, want := range []string{
		"web-01             changed     rc 0  800ms", "uptime: up 3 days",
		"flaky-01           failed      rc 1", "stderr", "boom",
		"down-01            unreachable did not run", "Failed to connect to the host via ssh: Connection refused",
	} {
		if !strings.Contains(v, want) {
			t.Errorf("no %q:\n%s", want, v)
		}
	}
	if strings.Contains(v, "non-zero return code") {
		t.Errorf("Ansible's word for a non-zero rc is shown beside the rc:\n%s", v)
	}
	if got := e.m.Status(); got != "`uptime` · failed 2/3" {
		t.Errorf("status %q", got)
	}

	// Cancel and rerun act on runs only.
	e.Press("c", "r")
	if _, ok := last[common.ToastMsg](e); ok {
		t.Fatalf("c or r acted in the command's view: %v", e.Msgs)
	}
	e.Press("esc")
	if v := ansi.Strip(e.m.View()); !strings.Contains(v, "COMMAND") || !strings.Contains(v, "failed 2/3") || !strings.Contains(v, "alice") {
		t.Fatalf("the list of commands:\n%s", v)
	}
	if cmd := e.m.Update(uitest.Key("esc")); cmd == nil || cmd() != (common.BackMsg{}) || e.m.view != listView {
		t.Fatalf("esc from the jump: view %d, not back", e.m.view)
	}
	e.Press("a")
	if e.m.view != execsView {
		t.Fatalf("a: view %d", e.m.view)
	}
	e.Press("enter")
	if e.m.view != execView || !strings.Contains(ansi.Strip(e.m.View()), "uptime: up 3 days") {
		t.Fatalf("enter on the command: view %d\n%s", e.m.view, e.m.View())
	}
	e.Press("a")
	if e.m.view != listView {
		t.Fatalf("a back: view %d", e.m.view)
	}
}
