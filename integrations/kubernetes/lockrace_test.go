package kubernetes_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/integrations/kubernetes"
	"github.com/vigilops/vigil/ops/release"
)

// TestLockRace50 races two vigils (two clients, as two processes have) for
// one Lease on the lab's API server, 50 times: each takes it and frees it
// at once, the interleaving that once let the API's "not found" and
// "precondition failed" through. Every outcome is taken or held by the
// other, named.
func TestLockRace50(t *testing.T) {
	f := newFixture(t, lab(t), "dev")
	target := f.env("dev").Target()
	clients := []*kubernetes.Client{kubernetes.New(f.ctx, f.kubeconfig), kubernetes.New(f.ctx, f.kubeconfig)}
	names := []string{"alice", "bob"}
	for round := range 50 {
		start := make(chan struct{})
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if errs[i] = c.Lock(f.ctx, target, "vigil-promote-race", release.Holder{Actor: names[i]}, time.Minute); errs[i] == nil {
					errs[i] = c.Unlock(f.ctx, target, "vigil-promote-race", names[i])
				}
			}()
		}
		close(start)
		wg.Wait()
		won := 0
		for i, err := range errs {
			var locked *release.LockedError
			switch {
			case err == nil:
				won++
			case !errors.As(err, &locked):
				t.Fatalf("round %d: %s got the API's error, not a refusal: %v", round, names[i], err)
			case locked.Holder != names[1-i] && !strings.HasPrefix(locked.Holder, "another vigil"):
				t.Fatalf("round %d: %s told the wrong holder: %v", round, names[i], err)
			}
		}
		if won == 0 {
			t.Fatalf("round %d: nobody took the lock: %v", round, errs)
		}
	}
}
