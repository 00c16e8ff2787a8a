package inventory

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
)

// storage is an in-memory Storage beside cloud.
type storage struct {
	snaps   []VolumeSnapshot
	deleted []string
}

func (s *storage) VolumeSnapshots(_ context.Context, id string) ([]VolumeSnapshot, error) {
	var out []VolumeSnapshot
	for _, sn := range s.snaps {
		if sn.VolumeID == id {
			out = append(out, sn)
		}
	}
	return out, nil
}
func (s *storage) TakeVolumeSnapshot(_ context.Context, id, name string, _ []string) (VolumeSnapshot, error) {
	sn := VolumeSnapshot{ID: "s" + name, Name: name, VolumeID: id, Region: "fra1", MinGB: 100}
	s.snaps = append(s.snaps, sn)
	return sn, nil
}
func (s *storage) DeleteVolumeSnapshot(_ context.Context, id string) error {
	s.deleted = append(s.deleted, id)
	return nil
}
func (s *storage) DetachVolume(context.Context, string, int, func(ActionStatus)) error { return nil }
func (s *storage) DestroyVolume(context.Context, string) error                         { return nil }

type volumeCloud struct {
	*cloud
	created []VolumeRequest
}

func (c *volumeCloud) CreateVolume(_ context.Context, req VolumeRequest) (Volume, error) {
	c.created = append(c.created, req)
	return Volume{ID: "new", Name: req.Name, Region: req.Region, SizeGB: req.SizeGB}, nil
}

func TestVolumeSnapshots(t *testing.T) {
	base, _, _ := setup(t, access.Guard{})
	j, err := audit.Open(filepath.Join(t.TempDir(), "j.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	j.Now = fixedNow
	st := &storage{}
	vc := &volumeCloud{cloud: base.cloud.(*cloud)}
	s := New(vc, j, Options{Now: fixedNow, Storage: st})
	ctx := context.Background()
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if !s.HasStorage() || base.HasStorage() {
		t.Fatal("HasStorage")
	}
	vol := s.State().Volumes[2][0]
	sn, err := s.TakeVolumeSnapshot(ctx, bob, vol, "")
	if err != nil || sn.Name != "db-data-"+epoch.UTC().Format("20060102-150405") {
		t.Fatalf("snapshot: %+v %v", sn, err)
	}
	found, err := s.FindVolumeSnapshot(ctx, sn.Name)
	if err != nil || found.ID != sn.ID {
		t.Fatalf("find: %+v %v", found, err)
	}
	if _, err := s.FindVolumeSnapshot(ctx, "nope"); err == nil || !strings.Contains(err.Error(), `no snapshot "nope"`) {
		t.Fatalf("find a missing one: %v", err)
	}
	v, err := s.RestoreVolumeSnapshot(ctx, bob, sn, "db-copy", 10)
	if err != nil || v.Name != "db-copy" || vc.created[0].SnapshotID != sn.ID || vc.created[0].SizeGB != 100 || vc.created[0].Region != "fra1" {
		t.Fatalf("restore: %+v %+v %v", v, vc.created, err)
	}
	viewer := access.Actor{Name: "v", Role: access.Viewer}
	if err := s.DeleteVolumeSnapshot(ctx, viewer, sn); !access.IsRefusal(err) || len(st.deleted) != 0 {
		t.Fatalf("a viewer deleting: %v", err)
	}
	if err := s.DeleteVolumeSnapshot(ctx, bob, sn); err != nil || st.deleted[0] != sn.ID {
		t.Fatalf("delete: %v", err)
	}
	entries, _ := j.Query(audit.Query{})
	var got []string
	for _, e := range entries {
		got = append(got, e.Action+" "+e.Target+" "+string(e.Result))
	}
	want := "snapshot volume volume/db-data ok|restore volume snapshot volume/db-copy ok|delete volume snapshot snapshot/" + sn.Name + " refused|delete volume snapshot snapshot/" + sn.Name + " ok"
	if strings.Join(got, "|") != want {
		t.Fatalf("journal:\n%s\nwant:\n%s", strings.Join(got, "|"), want)
	}
	if !ActDeleteSnapshot.Dangerous || ActVolumeSnapshot.Dangerous || !ActDetachVolume.Dangerous {
		t.Fatal("danger marks")
	}
}
