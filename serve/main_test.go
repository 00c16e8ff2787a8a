package serve

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Every test must leave no goroutine behind: a session that ends takes all
// of its goroutines with it, and so does a server that stops.
//
// The real console's toasts are tea.Tick commands, which cannot
// be cancelled: they end a few seconds after their session. So this waits
// for them (up to 20s) rather than ignoring them, or any goroutine.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			err := goleak.Find()
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				fmt.Fprintf(os.Stderr, "goleak: goroutines left 20s after the tests: %v\n", err)
				code = 1
				break
			}
		}
	}
	os.Exit(code)
}
