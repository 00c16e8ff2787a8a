package playbook

import (
	"context"
	"testing"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/presence"
)

// doing is what session self sees the others doing, "" for nothing.
func doing(reg *presence.Registry, self uint64) string {
	for _, e := range reg.Snapshot(self).Others() {
		if d := e.Doing(); d != "" {
			return d
		}
	}
	return ""
}

// A run shows to every session from its start to its end, although Start
// returns at once.
func TestRunShownToEverySessionUntilItEnds(t *testing.T) {
	f := setup(t, &replay{lines: recording(t)[:3], block: true})
	reg := presence.New(nil)
	ctx, cancel := context.WithCancel(presence.WithSession(context.Background(), reg.Join(ops)))
	watcher := reg.Join(access.Actor{Name: "vic", Role: access.Viewer}).ID()
	id, err := f.svc.Start(ctx, ops, Request{Playbook: "site.yml", Target: Target{Kind: TargetTag, Name: "web"}})
	if err != nil {
		t.Fatal(err)
	}
	cancel() // the caller's context ends; the run goes on, and so does its presence
	for p, ok := f.svc.Progress(id); ok && p.Run.Events < 3; p, ok = f.svc.Progress(id) {
		time.Sleep(10 * time.Millisecond)
	}
	if got, want := doing(reg, watcher), "olga is running site.yml on a and b"; got != want {
		t.Errorf("while the run goes on, the watcher sees %q, want %q", got, want)
	}
	if err := f.svc.Cancel(context.Background(), ops, id); err != nil {
		t.Fatal(err)
	}
	f.wait(t, id)
	if got := doing(reg, watcher); got != "" {
		t.Errorf("after the run ended, the watcher still sees %q", got)
	}

	// A refused run never shows: the presence does not change.
	changed, stop := reg.Subscribe()
	defer stop()
	vctx := presence.WithSession(context.Background(), reg.Join(viewer))
	<-changed // the viewer's join
	if _, err := f.svc.Start(vctx, viewer, Request{Playbook: "site.yml"}); err == nil {
		t.Fatal("a viewer started a run")
	}
	select {
	case <-changed:
		t.Error("a refused run showed as an action in progress")
	default:
	}
}

func TestRunning(t *testing.T) {
	for _, c := range []struct {
		run   Run
		hosts []string
		want  string
	}{
		{Run{Playbook: "base.yml"}, []string{"web-1"}, "running base.yml on web-1"},
		{Run{Playbook: "base.yml", Mode: Check}, []string{"a", "b", "c"}, "running base.yml in check mode on a, b and c"},
		{Run{Playbook: "base.yml", RerunOf: "r1"}, []string{"a", "b", "c", "d"}, "rerunning base.yml on 4 hosts"},
	} {
		if got := running(c.run, c.hosts); got != c.want {
			t.Errorf("running(%+v, %q) = %q, want %q", c.run, c.hosts, got, c.want)
		}
	}
}
