package emulator

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/digitalocean/godo"
)

// TestSnapshotData: a snapshot copies the volume's files at the time it is
// taken, a volume created from it starts with them, and deleting a volume
// removes its files but not its snapshots'.
func TestSnapshotData(t *testing.T) {
	l := startLab(t, "")
	ctx := context.Background()
	do := l.client
	vol, _, err := do.Storage.CreateVolume(ctx, &godo.VolumeCreateRequest{Name: "prod-data", Region: "fra1", SizeGigaBytes: 5})
	if err != nil {
		t.Fatal(err)
	}
	dir := l.srv.volumeDir(vol.ID)
	os.MkdirAll(filepath.Join(dir, "db"), 0o755)
	os.WriteFile(filepath.Join(dir, "db", "customers.csv"), []byte("v1\n"), 0o644)
	snap, _, err := do.Storage.CreateSnapshot(ctx, &godo.SnapshotCreateRequest{VolumeID: vol.ID, Name: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "db", "customers.csv"), []byte("v2\n"), 0o644)
	if snap.ResourceID != vol.ID || snap.Regions[0] != "fra1" || snap.MinDiskSize != 5 {
		t.Fatalf("snapshot %+v", snap)
	}
	if _, _, err := do.Storage.CreateVolume(ctx, &godo.VolumeCreateRequest{Name: "small", Region: "fra1", SizeGigaBytes: 4, SnapshotID: snap.ID}); !isStatus(err, 422) {
		t.Fatalf("volume smaller than its snapshot: %v", err)
	}
	copyVol, _, err := do.Storage.CreateVolume(ctx, &godo.VolumeCreateRequest{Name: "preprod-data", Region: "fra1", SizeGigaBytes: 5, SnapshotID: snap.ID})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(l.srv.volumeDir(copyVol.ID), "db", "customers.csv")); string(b) != "v1\n" {
		t.Fatalf("restored volume holds %q, want the snapshot's v1", b)
	}
	if _, err := do.Storage.DeleteVolume(ctx, vol.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("deleted volume's files: %v", err)
	}
	if _, err := os.Stat(filepath.Join(l.srv.snapshotDir(snap.ID), "db", "customers.csv")); err != nil {
		t.Fatalf("snapshot lost with its volume: %v", err)
	}
	l.stop()
	l = startLab(t, l.dir)
	if got, _, err := l.client.Storage.GetSnapshot(ctx, snap.ID); err != nil || got.Name != "s1" {
		t.Fatalf("snapshot after a restart: %+v %v", got, err)
	}
}
