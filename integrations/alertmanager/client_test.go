package alertmanager_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/api/v2/models"

	"github.com/vigilops/vigil/integrations/alertmanager"
	"github.com/vigilops/vigil/ops/incident"
)

// TestHAClusterDeduplicates gives the client two Alertmanagers that both
// received the same alert, as the instances of an HA cluster do: the alert
// is listed once, and still listed when one instance is down.
func TestHAClusterDeduplicates(t *testing.T) {
	cfg := "route: {receiver: none, group_wait: 0s}\nreceivers: [{name: none}]\n"
	am1, am2 := startAlertmanager(t, freeAddr(t), cfg), startAlertmanager(t, freeAddr(t), cfg)
	labels := models.LabelSet{"alertname": "HostDown", "severity": "critical", "droplet": "web-02"}
	postAlert(t, am1.url, labels, time.Time{})
	postAlert(t, am2.url, labels, time.Time{})
	c, err := alertmanager.New([]string{am1.url, am2.url})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	as, err := c.Alerts(ctx)
	if err != nil || len(as) != 1 || as[0].Name != "HostDown" || as[0].Labels["droplet"] != "web-02" {
		t.Fatalf("alerts of the pair = %+v, %v; want HostDown once", as, err)
	}
	groups, err := c.Groups(ctx)
	if err != nil || len(groups) != 1 || groups[0].Receiver != "none" || len(groups[0].Alerts) != 1 {
		t.Fatalf("groups = %+v, %v", groups, err)
	}

	id, err := c.CreateSilence(ctx, incident.Silence{Matchers: mustMatchers(t, `droplet="web-02"`),
		StartsAt: time.Now(), EndsAt: time.Now().Add(time.Hour), CreatedBy: "alice", Comment: "replacing the disk"})
	if err != nil {
		t.Fatal(err)
	}
	sils, err := c.Silences(ctx)
	if err != nil || len(sils) != 1 || sils[0].ID != id || sils[0].CreatedBy != "alice" || sils[0].State != "active" ||
		len(sils[0].Matchers) != 1 || sils[0].Matchers[0].String() != `droplet="web-02"` {
		t.Fatalf("silences = %+v, %v", sils, err)
	}

	am1.stop()
	as, err = c.Alerts(ctx)
	if err != nil || len(as) != 1 {
		t.Fatalf("with one instance down: %+v, %v", as, err)
	}
	am2.stop()
	if _, err := c.Alerts(ctx); err == nil {
		t.Fatal("with every instance down, Alerts should fail")
	}
	if err := c.ExpireSilence(ctx, "not-a-uuid"); err == nil {
		t.Fatal("a malformed silence id should be refused")
	}
}

func mustMatchers(t testing.TB, s string) []incident.Matcher {
	t.Helper()
	ms, err := alertmanager.ParseMatchers(s)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func TestNewRejectsBadURLs(t *testing.T) {
	for _, urls := range [][]string{nil, {"127.0.0.1:9093"}, {"ftp://x"}, {"http://"}} {
		if _, err := alertmanager.New(urls); err == nil {
			t.Errorf("New(%q) should fail", urls)
		}
	}
}
