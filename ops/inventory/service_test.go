package inventory

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/internal/testclock"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
)

// cloud is an in-memory Cloud for the service's own logic; the real API is
// exercised by integrations/digitalocean's lab tests.
type cloud struct {
	hosts     map[int]Host
	destroyed []int
	acted     []ActionKind
}

func (c *cloud) Hosts(_ context.Context, tag string) ([]Host, error) {
	var out []Host
	for _, h := range c.hosts {
		if tag == "" || h.HasTag(tag) {
			out = append(out, h)
		}
	}
	return out, nil
}

func (c *cloud) Host(_ context.Context, id int) (Host, error) {
	h, ok := c.hosts[id]
	if !ok {
		return Host{}, errors.New("not found")
	}
	return h, nil
}

func (c *cloud) Sizes(context.Context) ([]Size, error) {
	return []Size{{Slug: "s-1vcpu-1gb", PriceMonthly: 6}, {Slug: "s-2vcpu-4gb", PriceMonthly: 24}}, nil
}
func (c *cloud) Volumes(context.Context) ([]Volume, error) {
	return []Volume{{ID: "v1", Name: "db-data", SizeGB: 100, HostIDs: []int{2}}}, nil
}
func (c *cloud) Create(context.Context, CreateRequest) ([]Host, error) {
	return nil, errors.New("unused")
}
func (c *cloud) Destroy(_ context.Context, id int) error {
	c.destroyed = append(c.destroyed, id)
	delete(c.hosts, id)
	return nil
}
func (c *cloud) Act(_ context.Context, _ int, a ActionRequest, _ func(ActionStatus)) error {
	c.acted = append(c.acted, a.Kind)
	return nil
}
func (c *cloud) CreateVolume(context.Context, VolumeRequest) (Volume, error) { return Volume{}, nil }
func (c *cloud) AttachVolume(context.Context, string, int, func(ActionStatus)) error {
	return nil
}
func (c *cloud) Tag(_ context.Context, tag string, ids []int) error {
	for _, id := range ids {
		h := c.hosts[id]
		h.Tags = append(slices.Clone(h.Tags), tag)
		c.hosts[id] = h
	}
	return nil
}
func (c *cloud) Untag(context.Context, string, []int) error { return nil }

// epoch is the tests' now: the service's and the journal's clock.
var epoch = testclock.Epoch()

func fixedNow() time.Time { return epoch }

func setup(t *testing.T, guard access.Guard) (*Service, *cloud, *audit.Journal) {
	t.Helper()
	c := &cloud{hosts: map[int]Host{
		1: {ID: 1, Name: "web-1", Size: "s-1vcpu-1gb", Tags: []string{"web"}, Created: epoch.Add(-time.Hour)},
		2: {ID: 2, Name: "db-1", Size: "s-2vcpu-4gb", Tags: []string{"db"}},
		3: {ID: 3, Name: "web-2", Size: "s-1vcpu-1gb", Tags: []string{"web", ProtectedTag}},
	}}
	j, err := audit.Open(filepath.Join(t.TempDir(), "j.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	j.Now = fixedNow
	s := New(c, j, Options{Guard: guard, Now: fixedNow})
	if err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, c, j
}

var bob = access.Actor{Name: "bob", Role: access.Operator}

func TestStateRows(t *testing.T) {
	s, _, _ := setup(t, access.Guard{})
	st := s.State()
	if names := []string{st.Hosts[0].Name, st.Hosts[1].Name, st.Hosts[2].Name}; !slices.Equal(names, []string{"db-1", "web-1", "web-2"}) {
		t.Fatalf("hosts not sorted by name: %v", names)
	}
	if st.MonthlyTotal != 36 || st.Rows[0].Cost != "$24.00/mo" || st.Rows[0].Volumes != "db-data 100GB" || st.Rows[2].Tags != "web,protected" {
		t.Fatalf("rows: total %v, %+v", st.MonthlyTotal, st.Rows)
	}
	if h, ok := st.Host("web-2"); !ok || !h.Protected() {
		t.Fatalf("Host(web-2) = %+v, %v", h, ok)
	}
	if h, _ := st.Host("web-1"); !st.Fetched.Equal(epoch) || h.Age(st.Fetched) != time.Hour {
		t.Errorf("fetched at %v, want the clock's %v, and web-1 an hour old", st.Fetched, epoch)
	}
}

func TestSnapshotNamedAfterTheClock(t *testing.T) {
	s, _, j := setup(t, access.Guard{})
	h, _ := s.State().Host("web-1")
	if err := s.Act(context.Background(), bob, h, ActionRequest{Kind: Snapshot}, nil); err != nil {
		t.Fatal(err)
	}
	es, _ := j.Query(audit.Query{Target: "host/web-1"})
	want := "web-1-" + epoch.Format("20060102-150405")
	if len(es) != 1 || es[0].Parameters["name"] != want || !es[0].Time.Equal(epoch) {
		t.Fatalf("journal %+v, want a snapshot named %s at %v", es, want, epoch)
	}
}

func TestDestroyRefusesProtectedEvenIfTaggedAfterPlan(t *testing.T) {
	s, c, j := setup(t, access.Guard{})
	ctx := context.Background()
	plan, err := s.PlanDestroy(ctx, nil, "web")
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Hosts) != 1 || len(plan.Refused) != 1 {
		t.Fatalf("plan %+v", plan)
	}
	// web-1 gets protected between the plan and the confirmation.
	if err := s.Tag(ctx, bob, ProtectedTag, plan.Hosts); err != nil {
		t.Fatal(err)
	}
	err = s.Destroy(ctx, bob, plan)
	if !errors.Is(err, ErrProtected) || len(c.destroyed) != 0 {
		t.Fatalf("destroy: %v, destroyed %v; want both refused", err, c.destroyed)
	}
	es, _ := j.Query(audit.Query{Target: "host/web-1"})
	if len(es) != 2 || es[1].Result != audit.Refused || es[1].Error == "" {
		t.Fatalf("journal for web-1: %+v", es)
	}
}

func TestGuardRefusalsJournaled(t *testing.T) {
	s, c, j := setup(t, access.Guard{ReadOnly: true})
	ctx := context.Background()
	h, _ := s.State().Host("web-1")
	err := s.Act(ctx, bob, h, ActionRequest{Kind: Resize, Size: "s-2vcpu-4gb"}, nil)
	if !errors.Is(err, access.ErrReadOnly) || len(c.acted) != 0 {
		t.Fatalf("resize in read-only: %v, acted %v", err, c.acted)
	}
	es, _ := j.Query(audit.Query{})
	if len(es) != 1 || es[0].Result != audit.Refused || es[0].Parameters["to"] != "s-2vcpu-4gb" {
		t.Fatalf("journal: %+v", es)
	}
	if _, err := s.Create(ctx, bob, "nope", []string{"x"}, nil); !errors.Is(err, access.ErrReadOnly) {
		t.Fatalf("create in read-only: %v", err)
	}
}

func TestActionsDeclareDanger(t *testing.T) {
	for _, k := range []ActionKind{PowerOff, PowerCycle, Reboot, Resize} {
		if !Actions[k].Access.Dangerous || Actions[k].Warning == "" {
			t.Errorf("%s must be dangerous with a warning", k)
		}
	}
	if Actions[PowerOn].Access.Dangerous {
		t.Error("power on is not dangerous")
	}
}

// holders is a playbook service's view of who holds which host.
type holders map[string]string

func (h holders) HostHolder(_ context.Context, host string) (string, bool, error) {
	who, ok := h[host]
	return who, ok, nil
}

// A host a playbook run holds is not destroyed: the refusal names the run
// and is journaled as refused; the other hosts of the plan go.
func TestDestroyRefusedWhileARunHoldsTheHost(t *testing.T) {
	s, c, j := setup(t, access.Guard{})
	held := holders{"web-1": "olga, run 20261207-1, on bastion-1"}
	s.opt.Holders = held
	ctx := context.Background()
	web1, _ := s.State().Host("web-1")
	db1, _ := s.State().Host("db-1")
	err := s.Destroy(ctx, bob, DestroyPlan{Hosts: []Host{web1, db1}})
	if !access.IsRefusal(err) || !strings.Contains(err.Error(), "a playbook run holds web-1 (olga, run 20261207-1, on bastion-1)") {
		t.Fatalf("destroy of a held host: %v", err)
	}
	if !slices.Equal(c.destroyed, []int{2}) {
		t.Fatalf("destroyed %v, want db-1 (2) only", c.destroyed)
	}
	es, _ := j.Query(audit.Query{Target: "host/web-1"})
	if len(es) == 0 || es[len(es)-1].Result != audit.Refused || !strings.Contains(es[len(es)-1].Error, "olga, run 20261207-1") {
		t.Fatalf("journal for web-1: %+v", es)
	}
	// The run ended: the host goes.
	delete(held, "web-1")
	if err := s.Destroy(ctx, bob, DestroyPlan{Hosts: []Host{web1}}); err != nil {
		t.Fatal(err)
	}
}
