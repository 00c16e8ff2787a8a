package inventory_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/internal/testclock"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ui/common"
	uinv "github.com/vigilops/vigil/ui/inventory"
	"github.com/vigilops/vigil/ui/uitest"
)

var t0 = testclock.Epoch()

// cloud is an in-memory inventory.Cloud: hosts become active with an
// address on their first lookup after creation.
type cloud struct {
	mu    sync.Mutex
	hosts []inventory.Host
	next  int
	fail  error // every call fails with it when set
	acts  []string
}

var _ inventory.Cloud = (*cloud)(nil)

func (c *cloud) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fail
}

func (c *cloud) Hosts(_ context.Context, tag string) ([]inventory.Host, error) {
	if err := c.err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []inventory.Host
	for _, h := range c.hosts {
		if tag == "" || h.HasTag(tag) {
			h.Tags = slices.Clone(h.Tags)
			out = append(out, h)
		}
	}
	return out, nil
}

func (c *cloud) Host(_ context.Context, id int) (inventory.Host, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, h := range c.hosts {
		if h.ID == id {
			if h.Status == "new" {
				c.hosts[i].Status, c.hosts[i].PublicIPv4 = "active", fmt.Sprintf("127.0.9.%d", id%250)
				return c.hosts[i], nil
			}
			return h, nil
		}
	}
	return inventory.Host{}, fmt.Errorf("no droplet %d", id)
}

func (c *cloud) Sizes(context.Context) ([]inventory.Size, error) {
	return []inventory.Size{{Slug: "s-1vcpu-1gb", PriceMonthly: 6}, {Slug: "s-2vcpu-4gb", PriceMonthly: 24}}, c.err()
}

func (c *cloud) Volumes(context.Context) ([]inventory.Volume, error) {
	return []inventory.Volume{{ID: "v1", Name: "db-01-data", Region: "ams3", SizeGB: 50, HostIDs: []int{3}}}, c.err()
}

func (c *cloud) Create(_ context.Context, req inventory.CreateRequest) ([]inventory.Host, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []inventory.Host
	for _, n := range req.Names {
		c.next++
		h := inventory.Host{ID: 1000 + c.next, Name: n, Status: "new", Region: req.Region, Size: req.Size, Image: req.Image, Tags: req.Tags, Created: t0}
		c.hosts = append(c.hosts, h)
		out = append(out, h)
	}
	return out, nil
}

func (c *cloud) Destroy(_ context.Context, id int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hosts = slices.DeleteFunc(c.hosts, func(h inventory.Host) bool { return h.ID == id })
	return nil
}

func (c *cloud) Act(_ context.Context, id int, a inventory.ActionRequest, progress func(inventory.ActionStatus)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.acts = append(c.acts, fmt.Sprintf("%s %d", a.Kind, id))
	for i := range c.hosts {
		if c.hosts[i].ID == id {
			switch a.Kind {
			case inventory.PowerOff:
				c.hosts[i].Status = "off"
			case inventory.PowerOn:
				c.hosts[i].Status = "active"
			case inventory.Resize:
				c.hosts[i].Size = a.Size
			}
		}
	}
	return nil
}

func (c *cloud) CreateVolume(context.Context, inventory.VolumeRequest) (inventory.Volume, error) {
	return inventory.Volume{}, errors.New("volumes are not emulated here")
}

func (c *cloud) AttachVolume(context.Context, string, int, func(inventory.ActionStatus)) error {
	return errors.New("volumes are not emulated here")
}

func (c *cloud) tag(tag string, ids []int, add bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.hosts {
		if !slices.Contains(ids, c.hosts[i].ID) {
			continue
		}
		c.hosts[i].Tags = slices.DeleteFunc(slices.Clone(c.hosts[i].Tags), func(t string) bool { return t == tag })
		if add {
			c.hosts[i].Tags = append(c.hosts[i].Tags, tag)
		}
	}
	return nil
}

func (c *cloud) Tag(_ context.Context, tag string, ids []int) error   { return c.tag(tag, ids, true) }
func (c *cloud) Untag(_ context.Context, tag string, ids []int) error { return c.tag(tag, ids, false) }

// fleet is a few hosts of every kind the table shows.
func fleet() []inventory.Host {
	return []inventory.Host{
		{ID: 1, Name: "web-01", Status: "active", Region: "ams3", Size: "s-1vcpu-1gb", Image: "debian-12-x64", PublicIPv4: "127.0.1.11", PrivateIPv4: "10.0.0.11", Tags: []string{"web", "shop"}, Created: t0.Add(-50 * time.Hour)},
		{ID: 2, Name: "web-02", Status: "off", Region: "ams3", Size: "s-1vcpu-1gb", Image: "debian-12-x64", PublicIPv4: "127.0.1.12", PrivateIPv4: "10.0.0.12", Tags: []string{"web", "shop"}, Created: t0.Add(-3 * time.Hour)},
		{ID: 3, Name: "db-01", Status: "active", Region: "fra1", Size: "s-2vcpu-4gb", Image: "debian-12-x64", PublicIPv4: "127.0.1.13", PrivateIPv4: "10.0.0.13", Tags: []string{"db", "protected"}, Created: t0.Add(-400 * time.Hour)},
		{ID: 4, Name: "worker-01", Status: "new", Region: "fra1", Size: "s-2vcpu-4gb", Image: "debian-12-x64", Tags: []string{"worker"}, Created: t0.Add(-time.Minute)},
	}
}

type env struct {
	m       *uinv.Model
	cloud   *cloud
	svc     *inventory.Service
	journal *audit.Journal
	ctx     *common.Context
	uitest.Driver
}

func newContext(t testing.TB, j *audit.Journal, role access.Role) *common.Context {
	t.Helper()
	th := uitest.Theme(t)
	ctx := &common.Context{Config: config.Default(), Actor: access.Actor{Name: "alice", Role: role, Source: "local"},
		Journal: j, Services: &common.Services{}, Base: context.Background(), Now: func() time.Time { return t0 }}
	ctx.SetTheme(th)
	return ctx
}

// setup builds the pane over a service over hosts, loaded and sized w×h.
func setup(t testing.TB, hosts []inventory.Host, w, h int, opts ...func(*inventory.Options)) *env {
	t.Helper()
	j, err := audit.Open(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	now := func() time.Time { return t0 }
	j.Now = now
	c := &cloud{hosts: hosts}
	svc := inventory.New(c, j, options(inventory.Options{
		Now:          now,
		PollInterval: time.Millisecond,
		Probe:        func(context.Context, string) error { return nil },
		Templates:    []inventory.Template{{Name: "web", Region: "ams3", Size: "s-1vcpu-1gb", Image: "debian-12-x64", Tags: []string{"web"}}},
	}, opts...))
	if err := svc.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	e := &env{cloud: c, svc: svc, journal: j, ctx: newContext(t, j, access.Operator)}
	e.m = uinv.New(e.ctx, svc, uinv.NewKeyMap())
	e.Driver.Update = e.m.Update
	t.Cleanup(e.m.Close)
	e.m.SetSize(w, h)
	e.Drive(e.m.Init())
	return e
}

func options(o inventory.Options, opts ...func(*inventory.Options)) inventory.Options {
	for _, f := range opts {
		f(&o)
	}
	return o
}

// last returns the last message of type T the pane sent outwards.
func last[T any](e *env) (T, bool) { return uitest.Last[T](&e.Driver) }
