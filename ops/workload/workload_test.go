package workload

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vigilops/vigil/internal/testclock"
	"github.com/vigilops/vigil/ops/release"
)

func TestSortWarningsFirstThenNewest(t *testing.T) {
	now := testclock.Epoch()
	evs := []release.Event{
		{Type: "Normal", Reason: "old", Last: now.Add(-time.Hour)},
		{Type: "Warning", Reason: "old warning", Last: now.Add(-2 * time.Hour)},
		{Type: "Normal", Reason: "new", Last: now},
		{Type: "Warning", Reason: "new warning", Last: now.Add(-time.Minute)},
	}
	Sort(evs)
	var got []string
	for _, e := range evs {
		got = append(got, e.Reason)
	}
	if want := []string{"new warning", "old warning", "new", "old"}; !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

type locator map[string]release.Ref

func (l locator) Ref(app, env string) (release.Ref, error) {
	if r, ok := l[env+"/"+app]; ok {
		return r, nil
	}
	return release.Ref{}, errors.New("no " + env + "/" + app)
}

// burst calls fn with n lists at once, as a burst of events would.
type burst struct {
	n   int
	got chan release.Ref
}

func (b *burst) Describe(context.Context, release.Ref) (Description, error) {
	return Description{}, nil
}

func (b *burst) WatchEvents(ctx context.Context, ref release.Ref, fn func([]release.Event)) error {
	b.got <- ref
	for i := 1; i <= b.n; i++ {
		fn(make([]release.Event, i))
	}
	return nil
}

func (b *burst) WatchPods(ctx context.Context, ref release.Ref, fn func([]release.Pod)) error {
	b.got <- ref
	for i := 1; i <= b.n; i++ {
		fn(make([]release.Pod, i))
	}
	return nil
}

func TestWatchPodsSkipsToTheLatest(t *testing.T) {
	ref := release.Ref{Target: release.Target{Namespace: "prod"}, Kind: release.StatefulSet, Name: "db"}
	b := &burst{n: 30, got: make(chan release.Ref, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := New(locator{"prod/db": ref}, b).WatchPods(ctx, "db", "prod")
	if err != nil {
		t.Fatal(err)
	}
	if r := <-b.got; r != ref {
		t.Fatalf("watched %v, want %v", r, ref)
	}
	if pods := <-ch; len(pods) != 30 {
		t.Fatalf("the first read gives %d pods: not the latest", len(pods))
	}
	cancel()
	for range ch {
	}
}

func TestWatchEventsSkipsToTheLatestAndEndsWithItsContext(t *testing.T) {
	ref := release.Ref{Target: release.Target{Namespace: "prod"}, Kind: release.Deployment, Name: "api"}
	b := &burst{n: 50, got: make(chan release.Ref, 1)}
	s := New(locator{"prod/api": ref}, b)
	if _, err := s.WatchEvents(context.Background(), "nope", "prod"); err == nil {
		t.Fatal("an unknown app was watched")
	}
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := s.WatchEvents(ctx, "api", "prod")
	if err != nil {
		t.Fatal(err)
	}
	if r := <-b.got; r != ref {
		t.Fatalf("watched %v, want %v", r, ref)
	}
	for evs := range ch {
		if len(evs) == 50 {
			break
		}
	}
	cancel()
	for range ch {
	}
}
