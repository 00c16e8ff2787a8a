package inventory

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/presence"
)

// watchedCloud calls during inside each mutation, so a test sees what is
// in progress then.
type watchedCloud struct {
	*cloud
	during func()
}

func (w watchedCloud) Create(ctx context.Context, req CreateRequest) ([]Host, error) {
	w.during()
	return w.cloud.Create(ctx, req)
}

func (w watchedCloud) Destroy(ctx context.Context, id int) error {
	w.during()
	return w.cloud.Destroy(ctx, id)
}

func (w watchedCloud) Act(ctx context.Context, id int, a ActionRequest, progress func(ActionStatus)) error {
	w.during()
	return w.cloud.Act(ctx, id, a, progress)
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

func TestHostActionsShownToEverySession(t *testing.T) {
	_, c, _ := setup(t, access.Guard{})
	j, err := audit.Open(filepath.Join(t.TempDir(), "presence.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	h := c.hosts[1]
	h.Status = "active" // resized off, then on again
	c.hosts[1] = h
	reg := presence.New(nil)
	ctx := presence.WithSession(context.Background(), reg.Join(bob))
	watcher := reg.Join(access.Actor{Name: "vic", Role: access.Viewer}).ID()
	var seen []string // what the watcher saw at each cloud call
	s := New(watchedCloud{c, func() { seen = append(seen, doing(reg, watcher)) }}, j,
		Options{Templates: []Template{{Name: "web", Region: "ams3", Size: "s-1vcpu-1gb", Image: "debian-12-x64"}}})
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	web1, _ := s.State().Host("web-1")
	db1, _ := s.State().Host("db-1")

	cases := []struct {
		want []string
		run  func() error
	}{
		{[]string{"bob is powering off web-1"}, func() error { return s.Act(ctx, bob, web1, ActionRequest{Kind: PowerOff}, nil) }},
		{[]string{"bob is taking snapshot before-upgrade of db-1"}, func() error {
			return s.Act(ctx, bob, db1, ActionRequest{Kind: Snapshot, Name: "before-upgrade"}, nil)
		}},
		// A resize is one action, however many cloud calls it takes.
		{[]string{"bob is resizing web-1 to s-2vcpu-4gb", "bob is resizing web-1 to s-2vcpu-4gb", "bob is resizing web-1 to s-2vcpu-4gb"}, func() error {
			return s.Act(ctx, bob, web1, ActionRequest{Kind: Resize, Size: "s-2vcpu-4gb"}, nil)
		}},
		{[]string{"bob is destroying web-1 and db-1", "bob is destroying web-1 and db-1"}, func() error {
			return s.Destroy(ctx, bob, DestroyPlan{Hosts: []Host{web1, db1}})
		}},
		// The in-memory cloud cannot create hosts: the attempt shows all the same.
		{[]string{"bob is creating 4 hosts from template web"}, func() error {
			if _, err := s.Create(ctx, bob, "web", []string{"a-1", "a-2", "a-3", "a-4"}, nil); err == nil || !strings.Contains(err.Error(), "unused") {
				t.Errorf("Create: %v, want the in-memory cloud's refusal", err)
			}
			return nil
		}},
	}
	for _, tc := range cases {
		seen = nil
		if err := tc.run(); err != nil {
			t.Fatalf("%s: %v", tc.want[0], err)
		}
		if strings.Join(seen, "|") != strings.Join(tc.want, "|") {
			t.Errorf("while it ran, the watcher saw %q, want %q", seen, tc.want)
		}
		if d := doing(reg, watcher); d != "" {
			t.Errorf("after %q, the watcher still sees %q", tc.want[0], d)
		}
	}

	// A refused action never shows: the presence does not change.
	changed, cancel := reg.Subscribe()
	defer cancel()
	viewer := access.Actor{Name: "bob", Role: access.Viewer}
	if err := s.Act(ctx, viewer, web1, ActionRequest{Kind: Reboot}, nil); err == nil {
		t.Fatal("a viewer rebooted web-1")
	}
	select {
	case <-changed:
		t.Error("a refused reboot showed as an action in progress")
	default:
	}
}

func TestHostNames(t *testing.T) {
	for _, c := range []struct {
		names []string
		want  string
	}{
		{nil, "no hosts"},
		{[]string{"a"}, "a"},
		{[]string{"a", "b"}, "a and b"},
		{[]string{"a", "b", "c"}, "a, b and c"},
		{[]string{"a", "b", "c", "d"}, "4 hosts"},
	} {
		if got := hostNames(c.names); got != c.want {
			t.Errorf("hostNames(%q) = %q, want %q", c.names, got, c.want)
		}
	}
}
