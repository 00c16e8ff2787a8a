package runs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/vigilops/vigil/ops/playbook"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
)

// startTimeout bounds starting a run (it goes on after); eventsTimeout a
// read of the results.
const (
	startTimeout  = 30 * time.Second
	eventsTimeout = 10 * time.Second
)

// playbooksMsg carries the playbook directory's listing, for the run prompt.
type playbooksMsg struct {
	names []string
	err   error
}

// startedMsg is the outcome of starting a run.
type startedMsg struct {
	what string
	req  playbook.Request // the request, for a run anyway; zero for a rerun
	id   string
	err  error
}

// eventsMsg carries a run's results for the drill-down.
type eventsMsg struct {
	run    string
	filter int
	events []playbook.Event
	err    error
}

// askRun lists the playbooks, then opens the run prompt.
func (m *Model) askRun() tea.Cmd {
	svc := m.svc
	return func() tea.Msg {
		names, err := svc.Playbooks()
		return playbooksMsg{names: names, err: err}
	}
}

func (m *Model) onPlaybooks(msg playbooksMsg) tea.Cmd {
	if msg.err != nil {
		return common.ToastCmd(common.Error, msg.err.Error())
	}
	if len(msg.names) == 0 {
		return common.ToastCmd(common.Error, "no playbook (*.yml) in ansible.playbook_dir")
	}
	value := m.lastRun(msg.names)
	if m.target != "" {
		// The Inventory's hosts, with the playbook run last.
		value = strings.Fields(value)[0] + " " + m.target + " "
		m.target = ""
	}
	hint := "TARGET: all (default), tag:NAME, group:NAME or hosts:A,B · check: --check --diff instead of applying · KEY=VALUE: extra vars · playbooks: " +
		strings.Join(msg.names, ", ")
	return m.Ask("Run: PLAYBOOK [TARGET] [check] [KEY=VALUE…]", hint, value, false, func(s string) tea.Cmd {
		req, err := ParseRequest(strings.Fields(s))
		if err != nil {
			return common.ToastCmd(common.Error, err.Error())
		}
		m.last = strings.Join(strings.Fields(s), " ")
		return m.Start(req)
	})
}

// lastRun is the prompt's first value: the run last asked for in this
// session, else the playbook and target of the actor's newest run, else the
// first playbook on all hosts. A playbook no longer there is not offered.
func (m *Model) lastRun(names []string) string {
	if f := strings.Fields(m.last); len(f) > 0 && slices.Contains(names, f[0]) {
		return m.last + " "
	}
	for _, r := range m.svc.Runs() {
		if r.Actor == m.Ctx.Actor.String() && slices.Contains(names, r.Playbook) {
			return r.Playbook + " " + targetArg(r.Target) + " "
		}
	}
	return names[0] + " "
}

// targetArg is t as the prompt takes it.
func targetArg(t playbook.Target) string {
	switch t.Kind {
	case playbook.TargetTag, playbook.TargetGroup:
		return string(t.Kind) + ":" + t.Name
	case playbook.TargetHosts:
		return "hosts:" + strings.Join(t.Hosts, ",")
	}
	return "all"
}

// ParseRequest reads `PLAYBOOK [TARGET] [check|apply] [KEY=VALUE…]`, with
// TARGET one of all, tag:NAME, group:NAME or hosts:A,B.
func ParseRequest(args []string) (playbook.Request, error) {
	if len(args) == 0 {
		return playbook.Request{}, errors.New("give a playbook: PLAYBOOK [TARGET] [check] [KEY=VALUE…]")
	}
	req := playbook.Request{Playbook: args[0], Target: playbook.Target{Kind: playbook.TargetAll}, Mode: playbook.Apply}
	for _, a := range args[1:] {
		kind, val, _ := strings.Cut(a, ":")
		switch {
		case a == "all":
			req.Target = playbook.Target{Kind: playbook.TargetAll}
		case a == "check" || a == "apply":
			req.Mode = playbook.Mode(a)
		case strings.Contains(a, "=") && !strings.HasPrefix(a, "="):
			k, v, _ := strings.Cut(a, "=")
			if req.ExtraVars == nil {
				req.ExtraVars = map[string]string{}
			}
			req.ExtraVars[k] = v
		case val != "" && (kind == "tag" || kind == "group"):
			req.Target = playbook.Target{Kind: playbook.TargetKind(kind), Name: val}
		case val != "" && kind == "hosts":
			req.Target = playbook.Target{Kind: playbook.TargetHosts, Hosts: strings.Split(val, ",")}
		default:
			return playbook.Request{}, fmt.Errorf("%q is not a target (all, tag:NAME, group:NAME, hosts:A,B), a mode (check, apply) or KEY=VALUE", a)
		}
	}
	return req, nil
}

// Start runs a playbook; applying changes servers, so it asks first.
func (m *Model) Start(req playbook.Request) tea.Cmd {
	svc, actor, base := m.svc, m.Ctx.Actor, m.Ctx.Base
	req.VaultPassword, req.BecomePassword = m.vault, m.become
	what := fmt.Sprintf("%s %s on %s", req.Mode, req.Playbook, req.Target)
	run := func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, startTimeout)
		defer cancel()
		id, err := svc.Start(ctx, actor, req)
		return startedMsg{what: what, req: req, id: id, err: err}
	}
	if req.Mode == playbook.Check || len(req.Anyway) > 0 {
		return run
	}
	if !m.Ctx.MayAct() {
		return common.ToastCmd(common.Error, "applying a playbook is not allowed in this session (read-only, or viewer role): run it in check mode")
	}
	body := "Ansible changes the servers of " + req.Target.String() + "."
	if len(req.ExtraVars) > 0 {
		body += "\nExtra vars: " + vars(req.ExtraVars)
	}
	return func() tea.Msg { return common.ConfirmMsg{Title: "Apply " + req.Playbook + "?", Body: body, OnYes: run} }
}

func vars(v map[string]string) string {
	out := make([]string, 0, len(v))
	for k, x := range v {
		out = append(out, k+"="+x)
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// RerunFailed runs r's playbook again on its failed hosts, after asking.
func (m *Model) RerunFailed(r playbook.Run) tea.Cmd {
	failed := r.FailedHosts()
	switch {
	case r.State == playbook.Running:
		return common.ToastCmd(common.Info, "run "+r.ID+" is still running: wait for it, or cancel it first")
	case len(failed) == 0:
		return common.ToastCmd(common.Info, "run "+r.ID+" has no failed host to rerun")
	}
	svc, actor, base, vault, become := m.svc, m.Ctx.Actor, m.Ctx.Base, m.vault, m.become
	what := "rerun of " + r.Playbook + " on " + strings.Join(failed, ", ")
	run := func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, startTimeout)
		defer cancel()
		id, err := svc.RerunFailed(ctx, actor, r.ID, vault, become)
		return startedMsg{what: what, id: id, err: err}
	}
	if r.Mode == playbook.Check {
		return run
	}
	return func() tea.Msg {
		return common.ConfirmMsg{Title: "Rerun " + r.Playbook + " on the failed hosts?",
			Body: "Applies " + r.Playbook + " again on: " + strings.Join(failed, ", "), OnYes: run}
	}
}

// onStarted opens the new run, followed live.
func (m *Model) onStarted(msg startedMsg) tea.Cmd {
	var busy *playbook.HostBusyError
	if errors.As(msg.err, &busy) && msg.req.Playbook != "" && m.Ctx.Actor.Role.AtLeast(playbook.ActRunAnyway.MinRole) && m.Ctx.MayAct() {
		// An admin decides: the holder is named, and the override journaled.
		req := msg.req
		req.Anyway = append(slices.Clone(req.Anyway), busy.Host) // the host its dialog names
		return func() tea.Msg {
			return common.ConfirmMsg{Title: "Run " + req.Playbook + " anyway?",
				Body: busy.Host + " is held by " + busy.Holder + ".\nTwo runs on one host can interleave their changes. " +
					"Running anyway is journaled with the run it overrides.",
				TypeName: busy.Host, OnYes: m.Start(req)}
		}
	}
	if msg.err != nil {
		return common.ToastCmd(common.Error, msg.what+": "+msg.err.Error())
	}
	m.runs = m.svc.Runs()
	m.history.SetRows(m.runs)
	m.history.Select(msg.id)
	m.openRun(msg.id)
	return common.ToastCmd(common.Info, msg.what+": started")
}

// CancelRun interrupts a live run.
func (m *Model) CancelRun(id string) tea.Cmd {
	svc, actor, base := m.svc, m.Ctx.Actor, m.Ctx.Base
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, startTimeout)
		defer cancel()
		if err := svc.Cancel(ctx, actor, id); err != nil {
			return common.ToastMsg{Level: common.Error, Text: "cancel: " + err.Error()}
		}
		return common.ToastMsg{Level: common.Info, Text: "run " + id + " interrupted: Ansible is cleaning up"}
	}
}

// askPassword opens a masked prompt whose text replaces *dst.
func (m *Model) askPassword(label string, dst *[]byte) tea.Cmd {
	return m.Ask(label, "kept in this session's memory only; never written to disk, logs or the journal", "", true,
		func(s string) tea.Cmd {
			clear(*dst)
			*dst = nil
			if s != "" {
				*dst = []byte(s)
			}
			return nil
		})
}

// eventMsg carries one result, whole, for its detail view.
type eventMsg struct {
	run   string
	event playbook.Event
	err   error
}

// eventPage is how many results a read of the history returns; listMsg
// how much of a result's message the list keeps.
const (
	eventPage = 200
	listMsg   = 200
)

// withTimeout runs read in the background and gives up after eventsTimeout.
func withTimeout[T any](read func() T, late func(error) T) T {
	done := make(chan T, 1)
	go func() { done <- read() }()
	select {
	case v := <-done:
		return v
	case <-time.After(eventsTimeout):
		return late(fmt.Errorf("the run history did not answer within %s", eventsTimeout))
	}
}

// loadEvents reads the open run's results with the current filter, page by
// page, keeping them without their outputs.
func (m *Model) loadEvents() tea.Cmd {
	svc, id, f, idx := m.svc, m.open.ID, results[m.filter].filter, m.filter
	m.loading = true
	return func() tea.Msg {
		return withTimeout(func() eventsMsg {
			var out []playbook.Event
			for from := 0; len(out) < MaxEvents; {
				page, err := svc.Events(id, f, from, min(eventPage, MaxEvents-len(out)))
				if err != nil {
					return eventsMsg{run: id, filter: idx, events: out, err: err}
				}
				for _, e := range page {
					e.Stdout, e.Stderr, e.Diff = "", "", ""
					if line, _, _ := strings.Cut(e.Msg, "\n"); len(line) > listMsg || line != e.Msg {
						e.Msg = strings.Clone(line[:min(len(line), listMsg)])
					}
					out = append(out, e)
				}
				if len(page) < eventPage {
					break
				}
				from = page[len(page)-1].Seq + 1
			}
			return eventsMsg{run: id, filter: idx, events: out}
		}, func(err error) eventsMsg { return eventsMsg{run: id, filter: idx, err: err} })
	}
}

// loadEvent reads the result at seq, whole.
func (m *Model) loadEvent(seq int) tea.Cmd {
	svc, id := m.svc, m.open.ID
	return func() tea.Msg {
		return withTimeout(func() eventMsg {
			evs, err := svc.Events(id, playbook.Filter{}, seq, 1)
			if err == nil && (len(evs) == 0 || evs[0].Seq != seq) {
				err = fmt.Errorf("result %d of run %s is not in the history", seq, id)
			}
			if err != nil {
				return eventMsg{run: id, err: err}
			}
			return eventMsg{run: id, event: evs[0]}
		}, func(err error) eventMsg { return eventMsg{run: id, err: err} })
	}
}

// Commands are the pane's palette commands.
func (m *Model) Commands() []components.Spec {
	runIDs := func(int) []string {
		out := make([]string, len(m.runs))
		for i, r := range m.runs {
			out[i] = r.ID
		}
		return out
	}
	find := func(args []string) (playbook.Run, error) {
		if len(args) == 0 {
			if r, ok := m.current(); ok {
				return r, nil
			}
			return playbook.Run{}, errors.New("no run: give its id")
		}
		// The pane's list, not the history: palette commands run in Update.
		if i := slices.IndexFunc(m.runs, func(r playbook.Run) bool { return r.ID == args[0] }); i >= 0 {
			return m.runs[i], nil
		}
		return playbook.Run{}, fmt.Errorf("no run %s among the %d recent runs", args[0], len(m.runs))
	}
	return []components.Spec{
		{Name: "run", Args: "PLAYBOOK [TARGET] [check] [KEY=VALUE…]", Help: "run a playbook: TARGET all, tag:NAME, group:NAME or hosts:A,B",
			Run: func(args []string) (tea.Cmd, error) {
				req, err := ParseRequest(args)
				if err != nil {
					return nil, err
				}
				return m.Start(req), nil
			}},
		{Name: "rerun-failed", Args: "[RUN]", Help: "run a run's playbook again on its failed hosts", Complete: runIDs,
			Run: func(args []string) (tea.Cmd, error) {
				r, err := find(args)
				if err != nil {
					return nil, err
				}
				return m.RerunFailed(r), nil
			}},
		{Name: "cancel-run", Args: "[RUN]", Help: "interrupt a running playbook", Complete: runIDs,
			Run: func(args []string) (tea.Cmd, error) {
				r, err := find(args)
				if err != nil {
					return nil, err
				}
				return m.CancelRun(r.ID), nil
			}},
	}
}
