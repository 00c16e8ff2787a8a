package inventory_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ops/refresh"
	"github.com/vigilops/vigil/ui/common"
)

// dataCloud is an in-memory cloud for the refresh: two data hosts with
// their volumes.
type dataCloud struct {
	storage
	mu   sync.Mutex
	vols []inventory.Volume
	n    int
}

func (c *dataCloud) Hosts(context.Context, string) ([]inventory.Host, error) {
	return []inventory.Host{{ID: 1, Name: "prod-db-1", Region: "fra1"}, {ID: 2, Name: "preprod-db-1", Region: "fra1"}}, nil
}
func (c *dataCloud) Host(_ context.Context, id int) (inventory.Host, error) {
	return inventory.Host{ID: id}, nil
}
func (c *dataCloud) Volumes(context.Context) ([]inventory.Volume, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := slices.Clone(c.vols)
	for i := range out {
		out[i].HostIDs = slices.Clone(out[i].HostIDs)
	}
	return out, nil
}
func (c *dataCloud) CreateVolume(_ context.Context, req inventory.VolumeRequest) (inventory.Volume, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	v := inventory.Volume{ID: fmt.Sprint("new-", c.n), Name: req.Name, Region: req.Region, SizeGB: req.SizeGB}
	c.vols = append(c.vols, v)
	return v, nil
}
func (c *dataCloud) set(id string, hosts []int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.vols {
		if c.vols[i].ID == id {
			c.vols[i].HostIDs = hosts
		}
	}
}
func (c *dataCloud) AttachVolume(_ context.Context, id string, host int, _ func(inventory.ActionStatus)) error {
	c.set(id, []int{host})
	return nil
}
func (c *dataCloud) DetachVolume(_ context.Context, id string, _ int, _ func(inventory.ActionStatus)) error {
	c.set(id, nil)
	return nil
}
func (c *dataCloud) DestroyVolume(_ context.Context, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.vols = slices.DeleteFunc(c.vols, func(v inventory.Volume) bool { return v.ID == id })
	return nil
}

type books struct{ fail error }

func (b *books) RunPlaybook(context.Context, access.Actor, string, string, map[string]string) (string, error) {
	err := b.fail
	b.fail = nil
	return "run 1", err
}

// TestRefreshViewFailsResumesAndDeletesTheOldVolume: :refresh-data asks to
// type the target, the view shows each step, a failed playbook stops it at
// step 5 with the way to resume, the same command resumes there, and E
// deletes the old volume once its name is typed.
func TestRefreshViewFailsResumesAndDeletesTheOldVolume(t *testing.T) {
	e := setup(t, fleet(), 120, 30)
	dc := &dataCloud{vols: []inventory.Volume{
		{ID: "p", Name: "prod-data", Region: "fra1", SizeGB: 10, HostIDs: []int{1}},
		{ID: "o", Name: "preprod-data", Region: "fra1", SizeGB: 10, HostIDs: []int{2}},
	}}
	b := &books{fail: errors.New("host unreachable")}
	data := &config.Data{Playbook: "scrub.yml", Environments: []config.DataEnvironment{
		{Name: "prod", Host: "prod-db-1", Volume: "prod-data"}, {Name: "preprod", Host: "preprod-db-1", Volume: "preprod-data"},
	}}
	svc, err := refresh.New(data, dc, dc, b, e.journal, refresh.Options{Dir: t.TempDir(), Poll: time.Millisecond, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	e.ctx.Services.Refresh = svc
	run := func() common.ConfirmMsg {
		t.Helper()
		for _, spec := range e.m.Commands() {
			if spec.Name == "refresh-data" {
				cmd, err := spec.Run([]string{"preprod", "from", "prod"})
				if err != nil {
					t.Fatal(err)
				}
				e.Drive(cmd)
				c, ok := last[common.ConfirmMsg](e)
				if !ok || c.TypeName != "preprod" {
					t.Fatalf("refresh-data asks to type preprod: %+v", c)
				}
				return c
			}
		}
		t.Fatal("no refresh-data command")
		return common.ConfirmMsg{}
	}
	c := run()
	if !strings.Contains(c.Body, "3. detach preprod's old volume preprod-data from preprod-db-1 (kept)") {
		t.Fatalf("the confirmation lists the steps:\n%s", c.Body)
	}
	e.Drive(c.OnYes)
	v := view(e)
	for _, want := range []string{"Data refresh of preprod from prod", "✓ 4. attach preprod-data-", "✗ 5. run scrub.yml on preprod-db-1", "stopped: host unreachable", ":refresh-data preprod from prod resumes at step 5"} {
		if !strings.Contains(v, want) {
			t.Fatalf("%q missing from the refresh view:\n%s", want, v)
		}
	}
	c = run()
	if !strings.Contains(c.Body, "Resumes refresh") || !strings.Contains(c.Body, "at step 5/6 (playbook)") {
		t.Fatalf("the resume's confirmation:\n%s", c.Body)
	}
	e.Drive(c.OnYes)
	if v := view(e); !strings.Contains(v, "preprod refreshed from prod") || !strings.Contains(v, "✓ 6.") {
		t.Fatalf("after the resume:\n%s", v)
	}
	if n := len(dc.snaps); n != 1 {
		t.Fatalf("%d snapshots, want 1", n)
	}
	e.Press("E")
	c, ok := last[common.ConfirmMsg](e)
	if !ok || c.TypeName != "preprod-data" {
		t.Fatalf("E asks to type the old volume's name: %+v", c)
	}
	e.Drive(c.OnYes)
	if vols, _ := dc.Volumes(context.Background()); slices.ContainsFunc(vols, func(v inventory.Volume) bool { return v.ID == "o" }) {
		t.Fatal("the old volume is still there")
	}
	e.Press("esc")
	if strings.Contains(view(e), "Data refresh") {
		t.Fatal("esc did not close the refresh view")
	}
	e.Press("F")
	if !strings.Contains(view(e), "Data refresh of preprod") {
		t.Fatal("F did not open the refresh view again")
	}
	entries, _ := e.journal.Query(audit.Query{Target: "env/preprod"})
	if len(entries) != 7 { // six steps ok, the playbook's failure once
		t.Fatalf("journal: %d entries", len(entries))
	}
}
