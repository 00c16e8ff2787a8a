package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	"charm.land/wish/v2"
	"charm.land/wish/v2/bubbletea"
	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/presence"
)

// endReason says why a session's program ended, for the line printed
// after the console closes.
type endReason int32

const (
	endNone     endReason = iota // still running, or ended by the client going away
	endQuit                      // the user quit
	endIdle                      // serve.idle_timeout passed without input
	endShutdown                  // the server is stopping
	endPanic                     // the session's model panicked
	endLimit                     // the client sent more than a session's limits allow
)

// session is one SSH session's server-side state.
type session struct {
	actor    access.Actor
	ctx      context.Context
	presence *presence.Session
	changes  <-chan struct{} // presence changes
	unsub    func()
	started  time.Time

	reason atomic.Int32
	shell  shellState // a shell on a host the session runs
	// clamped reports the size the client asked for when it was over the
	// limits; nil when the session was not served by channel.go.
	clamped func() (asked, got ssh.Window, clamped bool)

	mu      sync.Mutex
	program *tea.Program
	model   tea.Model // the console, once built
}

// close releases what the console holds beyond the program, such as
// journal feeds, when it has a Close method.
func (se *session) close() {
	se.mu.Lock()
	m := se.model
	se.mu.Unlock()
	if c, ok := m.(interface{ Close() }); ok {
		c.Close()
	}
}

type sessionKey struct{}

// send hands msg to the session's program, if it runs.
func (se *session) send(msg tea.Msg) {
	se.mu.Lock()
	p := se.program
	se.mu.Unlock()
	if p != nil {
		p.Send(msg)
	}
}

// end records why the session ends (the first reason wins) and quits its program.
func (se *session) end(r endReason) {
	se.reason.CompareAndSwap(int32(endNone), int32(r))
	se.send(tea.Quit())
}

// admit is the middleware in front of each session's program: it finds the
// actor, answers a session without a PTY (as wish's activeterm does, but
// saying who you are and how to connect), enforces serve.max_sessions,
// joins the presence and journals the session's start and end.
func (s *Server) admit(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		actor, ok := actorOf(sess.Permissions().Permissions, sess.RemoteAddr().String())
		if !ok {
			wish.Fatalln(sess, "vigil: this connection has no identity; connect with a public key listed in serve.users")
			return
		}
		pty, _, hasPTY := sess.Pty()
		if !hasPTY {
			s.metrics.sessionsOpen.WithLabelValues("no_pty").Inc()
			wish.Print(sess, s.noPTYText(sess, actor))
			_ = sess.Exit(1)
			return
		}
		if len(sess.Command()) > 0 {
			wish.Fatalln(sess, "vigil: this server runs the console only, not commands: connect without one, as in ssh -t HOST")
			return
		}
		se, err := s.join(sess, actor)
		if err != nil {
			s.metrics.sessionsOpen.WithLabelValues("full").Inc()
			wish.Fatalln(sess, "vigil: "+err.Error())
			return
		}
		defer s.leave(se)
		if cs, ok := sess.(*channelSession); ok {
			se.clamped = cs.clamped
		}
		s.metrics.sessionsOpen.WithLabelValues("opened").Inc()
		s.log.Info("session opened", "actor", actor.Name, "role", actor.Role, "key", actor.KeyFingerprint,
			"address", actor.Address, "term", pty.Term, "width", pty.Window.Width, "height", pty.Window.Height)
		s.record(se, "session.open", map[string]string{"address": actor.Address, "term": pty.Term})

		sess.Context().SetValue(sessionKey{}, se)
		next(sess)
		se.close()

		reason := endReason(se.reason.Load())
		if reason == endNone && se.ctx.Err() == nil {
			// The program stopped by itself without a quit: Bubble Tea
			// caught a panic in one of the session's commands.
			reason = endPanic
		}
		if text := endText(reason, s.opts.Serve.IdleTimeout.String()); text != "" {
			wish.Print(sess, text)
		}
		s.record(se, "session.close", map[string]string{"address": actor.Address, "reason": reason.String()})
		s.log.Info("session closed", "actor", actor.Name, "address", actor.Address, "reason", reason.String())
		if reason != endQuit && reason != endNone {
			_ = sess.Exit(1)
		}
	}
}

// join admits a session unless the server is full or stopping.
func (s *Server) join(sess ssh.Session, actor access.Actor) (*session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return nil, fmt.Errorf("the server is shutting down; connect again in a moment")
	}
	if max := s.opts.Serve.MaxSessions; max > 0 && len(s.live) >= max {
		return nil, fmt.Errorf("the server already has %d sessions, its limit (serve.max_sessions); try again later", max)
	}
	ps := s.pres.Join(actor)
	changes, unsub := s.pres.Subscribe()
	se := &session{
		actor:    actor,
		ctx:      presence.WithSession(sess.Context(), ps),
		presence: ps,
		changes:  changes,
		unsub:    unsub,
		started:  s.opts.Services.Now(),
	}
	s.live[se] = struct{}{}
	s.metrics.sessions.Set(float64(len(s.live)))
	return se, nil
}

func (s *Server) leave(se *session) {
	se.unsub()
	se.presence.Leave()
	s.mu.Lock()
	delete(s.live, se)
	s.metrics.sessions.Set(float64(len(s.live)))
	s.metrics.sessionTime.Observe(s.opts.Services.Now().Sub(se.started).Seconds())
	s.drainedLocked()
	s.mu.Unlock()
	s.trim.ended()
}

// record journals a session event; a journal error is logged, since the
// session itself goes on.
func (s *Server) record(se *session, action string, params map[string]string) {
	j := s.opts.Services.Journal
	if j == nil {
		return
	}
	if err := j.Record(context.Background(), se.actor, action, "ssh", params, nil); err != nil {
		s.log.Error("journal", "action", action, "actor", se.actor.Name, "err", err)
	}
}

// program builds the session's Bubble Tea program for wish's middleware.
func (s *Server) program(sess ssh.Session) *tea.Program {
	se, ok := sess.Context().Value(sessionKey{}).(*session)
	if !ok {
		return nil
	}
	pty, _, _ := sess.Pty()
	noColor := false
	for _, kv := range sess.Environ() {
		noColor = noColor || strings.HasPrefix(kv, "NO_COLOR=") && kv != "NO_COLOR="
	}
	input := newInputSwitch()
	inner := s.opts.NewModel(Session{Actor: se.actor, NoColor: noColor, Context: context.WithoutCancel(se.ctx), Presence: se.presence,
		Shell: sessionShell(sess, input, &se.shell, s.opts.Services.Now)})
	m := newModel(inner, se, s.pres, s.opts.Serve.IdleTimeout, s.opts.Services.Now, s.log)
	opts := append(bubbletea.MakeOptions(sess),
		// The server handles signals; a program must not quit on SIGTERM by itself.
		tea.WithoutSignalHandler(),
		// Replaces MakeOptions' filter, and keeps what it does: there is no
		// suspending a remote session.
		tea.WithFilter(func(_ tea.Model, msg tea.Msg) tea.Msg {
			switch msg.(type) {
			case tea.WindowSizeMsg:
				// Sizes reach the program from two goroutines (Bubble Tea's
				// initial one, taken when the session started, and wish's
				// window changes) in no set order: each carries the size
				// the client asked last, so a stale one never wins.
				if now, _, ok := sess.Pty(); ok {
					return tea.WindowSizeMsg{Width: now.Window.Width, Height: now.Window.Height}
				}
			case tea.SuspendMsg:
				return tea.ResumeMsg{}
			case tea.QuitMsg:
				if se.ctx.Err() == nil { // not the middleware quitting a disconnected session
					se.reason.CompareAndSwap(int32(endNone), int32(endQuit))
				}
			}
			return msg
		}),
	)
	// The session's input is read here, not by the program: see readInput.
	opts = append(opts, tea.WithInput(nil))
	env := uv.Environ(append(sess.Environ(), "TERM="+pty.Term))
	if querySyncOutput(env) {
		// What the program sends at start-up when it reads its own input.
		m.startup = tea.Raw(ansi.RequestModeSynchronizedOutput + ansi.RequestModeUnicodeCore)
	}
	p := tea.NewProgram(m, opts...)
	se.mu.Lock()
	se.program, se.model = p, inner
	se.mu.Unlock()
	go input.pump(sess)
	go readInput(input.reader, pty.Term, p, se)
	return p
}

// readInput reads the session's keys and hands them to its program. The
// program can read its input itself, but its reader (ultraviolet's
// TerminalReader) sends each event on the program's channel without
// watching for the program's end: a key typed as the session quits blocks
// that goroutine forever, and it holds the whole session in memory.
// Program.Send gives up once the program has ended, so here nothing waits
// on a program that is gone; the program translates the events itself.
func readInput(r io.Reader, term string, p *tea.Program, se *session) {
	events := make(chan uv.Event)
	errc := make(chan error, 1)
	go func() {
		defer close(events)
		// Ends when the channel does: reading it then fails.
		errc <- uv.NewTerminalReader(r, term).StreamEvents(context.Background(), events)
	}()
	for ev := range events {
		p.Send(ev)
	}
	if err := <-errc; errors.Is(err, errPasteTooLarge) {
		se.end(endLimit)
	}
}

// querySyncOutput is Bubble Tea's test (tea.go, shouldQuerySynchronizedOutput)
// for asking the terminal whether it supports synchronized output.
func querySyncOutput(env uv.Environ) bool {
	term := env.Getenv("TERM")
	prog, hasProg := env.LookupEnv("TERM_PROGRAM")
	_, sshTTY := env.LookupEnv("SSH_TTY")
	_, wt := env.LookupEnv("WT_SESSION")
	return (!hasProg && !sshTTY) || wt || (hasProg && !strings.Contains(prog, "Apple") && !sshTTY) ||
		strings.Contains(term, "ghostty") || strings.Contains(term, "wezterm") || strings.Contains(term, "alacritty") ||
		strings.Contains(term, "kitty") || strings.Contains(term, "rio")
}

// noPTYText answers `ssh host` without -t: who you are and how to connect.
func (s *Server) noPTYText(sess ssh.Session, a access.Actor) string {
	host, port, err := net.SplitHostPort(sess.LocalAddr().String())
	if err != nil {
		host, port = sess.LocalAddr().String(), "22"
	}
	return fmt.Sprintf("vigil: you are %s (%s), key %s, from %s.\r\n"+
		"vigil is an interactive console and needs a terminal: connect with\r\n"+
		"  ssh -t -p %s %s@%s\r\n", a.Name, a.Role, a.KeyFingerprint, a.Address, port, sess.User(), host)
}

func endText(r endReason, idle string) string {
	switch r {
	case endIdle:
		return "vigil: session closed after " + idle + " without input (serve.idle_timeout).\r\n"
	case endShutdown:
		return "vigil: the server is shutting down; connect again in a moment.\r\n"
	case endPanic:
		return "vigil: this session hit an internal error and was closed; the server and the other sessions go on. Connect again to continue.\r\n"
	case endLimit:
		return "vigil: this session sent a paste larger than the server accepts and was closed; the other sessions go on.\r\n"
	}
	return ""
}

func (r endReason) String() string {
	switch r {
	case endQuit:
		return "quit"
	case endIdle:
		return "idle"
	case endShutdown:
		return "shutdown"
	case endPanic:
		return "error"
	case endLimit:
		return "limit"
	}
	return "disconnected"
}
