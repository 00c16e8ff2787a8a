package serve

import (
	"runtime/debug"
	"sync"
	"time"
)

// TrimDelay is how long the server waits, once sessions stop ending, before
// it gives the memory they used back to the system.
const TrimDelay = 3 * time.Second

// trimmer gives the runtime's idle heap back to the system after a burst of
// session ends (a rotation logging off, a reconnect storm), once no session
// has ended for a delay, and once more a few delays later, when the ended
// sessions' last timers have run out: the bastion's RSS falls back near its
// idle level instead of staying at its peak. A burst costs two forced
// collections.
type trimmer struct {
	delay time.Duration
	free  func()

	mu    sync.Mutex
	timer *time.Timer
	again bool // the next firing is the burst's second
	done  bool
}

func newTrimmer(delay time.Duration) *trimmer {
	return &trimmer{delay: delay, free: debug.FreeOSMemory}
}

// ended notes that a session ended: the trims wait for the burst's end.
func (t *trimmer) ended() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return
	}
	t.again = false
	if t.timer == nil {
		t.timer = time.AfterFunc(t.delay, t.fire)
		return
	}
	t.timer.Reset(t.delay)
}

func (t *trimmer) fire() {
	t.free()
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.again && !t.done {
		t.again = true
		t.timer.Reset(3 * t.delay)
	}
}

// stop cancels a pending trim, when the server shuts down.
func (t *trimmer) stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.done = true
	if t.timer != nil {
		t.timer.Stop()
	}
}

// setMemoryLimit applies serve.memory_limit_mb, a soft limit the runtime
// collects harder to stay under; 0 keeps Go's default (none).
func setMemoryLimit(mb int) {
	if mb > 0 {
		debug.SetMemoryLimit(int64(mb) << 20)
	}
}
