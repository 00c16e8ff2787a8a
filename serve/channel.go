package serve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"time"

	"charm.land/ssh"
	"github.com/anmitsu/go-shlex"
	gossh "golang.org/x/crypto/ssh"
)

// vigil serves "session" channels itself instead of through charm.land/ssh's
// DefaultSessionHandler (v0.4.3), whose request loop has two faults that a
// client can reach (upstream charmbracelet/ssh issue 58):
//   - window-change writes the Pty's Window while the handler's Pty() copies
//     it, a data race;
//   - window-change sends on a channel of one slot that nobody reads once the
//     program has ended, so a resize as a session quits blocks the request
//     loop forever and leaks the whole session.
//
// Here the request loop is the only writer of the window, under a mutex, and
// hands it over through a one-slot mailbox that keeps only the latest size: a
// resize never blocks. Sizes are clamped, env requests bounded, and every
// other request (agent forwarding, subsystems, X11) refused.

// channelSession is one SSH session channel; it implements ssh.Session for
// wish's middlewares.
type channelSession struct {
	gossh.Channel
	conn   *gossh.ServerConn
	ctx    *sessionContext
	srv    *Server
	limits Limits
	input  pasteGuard

	// Written by the request loop before the handler starts, read after.
	env      []string
	envBytes int
	rawCmd   string
	started  bool

	winch chan ssh.Window // the latest size not yet taken; one slot

	mu     sync.Mutex
	pty    *ssh.Pty
	asked  ssh.Window // the size the client asked for, before clamping
	exited bool
	sigCh  chan<- ssh.Signal
	brkCh  chan<- bool
}

// sessionChannel is the ssh.ChannelHandler for "session" channels.
func (s *Server) sessionChannel(srv *ssh.Server, conn *gossh.ServerConn, nc gossh.NewChannel, ctx ssh.Context) {
	tc, _ := ctx.Value(connKey{}).(*trackedConn)
	if tc != nil && !tc.openChannel(s.opts.Limits.MaxChannels) {
		_ = nc.Reject(gossh.ResourceShortage, fmt.Sprintf("at most %d sessions on one connection", s.opts.Limits.MaxChannels))
		return
	}
	if tc != nil {
		defer tc.closeChannel()
	}
	ch, reqs, err := nc.Accept()
	if err != nil {
		return
	}
	sctx, cancel := newSessionContext(ctx)
	defer cancel() // the channel is gone: the session's context ends
	cs := &channelSession{Channel: ch, conn: conn, ctx: sctx, srv: s, limits: s.opts.Limits, winch: make(chan ssh.Window, 1)}
	cs.input.max = s.opts.Limits.MaxPaste
	for req := range reqs {
		ok := false
		switch req.Type {
		case "pty-req":
			ok = cs.ptyRequest(req.Payload)
		case "window-change":
			ok = cs.windowChange(req.Payload)
		case "env":
			ok = cs.setenv(req.Payload)
		case "shell", "exec":
			if ok = cs.command(req.Type, req.Payload); ok {
				_ = req.Reply(true, nil)
				if tc != nil {
					tc.consoleStarted()
				}
				go cs.run(srv.Handler, tc)
				continue
			}
		case "signal":
			cs.signal(req.Payload)
		case "break":
			ok = cs.brk()
		}
		_ = req.Reply(ok, nil)
	}
}

// run runs the middlewares for the session, then closes it.
func (cs *channelSession) run(h ssh.Handler, tc *trackedConn) {
	if tc != nil {
		defer tc.consoleEnded()
	}
	defer func() {
		if r := recover(); r != nil {
			cs.srv.log.Error("panic in session handler", "panic", fmt.Sprint(r))
			_ = cs.Exit(1)
		}
	}()
	h(cs)
	_ = cs.Exit(0)
}

// clamp bounds a window to the limits, and reports whether it had to.
func (l Limits) clamp(w ssh.Window) (ssh.Window, bool) {
	out := w
	out.Width, out.Height = min(max(w.Width, 0), l.MaxWidth), min(max(w.Height, 0), l.MaxHeight)
	// Pixel sizes are only passed on, never allocated; keep them sane anyway.
	out.WidthPixels, out.HeightPixels = min(max(w.WidthPixels, 0), 1<<16), min(max(w.HeightPixels, 0), 1<<16)
	return out, out.Width != w.Width || out.Height != w.Height
}

type wireWindow struct{ Columns, Rows, WidthPx, HeightPx uint32 }

func (w wireWindow) window() ssh.Window {
	// uint32 may not fit an int on 32-bit machines; clamp first.
	c := func(v uint32) int { return int(min(v, 1<<30)) }
	return ssh.Window{Width: c(w.Columns), Height: c(w.Rows), WidthPixels: c(w.WidthPx), HeightPixels: c(w.HeightPx)}
}

func (cs *channelSession) ptyRequest(payload []byte) bool {
	var req struct {
		Term                             string
		Columns, Rows, WidthPx, HeightPx uint32
		Modes                            string
	}
	if cs.started || cs.pty != nil || gossh.Unmarshal(payload, &req) != nil || len(req.Term) > 256 {
		return false
	}
	asked := wireWindow{req.Columns, req.Rows, req.WidthPx, req.HeightPx}.window()
	win, _ := cs.limits.clamp(asked)
	cs.mu.Lock()
	cs.pty = &ssh.Pty{Term: req.Term, Window: win}
	cs.asked = asked
	cs.mu.Unlock()
	cs.winch <- win // the slot is empty: nothing was sent before the PTY
	return true
}

func (cs *channelSession) windowChange(payload []byte) bool {
	var req wireWindow
	if gossh.Unmarshal(payload, &req) != nil {
		return false
	}
	win, _ := cs.limits.clamp(req.window())
	cs.mu.Lock()
	if cs.pty == nil {
		cs.mu.Unlock()
		return false
	}
	cs.pty.Window, cs.asked = win, req.window()
	cs.mu.Unlock()
	// Keep only the latest size: replace what the reader has not taken.
	// The request loop is the only sender, so this ends in two rounds.
	for {
		select {
		case cs.winch <- win:
			return true
		default:
		}
		select {
		case <-cs.winch:
		default:
		}
	}
}

// setenv takes an env request within the limits: a client cannot make the
// server hold more than MaxEnv variables of MaxEnvBytes in all.
func (cs *channelSession) setenv(payload []byte) bool {
	var kv struct{ Key, Value string }
	if cs.started || gossh.Unmarshal(payload, &kv) != nil {
		return false
	}
	n := len(kv.Key) + len(kv.Value) + 1
	if len(cs.env) >= cs.limits.MaxEnv || cs.envBytes+n > cs.limits.MaxEnvBytes {
		return false
	}
	cs.env = append(cs.env, kv.Key+"="+kv.Value)
	cs.envBytes += n
	return true
}

func (cs *channelSession) command(kind string, payload []byte) bool {
	if cs.started {
		return false
	}
	if kind == "exec" {
		var p struct{ Value string }
		if gossh.Unmarshal(payload, &p) != nil {
			return false
		}
		cs.rawCmd = p.Value
	}
	cs.started = true
	return true
}

func (cs *channelSession) signal(payload []byte) {
	var p struct{ Signal string }
	if gossh.Unmarshal(payload, &p) != nil {
		return
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.sigCh != nil {
		select { // never block the request loop on a slow reader
		case cs.sigCh <- ssh.Signal(p.Signal):
		default:
		}
	}
}

func (cs *channelSession) brk() bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.brkCh == nil {
		return false
	}
	select {
	case cs.brkCh <- true:
		return true
	default:
		return false
	}
}

// clamped reports the size the client last asked for and the size it got,
// and whether that had to be clamped.
func (cs *channelSession) clamped() (asked, got ssh.Window, clamped bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	got, clamped = cs.limits.clamp(cs.asked)
	return cs.asked, got, clamped
}

// The rest implements ssh.Session.

func (cs *channelSession) Read(p []byte) (int, error) {
	n, err := cs.Channel.Read(p)
	if n > 0 && !cs.input.take(p[:n]) {
		return 0, errPasteTooLarge
	}
	return n, err
}

var errPasteTooLarge = errors.New("a paste over the session's limit")

func (cs *channelSession) Write(p []byte) (int, error) {
	if cs.hasPty() {
		return ssh.NewPtyWriter(cs.Channel).Write(p)
	}
	return cs.Channel.Write(p)
}

func (cs *channelSession) Stderr() io.ReadWriter {
	if cs.hasPty() {
		return ssh.NewPtyReadWriter(cs.Channel.Stderr())
	}
	return cs.Channel.Stderr()
}

func (cs *channelSession) hasPty() bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.pty != nil
}

func (cs *channelSession) User() string         { return cs.conn.User() }
func (cs *channelSession) RemoteAddr() net.Addr { return cs.conn.RemoteAddr() }
func (cs *channelSession) LocalAddr() net.Addr  { return cs.conn.LocalAddr() }
func (cs *channelSession) Environ() []string    { return slices.Clone(cs.env) }
func (cs *channelSession) RawCommand() string   { return cs.rawCmd }
func (cs *channelSession) Subsystem() string    { return "" }
func (cs *channelSession) Context() ssh.Context { return cs.ctx }
func (cs *channelSession) EmulatedPty() bool    { return cs.hasPty() }
func (cs *channelSession) Permissions() ssh.Permissions {
	return *cs.ctx.Permissions()
}

func (cs *channelSession) Command() []string {
	cmd, _ := shlex.Split(cs.rawCmd, true)
	return cmd
}

func (cs *channelSession) PublicKey() ssh.PublicKey {
	k, _ := cs.ctx.Value(ssh.ContextKeyPublicKey).(ssh.PublicKey)
	return k
}

func (cs *channelSession) Pty() (ssh.Pty, <-chan ssh.Window, bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.pty == nil {
		return ssh.Pty{}, cs.winch, false
	}
	return *cs.pty, cs.winch, true
}

func (cs *channelSession) Signals(c chan<- ssh.Signal) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.sigCh = c
}

func (cs *channelSession) Break(c chan<- bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.brkCh = c
}

func (cs *channelSession) Exit(code int) error {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.exited {
		return errors.New("session already exited")
	}
	cs.exited = true
	status := struct{ Status uint32 }{uint32(code)}
	_, err := cs.SendRequest("exit-status", false, gossh.Marshal(&status))
	return errors.Join(err, cs.Close())
}

// sessionContext is a session's own context inside its connection's: it
// ends with the channel, and values set on it (the session's state) belong
// to this session, not to the others on the same connection.
type sessionContext struct {
	ssh.Context
	ctx context.Context

	mu     sync.Mutex
	values map[any]any
}

func newSessionContext(parent ssh.Context) (*sessionContext, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	return &sessionContext{Context: parent, ctx: ctx, values: map[any]any{}}, cancel
}

func (c *sessionContext) Done() <-chan struct{}                   { return c.ctx.Done() }
func (c *sessionContext) Err() error                              { return c.ctx.Err() }
func (c *sessionContext) Deadline() (deadline time.Time, ok bool) { return c.ctx.Deadline() }

func (c *sessionContext) Value(key any) any {
	c.mu.Lock()
	v, ok := c.values[key]
	c.mu.Unlock()
	if ok {
		return v
	}
	return c.Context.Value(key)
}

func (c *sessionContext) SetValue(key, value any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.values[key] = value
}

// pasteGuard bounds a bracketed paste, which the terminal reader gathers
// whole in memory before handing it over: without a bound, one client
// could make the server hold gigabytes.
type pasteGuard struct {
	max     int
	in      bool
	n       int    // bytes in the current paste
	partial []byte // the tail of the last read, where a marker may begin
}

var (
	pasteStart = []byte("\x1b[200~")
	pasteEnd   = []byte("\x1b[201~")
)

// take scans input and reports whether it stays within the limit.
func (g *pasteGuard) take(p []byte) bool {
	buf := append(g.partial, p...)
	ok := true
	for {
		marker := pasteStart
		if g.in {
			marker = pasteEnd
		}
		i := bytes.Index(buf, marker)
		if i < 0 {
			break
		}
		if g.in && g.n+i > g.max {
			ok = false
		}
		g.in, g.n = !g.in, 0
		buf = buf[i+len(marker):]
	}
	// Keep what could be the start of a marker cut by this read.
	keep := min(len(buf), len(pasteStart)-1)
	if g.in {
		g.n += len(buf) - keep
		ok = ok && g.n <= g.max
	}
	g.partial = append([]byte(nil), buf[len(buf)-keep:]...)
	return ok
}
