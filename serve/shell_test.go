package serve

import (
	"testing"
	"time"
)

// A shell from the console runs on the bastion with the session's
// terminal: it sees the client's size, gets the keys typed while it runs
// (the console none of them), and the console resumes after, told how the
// shell ended.
func TestShellRunsOnTheSessionsTerminal(t *testing.T) {
	var probes <-chan *probe
	ts := startServer(t, func(o *Options) { probes = withProbes(o) })
	tm := openTerm(t, ts.Addr().String(), ts.alice, 100, 30)
	p := nextProbe(t, probes)
	tm.waitFor(t, "probe alice")
	tm.send(t, "!")
	tm.waitFor(t, "probe's shell\r\n")
	tm.waitFor(t, "shell on 30 100")
	keys := p.keyCount()
	if err := tm.sess.WindowChange(40, 120); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * shellResizeEvery)
	tm.send(t, "hello\r")
	tm.waitFor(t, "shell read hello on 40 120")
	eventually(t, "the console told the shell ended", func() bool { return p.hasToast("shell ended: exit status 3") })
	if got := p.keyCount(); got != keys {
		t.Fatalf("the console got %d keys typed into the shell", got-keys)
	}
	// The console has the keys again.
	tm.send(t, "z")
	eventually(t, "the console reads keys again", func() bool { return p.keyCount() == keys+1 })
	tm.send(t, "q")
	if code := tm.wait(t); code != 0 {
		t.Fatalf("exit %d after q", code)
	}
}

// A shell longer than serve.idle_timeout is use, not idleness: the
// session goes on after it, and the timeout counts from its end.
func TestShellIsNotIdleness(t *testing.T) {
	const idle = time.Second
	var probes <-chan *probe
	ts := startServer(t, func(o *Options) { o.Serve.IdleTimeout = idle; probes = withProbes(o) })
	tm := openTerm(t, ts.Addr().String(), ts.alice, 100, 30)
	p := nextProbe(t, probes)
	tm.waitFor(t, "probe alice")
	tm.send(t, "!")
	tm.waitFor(t, "probe's shell\r\n")
	tm.waitFor(t, "shell on 30 100")
	time.Sleep(2 * idle)
	tm.send(t, "still here\r")
	tm.waitFor(t, "shell read still here")
	ended := time.Now() // a little after the shell's end: it printed this last
	eventually(t, "the console told the shell ended", func() bool { return p.hasToast("shell ended: exit status 3") })
	select {
	case err := <-tm.exited:
		t.Fatalf("the session closed as idle right after a long shell: %v", err)
	case <-time.After(idle / 2):
	}
	select {
	case <-tm.exited:
		if d := time.Since(ended); d < idle*8/10 {
			t.Fatalf("closed %v after the shell ended, before the idle timeout", d)
		}
	case <-time.After(10 * idle):
		t.Fatal("the session never closed as idle after the shell")
	}
}

// A shell from the console gets none of the server's secrets.
func TestShellEnvKeepsSecretsOut(t *testing.T) {
	t.Setenv("DIGITALOCEAN_ACCESS_TOKEN", "dop_v1_secret")
	t.Setenv("PATH", "/usr/bin")
	env := shellEnv()
	for _, kv := range env {
		if kv == "DIGITALOCEAN_ACCESS_TOKEN=dop_v1_secret" {
			t.Fatal("the server's token reached the shell's environment")
		}
	}
	if len(env) == 0 || env[0] != "PATH=/usr/bin" {
		t.Fatalf("env %q lacks PATH", env)
	}
}
