package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/integrations/alertmanager"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ui/common"
)

// A command runbook through the shell: ? lists the alert's runbooks; r, 1
// runs the palette command filled from the alert, which opens the rollout
// of the alert's workload; esc comes back to the alert.
func TestRunbookCommandThroughTheShell(t *testing.T) {
	am := &oneAM{alerts: []incident.Alert{
		{Fingerprint: "new", Name: "AppHighErrorRate", State: incident.Firing, StartsAt: fixedNow.Add(-5 * time.Minute),
			Labels: map[string]string{"alertname": "AppHighErrorRate", "severity": "critical", "namespace": "prod", "deployment": "api"}},
	}}
	cfg := &config.Config{Identity: config.Identity{Name: "alice", Role: "operator"}, Theme: "dark",
		Runbooks: []config.Runbook{{Name: "look", Alert: "AppHighErrorRate", Kind: "command", Command: "rollout {env}/{app}", Role: "viewer"},
			{Name: "restart-api", Alert: "AppHighErrorRate", Kind: "restart", Role: "operator"}}}
	var cl badRelease
	m := newShell(t, cfg, func(o *Options) {
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
	if m.Pane().Title() != "Alerts" {
		t.Fatalf("the session opens on %s", m.Pane().Title())
	}
	resize(m, 120, 80) // help whole, unscrolled
	press(m, "?")
	if s := screen(m); !strings.Contains(s, "Runbooks of AppHighErrorRate (r, then the number)") || !strings.Contains(s, "1 look  :rollout prod/api") ||
		!strings.Contains(s, "2 restart-api  restart api in prod (prod/api)  asks first") {
		t.Fatalf("help does not list the alert's runbooks:\n%s", s)
	}
	press(m, "esc", "r")
	if s := screen(m); !strings.Contains(s, "Runbook for AppHighErrorRate on prod/api") {
		t.Fatalf("r does not open the runbooks:\n%s", s)
	}
	// esc from the confirmation does nothing (badRelease has no Restart:
	// a restart would panic).
	press(m, "2")
	if s := screen(m); !strings.Contains(s, "Runbook restart-api: restart api in prod (prod/api)?") {
		t.Fatalf("2 does not ask to restart prod/api:\n%s", s)
	}
	press(m, "esc")
	if s := screen(m); !strings.Contains(s, "cancelled: Runbook restart-api") || m.Pane().Title() != "Alerts" || strings.Contains(s, "done:") {
		t.Fatalf("esc from the confirmation left:\n%s", s)
	}
	press(m, "r")
	press(m, "1")
	if m.Pane().Title() != "Rollouts" || !strings.Contains(m.Pane().Status(), "prod/api") {
		t.Fatalf("after r 1: pane %s, status %q\n%s", m.Pane().Title(), m.Pane().Status(), screen(m))
	}
	press(m, "esc")
	if m.Pane().Title() != "Alerts" {
		t.Fatalf("esc after the runbook's jump focused %s, not Alerts", m.Pane().Title())
	}
}
