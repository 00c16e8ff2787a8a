package app

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ui/common"
)

// pickRelease holds api on 2.5.0 in preprod, whose history has 2.4.1 as
// revision 3, and 2.3.0 in prod; it records the images promoted.
type pickRelease struct {
	release.Cluster
	mu  sync.Mutex
	set []release.Container
}

func (c *pickRelease) promoted() []release.Container {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.set
}

func api(version string) []release.Container {
	return []release.Container{{Name: "api", Image: "registry.lab.local/shop/api:" + version}}
}

func (c *pickRelease) Watch(_ context.Context, _ []release.Env, _ string, sink release.Sink) error {
	for env, version := range map[string]string{"preprod": "2.5.0", "prod": "2.3.0"} {
		sink.Workload(env, release.Workload{Kind: release.Deployment, Name: "api", Revision: 4, Desired: 1, Ready: 1, Available: 1, Updated: 1,
			Containers: api(version), ChangedAt: fixedNow.Add(-time.Hour)})
	}
	return nil
}

func (c *pickRelease) History(release.Ref) ([]release.Revision, error) {
	return []release.Revision{{Number: 4, Containers: api("2.5.0"), Current: true}, {Number: 3, Containers: api("2.4.1")}}, nil
}

func (c *pickRelease) GetFreeze(context.Context, release.Target) (*release.Freeze, error) {
	return nil, nil
}
func (c *pickRelease) Lock(context.Context, release.Target, string, release.Holder, time.Duration) error {
	return nil
}
func (c *pickRelease) Unlock(context.Context, release.Target, string, string) error { return nil }
func (c *pickRelease) SetImages(_ context.Context, _ release.Ref, cs []release.Container, _ map[string]string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.set = cs
	return nil
}
func (c *pickRelease) WatchPods(context.Context, release.Ref, func([]release.Pod)) error {
	return errors.New("no pods in this test")
}
func (c *pickRelease) Detail(release.Ref) (release.Detail, bool) { return release.Detail{}, false }

// Issue 12, choosing the release to promote: `:promote api prod 3` previews
// revision 3 of preprod (2.4.1, not the 2.5.0 it runs), asks about that
// revision by name, and promotes its images; a revision preprod never had
// is refused with those it has.
func TestPromoteARevisionFromThePalette(t *testing.T) {
	var cl pickRelease
	m := newShell(t, nil, func(o *Options) {
		envs := []release.Env{{Name: "preprod", Namespace: "preprod"}, {Name: "prod", Namespace: "prod", Protected: true}}
		rel := release.New(envs, &cl, o.Journal, release.Options{Now: o.Now})
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		if err := rel.Start(ctx); err != nil {
			t.Fatal(err)
		}
		o.Services = &common.Services{Release: rel}
	})
	press(m, ":")
	typeText(m, "promote api prod 9")
	press(m, "enter")
	if s := screen(m); !strings.Contains(s, "has no revision 9: choose one of") || !strings.Contains(s, "4, 3") {
		t.Fatalf("a revision preprod never had:\n%s", s)
	}
	press(m, "esc", ":")
	typeText(m, "promote api prod 3")
	press(m, "enter")
	s := strings.Join(strings.Fields(screen(m)), " ")
	for _, want := range []string{"Promote api from preprod (its revision 3) to prod?", "registry.lab.local/shop/api:2.4.1"} {
		if !strings.Contains(s, want) {
			t.Fatalf("the preview lacks %q:\n%s", want, screen(m))
		}
	}
	if strings.Contains(s, "api:2.5.0") {
		t.Fatalf("the preview offers what preprod runs, not the revision chosen:\n%s", screen(m))
	}
	typeText(m, "prod")
	press(m, "enter")
	deadline := time.Now().Add(10 * time.Second) // a slow machine may not have run it yet
	for len(cl.promoted()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if set := cl.promoted(); len(set) != 1 || set[0].Image != "registry.lab.local/shop/api:2.4.1" {
		t.Fatalf("promoted %v, want revision 3's 2.4.1", set)
	}
}
