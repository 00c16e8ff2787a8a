package app

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/vigilops/vigil/integrations/alertmanager"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ui/alerts"
	"github.com/vigilops/vigil/ui/common"
)

// raws runs cmd and its batches, and returns what they print raw; a
// command that waits (a subscription) is left waiting.
func raws(cmd tea.Cmd) []string {
	if cmd == nil {
		return nil
	}
	done := make(chan tea.Msg, 1)
	go func() { done <- cmd() }()
	var msg tea.Msg
	select {
	case msg = <-done:
	case <-time.After(200 * time.Millisecond):
		return nil
	}
	switch msg := msg.(type) {
	case tea.BatchMsg:
		var out []string
		for _, c := range msg {
			out = append(out, raws(c)...)
		}
		return out
	case tea.RawMsg:
		return []string{msg.Msg.(string)}
	}
	return nil
}

func critical(fp, name, ns string) incident.Alert {
	return incident.Alert{Fingerprint: fp, Name: name, State: incident.Firing, StartsAt: fixedNow.Add(-time.Minute),
		Labels: map[string]string{"alertname": name, "severity": "critical", "namespace": ns}}
}

// A session that turned notifications on is told of a critical alert that
// fires after it opened, once per alert group a minute, through escapes an
// alert's text cannot add to; the window title counts the critical alerts.
func TestNotificationsOfNewCriticalAlerts(t *testing.T) {
	am := &oneAM{alerts: []incident.Alert{critical("old", "HostDown", "")}}
	var inc *incident.Service
	m := newShell(t, nil, func(o *Options) {
		var err error
		inc, err = incident.New(incident.Options{Alertmanager: am, ParseMatchers: alertmanager.ParseMatchers, Journal: o.Journal, Now: o.Now})
		if err != nil {
			t.Fatal(err)
		}
		inc.Refresh(context.Background())
		o.Services = &common.Services{Incident: inc}
	})
	poll := func() []string {
		inc.Refresh(context.Background())
		_, cmd := m.Update(alerts.SnapshotMsg{Snap: inc.Snapshot()})
		return raws(cmd)
	}
	if got := poll(); len(got) != 0 {
		t.Fatalf("an alert firing at the start was told: %q", got)
	}
	if got := m.View().WindowTitle; got != "vigil · 1 critical" {
		t.Fatalf("window title %q", got)
	}
	am.alerts = append(am.alerts, critical("new1", "AppHighErrorRate", "prod"))
	if got := poll(); len(got) != 0 {
		t.Fatalf("told without opting in: %q", got)
	}
	_, cmd := m.Update(keyMsg(":"))
	drive(m, cmd)
	for _, r := range "notify on" {
		_, cmd = m.Update(keyMsg(string(r)))
		drive(m, cmd)
	}
	_, cmd = m.Update(keyMsg("enter"))
	drive(m, cmd)
	if !m.notify.on {
		t.Fatal(":notify on did not turn notifications on")
	}
	am.alerts = append(am.alerts, critical("new2", "DiskFull\x1b]52;c;ZXZpbA==\x07", "prod"))
	got := poll()
	if len(got) != 1 || !strings.HasPrefix(got[0], "\x1b]9;vigil: critical DiskFull") || !strings.HasSuffix(got[0], "\x07\a") ||
		strings.Count(got[0], "\x1b") != 2 || !strings.Contains(got[0], "\x1b]777;notify;vigil;critical DiskFull") {
		t.Fatalf("notification %q", got)
	}
	am.alerts = append(am.alerts, critical("new3", "DiskFull\x1b]52;c;ZXZpbA==\x07", "prod"))
	if got := poll(); len(got) != 0 {
		t.Fatalf("a second alert of the group within a minute was told: %q", got)
	}
	if got := m.View().WindowTitle; got != "vigil · 4 critical" {
		t.Fatalf("window title %q", got)
	}
}
