package incident_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/incident"
)

var bob = access.Actor{Name: "bob", Role: access.Operator, Source: "local"}

func active(am *memAM) []incident.Silence {
	am.mu.Lock()
	defer am.mu.Unlock()
	var out []incident.Silence
	for _, s := range am.silences {
		if s.State != "expired" {
			out = append(out, s)
		}
	}
	return out
}

// The second acknowledgement of an alert sees the first: refused with who,
// why and until when, unless it extends it or adds a comment to it.
func TestSecondAckSeesTheFirst(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.am.set([]incident.Alert{mkAlert("a1", "HostDown", "critical", f.clock.Now(), "droplet", "web-02")}, nil)
	f.svc.Refresh(ctx)
	first, err := f.svc.Acknowledge(ctx, alice, incident.AckRequest{Fingerprint: "a1", Duration: time.Hour, Comment: "rebooting web-02"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Acknowledge(ctx, bob, incident.AckRequest{Fingerprint: "a1", Duration: 30 * time.Minute, Comment: "looking too"})
	var acked *incident.AckedError
	if !errors.As(err, &acked) || acked.Silence.ID != first.ID || acked.Silence.CreatedBy != "alice" || !access.IsRefusal(err) ||
		!strings.Contains(err.Error(), "already acknowledged by alice") || !strings.Contains(err.Error(), `"rebooting web-02"`) {
		t.Fatalf("second ack: %v", err)
	}
	if e := lastEntry(t, f.journal); e.Result != audit.Refused || e.Parameters["holder"] != "alice" || e.Parameters["holder-silence"] != first.ID {
		t.Fatalf("the refusal is journaled as refused, with the holder: %+v", e)
	}

	// bob adds a comment: same silence, same end, both comments.
	got, err := f.svc.Acknowledge(ctx, bob, incident.AckRequest{Fingerprint: "a1", Duration: 30 * time.Minute, Comment: "DNS looks fine", Existing: incident.AckComment})
	if err != nil || got.ID != first.ID || !got.EndsAt.Equal(first.EndsAt) || got.Comment != "rebooting web-02 · bob: DNS looks fine" || got.CreatedBy != "alice" {
		t.Fatalf("add a comment: %+v %v", got, err)
	}
	// bob extends it: it ends 4 h from now; a shorter extension never shortens it.
	f.clock.add(10 * time.Minute)
	got, err = f.svc.Acknowledge(ctx, bob, incident.AckRequest{Fingerprint: "a1", Duration: 4 * time.Hour, Comment: "waiting for the vendor", Existing: incident.AckExtend})
	if err != nil || got.ID != first.ID || !got.EndsAt.Equal(f.clock.Now().Add(4*time.Hour)) {
		t.Fatalf("extend: %+v %v", got, err)
	}
	until := got.EndsAt
	if got, err = f.svc.Acknowledge(ctx, bob, incident.AckRequest{Fingerprint: "a1", Duration: time.Minute, Comment: "x", Existing: incident.AckExtend}); err != nil || !got.EndsAt.Equal(until) {
		t.Fatalf("a shorter extension: %+v %v", got, err)
	}
	if n := len(active(f.am)); n != 1 {
		t.Fatalf("%d silences, want the one", n)
	}
	if e := lastEntry(t, f.journal); e.Result != audit.OK || e.Actor != "bob" || e.Parameters["mode"] != "extend" || e.Parameters["silence"] != first.ID {
		t.Fatalf("journal of the extension: %+v", e)
	}
}

// racingAM stores bob's acknowledgement of the same alert while alice's
// is on its way: at the same instant, or before it.
type racingAM struct {
	*memAM
	tie  bool
	done bool
}

func (r *racingAM) CreateSilence(ctx context.Context, s incident.Silence) (string, error) {
	if r.done || s.ID != "" {
		return r.memAM.CreateSilence(ctx, s)
	}
	r.done = true
	theirs := s
	theirs.CreatedBy, theirs.Comment = "bob", "mine"
	if _, err := r.memAM.CreateSilence(ctx, theirs); err != nil {
		return "", err
	}
	id, err := r.memAM.CreateSilence(ctx, s)
	if r.tie {
		r.mu.Lock()
		n := len(r.silences)
		r.silences[n-1].UpdatedAt = r.silences[n-2].UpdatedAt
		r.mu.Unlock()
	}
	return id, err
}

// Two acknowledgements at once: the one Alertmanager stored last (or both,
// on a tie) steps back; one silence stays, and the loser is told whose.
func TestAckRaceLeavesOneSilence(t *testing.T) {
	for _, tie := range []bool{false, true} {
		f := newFixture(t)
		ctx := context.Background()
		am := &racingAM{memAM: f.am, tie: tie}
		svc, err := incident.New(incident.Options{Alertmanager: am, ParseMatchers: func(string) ([]incident.Matcher, error) { return nil, nil }, Journal: f.journal, Now: f.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		f.am.set([]incident.Alert{mkAlert("a1", "HostDown", "critical", f.clock.Now(), "droplet", "web-02")}, nil)
		svc.Refresh(ctx)
		_, err = svc.Acknowledge(ctx, alice, incident.AckRequest{Fingerprint: "a1", Duration: time.Hour, Comment: "on it"})
		var acked *incident.AckedError
		if !errors.As(err, &acked) || acked.Silence.CreatedBy != "bob" {
			t.Fatalf("tie=%v: alice should be told bob holds it: %v", tie, err)
		}
		if s := active(f.am); len(s) != 1 || s[0].CreatedBy != "bob" {
			t.Fatalf("tie=%v: silences left %+v, want bob's alone", tie, s)
		}
		if e := lastEntry(t, f.journal); e.Result != audit.Refused || e.Parameters["holder"] != "bob" || e.Parameters["expired-duplicate"] == "" {
			t.Fatalf("tie=%v: journal %+v", tie, e)
		}
	}
}
