package alertmanager_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/vigilops/vigil/integrations/alertmanager"
	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/incident"
)

// The lab's two Alertmanagers, peered over gossip: a silence made through
// one is seen through the other; with the first stopped, vigil (configured
// with both) still acknowledges and expires through the second; started
// again, the first catches up with what it missed.
func TestLabAlertmanagerPair(t *testing.T) {
	env := labtest.Env(t, "VIGIL_LAB_ALERTMANAGER_URL", "VIGIL_LAB_ALERTMANAGER_2_URL")
	am1, am2 := env["VIGIL_LAB_ALERTMANAGER_URL"], env["VIGIL_LAB_ALERTMANAGER_2_URL"]
	one, err := alertmanager.New([]string{am1})
	if err != nil {
		t.Fatal(err)
	}
	two, err := alertmanager.New([]string{am2})
	if err != nil {
		t.Fatal(err)
	}
	both, err := alertmanager.New([]string{am1, am2})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	run := "pair-" + hex.EncodeToString(b)
	silence := func(comment string) incident.Silence {
		now := time.Now()
		return incident.Silence{
			Matchers: []incident.Matcher{{Name: "run", Value: run, Type: incident.MatchEqual}},
			StartsAt: now, EndsAt: now.Add(10 * time.Minute), CreatedBy: "alice", Comment: comment,
		}
	}
	// seen waits until c lists silence id in state.
	seen := func(c *alertmanager.Client, id, state string) time.Duration {
		t.Helper()
		start := time.Now()
		for {
			sils, err := c.Silences(ctx)
			if err == nil {
				for _, s := range sils {
					if s.ID == id && s.State == state {
						return time.Since(start)
					}
				}
			}
			if ctx.Err() != nil {
				t.Fatalf("silence %s never %s (last error %v)", id, state, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	var made []string
	t.Cleanup(func() { // no silence of ours left on the lab
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, id := range made {
			_ = both.ExpireSilence(c, id)
		}
	})

	id, err := one.CreateSilence(ctx, silence("through the first"))
	if err != nil {
		t.Fatal(err)
	}
	made = append(made, id)
	t.Logf("a silence made through the first Alertmanager seen through the second after %s", seen(two, id, "active"))

	start := labtest.StopDaemon(t, "alertmanager", syscall.SIGTERM, func() {
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if resp, err := http.Get(am1 + "/-/ready"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return
				}
			}
		}
		t.Fatal("the first Alertmanager is not ready 30 s after its restart")
	})
	id2, err := both.CreateSilence(ctx, silence("with the first stopped"))
	if err != nil {
		t.Fatalf("acknowledging with one Alertmanager stopped: %v", err)
	}
	made = append(made, id2)
	seen(two, id2, "active")
	if err := both.ExpireSilence(ctx, id); err != nil {
		t.Fatalf("expiring with one Alertmanager stopped: %v", err)
	}
	if _, err := both.Silences(ctx); err != nil {
		t.Fatalf("reading with one Alertmanager stopped: %v", err)
	}

	start()
	took := seen(one, id2, "active")
	seen(one, id, "expired")
	t.Logf("the first Alertmanager, started again, had the silence made while it was stopped after %s", took)
}
