package serve

import (
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/ops/audit"
)

// inputs are the pieces random sessions type: keys the console binds,
// escape sequences whole and cut short, invalid UTF-8, control bytes.
var inputs = []string{
	"j", "k", "g", "G", "/", ":", "?", "\t", "\x1b[Z", "\r", "\x1b", "\x7f", " ",
	"1", "2", "3", "4", "5", "6", "x", "é", "世", "🔥",
	"\x1b[A", "\x1b[B", "\x1b[C", "\x1b[D", "\x1b[5~", "\x1b[6~", "\x1b[H", "\x1b[F",
	"\x1b[", "\x1bO", "\x1b[1;", "\x1b[<0;10;5M", "\x1b[M !!", "\x1b]11;?\x07", "\x1bP+q\x1b\\",
	"\x15", "\x04", "\x0b", "\x00", "\xff\xfe", "\xc3", "\x1b[200~", "\x1b[201~",
	"theme light\r", "theme nosuch\r", "help\r", "activity\r", "\"unterminated",
}

// randomInput returns a burst of typing, or a bracketed paste.
func randomInput(r *rand.Rand) string {
	if r.IntN(10) == 0 {
		var b strings.Builder
		b.WriteString("\x1b[200~")
		for range r.IntN(2000) {
			switch r.IntN(6) {
			case 0:
				b.WriteString("\r\n")
			case 1:
				b.WriteString(inputs[r.IntN(len(inputs))])
			default:
				b.WriteByte(byte(r.IntN(256)))
			}
		}
		b.WriteString("\x1b[201~")
		return b.String()
	}
	var b strings.Builder
	for range 1 + r.IntN(8) {
		b.WriteString(inputs[r.IntN(len(inputs))])
	}
	return b.String()
}

// TestSoakRandomInput types random keys, cut escape sequences, bracketed
// pastes and resizes into several console sessions at once. No session
// may end in an error, and the server must go on serving.
func TestSoakRandomInput(t *testing.T) {
	d := 8 * time.Second
	if testing.Short() {
		d = 2 * time.Second
	}
	ts := startServer(t, nil) // the real console
	const sessions = 4
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		opened int
	)
	for i := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(i)))
			key := ts.alice
			if i%2 == 1 {
				key = ts.bob
			}
			var tm *term
			defer func() {
				if tm != nil {
					tm.close()
				}
			}()
			for end := time.Now().Add(d); time.Now().Before(end); {
				if tm == nil {
					var err error
					if tm, err = tryTerm(ts.Addr().String(), key, 80+r.IntN(80), 24+r.IntN(30)); err != nil {
						t.Errorf("session %d: %v", i, err)
						return
					}
					mu.Lock()
					opened++
					mu.Unlock()
				}
				if r.IntN(20) == 0 {
					_ = tm.sess.WindowChange(1+r.IntN(60), 1+r.IntN(200))
				}
				if _, err := tm.in.Write([]byte(randomInput(r))); err != nil {
					// Random keys may quit (a paste cut short, then q);
					// the journal says how each session ended. Connect again.
					tm.close()
					tm = nil
					continue
				}
				time.Sleep(time.Duration(r.IntN(5)) * time.Millisecond)
			}
		}()
	}
	wg.Wait()

	eventually(t, "every soak session to close", func() bool { return ts.Presence().Len() == 0 })
	es, err := ts.journal.Query(audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	closed := 0
	for _, e := range es {
		if e.Action == "session.close" {
			closed++
			if e.Parameters["reason"] == "error" {
				t.Errorf("a session ended in an internal error under random input: %+v", e)
			}
		}
	}
	if closed != opened {
		t.Errorf("%d sessions closed, want the %d opened", closed, opened)
	}
	t.Logf("%d sessions over %v", opened, d)
	// The server goes on: a new session gets its console.
	tm := openTerm(t, ts.Addr().String(), ts.alice, 100, 30)
	tm.waitFor(t, "alice")
}
