package alertmanager_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/api/v2/models"

	"github.com/vigilops/vigil/integrations/alertmanager"
	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/incident"
)

// ackRaces is how many times the two acknowledgements race.
const ackRaces = 50

// Two administrators acknowledge the same alert at the same moment, from
// two vigil processes (two services, two journals) against the lab's real
// Alertmanager, 50 times: each time one silence stays, the other side is
// told whose it is, and no raw API error ever shows.
func TestLabTwoAcksOfOneAlert(t *testing.T) {
	env := labtest.Env(t, "VIGIL_LAB_ALERTMANAGER_URL")
	raceAcks(t, env["VIGIL_LAB_ALERTMANAGER_URL"])
}

// The same on an Alertmanager of the test's own, so that it runs without
// the lab too.
func TestTwoAcksOfOneAlertOnOwnAlertmanager(t *testing.T) {
	am := startAlertmanager(t, freeAddr(t), "route: {receiver: none, group_wait: 0s}\nreceivers: [{name: none}]\n")
	raceAcks(t, am.url)
}

func raceAcks(t *testing.T, amURL string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	run := "ackrace-" + hex.EncodeToString(suffix)

	// One alert per race, all posted at once, resolved when the test ends.
	labels := make([]models.LabelSet, ackRaces)
	for i := range labels {
		labels[i] = models.LabelSet{"alertname": "AckRaceProbe", "severity": "warning", "run": run, "race": fmt.Sprint(i)}
	}
	postAlerts(t, amURL, labels, time.Time{})
	ac, err := alertmanager.New([]string{amURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // leave the shared lab as found: no alert, no silence of ours
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		postAlerts(t, amURL, labels, time.Now().Add(-time.Second))
		sils, err := ac.Silences(c)
		if err != nil {
			t.Errorf("listing the silences to expire: %v", err)
			return
		}
		for _, s := range sils {
			if s.State != "expired" && ours(s, run) {
				if err := ac.ExpireSilence(c, s.ID); err != nil {
					t.Errorf("expiring silence %s: %v", s.ID, err)
				}
			}
		}
	})

	actors := []access.Actor{
		{Name: "alice", Role: access.Operator, Source: "local"},
		{Name: "bob", Role: access.Operator, Source: "local"},
	}
	svcs := []*incident.Service{newService(t, incident.Options{Alertmanager: ac}), newService(t, incident.Options{Alertmanager: ac})}
	fps := make([]string, ackRaces)
	waitFor(t, 20*time.Second, "both processes to list the probe alerts", func() bool {
		for _, svc := range svcs {
			svc.Refresh(ctx)
		}
		for i := range fps {
			fps[i] = ""
			for _, a := range svcs[0].Snapshot().Alerts {
				if a.Labels["run"] == run && a.Labels["race"] == fmt.Sprint(i) && a.State == incident.Firing {
					fps[i] = a.Fingerprint
				}
			}
			if _, ok := svcs[1].Snapshot().Alert(fps[i]); fps[i] == "" || !ok {
				return false
			}
		}
		return true
	})

	wins := map[string]int{}
	for i, fp := range fps {
		start := make(chan struct{})
		errs := make([]error, 2)
		sils := make([]incident.Silence, 2)
		var wg sync.WaitGroup
		for k := range svcs {
			wg.Go(func() {
				<-start
				sils[k], errs[k] = svcs[k].Acknowledge(ctx, actors[k], incident.AckRequest{Fingerprint: fp, Duration: 30 * time.Minute, Comment: fmt.Sprintf("%s race %d by %s", run, i, actors[k].Name)})
			})
		}
		close(start)
		wg.Wait()
		winner, loser := 0, 1
		if errs[0] != nil {
			winner, loser = 1, 0
		}
		var acked *incident.AckedError
		if errs[winner] != nil || !errors.As(errs[loser], &acked) || !access.IsRefusal(errs[loser]) {
			t.Fatalf("race %d: want one acknowledgement and one refusal; alice: %v; bob: %v", i, errs[0], errs[1])
		}
		w := actors[winner].Name
		if acked.Silence.CreatedBy != w || !strings.Contains(errs[loser].Error(), "already acknowledged by "+w) {
			t.Fatalf("race %d: %s won, but %s was told: %v", i, w, actors[loser].Name, errs[loser])
		}
		// Exactly one silence holds the alert: the winner's.
		all, err := ac.Silences(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var holding []incident.Silence
		for _, s := range all {
			if s.State != "expired" && ours(s, run) && strings.Contains(s.Comment, fmt.Sprintf(" race %d ", i)) {
				holding = append(holding, s)
			}
		}
		if len(holding) != 1 || holding[0].ID != sils[winner].ID || holding[0].CreatedBy != w {
			t.Fatalf("race %d: silences holding the alert %+v, want %s's %s alone", i, holding, w, sils[winner].ID)
		}
		wins[w]++
	}
	t.Logf("%d races: %v", ackRaces, wins)
}

// ours reports whether a silence was made by this run of the test.
func ours(s incident.Silence, run string) bool { return strings.HasPrefix(s.Comment, run+" ") }

// postAlerts sends alerts to Alertmanager as Prometheus would; a past
// endsAt resolves them.
func postAlerts(t testing.TB, url string, labels []models.LabelSet, ends time.Time) {
	t.Helper()
	for _, l := range labels {
		postAlert(t, url, l, ends)
	}
}
