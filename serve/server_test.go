package serve

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	gossh "golang.org/x/crypto/ssh"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
)

func TestHostKeyGeneratedOnceAndReused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "vigil", "host_ed25519")
	first, err := LoadHostKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if first.PublicKey().Type() != gossh.KeyAlgoED25519 {
		t.Errorf("host key type = %s, want ed25519", first.PublicKey().Type())
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("host key mode = %04o, want 0600", perm)
	}
	again, err := LoadHostKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.PublicKey().Marshal(), again.PublicKey().Marshal()) {
		t.Error("a second start generated a new host key instead of reusing it")
	}

	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadHostKey(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a world-readable host key: err = %v, want a refusal that says chmod 600", err)
	}
	if _, err := LoadHostKey(""); err == nil || !strings.Contains(err.Error(), "serve.host_key") {
		t.Errorf("no path: err = %v, want one naming serve.host_key", err)
	}
	bad := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(bad, []byte("not a key"), 0o600)
	if _, err := LoadHostKey(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("a corrupt host key: err = %v, want one naming the file", err)
	}
}

func TestListenRefusesBadUsers(t *testing.T) {
	_, line := newKey(t)
	for name, users := range map[string][]config.User{
		"none":       nil,
		"bad role":   {{Name: "a", Role: "root", Keys: []string{line}}},
		"bad key":    {{Name: "a", Role: "viewer", Keys: []string{"ssh-ed25519 nope"}}},
		"shared key": {{Name: "a", Role: "viewer", Keys: []string{line}}, {Name: "b", Role: "admin", Keys: []string{line}}},
	} {
		_, err := Listen(Options{Serve: config.Serve{Listen: "127.0.0.1:0", HTTPListen: "127.0.0.1:0",
			HostKey: filepath.Join(t.TempDir(), "k"), Users: users}})
		if err == nil {
			t.Errorf("%s: Listen accepted the users", name)
		} else if !strings.Contains(err.Error(), "serve.users") {
			t.Errorf("%s: error %q does not point at serve.users", name, err)
		}
	}
}

func TestUnknownKeyRefusedWithMessage(t *testing.T) {
	ts := startServer(t, nil)
	stranger, _ := newKey(t)
	var banner string
	_, err := gossh.Dial("tcp", ts.Addr().String(), &gossh.ClientConfig{
		User:            "alice", // the login name does not make the key known
		Auth:            []gossh.AuthMethod{gossh.PublicKeys(stranger)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(),
		BannerCallback:  func(m string) error { banner += m; return nil },
	})
	if err == nil {
		t.Fatal("an unknown key was let in")
	}
	fp := gossh.FingerprintSHA256(stranger.PublicKey())
	if !strings.Contains(banner, fp) || !strings.Contains(banner, "serve.users") {
		t.Errorf("banner = %q, want the key's fingerprint %s and what to do", banner, fp)
	}
}

func TestPasswordAndKeyboardInteractiveRefused(t *testing.T) {
	ts := startServer(t, nil)
	asked := false
	for name, auth := range map[string]gossh.AuthMethod{
		"password": gossh.Password("alice"),
		"keyboard-interactive": gossh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) {
			asked = true
			return []string{"alice"}, nil
		}),
	} {
		_, err := dial(ts.Addr().String(), auth)
		if err == nil {
			t.Fatalf("%s authentication was accepted", name)
		}
		if !strings.Contains(err.Error(), "[none publickey]") && !strings.Contains(err.Error(), "[none]") {
			t.Errorf("%s: err = %v, want the server to offer public keys only", name, err)
		}
	}
	if asked {
		t.Error("the server asked keyboard-interactive questions")
	}
}

func TestNoPTYSaysWhoYouAreAndHowToConnect(t *testing.T) {
	ts := startServer(t, nil)
	c, err := dial(ts.Addr().String(), gossh.PublicKeys(ts.alice))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := sess.CombinedOutput("")
	if _, ok := err.(*gossh.ExitError); !ok {
		t.Errorf("exit: %v, want a non-zero exit status", err)
	}
	text := string(out)
	fp := gossh.FingerprintSHA256(ts.alice.PublicKey())
	for _, want := range []string{"you are alice (operator)", fp, "ssh -t -p "} {
		if !strings.Contains(text, want) {
			t.Errorf("no-PTY text %q lacks %q", text, want)
		}
	}
}

func TestSessionActorAndJournal(t *testing.T) {
	var probes <-chan *probe
	ts := startServer(t, func(o *Options) { probes = withProbes(o) })
	tm := openTerm(t, ts.Addr().String(), ts.alice, 100, 30, "NO_COLOR", "1")
	p := nextProbe(t, probes)
	tm.waitFor(t, "probe alice")

	fp := gossh.FingerprintSHA256(ts.alice.PublicKey())
	a := p.Actor
	if a.Name != "alice" || a.Role != access.Operator || a.Source != "ssh" || a.KeyFingerprint != fp || !strings.HasPrefix(a.Address, "127.0.0.1:") {
		t.Errorf("actor = %+v, want alice, operator, ssh, %s, a loopback address", a, fp)
	}
	if !p.NoColor {
		t.Error("NO_COLOR from the client did not reach the session")
	}
	if got := p.windowSize(); got.Width != 100 || got.Height != 30 {
		t.Errorf("window size = %+v, want the client's 100×30", got)
	}
	if err := tm.sess.WindowChange(50, 160); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the resize to reach the console", func() bool { return p.windowSize() == tea.WindowSizeMsg{Width: 160, Height: 50} })
	tm.send(t, "q")
	if code := tm.wait(t); code != 0 {
		t.Errorf("exit status after q = %d, want 0", code)
	}
	eventually(t, "session.close in the journal", func() bool {
		es, _ := ts.journal.Query(audit.Query{Actor: "alice"})
		return len(es) == 2
	})
	es, _ := ts.journal.Query(audit.Query{Actor: "alice"})
	for i, want := range []string{"session.open", "session.close"} {
		if es[i].Action != want || es[i].Key != fp || es[i].Role != "operator" || es[i].Result != audit.OK {
			t.Errorf("entry %d = %+v, want %s by alice's key", i, es[i], want)
		}
	}
	if es[1].Parameters["reason"] != "quit" {
		t.Errorf("close reason = %q, want quit", es[1].Parameters["reason"])
	}
}

func TestViewerIsRefusedByTheGuard(t *testing.T) {
	var probes <-chan *probe
	ts := startServer(t, func(o *Options) { probes = withProbes(o) })
	openTerm(t, ts.Addr().String(), ts.bob, 80, 24)
	bob := nextProbe(t, probes).Actor
	if bob.Role != access.Viewer {
		t.Fatalf("bob's role = %s, want viewer", bob.Role)
	}
	promote := access.Action{Name: "promote", MinRole: access.Operator, Mutates: true, Dangerous: true}
	err := access.Guard{}.Check(bob, promote)
	if err == nil {
		t.Fatal("the guard let a viewer promote")
	}
	if err := ts.journal.Record(context.Background(), bob, "promote", "api/prod", nil, err); err != nil {
		t.Fatal(err)
	}
	es, _ := ts.journal.Query(audit.Query{Actor: "bob"})
	last := es[len(es)-1]
	if last.Result != audit.Refused || last.Key != bob.KeyFingerprint {
		t.Errorf("journal = %+v, want a refused promote under bob's key", last)
	}
}

func TestPresenceAcrossSessions(t *testing.T) {
	var probes <-chan *probe
	ts := startServer(t, func(o *Options) { probes = withProbes(o) })
	a := openTerm(t, ts.Addr().String(), ts.alice, 80, 24)
	pa := nextProbe(t, probes)
	a.waitFor(t, "probe alice")
	b := openTerm(t, ts.Addr().String(), ts.bob, 80, 24)
	pb := nextProbe(t, probes)

	// Each sees the other, by toast and in the snapshot handed to the console.
	eventually(t, "alice told bob joined", func() bool { return pa.hasToast("bob (viewer) joined") })
	eventually(t, "bob told alice is here", func() bool { return pb.hasToast("also here: alice (operator)") })
	eventually(t, "alice's snapshot to show bob", func() bool {
		o := pa.lastSnapshot().Others()
		return len(o) == 1 && o[0].Actor.Name == "bob"
	})

	// Alice's action in progress reaches bob, then ends.
	a.send(t, "a")
	eventually(t, "bob told of alice's action", func() bool { return pb.hasToast("alice is rolling back api in prod") })
	eventually(t, "the action to end", func() bool { return len(ts.Presence().Snapshot(0).InProgress()) == 0 })

	b.send(t, "q")
	b.wait(t)
	eventually(t, "alice told bob left", func() bool { return pa.hasToast("bob left") })
	eventually(t, "bob gone from alice's snapshot", func() bool { return len(pa.lastSnapshot().Others()) == 0 })
}

func TestMaxSessions(t *testing.T) {
	ts := startServer(t, func(o *Options) { o.Serve.MaxSessions = 1; withProbes(o) })
	first := openTerm(t, ts.Addr().String(), ts.alice, 80, 24)
	first.waitFor(t, "probe alice")
	second := openTerm(t, ts.Addr().String(), ts.bob, 80, 24)
	if code := second.wait(t); code == 0 {
		t.Error("the session over the limit exited with 0")
	}
	if out := second.out.String(); !strings.Contains(out, "serve.max_sessions") {
		t.Errorf("over the limit: %q, want a message naming serve.max_sessions", out)
	}
	first.send(t, "q")
	first.wait(t)
	eventually(t, "the slot to free up", func() bool { return ts.Presence().Len() == 0 })
	third := openTerm(t, ts.Addr().String(), ts.bob, 80, 24)
	third.waitFor(t, "probe bob")
}

func TestIdleTimeout(t *testing.T) {
	const idle = 2 * time.Second
	var probes <-chan *probe
	ts := startServer(t, func(o *Options) { o.Serve.IdleTimeout = idle; probes = withProbes(o) })
	tm := openTerm(t, ts.Addr().String(), ts.alice, 80, 24)
	tm.waitFor(t, "probe alice")
	p := nextProbe(t, probes)
	// Typing every 300ms for twice the timeout keeps the session open:
	// each key, once the console has it, restarts the timeout.
	var last time.Time
	for i := 1; i <= 14; i++ {
		time.Sleep(300 * time.Millisecond)
		last = time.Now() // before the console has it, so before its clock restarts
		tm.send(t, "x")
		eventually(t, "the key to reach the console", func() bool { return p.keyCount() == i })
		select {
		case err := <-tm.exited:
			t.Fatalf("a session with input was closed as idle after %d keys: %v", i, err)
		default:
		}
	}
	if code := tm.wait(t); code == 0 {
		t.Error("idle close exited with 0")
	}
	// The timer cannot fire early; it may fire late on a loaded machine.
	if d := time.Since(last); d < idle {
		t.Errorf("closed %v after the last key, before the %v timeout", d, idle)
	}
	if !strings.Contains(tm.out.String(), "without input (serve.idle_timeout)") {
		t.Errorf("output lacks the idle message: %q", tail(tm.out.String(), 300))
	}
}

func TestPanicEndsOnlyThatSession(t *testing.T) {
	for _, key := range []string{"p", "c", "v"} { // in Update, in a command, in View
		t.Run(key, func(t *testing.T) {
			var probes <-chan *probe
			ts := startServer(t, func(o *Options) { probes = withProbes(o) })
			other := openTerm(t, ts.Addr().String(), ts.bob, 80, 24)
			other.waitFor(t, "probe bob")
			pother := nextProbe(t, probes)
			tm := openTerm(t, ts.Addr().String(), ts.alice, 80, 24)
			tm.waitFor(t, "probe alice")
			tm.send(t, key)
			if code := tm.wait(t); code == 0 {
				t.Error("a panicked session exited with 0")
			}
			if !strings.Contains(tm.out.String(), "internal error") {
				t.Errorf("output lacks the error message: %q", tail(tm.out.String(), 300))
			}
			other.send(t, "x")
			eventually(t, "the other session to take a key", func() bool { return pother.keyCount() == 1 })
			again := openTerm(t, ts.Addr().String(), ts.alice, 80, 24)
			again.waitFor(t, "probe alice")
			es, _ := ts.journal.Query(audit.Query{Actor: "alice"})
			if len(es) < 2 || es[1].Parameters["reason"] != "error" {
				t.Errorf("journal = %+v, want the session closed with reason error", es)
			}
		})
	}
}

func TestGracefulShutdownWaitsForActions(t *testing.T) {
	ts := startServer(t, func(o *Options) { withProbes(o) })
	tm := openTerm(t, ts.Addr().String(), ts.alice, 80, 24)
	tm.waitFor(t, "probe alice")
	tm.send(t, "a") // an action of 300ms
	eventually(t, "the action to start", func() bool { return len(ts.Presence().Snapshot(0).InProgress()) == 1 })
	start := time.Now()
	ts.shutdown(t)
	if len(ts.Presence().Snapshot(0).InProgress()) != 0 {
		t.Error("Serve returned with an action in progress")
	}
	if time.Since(start) > 4*time.Second {
		t.Errorf("shutdown took %s", time.Since(start))
	}
	tm.wait(t)
	out := tm.out.String()
	if !strings.Contains(out, "vigil is shutting down") || !strings.Contains(out, "connect again in a moment") {
		t.Errorf("the session was not told: %q", tail(out, 400))
	}
	if _, err := dial(ts.Addr().String(), gossh.PublicKeys(ts.alice)); err == nil {
		t.Error("a connection was accepted after shutdown")
	}
	es, _ := ts.journal.Query(audit.Query{Actor: "alice"})
	if len(es) != 3 || es[1].Action != "rollback" || es[1].Result != audit.OK || es[2].Parameters["reason"] != "shutdown" {
		t.Errorf("journal = %+v, want the rollback finished, then the session closed with reason shutdown", es)
	}
}

func TestHTTPListener(t *testing.T) {
	hooked := make(chan string, 1)
	ts := startServer(t, func(o *Options) {
		withProbes(o)
		o.Services.Webhook = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			hooked <- string(b)
		})
	})
	base := "http://" + ts.HTTPAddr().String()
	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tm := openTerm(t, ts.Addr().String(), ts.alice, 80, 24)
	tm.waitFor(t, "probe alice")
	stranger, _ := newKey(t)
	dial(ts.Addr().String(), gossh.PublicKeys(stranger))

	if code, body := get("/healthz"); code != 200 || !strings.Contains(body, "1 sessions") {
		t.Errorf("/healthz = %d %q", code, body)
	}
	var lastMetrics string
	defer func() {
		if t.Failed() {
			t.Log(lastMetrics)
		}
	}()
	eventually(t, "metrics", func() bool {
		_, body := get("/metrics")
		lastMetrics = body
		return strings.Contains(body, "vigil_ssh_sessions 1") &&
			strings.Contains(body, `vigil_actions_total{action="session.open",result="ok"} 1`) &&
			strings.Contains(body, `vigil_ssh_auth_refused_total{method="publickey"} 1`)
	})
	resp, err := http.Post(base+WebhookPath, "application/json", strings.NewReader(`{"status":"firing"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	select {
	case b := <-hooked:
		if b != `{"status":"firing"}` {
			t.Errorf("webhook got %q", b)
		}
	case <-time.After(5 * time.Second):
		t.Error("the webhook handler was not called")
	}
}

func TestTransportMetrics(t *testing.T) {
	m := newMetrics()
	rt := m.Transport("prometheus", roundTripFunc(func(r *http.Request) (*http.Response, error) {
		code := 200
		if strings.HasSuffix(r.URL.Path, "/bad") {
			code = 503
		}
		return &http.Response{StatusCode: code, Body: http.NoBody}, nil
	}))
	for _, p := range []string{"/ok", "/bad", "/ok"} {
		req, _ := http.NewRequest("GET", "http://x"+p, nil)
		if _, err := rt.RoundTrip(req); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]uint64{}
	mfs, _ := m.reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != "vigil_integration_request_duration_seconds" {
			continue
		}
		for _, x := range mf.GetMetric() {
			for _, l := range x.GetLabel() {
				if l.GetName() == "outcome" {
					got[l.GetValue()] = x.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	if got["ok"] != 2 || got["error"] != 1 {
		t.Errorf("requests by outcome = %v, want ok 2, error 1", got)
	}
}

// Each session gets the colour profile of its own client.
func TestColourProfilePerSession(t *testing.T) {
	ts := startServer(t, nil) // the real console
	sgr := regexp.MustCompile(`\x1b\[[0-9;]*m`)
	for _, c := range []struct {
		name string
		env  []string
		want *regexp.Regexp
		not  *regexp.Regexp
	}{
		{"truecolor", []string{"COLORTERM", "truecolor"}, regexp.MustCompile(`[34]8;2;`), nil},
		{"256 colours", nil, regexp.MustCompile(`[34]8;5;`), regexp.MustCompile(`[34]8;2;`)},
		{"16 colours", []string{"TERM", "xterm"}, regexp.MustCompile(`\x1b\[[0-9;]*3[0-7][;m]`), regexp.MustCompile(`[34]8;[25];`)},
		{"NO_COLOR", []string{"NO_COLOR", "1"}, nil, regexp.MustCompile(`[34]8;|\x1b\[[0-9;]*3[0-7]m`)},
	} {
		t.Run(c.name, func(t *testing.T) {
			tm := openTerm(t, ts.Addr().String(), ts.alice, 100, 30, c.env...)
			tm.waitFor(t, "alice")
			settle(tm, 200*time.Millisecond)
			out := strings.Join(sgr.FindAllString(tm.out.String(), -1), " ")
			if c.want != nil && !c.want.MatchString(out) {
				t.Errorf("no %s colours in %q", c.name, tail(out, 300))
			}
			if c.not != nil && c.not.MatchString(out) {
				t.Errorf("colours beyond %s: %q", c.name, c.not.FindString(out))
			}
		})
	}
}

// A client offering several keys is told about the first unknown one
// only, and gets in with the known one.
func TestSeveralKeysOneBanner(t *testing.T) {
	ts := startServer(t, func(o *Options) { withProbes(o) })
	s1, _ := newKey(t)
	s2, _ := newKey(t)
	var banner string
	c, err := gossh.Dial("tcp", ts.Addr().String(), &gossh.ClientConfig{
		User:            "alice",
		Auth:            []gossh.AuthMethod{gossh.PublicKeys(s1, s2, ts.alice)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(),
		BannerCallback:  func(m string) error { banner += m; return nil },
	})
	if err != nil {
		t.Fatalf("the known key after two unknown ones: %v", err)
	}
	c.Close()
	if n := strings.Count(banner, "is not allowed here"); n != 1 || !strings.Contains(banner, gossh.FingerprintSHA256(s1.PublicKey())) {
		t.Errorf("banner = %q, want one line naming the first unknown key", banner)
	}
}

// Only the console is served: no commands, no port forwarding, no subsystems.
func TestOnlyTheConsole(t *testing.T) {
	ts := startServer(t, func(o *Options) { withProbes(o) })
	c, err := dial(ts.Addr().String(), gossh.PublicKeys(ts.alice))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	sess, _ := c.NewSession()
	sess.RequestPty("xterm", 24, 80, nil)
	out, err := sess.CombinedOutput("cat /etc/passwd")
	if err == nil || !strings.Contains(string(out), "runs the console only") {
		t.Errorf("a command with a PTY: %v %q", err, out)
	}
	if conn, err := c.Dial("tcp", ts.HTTPAddr().String()); err == nil {
		conn.Close()
		t.Error("local port forwarding was allowed")
	}
	sess, _ = c.NewSession()
	if err := sess.RequestSubsystem("sftp"); err == nil {
		t.Error("the sftp subsystem was allowed")
	}
}

func TestNames(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want string
	}{
		{[]string{"a"}, "a"},
		{[]string{"a", "b", "c"}, "a, b, c"},
		{[]string{"a", "b", "c", "d", "e"}, "a, b, c and 2 others"},
	} {
		if got := names(c.in); got != c.want {
			t.Errorf("names(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
