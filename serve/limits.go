package serve

import (
	"net"
	"sync"
	"time"

	"charm.land/ssh"
	"golang.org/x/time/rate"
)

// Limits bound what one client can make the server hold, so that no user
// can take the server down for the others. The zero value of a field takes
// its default.
type Limits struct {
	// MaxWidth and MaxHeight clamp a terminal's size, at the PTY request
	// and at every resize: the renderer allocates per cell. 500×200.
	MaxWidth, MaxHeight int
	// MaxEnv and MaxEnvBytes bound a session's env requests: 64 variables,
	// 32 KiB in all. More are refused.
	MaxEnv, MaxEnvBytes int
	// MaxPaste bounds one bracketed paste, which the terminal reader holds
	// whole: over it, the session is closed. 4 MiB.
	MaxPaste int
	// MaxChannels bounds the session channels open on one connection. 4.
	MaxChannels int
	// MaxPending bounds the connections that run no console: being
	// authenticated, or authenticated and not yet (or no longer) in a
	// session. Over it, new connections are closed at once. 64.
	MaxPending int
	// PendingTimeout closes a connection that has run no console for that
	// long: serve.idle_timeout, or 2 minutes when that is off.
	PendingTimeout time.Duration
	// ConnRate and ConnBurst bound new connections per client address:
	// a burst of 10, then one a second.
	ConnRate  rate.Limit
	ConnBurst int
}

func (l Limits) withDefaults(idle time.Duration) Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxWidth, 500)
	def(&l.MaxHeight, 200)
	def(&l.MaxEnv, 64)
	def(&l.MaxEnvBytes, 32<<10)
	def(&l.MaxPaste, 4<<20)
	def(&l.MaxChannels, 4)
	def(&l.MaxPending, 64)
	def(&l.ConnBurst, 10)
	if l.ConnRate <= 0 {
		l.ConnRate = 1
	}
	if l.PendingTimeout <= 0 {
		l.PendingTimeout = idle
		if idle <= 0 {
			l.PendingTimeout = 2 * time.Minute
		}
	}
	return l
}

type connKey struct{}

// trackedConn is a client connection: whether it runs a console, and the
// timer that closes it when it has run none for the pending timeout.
type trackedConn struct {
	net.Conn
	s *Server

	mu       sync.Mutex
	channels int // session channels open
	consoles int // sessions with a running handler
	timer    *time.Timer
	closed   bool
}

// accept is the ssh.ConnCallback: it applies the per-address rate and the
// bound on connections without a console, and arms the pending timer.
func (s *Server) accept(ctx ssh.Context, c net.Conn) net.Conn {
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		host = c.RemoteAddr().String()
	}
	if !s.rates.allow(host) {
		s.metrics.connsRefused.WithLabelValues("rate").Inc()
		s.log.Info("ssh connection refused: too many from this address", "address", c.RemoteAddr().String())
		return nil
	}
	s.mu.Lock()
	if s.pending >= s.opts.Limits.MaxPending {
		s.mu.Unlock()
		s.metrics.connsRefused.WithLabelValues("pending").Inc()
		s.log.Warn("ssh connection refused: too many connections without a session (limit)", "address", c.RemoteAddr().String(), "limit", s.opts.Limits.MaxPending)
		return nil
	}
	s.pending++
	s.mu.Unlock()
	tc := &trackedConn{Conn: c, s: s}
	tc.timer = time.AfterFunc(s.opts.Limits.PendingTimeout, tc.expire)
	ctx.SetValue(connKey{}, tc)
	return tc
}

func (tc *trackedConn) expire() {
	tc.mu.Lock()
	idle := tc.consoles == 0 && !tc.closed
	tc.mu.Unlock()
	if idle {
		tc.s.log.Info("ssh connection closed: no session within the idle timeout", "address", tc.RemoteAddr().String())
		_ = tc.Close()
	}
}

func (tc *trackedConn) Close() error {
	tc.mu.Lock()
	first := !tc.closed
	tc.closed = true
	pending := tc.consoles == 0
	tc.timer.Stop()
	tc.mu.Unlock()
	if first && pending {
		tc.s.mu.Lock()
		tc.s.pending--
		tc.s.mu.Unlock()
	}
	return tc.Conn.Close()
}

func (tc *trackedConn) openChannel(max int) bool {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.channels >= max {
		return false
	}
	tc.channels++
	return true
}

func (tc *trackedConn) closeChannel() {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	tc.channels--
}

// consoleStarted and consoleEnded move the connection out of and back into
// the pending count; with no console left, the timer runs again.
func (tc *trackedConn) consoleStarted() {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	tc.consoles++
	if tc.consoles == 1 && !tc.closed {
		tc.timer.Stop()
		tc.s.mu.Lock()
		tc.s.pending--
		tc.s.mu.Unlock()
	}
}

func (tc *trackedConn) consoleEnded() {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	tc.consoles--
	if tc.consoles == 0 && !tc.closed {
		tc.s.mu.Lock()
		tc.s.pending++
		tc.s.mu.Unlock()
		tc.timer.Reset(tc.s.opts.Limits.PendingTimeout)
	}
}

// rates keeps a token bucket per client address.
type rates struct {
	limit rate.Limit
	burst int

	mu   sync.Mutex
	byIP map[string]*rate.Limiter
}

// maxRateEntries bounds the table; over it, buckets that have refilled
// (and so equal a new one) are forgotten, and if none has, new addresses
// are refused until some do.
const maxRateEntries = 10000

func (r *rates) allow(host string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byIP == nil {
		r.byIP = map[string]*rate.Limiter{}
	}
	l, ok := r.byIP[host]
	if !ok {
		if len(r.byIP) >= maxRateEntries {
			now := time.Now()
			for h, l := range r.byIP {
				if l.TokensAt(now) >= float64(r.burst) {
					delete(r.byIP, h)
				}
			}
			if len(r.byIP) >= maxRateEntries {
				return false
			}
		}
		l = rate.NewLimiter(r.limit, r.burst)
		r.byIP[host] = l
	}
	return l.Allow()
}
