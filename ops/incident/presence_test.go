package incident_test

import (
	"context"
	"testing"
	"time"

	"github.com/vigilops/vigil/integrations/alertmanager"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ops/presence"
)

// watchedAM calls during inside each silence change, so a test sees what
// is in progress then.
type watchedAM struct {
	*memAM
	during func()
}

func (w watchedAM) CreateSilence(ctx context.Context, s incident.Silence) (string, error) {
	w.during()
	return w.memAM.CreateSilence(ctx, s)
}

func (w watchedAM) ExpireSilence(ctx context.Context, id string) error {
	w.during()
	return w.memAM.ExpireSilence(ctx, id)
}

// doing is what session self sees the others doing, "" for nothing.
func doing(reg *presence.Registry, self uint64) string {
	for _, e := range reg.Snapshot(self).Others() {
		if d := e.Doing(); d != "" {
			return d
		}
	}
	return ""
}

func TestAcknowledgementsShownToEverySession(t *testing.T) {
	f := newFixture(t)
	reg := presence.New(nil)
	ctx := presence.WithSession(context.Background(), reg.Join(alice))
	bob := reg.Join(access.Actor{Name: "bob", Role: access.Viewer}).ID()
	var seen string
	svc, err := incident.New(incident.Options{
		Prometheus:    f.prom,
		Alertmanager:  watchedAM{f.am, func() { seen = doing(reg, bob) }},
		ParseMatchers: alertmanager.ParseMatchers,
		Journal:       f.journal,
		Now:           f.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.am.set([]incident.Alert{
		mkAlert("a1", "AppHighErrorRate", "critical", f.clock.Now(), "namespace", "prod", "deployment", "api"),
		mkAlert("a2", "HostDown", "critical", f.clock.Now(), "droplet", "web-02"),
	}, nil)
	svc.Refresh(ctx)

	var ids []string
	for _, c := range []struct {
		req  incident.AckRequest
		want string
	}{
		{incident.AckRequest{Fingerprint: "a1", Duration: time.Hour, Comment: "rolling back"}, "alice is acknowledging AppHighErrorRate on prod/api"},
		{incident.AckRequest{Fingerprint: "a2", Duration: time.Hour, Comment: "rebooting"}, "alice is acknowledging HostDown on web-02"},
		{incident.AckRequest{Match: `severity="critical"`, Duration: time.Hour, Comment: "maintenance"}, `alice is acknowledging alerts matching severity="critical"`},
	} {
		seen = ""
		sil, err := svc.Acknowledge(ctx, alice, c.req)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sil.ID)
		if seen != c.want {
			t.Errorf("while it ran, bob saw %q, want %q", seen, c.want)
		}
		if d := doing(reg, bob); d != "" {
			t.Errorf("after %q, bob still sees %q", c.want, d)
		}
	}

	seen = ""
	if err := svc.Unacknowledge(ctx, alice, ids[0]); err != nil {
		t.Fatal(err)
	}
	if want := "alice is expiring the silence of AppHighErrorRate"; seen != want {
		t.Errorf("while it ran, bob saw %q, want %q", seen, want)
	}
	seen = ""
	if err := svc.Unacknowledge(ctx, alice, ids[2]); err != nil {
		t.Fatal(err)
	}
	if want := "alice is expiring silence " + ids[2]; seen != want {
		t.Errorf("while it ran, bob saw %q, want %q", seen, want)
	}
	if d := doing(reg, bob); d != "" {
		t.Errorf("after the unacknowledgements, bob still sees %q", d)
	}

	// A refused acknowledgement never shows: the presence does not change.
	vctx := presence.WithSession(context.Background(), reg.Join(vic))
	changed, cancel := reg.Subscribe()
	defer cancel()
	if _, err := svc.Acknowledge(vctx, vic, incident.AckRequest{Fingerprint: "a2", Duration: time.Hour, Comment: "x"}); err == nil {
		t.Fatal("a viewer acknowledged an alert")
	}
	select {
	case <-changed:
		t.Error("a refused acknowledgement showed as an action in progress")
	default:
	}
}
