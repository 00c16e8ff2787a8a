package app

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/integrations/alertmanager"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ui/common"
)

// oneAM is an Alertmanager holding fixed alerts and no silence.
type oneAM struct{ alerts []incident.Alert }

func (a *oneAM) Alerts(context.Context) ([]incident.Alert, error)     { return a.alerts, nil }
func (a *oneAM) Silences(context.Context) ([]incident.Silence, error) { return nil, nil }
func (a *oneAM) CreateSilence(context.Context, incident.Silence) (string, error) {
	return "", errors.New("no silences in this test")
}
func (a *oneAM) ExpireSilence(context.Context, string) error {
	return errors.New("no silences in this test")
}

// badRelease holds prod/api on 2.5.1-bad, promoted over 2.4.1, and records
// the rollbacks asked of it.
type badRelease struct {
	release.Cluster
	mu     sync.Mutex
	rolled []int64
}

// rollbacks waits a moment for the rollback a slow machine has not run yet.
func (c *badRelease) rollbacks() []int64 {
	for range 50 {
		c.mu.Lock()
		r := slices.Clone(c.rolled)
		c.mu.Unlock()
		if len(r) > 0 {
			return r
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

func (c *badRelease) Watch(_ context.Context, _ []release.Env, _ string, sink release.Sink) error {
	sink.Workload("prod", release.Workload{Kind: release.Deployment, Name: "api", Revision: 7, Desired: 2, Ready: 2, Available: 2, Updated: 2,
		Containers: []release.Container{{Name: "api", Image: "registry.lab.local/shop/api:2.5.1-bad"}}, ChangedAt: fixedNow.Add(-50 * time.Minute)})
	return nil
}

func (c *badRelease) History(release.Ref) ([]release.Revision, error) {
	return []release.Revision{
		{Number: 7, Containers: []release.Container{{Name: "api", Image: "registry.lab.local/shop/api:2.5.1-bad"}}, Current: true},
		{Number: 6, Containers: []release.Container{{Name: "api", Image: "registry.lab.local/shop/api:2.4.1"}}},
	}, nil
}

func (c *badRelease) Rollback(_ context.Context, _ release.Ref, rev int64, _ release.Annotator) (release.Revision, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rolled = append(c.rolled, rev)
	return release.Revision{Number: rev}, nil
}

// The rollback's lock is tested with the Leases on the lab.
func (c *badRelease) Lock(context.Context, release.Target, string, release.Holder, time.Duration) error {
	return nil
}
func (c *badRelease) Unlock(context.Context, release.Target, string, string) error { return nil }

func (c *badRelease) WatchPods(context.Context, release.Ref, func([]release.Pod)) error {
	return errors.New("no pods in this test")
}

func (c *badRelease) Detail(release.Ref) (release.Detail, bool) { return release.Detail{}, false }

// Issue 12, the mitigation path through the shell: the session opens on
// Alerts with the newest critical alert selected; u offers the rollback of
// the promotion, y confirms it and it is under way, its rollout on screen;
// esc goes back to the alert. At most 4 keys from the alert to the rollback.
func TestMitigationPathThroughTheShell(t *testing.T) {
	am := &oneAM{alerts: []incident.Alert{
		{Fingerprint: "old", Name: "HostDown", State: incident.Firing, StartsAt: fixedNow.Add(-time.Hour),
			Labels: map[string]string{"alertname": "HostDown", "severity": "critical", "droplet": "web-02"}},
		{Fingerprint: "new", Name: "AppHighErrorRate", State: incident.Firing, StartsAt: fixedNow.Add(-5 * time.Minute),
			Labels: map[string]string{"alertname": "AppHighErrorRate", "severity": "critical", "namespace": "prod", "deployment": "api"}},
	}}
	var cl badRelease
	var keys int
	m := newShell(t, nil, func(o *Options) {
		inc, err := incident.New(incident.Options{Alertmanager: am, ParseMatchers: alertmanager.ParseMatchers, Journal: o.Journal, Now: o.Now})
		if err != nil {
			t.Fatal(err)
		}
		inc.Refresh(context.Background())
		envs := []release.Env{{Name: "preprod", Namespace: "preprod"}, {Name: "prod", Namespace: "prod", Protected: true}}
		rel := release.New(envs, &cl, o.Journal, release.Options{Now: o.Now})
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		if err := rel.Start(ctx); err != nil {
			t.Fatal(err)
		}
		o.Services = &common.Services{Incident: inc, Release: rel}
	})
	if m.Pane().Title() != "Alerts" || !strings.Contains(screen(m), "AppHighErrorRate") {
		t.Fatalf("the session does not open on the alert:\n%s", screen(m))
	}
	key := func(k string) { keys++; press(m, k) }

	key("u")
	at := fixedNow.Add(-50 * time.Minute).Format("15:04")
	s := screen(m)
	for _, want := range []string{"Roll back prod/api from 2.5.1-bad to 2.4.1", "promotion by alice (operator) at " + at, "Revision 7 → revision 6",
		"registry.lab.local/shop/api:2.4.1"} {
		if !strings.Contains(strings.Join(strings.Fields(s), " "), want) {
			t.Fatalf("the dialog lacks %q:\n%s", want, s)
		}
	}
	cl.mu.Lock()
	early := len(cl.rolled)
	cl.mu.Unlock()
	if early != 0 {
		t.Fatal("rolled back before the confirmation")
	}
	key("y")
	if r := cl.rollbacks(); len(r) != 1 || r[0] != 6 {
		t.Fatalf("rollbacks %v, want revision 6 once", r)
	}
	if keys > 4 {
		t.Fatalf("%d keys from the alert to the rollback", keys)
	}
	// Under way: its rollout on screen. (The result's toast is the
	// alerts tests'; here the command may outlast drive's wait.)
	if m.Pane().Title() != "Rollouts" || !strings.Contains(m.Pane().Status(), "prod/api") {
		t.Fatalf("after y: pane %s, status %q", m.Pane().Title(), m.Pane().Status())
	}
	press(m, "esc")
	if m.Pane().Title() != "Alerts" {
		t.Fatalf("esc after the jump focused %s, not Alerts", m.Pane().Title())
	}
}
