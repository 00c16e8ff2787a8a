// Package serve is `vigil serve`: the console over SSH for several
// administrators at once. Each SSH session runs its own Bubble Tea program
// (wish's bubbletea middleware) with its own actor, window size and colour
// profile; all sessions share one set of ops services, the presence
// registry and the journal. A side HTTP listener serves /healthz, /metrics
// and the Alertmanager webhook.
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	"charm.land/wish/v2"
	"charm.land/wish/v2/bubbletea"
	"charm.land/wish/v2/recover"
	gossh "golang.org/x/crypto/ssh"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/presence"
	"github.com/vigilops/vigil/themes"
	"github.com/vigilops/vigil/ui/app"
	"github.com/vigilops/vigil/ui/common"
)

// Services are built once per process and shared by every session, so a
// new session costs only its UI state. Add the ops services (release,
// incident, inventory) here as they are wired.
type Services struct {
	Config   *config.Config
	Journal  *audit.Journal
	Guard    access.Guard
	Theme    *themes.Theme
	ThemeDir string
	// Presence is created by Listen when nil.
	Presence *presence.Registry
	// Webhook receives Alertmanager's notifications at /webhook/alertmanager
	// on the HTTP listener, when set.
	Webhook http.Handler
	// Ops are the ops services every session's panes share.
	Ops *common.Services
	Now func() time.Time
}

// Session is what a session's model is built from.
type Session struct {
	Actor   access.Actor
	NoColor bool // the client sent NO_COLOR
	// Context carries the session's presence, so that ops services reached
	// with it show their actions to every session. It is not cancelled when
	// the client goes away: an action started in the session finishes and
	// is journaled, and a shutdown waits for it.
	Context  context.Context
	Presence *presence.Session
	// Shell runs a command (ssh to a host) on the bastion with the
	// session's terminal, the console suspended meanwhile.
	Shell common.ShellFunc
}

// Options configure a server.
type Options struct {
	Serve    config.Serve // Listen, HTTPListen, HostKey (a path), MaxSessions, IdleTimeout, Users
	Services Services
	// NewModel builds each session's model; when nil, the console (ui/app).
	NewModel func(Session) tea.Model
	Logger   *slog.Logger // slog.Default() when nil
	// Grace bounds a shutdown: how long in-flight actions may take to
	// finish, then how long sessions may take to close. Default 30s.
	Grace time.Duration
	// Limits bound what one client can make the server hold.
	Limits Limits
	// Metrics are the server's (NewMetrics), made before the services
	// whose integrations they count; new ones when nil.
	Metrics *Metrics
}

// DefaultGrace is how long a shutdown waits for in-flight actions.
const DefaultGrace = 30 * time.Second

// Server is a listening vigil serve.
type Server struct {
	opts    Options
	log     *slog.Logger
	ssh     *ssh.Server
	http    *http.Server
	sshLn   net.Listener
	httpLn  net.Listener
	metrics *Metrics
	pres    *presence.Registry

	rates rates
	trim  *trimmer

	mu      sync.Mutex
	live    map[*session]struct{}
	pending int // connections running no console (limits.go)
	closing bool
	drained chan struct{} // closed when live becomes empty while closing
}

// Listen loads the host key, indexes the users and binds the SSH and HTTP
// listeners; Serve then serves them.
func Listen(opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Grace <= 0 {
		opts.Grace = DefaultGrace
	}
	if opts.Services.Now == nil {
		opts.Services.Now = time.Now
	}
	if opts.Services.Presence == nil {
		opts.Services.Presence = presence.New(opts.Services.Now)
	}
	opts.Limits = opts.Limits.withDefaults(opts.Serve.IdleTimeout)
	if opts.NewModel == nil {
		opts.NewModel = consoleModel(opts.Services)
	}
	if len(opts.Serve.Users) == 0 {
		return nil, errors.New("serve.users is empty: list at least one user with a role and a public key (see `vigil config init`)")
	}
	us, err := newUsers(opts.Serve.Users)
	if err != nil {
		return nil, err
	}
	signer, err := LoadHostKey(opts.Serve.HostKey)
	if err != nil {
		return nil, err
	}
	if opts.Metrics == nil {
		opts.Metrics = newMetrics()
	}
	s := &Server{
		opts:    opts,
		log:     opts.Logger,
		metrics: opts.Metrics,
		pres:    opts.Services.Presence,
		live:    map[*session]struct{}{},
		drained: make(chan struct{}),
		rates:   rates{limit: opts.Limits.ConnRate, burst: opts.Limits.ConnBurst},
		trim:    newTrimmer(TrimDelay),
	}
	setMemoryLimit(opts.Serve.MemoryLimitMB)
	s.ssh, err = wish.NewServer(
		wish.WithVersion("vigil"),
		func(srv *ssh.Server) error {
			srv.AddHostKey(signer)
			srv.HandshakeTimeout = 30 * time.Second
			srv.ConnCallback = s.accept
			// Sessions only, served by vigil's own handler (channel.go):
			// no port forwarding, no other channel type.
			srv.ChannelHandlers = map[string]ssh.ChannelHandler{"session": s.sessionChannel}
			srv.ServerConfigCallback = func(ssh.Context) *gossh.ServerConfig { // once per connection
				// Public keys only: with no password or keyboard-interactive
				// callback, those methods are refused.
				return &gossh.ServerConfig{
					PublicKeyCallback: us.publicKeyCallback(),
					AuthLogCallback:   s.authLog,
				}
			}
			return nil
		},
		wish.WithMiddleware(
			bubbletea.MiddlewareWithProgramHandler(s.program),
			s.admit,
			recover.MiddlewareWithLogger(slogPrintf{s.log}),
		),
	)
	if err != nil {
		return nil, err
	}
	if s.sshLn, err = net.Listen("tcp", opts.Serve.Listen); err != nil {
		return nil, fmt.Errorf("serve.listen %s: %w", opts.Serve.Listen, err)
	}
	if s.httpLn, err = net.Listen("tcp", opts.Serve.HTTPListen); err != nil {
		s.sshLn.Close()
		return nil, fmt.Errorf("serve.http_listen %s: %w", opts.Serve.HTTPListen, err)
	}
	if s.http, err = s.httpServer(); err != nil {
		s.sshLn.Close()
		s.httpLn.Close()
		return nil, err
	}
	return s, nil
}

// Addr is the SSH listener's address.
func (s *Server) Addr() net.Addr { return s.sshLn.Addr() }

// HTTPAddr is the HTTP listener's address.
func (s *Server) HTTPAddr() net.Addr { return s.httpLn.Addr() }

// Metrics are the server's metrics; Metrics().Transport instruments integrations.
func (s *Server) Metrics() *Metrics { return s.metrics }

// Presence is the registry the sessions share.
func (s *Server) Presence() *presence.Registry { return s.pres }

// Serve serves until ctx ends, then shuts down gracefully: sessions are
// told, in-flight actions finish (each journals itself), sessions close.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 2)
	go func() { errc <- s.ssh.Serve(s.sshLn) }()
	go func() { errc <- s.http.Serve(s.httpLn) }()
	if j := s.opts.Services.Journal; j != nil {
		entries, cancel := j.Subscribe()
		defer cancel()
		go s.metrics.countActions(entries)
	}
	s.log.Info("serving", "ssh", s.Addr().String(), "http", s.HTTPAddr().String(), "users", len(s.opts.Serve.Users))
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		err = fmt.Errorf("listener stopped: %w", err)
	}
	if serr := s.shutdown(); err == nil {
		err = serr
	}
	return err
}

func (s *Server) shutdown() error {
	s.trim.stop()
	s.mu.Lock()
	s.closing = true
	live := s.sessionsLocked()
	s.drainedLocked()
	s.mu.Unlock()
	_ = s.sshLn.Close() // no new connections; the ones open go on for now
	s.log.Info("shutting down", "sessions", len(live))
	// Sends wait for each program's event loop; one stuck session must not
	// hold up the shutdown, which ends at the grace period whatever happens.
	for _, se := range live {
		go se.send(shutdownMsg{})
	}

	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Grace)
	defer cancel()
	if err := s.pres.Wait(ctx); err != nil {
		for _, e := range s.pres.Snapshot(0).InProgress() {
			s.log.Warn("shutdown: action still in progress after the grace period", "actor", e.Actor.Name, "action", e.Doing())
		}
	}
	for _, se := range live {
		go se.end(endShutdown)
	}
	select {
	case <-s.drained:
	case <-ctx.Done():
		s.log.Warn("shutdown: sessions did not close in time; closing their connections")
	}
	// Sessions are over; close connections clients have not closed yet.
	cerr := s.ssh.Close()
	herr := s.http.Shutdown(ctx)
	return errors.Join(ignoreClosed(cerr), ignoreClosed(herr))
}

func ignoreClosed(err error) error {
	if errors.Is(err, net.ErrClosed) || errors.Is(err, ssh.ErrServerClosed) || errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func (s *Server) sessionsLocked() []*session {
	out := make([]*session, 0, len(s.live))
	for se := range s.live {
		out = append(out, se)
	}
	return out
}

// drainedLocked closes drained once the server is closing and no session is left.
func (s *Server) drainedLocked() {
	if !s.closing || len(s.live) > 0 {
		return
	}
	select {
	case <-s.drained:
	default:
		close(s.drained)
	}
}

// authLog counts refused attempts; a refused unknown key is logged with
// its fingerprint so an administrator can add it.
func (s *Server) authLog(conn gossh.ConnMetadata, method string, err error) {
	if err == nil || method == "none" {
		return
	}
	s.metrics.authRefused.WithLabelValues(method).Inc()
	s.log.Info("ssh authentication refused", "user", conn.User(), "address", conn.RemoteAddr().String(), "method", method, "err", err)
}

// consoleModel builds the console for a session.
func consoleModel(svc Services) func(Session) tea.Model {
	return func(se Session) tea.Model {
		return app.New(app.Options{
			Config:   svc.Config,
			Theme:    svc.Theme,
			ThemeDir: svc.ThemeDir,
			Actor:    se.Actor,
			Guard:    svc.Guard,
			Journal:  svc.Journal,
			Services: svc.Ops,
			Context:  se.Context,
			Exec:     se.Shell,
			NoColor:  se.NoColor,
			Now:      svc.Now,
		})
	}
}

// slogPrintf adapts slog to the Printf loggers of wish's middlewares.
type slogPrintf struct{ l *slog.Logger }

func (p slogPrintf) Printf(format string, v ...any) { p.l.Error(fmt.Sprintf(format, v...)) }
