package runs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ops/playbook"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/uitest"
)

var three = []string{"flaky-01", "web-01", "web-02"}

func screen(e *env) string { return ansi.Strip(e.m.View()) }

// startCheck starts base.yml in check mode (no confirmation) from the prompt.
func startCheck(t *testing.T, e *env, args string) {
	t.Helper()
	e.Press("n")
	if !e.m.Capturing() {
		t.Fatalf("no run prompt:\n%s", screen(e))
	}
	e.Press("ctrl+u")
	e.Type(args)
	e.Press("enter")
}

func TestLiveRunShowsEachHostsTaskThenTheRecap(t *testing.T) {
	r := &runner{tasks: 3, gate: make(chan struct{})}
	e := setup(t, r, hostsNamed(three...), 120, 20)
	startCheck(t, e, "base.yml all check")
	r.gate <- struct{}{}
	r.gate <- struct{}{} // task 02 started: task 01 is done
	e.waitFor(t, "task 02 on screen", func() bool { return strings.Contains(screen(e), "task 02") })
	v := screen(e)
	for _, want := range []string{"base.yml · all hosts · check · by alice", "tasks 1/?", "running", "play base · task task 02", "web-01"} {
		if !strings.Contains(v, want) {
			t.Errorf("%q missing from the live run:\n%s", want, v)
		}
	}
	r.gate <- struct{}{}
	e.waitFor(t, "the run ends", func() bool { return strings.Contains(screen(e), "failed") && strings.Contains(screen(e), "3 tasks") })
	v = screen(e)
	for _, want := range []string{"OK", "CHANGED", "UNREACH", "FAILED", "SKIPPED", "RESCUED", "IGNORED"} {
		if !strings.Contains(v, want) {
			t.Errorf("recap column %s missing:\n%s", want, v)
		}
	}
	open, _ := e.m.Open()
	if open.Recap["web-01"] != (playbook.Recap{OK: 3, Changed: 1}) || open.Recap["flaky-01"].Failed != 1 {
		t.Fatalf("recap %+v", open.Recap)
	}
	if got := rowOf(v, "web-01"); got != "web-01 3 1 · · · · ·" {
		t.Errorf("web-01's recap line %q:\n%s", got, v)
	}
}

// rowOf is the line of screen that starts with name, its cells single-spaced.
func rowOf(screen, name string) string {
	for _, l := range strings.Split(screen, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == name {
			return strings.Join(f, " ")
		}
	}
	return ""
}

func finishedRun(t *testing.T, e *env) {
	t.Helper()
	startCheck(t, e, "flaky.yml all check")
	e.waitFor(t, "the run ends", func() bool { o, _ := e.m.Open(); return o.State == playbook.Failed && !e.m.live })
}

func TestDrillDownFiltersChangedAndFailed(t *testing.T) {
	e := setup(t, &runner{tasks: 3}, hostsNamed(three...), 120, 20)
	finishedRun(t, e)
	e.Press("enter")
	e.waitFor(t, "results read", func() bool { return len(e.m.Events()) > 0 })
	if n := len(e.m.Events()); n != 8 { // 3 tasks on 3 hosts, flaky-01 stopping after its failure at the second
		t.Fatalf("%d results, want 8", n)
	}
	e.Press("f")
	e.waitFor(t, "changed results", func() bool { return e.m.filter == 1 && !e.m.loading })
	for _, ev := range e.m.Events() {
		if ev.Status != playbook.StatusChanged {
			t.Fatalf("the changed filter shows %s", ev.Status)
		}
	}
	if len(e.m.Events()) != 3 {
		t.Fatalf("%d changed results, want 3", len(e.m.Events()))
	}
	e.Press("f")
	e.waitFor(t, "failed results", func() bool { return e.m.filter == 2 && !e.m.loading })
	if evs := e.m.Events(); len(evs) != 1 || evs[0].Host != "flaky-01" {
		t.Fatalf("failed results %+v", evs)
	}
	if v := screen(e); !strings.Contains(v, "flaky-01") || !strings.Contains(v, "flaky host refuses") {
		t.Fatalf("failed results on screen:\n%s", v)
	}
	for _, ev := range e.m.Events() {
		if ev.Stdout != "" || ev.Stderr != "" || ev.Diff != "" {
			t.Fatalf("the list keeps a result's outputs in memory: %+v", ev)
		}
	}
	e.Press("enter")
	e.waitFor(t, "the result read whole", func() bool { return strings.Contains(screen(e), "stderr") })
	v := screen(e)
	for _, want := range []string{"host    flaky-01", "task    task 02", "module  ansible.builtin.copy", "msg", "flaky host refuses", "stderr", "exit 1 on flaky-01"} {
		if !strings.Contains(v, want) {
			t.Errorf("%q missing from the result:\n%s", want, v)
		}
	}
	e.Press("esc", "esc", "esc")
	if _, open := e.m.Open(); open {
		t.Fatal("esc three times did not return to the history")
	}
}

func TestRerunFailedTargetsOnlyTheFailedHosts(t *testing.T) {
	r := &runner{tasks: 3}
	e := setup(t, r, hostsNamed(three...), 120, 20)
	e.Press("n", "ctrl+u")
	e.Type("flaky.yml tag:shop")
	e.Press("enter")
	c, ok := last[common.ConfirmMsg](e)
	if !ok || c.Title != "Apply flaky.yml?" || !strings.Contains(c.Body, "tag shop") {
		t.Fatalf("applying asks first: %+v", c)
	}
	e.Drive(c.OnYes)
	e.waitFor(t, "the run ends", func() bool { o, _ := e.m.Open(); return o.State == playbook.Failed && !e.m.live })
	first, _ := e.m.Open()
	e.Msgs = nil
	e.Press("r")
	c, ok = last[common.ConfirmMsg](e)
	if !ok || !strings.Contains(c.Body, "flaky-01") || strings.Contains(c.Body, "web-01") {
		t.Fatalf("rerun-failed asks first, naming the failed hosts only: %+v", c)
	}
	e.Drive(c.OnYes)
	e.waitFor(t, "the rerun ends", func() bool { o, _ := e.m.Open(); return o.ID != first.ID && o.State != playbook.Running })
	if spec := r.lastSpec(); !slices.Equal(spec.Limit, []string{"flaky-01"}) {
		t.Fatalf("the rerun ran on %v", spec.Limit)
	}
	if v := screen(e); !strings.Contains(v, "rerun of the failed hosts of "+first.ID) {
		t.Fatalf("the rerun says what it reruns:\n%s", v)
	}
}

func TestCancelRecordsTheRunCancelled(t *testing.T) {
	r := &runner{tasks: 5, gate: make(chan struct{})}
	e := setup(t, r, hostsNamed(three...), 120, 20)
	startCheck(t, e, "base.yml all check")
	r.gate <- struct{}{}
	e.Press("c")
	e.waitFor(t, "cancelled", func() bool { o, _ := e.m.Open(); return o.State == playbook.Cancelled })
	if v := screen(e); !strings.Contains(v, "cancelled") {
		t.Fatalf("cancelled run on screen:\n%s", v)
	}
	e.Press("esc")
	if v := screen(e); !strings.Contains(v, "cancelled") {
		t.Fatalf("history shows the run cancelled:\n%s", v)
	}
}

func TestPasswordsAreMaskedAndReachTheRunner(t *testing.T) {
	r := &runner{tasks: 1}
	e := setup(t, r, hostsNamed(three...), 120, 20)
	e.Press("v")
	e.Type("s3cret-q:1")
	if v := screen(e); strings.Contains(v, "s3cret") || !strings.Contains(v, "Vault password") {
		t.Fatalf("the vault prompt shows the password:\n%s", v)
	}
	e.Press("enter", "B")
	e.Type("sudo-pw")
	e.Press("enter")
	if s := e.m.Status(); !strings.Contains(s, "vault ●") || !strings.Contains(s, "become ●") {
		t.Fatalf("status %q", s)
	}
	startCheck(t, e, "base.yml all check")
	e.waitFor(t, "the run ends", func() bool { o, _ := e.m.Open(); return o.State != playbook.Running && o.ID != "" })
	spec := r.lastSpec()
	if string(spec.VaultPassword) != "s3cret-q:1" || string(spec.BecomePassword) != "sudo-pw" {
		t.Fatalf("the runner got vault %q become %q", spec.VaultPassword, spec.BecomePassword)
	}
	if v := screen(e); strings.Contains(v, "s3cret") {
		t.Fatalf("password on screen:\n%s", v)
	}
}

func TestParseRequest(t *testing.T) {
	for _, c := range []struct {
		in   string
		want playbook.Request
		err  bool
	}{
		{in: "base.yml", want: playbook.Request{Playbook: "base.yml", Target: playbook.Target{Kind: playbook.TargetAll}, Mode: playbook.Apply}},
		{in: "base.yml tag:web check", want: playbook.Request{Playbook: "base.yml", Target: playbook.Target{Kind: playbook.TargetTag, Name: "web"}, Mode: playbook.Check}},
		{in: "app.yml group:region_ams3 version=2.5.0 env=prod", want: playbook.Request{Playbook: "app.yml",
			Target: playbook.Target{Kind: playbook.TargetGroup, Name: "region_ams3"}, Mode: playbook.Apply, ExtraVars: map[string]string{"version": "2.5.0", "env": "prod"}}},
		{in: "base.yml hosts:a,b", want: playbook.Request{Playbook: "base.yml", Target: playbook.Target{Kind: playbook.TargetHosts, Hosts: []string{"a", "b"}}, Mode: playbook.Apply}},
		{in: "", err: true},
		{in: "base.yml tag:", err: true},
		{in: "base.yml prod", err: true},
		{in: "base.yml =x", err: true},
	} {
		got, err := ParseRequest(strings.Fields(c.in))
		if (err != nil) != c.err {
			t.Errorf("%q: error %v", c.in, err)
			continue
		}
		if !c.err && fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", c.want) {
			t.Errorf("%q: %+v, want %+v", c.in, got, c.want)
		}
	}
}

func TestGotoFromInventoryPrefillsTheTarget(t *testing.T) {
	e := setup(t, &runner{tasks: 1}, hostsNamed(three...), 120, 20)
	e.Drive(e.m.Update(common.GotoMsg{Pane: common.RunsPane, Target: "hosts:web-01,web-02"}))
	if v := screen(e); !e.m.Capturing() || !strings.Contains(v, "base.yml hosts:web-01,web-02") {
		t.Fatalf("run prompt with the inventory's selection:\n%s", v)
	}
}

func TestDangerousKeysAreMarked(t *testing.T) {
	k := NewKeyMap()
	if !k.RerunFailed.Dangerous {
		t.Error("rerun-failed applies a playbook: it is dangerous")
	}
	if !k.Run.Mutates || !k.Cancel.Mutates || k.VaultPassword.Mutates || k.Open.Mutates {
		t.Error("running and cancelling change something; typing a password or opening a run does not")
	}
	for _, b := range k.Bindings() {
		if !strings.HasPrefix(b.Name, "runs.") {
			t.Errorf("binding %s is not under runs.", b.Name)
		}
	}
}

func TestEverySizeFitsTheWidth(t *testing.T) {
	e := setup(t, &runner{tasks: 3}, hostsNamed(three...), 120, 20)
	finishedRun(t, e)
	steps := [][]string{nil, {"enter"}, {"f", "f"}, {"enter"}, {"esc", "esc", "esc"}, {"n"}}
	for _, keys := range steps {
		e.Press(keys...)
		e.waitFor(t, "results", func() bool { return !e.m.loading })
		for w := 40; w <= 300; w += 13 {
			for h := 10; h <= 100; h += 9 {
				e.m.SetSize(w, h)
				if err := uitest.Fits(e.m.View(), w, h); err != nil {
					t.Fatalf("after %v, %v", keys, err)
				}
			}
		}
	}
}

// liveRun50x20 holds a run of 50 hosts × 20 tasks at its tenth task.
func liveRun50x20(t testing.TB) *env {
	names := make([]string, 50)
	for i := range names {
		names[i] = fmt.Sprintf("node-%02d", i)
	}
	r := &runner{tasks: 20, hosts: names, gate: make(chan struct{}, 20)}
	e := setup(t, r, hostsNamed(names...), 120, 40)
	for range 10 {
		r.gate <- struct{}{}
	}
	e.Drive(e.m.Start(playbook.Request{Playbook: "base.yml", Target: playbook.Target{Kind: playbook.TargetAll}, Mode: playbook.Check}))
	e.waitFor(t, "task 10", func() bool { return strings.Contains(screen(e), "task 10") && e.m.progress.Hosts["node-49"].Done >= 10 })
	return e
}

// BenchmarkLiveFrame50x20 is one frame of a live run of 50 hosts × 20
// tasks: a change notification handled, then the screen drawn.
func BenchmarkLiveFrame50x20(b *testing.B) {
	e := liveRun50x20(b)
	b.ReportAllocs()
	for b.Loop() {
		e.m.Update(changedMsg{})
		_ = e.m.View()
	}
}

// TestMovement walks a finished run's 30 hosts, then its results, by a
// row, a page and to either end, the cursor kept in view.
func TestMovement(t *testing.T) {
	names := make([]string, 30)
	for i := range names {
		names[i] = fmt.Sprintf("node-%02d", i)
	}
	e := setup(t, &runner{tasks: 2, hosts: names}, hostsNamed(names...), 120, 16)
	startCheck(t, e, "base.yml all check")
	e.waitFor(t, "the run ends", func() bool { o, _ := e.m.Open(); return o.State == playbook.Succeeded && !e.m.live })
	type at struct{ pos, off int }
	walk := func(what string, n, h int, cur func() at) {
		t.Helper()
		for _, step := range []struct {
			key  string
			want at
		}{
			{"j", at{1, 0}}, {"k", at{0, 0}}, {"k", at{0, 0}}, {"ctrl+d", at{h, 1}}, {"G", at{n - 1, n - h}},
			{"j", at{n - 1, n - h}}, {"ctrl+u", at{n - 1 - h, n - 1 - h}}, {"g", at{0, 0}},
		} {
			e.Press(step.key)
			if got := cur(); got != step.want {
				t.Fatalf("%s after %s: %+v, want %+v (%d rows, %d shown)", what, step.key, got, step.want, n, h)
			}
		}
	}
	walk("hosts", len(e.m.hosts), e.m.Height-len(e.m.head)-1, func() at { return at{e.m.hostList.Pos, e.m.hostList.Offset} })
	e.Press("enter")
	e.waitFor(t, "results read", func() bool { return len(e.m.Events()) > 0 })
	walk("results", len(e.m.events), e.m.Height-1, func() at { return at{e.m.evList.Pos, e.m.evList.Offset} })
}

// firstContact records every host's key as new, as the first run on hosts
// vigil did not create does.
type firstContact struct{}

func (firstContact) Check(_ context.Context, addr string) (inventory.HostKey, error) {
	return inventory.HostKey{Addr: addr, Fingerprint: "SHA256:key-of-" + addr, Recorded: true}, nil
}
func (firstContact) Trust(context.Context, string) (inventory.HostKey, error) {
	return inventory.HostKey{}, errors.New("not used")
}
func (firstContact) File() string { return "known_hosts" }

// The run says which host keys it trusted on first contact: trust on first
// use is stated on screen, never silent.
func TestRunStatesTheKeysTrustedOnFirstContact(t *testing.T) {
	e := setup(t, &runner{tasks: 1}, hostsNamed("web-01"), 120, 20, func(o *playbook.Options) { o.HostKeys = firstContact{} })
	startCheck(t, e, "base.yml all check")
	e.waitFor(t, "the run ends", func() bool { o, _ := e.m.Open(); return o.State != playbook.Running && !e.m.live })
	if v := screen(e); !strings.Contains(v, "first contact with web-01: its SSH host key SHA256:key-of-127.0.2.1 is now trusted") {
		t.Fatalf("the run does not say which key it trusted:\n%s", v)
	}
}

// The run prompt offers the run last asked for; from the Inventory it
// keeps that playbook with the Inventory's hosts (it once offered the
// first playbook alphabetically every time).
func TestPromptRemembersTheLastRun(t *testing.T) {
	e := setup(t, &runner{tasks: 1}, hostsNamed(three...), 120, 20)
	startCheck(t, e, "flaky.yml hosts:web-01 check")
	e.waitFor(t, "the run ends", func() bool { o, _ := e.m.Open(); return o.ID != "" && o.State != playbook.Running && !e.m.live })
	e.Press("esc")
	e.Press("n")
	if v := screen(e); !e.m.Capturing() || !strings.Contains(v, "flaky.yml hosts:web-01 check") {
		t.Fatalf("the prompt after a run:\n%s", v)
	}
	e.Press("esc")
	e.Drive(e.m.Update(common.GotoMsg{Pane: common.RunsPane, Target: "hosts:web-02"}))
	if v := screen(e); !e.m.Capturing() || !strings.Contains(v, "flaky.yml hosts:web-02") || strings.Contains(v, "hosts:web-01") {
		t.Fatalf("the prompt from the Inventory:\n%s", v)
	}
	e.Press("esc")

	// Another session of the same administrator starts from their newest run.
	other := New(e.ctx, e.svc, NewKeyMap())
	other.SetSize(120, 20)
	e.Driver.Update = other.Update
	e.Drive(other.Init())
	e.Press("n")
	if v := ansi.Strip(other.View()); !other.Capturing() || !strings.Contains(v, "flaky.yml hosts:web-01") {
		t.Fatalf("a new session's prompt:\n%s", v)
	}
	other.Close()
}

// Issue 12, point 10: a long task name takes the free width of the
// results before it is cut.
func TestLongTaskNamesTakeTheFreeWidth(t *testing.T) {
	long := "ensure the nginx configuration is templated, validated and reloaded"
	e := setup(t, &runner{tasks: 2, task: long}, hostsNamed("flaky-01"), 160, 20)
	finishedRun(t, e)
	e.Press("enter")
	e.waitFor(t, "results read", func() bool { return len(e.m.Events()) > 0 })
	if v := ansi.Strip(e.m.View()); !strings.Contains(v, long+" 01") {
		t.Fatalf("the task name is cut with free width:\n%s", v)
	}
}

// A long playbook name shows whole in the history while the target column
// has room to spare (120 columns); where it must be cut (100, 80), the
// run it opens names it whole.
func TestLongPlaybookNamesShowWholeInTheHistory(t *testing.T) {
	const book = "rotate-tls-certificates-and-reload.yml"
	for _, w := range []int{120, 100, 80} {
		e := setup(t, &runner{tasks: 1}, hostsNamed("web-01"), w, 20, func(o *playbook.Options) {
			if err := os.WriteFile(filepath.Join(o.PlaybookDir, book), []byte("- hosts: all\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		})
		startCheck(t, e, book+" all check")
		e.waitFor(t, "the run ends", func() bool { o, _ := e.m.Open(); return o.State != playbook.Running && !e.m.live })
		e.Press("esc", "esc", "esc")
		v := ansi.Strip(e.m.View())
		if w == 120 && !strings.Contains(v, book+" all") {
			t.Errorf("at %d columns the playbook's name is cut:\n%s", w, v)
		}
		e.Press("enter")
		if v := ansi.Strip(e.m.View()); !strings.Contains(v, book+" · ") {
			t.Errorf("at %d columns the open run does not name its playbook whole:\n%s", w, v)
		}
	}
}

// A second applying run on a host a run holds: an operator is told who
// holds it; an admin is offered to run anyway, typing the host's name, and
// the override is journaled.
func TestBusyHostTellsTheHolderAndOffersAnAdminToRunAnyway(t *testing.T) {
	r := &runner{tasks: 2, gate: make(chan struct{})}
	e := setup(t, r, hostsNamed("web-01"), 120, 20)
	apply := func() common.ConfirmMsg {
		t.Helper()
		e.Msgs = nil
		e.Press("n", "ctrl+u")
		e.Type("base.yml hosts:web-01")
		e.Press("enter")
		c, ok := last[common.ConfirmMsg](e)
		if !ok || c.Title != "Apply base.yml?" {
			t.Fatalf("applying asks first: %+v", c)
		}
		e.Msgs = nil
		e.Drive(c.OnYes)
		return c
	}
	apply()
	first, _ := e.m.Open()
	if first.State != playbook.Running {
		t.Fatalf("the first run: %+v", first)
	}
	holder := "alice, run " + first.ID + ", on "
	apply()
	if toast, ok := last[common.ToastMsg](e); !ok || !strings.Contains(toast.Text, "web-01 is held by "+holder) {
		t.Fatalf("an operator's second run: %+v, want the holder named", toast)
	}
	if _, ok := last[common.ConfirmMsg](e); ok {
		t.Fatal("an operator is offered to run anyway")
	}

	e.ctx.Actor = access.Actor{Name: "ada", Role: access.Admin, Source: "local"}
	apply()
	c, ok := last[common.ConfirmMsg](e)
	if !ok || c.Title != "Run base.yml anyway?" || c.TypeName != "web-01" || !strings.Contains(c.Body, "web-01 is held by "+holder) {
		t.Fatalf("an admin's second run: %+v, want an offer to run anyway naming the holder", c)
	}
	e.Msgs = nil
	e.Drive(c.OnYes)
	e.waitFor(t, "the second run opens", func() bool { o, _ := e.m.Open(); return o.ID != first.ID })
	close(r.gate)
	es, _ := e.journal.Query(audit.Query{})
	var overrode string
	for _, en := range es {
		if en.Action == playbook.ActRunAnyway.Name {
			overrode = en.Actor + ": " + en.Parameters["overrode"]
		}
	}
	if !strings.HasPrefix(overrode, "ada: web-01 ("+holder) {
		t.Fatalf("the override is journaled as %q", overrode)
	}
}

// Every binding of the pane that mutates carries its handler.
func TestMutatingBindingsHaveHandlers(t *testing.T) {
	e := setup(t, &runner{}, nil, 80, 24)
	for _, b := range e.m.Bindings() {
		if b.Mutates && b.Do == nil {
			t.Errorf("%s mutates but has no handler", b.Name)
		}
	}
}
