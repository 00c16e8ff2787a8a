package inventory_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ui/common"
)

// storage is an in-memory inventory.Storage.
type storage struct {
	mu    sync.Mutex
	snaps []inventory.VolumeSnapshot
}

func (s *storage) VolumeSnapshots(_ context.Context, id string) ([]inventory.VolumeSnapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []inventory.VolumeSnapshot
	for _, sn := range s.snaps {
		if sn.VolumeID == id {
			out = append(out, sn)
		}
	}
	return out, nil
}
func (s *storage) TakeVolumeSnapshot(_ context.Context, id, name string, _ []string) (inventory.VolumeSnapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sn := inventory.VolumeSnapshot{ID: "s-" + name, Name: name, VolumeID: id, Region: "ams3", MinGB: 50, SizeGB: 1.25, Created: t0}
	s.snaps = append(s.snaps, sn)
	return sn, nil
}
func (s *storage) DeleteVolumeSnapshot(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, sn := range s.snaps {
		if sn.ID == id {
			s.snaps = append(s.snaps[:i], s.snaps[i+1:]...)
			break
		}
	}
	return nil
}
func (s *storage) DetachVolume(context.Context, string, int, func(inventory.ActionStatus)) error {
	return nil
}
func (s *storage) DestroyVolume(context.Context, string) error { return nil }

// TestVolumeSnapshotsInTheDetail: the detail lists a volume's snapshots, V
// takes one (named by the prompt), X deletes one once its name is typed.
func TestVolumeSnapshotsInTheDetail(t *testing.T) {
	st := &storage{snaps: []inventory.VolumeSnapshot{{ID: "s0", Name: "db-01-data-nightly", VolumeID: "v1", Region: "ams3", SizeGB: 0.5, Created: t0.Add(-26 * 3600e9)}}}
	e := setup(t, fleet(), 100, 40, func(o *inventory.Options) { o.Storage = st })
	e.Press("enter") // db-01, with db-01-data
	if v := view(e); !strings.Contains(v, "◦ db-01-data-nightly  0.50 GB  ams3  26h ago") {
		t.Fatalf("the detail does not list the snapshot:\n%s", v)
	}
	e.Press("V")
	e.Type("before-upgrade")
	e.Press("enter")
	if v := view(e); !strings.Contains(v, "◦ before-upgrade  1.25 GB") {
		t.Fatalf("the new snapshot is not listed:\n%s", v)
	}
	e.Press("X")
	e.Press("enter") // the prompt offers the newest snapshot
	c, ok := last[common.ConfirmMsg](e)
	if !ok || c.TypeName != "before-upgrade" {
		t.Fatalf("delete asks to type the snapshot's name: %+v", c)
	}
	if len(st.snaps) != 2 {
		t.Fatal("deleted before confirmation")
	}
	e.Drive(c.OnYes)
	if v := view(e); strings.Contains(v, "before-upgrade") || len(st.snaps) != 1 {
		t.Fatalf("the snapshot is still there:\n%s", v)
	}
	entries, _ := e.journal.Query(audit.Query{})
	var got []string
	for _, en := range entries {
		got = append(got, en.Action+" "+en.Target)
	}
	if strings.Join(got, "|") != "snapshot volume volume/db-01-data|delete volume snapshot snapshot/before-upgrade" {
		t.Fatalf("journal: %v", got)
	}
}

// TestNoSnapshotsWithoutStorage: a cloud without block-storage snapshots
// shows none and says so on V.
func TestNoSnapshotsWithoutStorage(t *testing.T) {
	e := setup(t, fleet(), 100, 40)
	e.Press("enter", "V")
	if toast, ok := last[common.ToastMsg](e); !ok || !strings.Contains(toast.Text, "not available") {
		t.Fatalf("V without storage: %+v", toast)
	}
}
