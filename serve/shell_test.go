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
