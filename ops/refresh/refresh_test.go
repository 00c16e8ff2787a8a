package refresh

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/internal/testclock"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/inventory"
)

var alice = access.Actor{Name: "alice", Role: access.Operator, Source: "local"}

// cloud is an in-memory cloud: hosts, volumes with their attachments and
// volume snapshots; fail makes the next call of a method fail.
type cloud struct {
	hosts []inventory.Host
	vols  []inventory.Volume
	snaps []inventory.VolumeSnapshot
	fail  map[string]error
	calls map[string]int
	n     int
}

func (c *cloud) call(name string) error {
	c.calls[name]++
	if err := c.fail[name]; err != nil {
		delete(c.fail, name)
		return err
	}
	return nil
}

func (c *cloud) Hosts(context.Context, string) ([]inventory.Host, error) { return c.hosts, nil }
func (c *cloud) Host(_ context.Context, id int) (inventory.Host, error) {
	for _, h := range c.hosts {
		if h.ID == id {
			return h, nil
		}
	}
	return inventory.Host{}, errors.New("no host")
}
func (c *cloud) Volumes(context.Context) ([]inventory.Volume, error) {
	out := make([]inventory.Volume, len(c.vols))
	for i, v := range c.vols {
		v.HostIDs = slices.Clone(v.HostIDs)
		out[i] = v
	}
	return out, c.call("Volumes")
}
func (c *cloud) vol(id string) *inventory.Volume {
	for i := range c.vols {
		if c.vols[i].ID == id {
			return &c.vols[i]
		}
	}
	return nil
}
func (c *cloud) CreateVolume(_ context.Context, req inventory.VolumeRequest) (inventory.Volume, error) {
	if err := c.call("CreateVolume"); err != nil {
		return inventory.Volume{}, err
	}
	c.n++
	v := inventory.Volume{ID: fmt.Sprintf("vol-%d", c.n), Name: req.Name, Region: req.Region, SizeGB: req.SizeGB}
	c.vols = append(c.vols, v)
	return v, nil
}
func (c *cloud) AttachVolume(_ context.Context, id string, host int, _ func(inventory.ActionStatus)) error {
	if err := c.call("AttachVolume"); err != nil {
		return err
	}
	c.vol(id).HostIDs = []int{host}
	return nil
}
func (c *cloud) VolumeSnapshots(_ context.Context, id string) ([]inventory.VolumeSnapshot, error) {
	var out []inventory.VolumeSnapshot
	for _, s := range c.snaps {
		if s.VolumeID == id {
			out = append(out, s)
		}
	}
	return out, nil
}
func (c *cloud) TakeVolumeSnapshot(_ context.Context, id, name string, _ []string) (inventory.VolumeSnapshot, error) {
	if err := c.call("TakeVolumeSnapshot"); err != nil {
		return inventory.VolumeSnapshot{}, err
	}
	c.n++
	s := inventory.VolumeSnapshot{ID: fmt.Sprintf("snap-%d", c.n), Name: name, VolumeID: id}
	c.snaps = append(c.snaps, s)
	return s, nil
}
func (c *cloud) DeleteVolumeSnapshot(context.Context, string) error { return nil }
func (c *cloud) DetachVolume(_ context.Context, id string, host int, _ func(inventory.ActionStatus)) error {
	if err := c.call("DetachVolume"); err != nil {
		return err
	}
	c.vol(id).HostIDs = nil
	return nil
}
func (c *cloud) DestroyVolume(_ context.Context, id string) error {
	c.calls["DestroyVolume"]++
	c.vols = slices.DeleteFunc(c.vols, func(v inventory.Volume) bool { return v.ID == id })
	return nil
}

type books struct {
	fail []error
	runs []map[string]string
}

func (b *books) RunPlaybook(_ context.Context, _ access.Actor, book, host string, vars map[string]string) (string, error) {
	b.runs = append(b.runs, vars)
	if len(b.fail) > 0 {
		err := b.fail[0]
		b.fail = b.fail[1:]
		return "run x", err
	}
	return fmt.Sprintf("run %d", len(b.runs)), nil
}

type hooks struct{ ran []string }

func (h *hooks) RunHook(_ context.Context, env, cj string) error {
	h.ran = append(h.ran, env+"/"+cj)
	return nil
}

type journal struct{ entries []string }

func (j *journal) Record(_ context.Context, _ access.Actor, action, target string, params map[string]string, err error) error {
	e := action + " " + target
	if err != nil {
		e += " ERR"
	}
	j.entries = append(j.entries, e)
	return nil
}

var dataCfg = &config.Data{Playbook: "scrub.yml", Environments: []config.DataEnvironment{
	{Name: "prod", Host: "prod-db-1", Volume: "prod-data"},
	{Name: "preprod", Host: "preprod-db-1", Volume: "preprod-data", Hook: "db-migrate"},
}}

type fixture struct {
	cloud   *cloud
	books   *books
	hooks   *hooks
	journal *journal
	dir     string
}

func newFixture(t *testing.T) *fixture {
	return &fixture{
		cloud: &cloud{
			hosts: []inventory.Host{{ID: 1, Name: "prod-db-1", Region: "fra1"}, {ID: 2, Name: "preprod-db-1", Region: "fra1"}},
			vols: []inventory.Volume{
				{ID: "p", Name: "prod-data", Region: "fra1", SizeGB: 10, HostIDs: []int{1}},
				{ID: "o", Name: "preprod-data", Region: "fra1", SizeGB: 5, HostIDs: []int{2}},
			},
			fail: map[string]error{}, calls: map[string]int{},
		},
		books: &books{}, hooks: &hooks{}, journal: &journal{}, dir: t.TempDir(),
	}
}

func (f *fixture) service(t *testing.T) *Service {
	now := testclock.Epoch()
	s, err := New(dataCfg, f.cloud, f.cloud, f.books, f.journal, Options{Dir: f.dir, Poll: time.Millisecond, Now: func() time.Time { return now }, Hooks: f.hooks})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRefreshRunsSixSteps(t *testing.T) {
	f := newFixture(t)
	s := f.service(t)
	st, err := s.Plan(context.Background(), "preprod", "prod")
	if err != nil {
		t.Fatal(err)
	}
	id := testclock.Epoch().Format("20060102-150405")
	if st.NewVolume.Name != "preprod-data-"+id || st.SizeGB != 10 || len(st.OldVolumes) != 1 || st.OldVolumes[0].ID != "o" {
		t.Fatalf("plan: %+v", st)
	}
	var seen []Step
	st, err = s.Run(context.Background(), alice, st, func(x State) { seen = append(seen, x.Next) })
	if err != nil || !st.Done() {
		t.Fatalf("run: %v, %s", err, st.Status())
	}
	if f.cloud.vol("o").HostIDs != nil || !slices.Equal(f.cloud.vol(st.NewVolume.ID).HostIDs, []int{2}) {
		t.Fatalf("volumes after: %+v", f.cloud.vols)
	}
	if len(f.books.runs) != 1 || f.books.runs[0]["mount_path"] != "/mnt/preprod_data_"+strings.ReplaceAll(id, "-", "_") {
		t.Fatalf("playbook runs: %v", f.books.runs)
	}
	if !slices.Equal(f.hooks.ran, []string{"preprod/db-migrate"}) {
		t.Fatalf("hooks: %v", f.hooks.ran)
	}
	if n := len(f.journal.entries); n != NumSteps || f.journal.entries[0] != "refresh data: snapshot env/preprod" {
		t.Fatalf("journal: %v", f.journal.entries)
	}
	if slices.Max(seen) != stepsEnd {
		t.Fatalf("progress: %v", seen)
	}
	// The finished state stays, for the old volume's deletion; a new plan
	// starts afresh.
	if again, err := s.Plan(context.Background(), "preprod", "prod"); err != nil || again.Done() || again.OldVolumes[0].Name != st.NewVolume.Name {
		t.Fatalf("plan after a refresh: %+v %v", again, err)
	}
}

// TestRefreshResumesAtTheFailedStep: a failure stops the refresh at its
// step, a new service (a new process) resumes it there from the state file,
// and work done before a kill that lost it is found, not done twice.
func TestRefreshResumesAtTheFailedStep(t *testing.T) {
	f := newFixture(t)
	s := f.service(t)
	ctx := context.Background()
	st, _ := s.Plan(ctx, "preprod", "prod")
	f.books.fail = []error{errors.New("host unreachable")}
	st, err := s.Run(ctx, alice, st, nil)
	if err == nil || st.Next != StepPlaybook || !strings.Contains(err.Error(), "step 5/6 (playbook)") {
		t.Fatalf("first run: %v at %d", err, st.Next)
	}

	// A kill just after the snapshot was taken, before the state said so.
	s2 := f.service(t)
	st2, err := s2.Plan(ctx, "preprod", "prod")
	if err != nil || st2.Next != StepPlaybook || st2.ID != st.ID {
		t.Fatalf("resume plan: %+v %v", st2, err)
	}
	if _, err := s2.Plan(ctx, "preprod", "test"); err == nil || !strings.Contains(err.Error(), "unfinished") {
		t.Fatalf("a refresh from another source while one is unfinished: %v", err)
	}
	st2.Next, st2.SnapshotID, st2.NewVolume.ID = StepSnapshot, "", ""
	st2, err = s2.Run(ctx, alice, st2, nil)
	if err != nil || !st2.Done() {
		t.Fatalf("resume: %v %s", err, st2.Status())
	}
	if f.cloud.calls["TakeVolumeSnapshot"] != 1 || f.cloud.calls["CreateVolume"] != 1 || f.cloud.calls["DetachVolume"] != 1 || f.cloud.calls["AttachVolume"] != 1 {
		t.Fatalf("calls: %v", f.cloud.calls)
	}
	if len(f.cloud.vols) != 3 {
		t.Fatalf("a volume lost or made twice: %+v", f.cloud.vols)
	}
	if r, _ := st2.Last(StepSnapshot); !strings.Contains(r.Note, "found taken already") {
		t.Fatalf("snapshot step's note: %+v", r)
	}
}

func TestRefreshPlanErrors(t *testing.T) {
	for _, tc := range []struct {
		edit func(*cloud)
		want string
	}{
		{func(c *cloud) { c.hosts[1].Region = "ams3" }, "restores in its own region only"},
		{func(c *cloud) { c.hosts = c.hosts[:1] }, "preprod's data host preprod-db-1 is not in the cloud"},
		{func(c *cloud) { c.vols[0].HostIDs = nil }, "prod's host prod-db-1 has no data volume attached"},
	} {
		f := newFixture(t)
		tc.edit(f.cloud)
		if _, err := f.service(t).Plan(context.Background(), "preprod", "prod"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
	f := newFixture(t)
	if _, err := f.service(t).Plan(context.Background(), "qa", "prod"); err == nil || !strings.Contains(err.Error(), `no data for target "qa"`) {
		t.Errorf("unknown target: %v", err)
	}
}

func TestDeleteOldVolume(t *testing.T) {
	f := newFixture(t)
	s := f.service(t)
	ctx := context.Background()
	if err := s.DeleteOldVolume(ctx, alice, "preprod", "preprod-data"); !access.IsRefusal(err) {
		t.Fatalf("deleting the attached volume: %v", err)
	}
	st, _ := s.Plan(ctx, "preprod", "prod")
	if _, err := s.Run(ctx, alice, st, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteOldVolume(ctx, alice, "preprod", "prod-data"); !access.IsRefusal(err) {
		t.Fatalf("deleting another environment's volume: %v", err)
	}
	viewer := access.Actor{Name: "v", Role: access.Viewer}
	if err := s.DeleteOldVolume(ctx, viewer, "preprod", "preprod-data"); !access.IsRefusal(err) {
		t.Fatalf("a viewer: %v", err)
	}
	if err := s.DeleteOldVolume(ctx, alice, "preprod", "preprod-data"); err != nil || f.cloud.vol("o") != nil {
		t.Fatalf("deleting the old volume: %v", err)
	}
	if last := f.journal.entries[len(f.journal.entries)-1]; last != "delete old data volume volume/preprod-data" {
		t.Fatalf("journal: %v", f.journal.entries)
	}
}

func TestLockRefusesASecondRun(t *testing.T) {
	f := newFixture(t)
	s := f.service(t)
	unlock, err := s.lock("preprod")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	st, _ := s.Plan(context.Background(), "preprod", "prod")
	if _, err := f.service(t).Run(context.Background(), alice, st, nil); !access.IsRefusal(err) || !strings.Contains(err.Error(), "running in another vigil") {
		t.Fatalf("second run: %v", err)
	}
}

// TestRefreshResumesAfterAnAPIFailure: a cloud error at step 2 (a 5xx left
// after the client's retries) stops the refresh there; the resume creates
// the one volume and goes on.
func TestRefreshResumesAfterAnAPIFailure(t *testing.T) {
	f := newFixture(t)
	s := f.service(t)
	ctx := context.Background()
	st, _ := s.Plan(ctx, "preprod", "prod")
	f.cloud.fail["CreateVolume"] = errors.New("create volume: DigitalOcean failed after retries (500 boom): try again later")
	st, err := s.Run(ctx, alice, st, nil)
	if err == nil || st.Next != StepCreateVolume || !strings.Contains(st.Status(), "stopped at step 2/6 (create volume)") {
		t.Fatalf("first run: %v, %s", err, st.Status())
	}
	if f.cloud.vol(st.OldVolumes[0].ID).HostIDs == nil {
		t.Fatal("the old volume was detached though the copy does not exist")
	}
	st, err = f.service(t).Run(ctx, alice, st, nil)
	if err != nil || !st.Done() || f.cloud.calls["CreateVolume"] != 2 || len(f.cloud.vols) != 3 || f.cloud.calls["TakeVolumeSnapshot"] != 1 {
		t.Fatalf("resume: %v, calls %v, volumes %+v", err, f.cloud.calls, f.cloud.vols)
	}
	if r, _ := st.Last(StepCreateVolume); r.Err != "" {
		t.Fatalf("the last attempt at step 2: %+v", r)
	}
	if f := f.journal.entries; len(f) != NumSteps+1 || !strings.HasSuffix(f[1], "ERR") {
		t.Fatalf("journal: %v", f)
	}
}
