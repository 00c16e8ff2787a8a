package serve

import (
	"sync/atomic"
	"testing"
	"time"
)

// A burst of session ends frees memory twice, after the burst and a few
// delays later, never during it; a stopped trimmer frees nothing.
func TestTrimmerFreesOnceAfterABurst(t *testing.T) {
	var freed atomic.Int32
	tr := &trimmer{delay: 50 * time.Millisecond, free: func() { freed.Add(1) }}
	for range 10 {
		tr.ended()
		time.Sleep(5 * time.Millisecond)
	}
	if freed.Load() != 0 {
		t.Fatal("freed during the burst")
	}
	deadline := time.Now().Add(5 * time.Second)
	for freed.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	if n := freed.Load(); n != 2 {
		t.Fatalf("freed %d times after one burst, want twice", n)
	}
	tr.ended()
	tr.stop()
	time.Sleep(300 * time.Millisecond)
	if n := freed.Load(); n != 2 {
		t.Fatal("a stopped trimmer freed memory")
	}
}
