package digitalocean_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/ops/inventory"
)

// TestLabVolumeSnapshots takes a volume snapshot through 5xx answers (the
// transport retries them), lists it, restores it into a new volume in its
// region (another region is refused with DigitalOcean's reason), detaches,
// and deletes the snapshot.
func TestLabVolumeSnapshots(t *testing.T) {
	l := newLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tag := fmt.Sprintf("vs%d", time.Now().UnixNano()%1e8)
	l.cleanupTag(t, tag)
	vol, err := l.client.CreateVolume(ctx, inventory.VolumeRequest{Name: tag + "-data", Region: "fra1", SizeGB: 2})
	if err != nil {
		t.Fatal(err)
	}
	l.fault(t, `{"status":500,"count":2}`)
	snap, err := l.client.TakeVolumeSnapshot(ctx, vol.ID, tag+"-snap", []string{"vigil-test"})
	if err != nil {
		t.Fatalf("a snapshot through two 500s: %v", err)
	}
	if snap.VolumeID != vol.ID || snap.Region != "fra1" || snap.MinGB != 2 || snap.Created.IsZero() {
		t.Fatalf("snapshot: %+v", snap)
	}
	snaps, err := l.client.VolumeSnapshots(ctx, vol.ID)
	if err != nil || len(snaps) != 1 || snaps[0].ID != snap.ID {
		t.Fatalf("list: %+v %v", snaps, err)
	}
	copyVol, err := l.client.CreateVolume(ctx, inventory.VolumeRequest{Name: tag + "-copy", Region: "fra1", SizeGB: 2, SnapshotID: snap.ID})
	if err != nil || copyVol.Region != "fra1" {
		t.Fatalf("restore: %+v %v", copyVol, err)
	}
	if _, err := l.client.CreateVolume(ctx, inventory.VolumeRequest{Name: tag + "-far", Region: "ams3", SizeGB: 2, SnapshotID: snap.ID}); err == nil || !strings.Contains(err.Error(), "in that region only") {
		t.Fatalf("restore in another region: %v", err)
	}
	if err := l.client.DeleteVolumeSnapshot(ctx, snap.ID); err != nil {
		t.Fatal(err)
	}
	if snaps, _ := l.client.VolumeSnapshots(ctx, vol.ID); len(snaps) != 0 {
		t.Fatalf("after delete: %+v", snaps)
	}
	if err := l.client.DeleteVolumeSnapshot(ctx, snap.ID); err == nil || !strings.Contains(err.Error(), "not found (404)") {
		t.Fatalf("deleting it again: %v", err)
	}
}
