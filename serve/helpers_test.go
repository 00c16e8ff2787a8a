package serve

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/time/rate"

	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/presence"
	"github.com/vigilops/vigil/ui/common"
)

// newKey returns a client key and its authorized_keys line.
func newKey(t testing.TB) (gossh.Signer, string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := gossh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return signer, strings.TrimSpace(string(gossh.MarshalAuthorizedKey(sshPub)))
}

// testServer is a running server with an operator (alice) and a viewer (bob).
type testServer struct {
	*Server
	alice, bob gossh.Signer
	journal    *audit.Journal
	stop       context.CancelFunc
	done       chan error
	once       sync.Once
}

func startServer(t testing.TB, mod func(*Options)) *testServer {
	t.Helper()
	dir := t.TempDir()
	alice, aliceLine := newKey(t)
	bob, bobLine := newKey(t)
	j, err := audit.Open(filepath.Join(dir, "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{
		Serve: config.Serve{
			Listen:     "127.0.0.1:0",
			HTTPListen: "127.0.0.1:0",
			HostKey:    filepath.Join(dir, "host_ed25519"),
			Users: []config.User{
				{Name: "alice", Role: "operator", Keys: []string{aliceLine}},
				{Name: "bob", Role: "viewer", Keys: []string{bobLine}},
			},
		},
		Services: Services{Config: config.Default(), Journal: j},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Grace:    5 * time.Second,
		// Tests connect often from one address; the rate test sets its own.
		Limits: Limits{ConnRate: rate.Inf},
	}
	if mod != nil {
		mod(&opts)
	}
	s, err := Listen(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{Server: s, alice: alice, bob: bob, journal: j, stop: cancel, done: make(chan error, 1)}
	go func() { ts.done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		ts.shutdown(t)
		j.Close()
	})
	return ts
}

// shutdown stops the server and waits for Serve to return.
func (ts *testServer) shutdown(t testing.TB) {
	t.Helper()
	ts.once.Do(func() {
		ts.stop()
		select {
		case err := <-ts.done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("Serve did not return after its context ended")
		}
	})
}

func dial(addr string, auth ...gossh.AuthMethod) (*gossh.Client, error) {
	return gossh.Dial("tcp", addr, &gossh.ClientConfig{
		User:            "someone",
		Auth:            auth,
		HostKeyCallback: gossh.InsecureIgnoreHostKey(),
		Timeout:         10 * time.Second,
	})
}

// buffer is a bytes.Buffer safe for a writer goroutine and a reader. It
// timestamps the first write after each mark, for latency measurements.
type buffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	n       int64 // bytes ever written
	firstAt time.Time
	wrote   chan struct{} // signalled on the first write after mark
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n += int64(len(p))
	if b.firstAt.IsZero() {
		b.firstAt = time.Now()
		if b.wrote != nil {
			close(b.wrote)
			b.wrote = nil
		}
	}
	return b.b.Write(p)
}

// mark forgets earlier writes and returns a channel closed on the next one.
func (b *buffer) mark() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.firstAt = time.Time{}
	b.wrote = make(chan struct{})
	return b.wrote
}

// first is the time of the first write after the last mark.
func (b *buffer) first() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.firstAt
}

func (b *buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func (b *buffer) Len() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}

// term is a client session with a PTY.
type term struct {
	client *gossh.Client
	sess   *gossh.Session
	in     io.WriteCloser
	out    buffer
	exited chan error
}

func openTerm(t testing.TB, addr string, key gossh.Signer, w, h int, env ...string) *term {
	t.Helper()
	tm, err := tryTerm(addr, key, w, h, env...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tm.close)
	return tm
}

func tryTerm(addr string, key gossh.Signer, w, h int, env ...string) (*term, error) {
	c, err := dial(addr, gossh.PublicKeys(key))
	if err != nil {
		return nil, err
	}
	sess, err := c.NewSession()
	if err != nil {
		c.Close()
		return nil, err
	}
	termName := "xterm-256color"
	for i := 0; i+1 < len(env); i += 2 {
		if env[i] == "TERM" { // the PTY request's terminal type
			termName = env[i+1]
			continue
		}
		_ = sess.Setenv(env[i], env[i+1])
	}
	if err := sess.RequestPty(termName, h, w, gossh.TerminalModes{}); err != nil {
		c.Close()
		return nil, err
	}
	tm := &term{client: c, sess: sess, exited: make(chan error, 1)}
	sess.Stdout = &tm.out
	sess.Stderr = &tm.out
	if tm.in, err = sess.StdinPipe(); err != nil {
		c.Close()
		return nil, err
	}
	if err := sess.Shell(); err != nil {
		c.Close()
		return nil, err
	}
	go func() { tm.exited <- sess.Wait() }()
	return tm, nil
}

func (tm *term) close() { tm.client.Close() }

func (tm *term) send(t testing.TB, s string) {
	t.Helper()
	if _, err := io.WriteString(tm.in, s); err != nil {
		t.Fatalf("typing %q: %v", s, err)
	}
}

// waitFor waits until the output contains want.
func (tm *term) waitFor(t testing.TB, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(tm.out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("output never showed %q; got:\n%q", want, tail(tm.out.String(), 600))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// wait waits for the session to end and returns its exit status.
func (tm *term) wait(t testing.TB) int {
	t.Helper()
	select {
	case err := <-tm.exited:
		var exit *gossh.ExitError
		if errors.As(err, &exit) {
			return exit.ExitStatus()
		}
		if err != nil {
			t.Fatalf("session: %v", err)
		}
		return 0
	case <-time.After(15 * time.Second):
		t.Fatalf("session did not end; output:\n%q", tail(tm.out.String(), 600))
		return -1
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// probe is a stand-in console that records what the server hands it.
type probe struct {
	Session
	journal *audit.Journal
	mu      sync.Mutex
	snaps   []presence.Snapshot
	toasts  []string
	keys    int
	size    tea.WindowSizeMsg
	broken  bool // View panics
}

func (p *probe) Init() tea.Cmd { return nil }

func (p *probe) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch msg := msg.(type) {
	case presence.Snapshot:
		p.snaps = append(p.snaps, msg)
	case tea.WindowSizeMsg:
		p.size = msg
	case common.ToastMsg:
		p.toasts = append(p.toasts, msg.Text)
	case tea.KeyPressMsg:
		p.keys++
		switch msg.String() {
		case "q":
			return p, tea.Quit
		case "p":
			panic("probe asked to panic")
		case "c":
			return p, func() tea.Msg { panic("probe's command asked to panic") }
		case "v":
			p.broken = true
		case "!":
			// A shell, as the Inventory's s opens one.
			return p, p.Shell(common.ShellCommand{Argv: []string{"sh", "-c", shellScript}, Banner: "probe's shell"}, func(err error) tea.Msg {
				return common.ToastMsg{Text: fmt.Sprintf("shell ended: %v", err)}
			})
		case "a":
			// An action that takes a while, like a rollout being watched.
			end := presence.Begin(p.Context, "rolling back api in prod")
			ctx, actor, j := p.Context, p.Actor, p.journal
			return p, func() tea.Msg {
				defer end()
				time.Sleep(300 * time.Millisecond)
				if err := j.Record(ctx, actor, "rollback", "prod/api", nil, nil); err != nil {
					panic(err)
				}
				return nil
			}
		}
	}
	return p, nil
}

// shellScript is the probe's shell: it says the terminal's size, reads a
// line, says the size again and exits with a status of its own.
const shellScript = `printf 'shell on %s\n' "$(stty size)"; read line; echo "shell read $line on $(stty size)"; exit 3`

func (p *probe) View() tea.View {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.broken {
		panic("probe's view asked to panic")
	}
	return tea.NewView(fmt.Sprintf("probe %s keys=%d toasts=%s", p.Actor.Name, p.keys, strings.Join(p.toasts, "|")))
}

func (p *probe) windowSize() tea.WindowSizeMsg {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.size
}

func (p *probe) keyCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.keys
}

// hasToast reports whether a toast containing s was shown. The screen
// itself only receives the cells that changed, so tests ask the model.
func (p *probe) hasToast(s string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range p.toasts {
		if strings.Contains(t, s) {
			return true
		}
	}
	return false
}

func (p *probe) lastSnapshot() presence.Snapshot {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.snaps) == 0 {
		return presence.Snapshot{}
	}
	return p.snaps[len(p.snaps)-1]
}

// withProbes makes every session's console a probe, sent on the returned channel.
func withProbes(o *Options) <-chan *probe {
	ch := make(chan *probe, 64)
	o.NewModel = func(se Session) tea.Model {
		p := &probe{Session: se, journal: o.Services.Journal}
		ch <- p
		return p
	}
	return ch
}

func nextProbe(t testing.TB, ch <-chan *probe) *probe {
	t.Helper()
	select {
	case p := <-ch:
		return p
	case <-time.After(10 * time.Second):
		t.Fatal("no session model was built")
		return nil
	}
}

// eventually retries cond until it holds or time runs out.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
