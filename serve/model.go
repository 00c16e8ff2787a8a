package serve

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"

	"github.com/vigilops/vigil/ops/presence"
	"github.com/vigilops/vigil/ui/app"
	"github.com/vigilops/vigil/ui/common"
)

// Messages the server sends a session's model.
type (
	// presenceMsg says the presence changed.
	presenceMsg struct{}
	// idleCheckMsg asks the model whether the session has been idle too long.
	idleCheckMsg struct{}
	// shutdownMsg warns that the server is stopping.
	shutdownMsg struct{}
)

// model wraps a session's console. It keeps the presence up to date (the
// pane in focus; who else is here, as a presence.Snapshot message for the
// console and as toasts), closes the session after serve.idle_timeout
// without input, and turns a panic into the end of this session only.
type model struct {
	inner tea.Model
	se    *session
	reg   *presence.Registry
	idle  time.Duration
	now   func() time.Time
	log   *slog.Logger

	lastInput time.Time
	pane      string
	seen      map[uint64]presence.Entry // the others, at the last snapshot
	crashed   bool
	told      ssh.Window // the oversized window the user was last told about
	startup   tea.Cmd    // terminal queries to send at start
}

func newModel(inner tea.Model, se *session, reg *presence.Registry, idle time.Duration, now func() time.Time, log *slog.Logger) *model {
	return &model{inner: inner, se: se, reg: reg, idle: idle, now: now, log: log, lastInput: now()}
}

func (m *model) Init() (cmd tea.Cmd) {
	defer m.recover(&cmd)
	cmd = m.inner.Init()
	m.look()
	return tea.Batch(cmd, m.startup, func() tea.Msg { return presenceMsg{} }, m.idleCmd(m.idle))
}

func (m *model) Update(msg tea.Msg) (out tea.Model, cmd tea.Cmd) {
	if m.crashed {
		return m, nil
	}
	// After a panic the program still renders once: it needs the model.
	defer func() { out = m }()
	defer m.recover(&cmd)
	switch msg := msg.(type) {
	case presenceMsg:
		return m, tea.Batch(m.presence(), m.waitPresence())
	case idleCheckMsg:
		if m.idle <= 0 {
			return m, nil
		}
		if m.se.shell.running.Load() {
			return m, m.idleCmd(m.idle) // in a shell on a host, not idle
		}
		last := m.lastInput
		if end := m.se.shell.ended(); end.After(last) {
			last = end
		}
		if left := m.idle - m.now().Sub(last); left > 0 {
			return m, m.idleCmd(left)
		}
		m.se.reason.CompareAndSwap(int32(endNone), int32(endIdle))
		return m, tea.Quit
	case shutdownMsg:
		return m.forward(common.ToastMsg{Level: common.Error, Text: "vigil is shutting down: actions in progress finish first, then this session closes"})
	case tea.KeyPressMsg, tea.PasteMsg, tea.MouseClickMsg, tea.MouseWheelMsg:
		m.lastInput = m.now()
	case shellEndedMsg:
		return m.forward(msg.msg)
	case tea.WindowSizeMsg:
		return m.resized(msg)
	}
	return m.forward(msg)
}

// resized forwards a window size, and says so on screen when the client's
// terminal is larger than the server draws (Limits.MaxWidth, MaxHeight).
func (m *model) resized(msg tea.WindowSizeMsg) (tea.Model, tea.Cmd) {
	_, cmd := m.forward(msg)
	if m.se.clamped == nil {
		return m, cmd
	}
	// The size asked last, which msg may not be yet: sizes queue.
	asked, got, clamped := m.se.clamped()
	if !clamped {
		m.told = ssh.Window{}
		return m, cmd
	}
	if asked == m.told {
		return m, cmd
	}
	m.told = asked
	_, toast := m.forward(common.ToastMsg{Level: common.Info, Text: fmt.Sprintf(
		"your terminal is %d×%d: vigil draws %d×%d of it at most", asked.Width, asked.Height, got.Width, got.Height)})
	return m, tea.Batch(cmd, toast)
}

// forward hands msg to the console and reports the pane it then shows.
func (m *model) forward(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	m.inner, cmd = m.inner.Update(msg)
	m.look()
	return m, cmd
}

func (m *model) View() (v tea.View) {
	if m.crashed {
		return tea.NewView("")
	}
	defer func() {
		if r := recover(); r != nil {
			m.crash(r)
			v = tea.NewView("")
			// View runs on the program's event loop, which Send would
			// wait on: quit from another goroutine.
			go m.se.send(tea.Quit())
		}
	}()
	return m.inner.View()
}

// recover turns a panic of the console into the end of this session.
func (m *model) recover(cmd *tea.Cmd) {
	if r := recover(); r != nil {
		m.crash(r)
		*cmd = tea.Quit
	}
}

func (m *model) crash(r any) {
	m.crashed = true
	m.se.reason.CompareAndSwap(int32(endNone), int32(endPanic))
	m.log.Error("session panicked; closing it", "actor", m.se.actor.Name, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
}

// look reports the console's pane in focus to the presence.
func (m *model) look() {
	c, ok := m.inner.(interface{ Pane() app.Pane })
	if !ok {
		return
	}
	p := c.Pane()
	if p == nil {
		return
	}
	if t := p.Title(); t != m.pane {
		m.pane = t
		m.se.presence.Look(t)
	}
}

// presence hands the console the current snapshot, and toasts who joined,
// who left and who started an action since the last one: one toast for
// the joins and one for the departures, however many there were.
func (m *model) presence() tea.Cmd {
	snap := m.reg.Snapshot(m.se.presence.ID())
	others := snap.Others()
	var joined, left, news []string
	first := m.seen == nil
	if first {
		m.seen = map[uint64]presence.Entry{}
	}
	now := map[uint64]bool{}
	for _, e := range others {
		now[e.ID] = true
		prev, ok := m.seen[e.ID]
		switch {
		case !ok:
			joined = append(joined, who(e))
		case e.Doing() != "" && e.Doing() != prev.Doing():
			news = append(news, e.Doing())
		}
	}
	for id, e := range m.seen {
		if !now[id] {
			left = append(left, e.Actor.Name)
		}
	}
	slices.Sort(left)
	switch {
	case first && len(joined) > 0:
		news = append(news, "also here: "+names(joined))
	case len(joined) > 0:
		news = append(news, names(joined)+" joined")
	}
	if len(left) > 0 {
		news = append(news, names(left)+" left")
	}
	clear(m.seen)
	for _, e := range others {
		m.seen[e.ID] = e
	}
	_, cmd := m.forward(snap)
	cmds := []tea.Cmd{cmd}
	for _, n := range news {
		_, c := m.forward(common.ToastMsg{Level: common.Info, Text: n})
		cmds = append(cmds, c)
	}
	return tea.Batch(cmds...)
}

// names lists a few names and counts the rest: "a, b, c and 4 others".
func names(list []string) string {
	const shown = 3
	if len(list) <= shown {
		return strings.Join(list, ", ")
	}
	return fmt.Sprintf("%s and %d others", strings.Join(list[:shown], ", "), len(list)-shown)
}

func who(e presence.Entry) string {
	s := e.Actor.Name + " (" + string(e.Actor.Role)
	if e.Pane != "" {
		s += ", on " + e.Pane
	}
	return s + ")"
}

// waitPresence waits for the next presence change, or the session's end:
// no goroutine outlives a session for long.
func (m *model) waitPresence() tea.Cmd {
	changes, done := m.se.changes, m.se.ctx.Done()
	return func() tea.Msg {
		select {
		case _, ok := <-changes:
			if !ok { // the session left the presence
				return nil
			}
			return presenceMsg{}
		case <-done:
			return nil
		}
	}
}

// idleCmd checks for idleness after d, or gives up when the session ends.
func (m *model) idleCmd(d time.Duration) tea.Cmd {
	if m.idle <= 0 {
		return nil
	}
	done := m.se.ctx.Done()
	return func() tea.Msg {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return idleCheckMsg{}
		case <-done:
			return nil
		}
	}
}
