package kubernetes_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/release"
)

// TestFrozenAPIServer stops the lab's API server, as a hung one is (its
// connections stay open, nothing answers): the watchers must say so within
// 5 s, and say it is back once it answers again. It runs in its own phase
// of make test (scripts/test.sh): nothing else may use the lab meanwhile.
func TestFrozenAPIServer(t *testing.T) {
	f := newFixture(t, lab(t), "dev")
	f.deploy("dev", "web", "1.0.0", 1)
	f.start()
	conn := func() release.Conn {
		for _, e := range f.svc.Matrix().Envs {
			return e.Conn
		}
		return release.Conn{}
	}
	waitConn := func(what string, within time.Duration, ok func(release.Conn) bool) time.Duration {
		t.Helper()
		start := time.Now()
		for !ok(conn()) {
			if time.Since(start) > within {
				t.Fatalf("%s: not within %s; the connection reads %+v", what, within, conn())
			}
			time.Sleep(50 * time.Millisecond)
		}
		return time.Since(start)
	}
	waitConn("connected before the freeze", 30*time.Second, func(c release.Conn) bool { return c.Connected })

	thaw := labtest.Freeze(t)
	took := waitConn("a hung API server flagged", 5*time.Second, func(c release.Conn) bool { return !c.Connected })
	t.Logf("hung API server flagged after %s", took.Round(time.Millisecond))
	if c := conn(); !strings.Contains(c.Err, "did not answer") {
		t.Errorf("the reason does not say the server did not answer: %q", c.Err)
	}
	thaw()
	waitConn("connected again after the freeze", 10*time.Second, func(c release.Conn) bool { return c.Connected })
}
