package inventory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/presence"
)

// Volume snapshot actions, declared with their danger: deleting a snapshot
// loses the data it holds.
var (
	ActVolumeSnapshot  = access.Action{Name: "snapshot volume", MinRole: access.Operator, Mutates: true}
	ActDeleteSnapshot  = access.Action{Name: "delete volume snapshot", MinRole: access.Operator, Mutates: true, Dangerous: true}
	ActRestoreSnapshot = access.Action{Name: "restore volume snapshot", MinRole: access.Operator, Mutates: true}
	ActDetachVolume    = access.Action{Name: "detach volume", MinRole: access.Operator, Mutates: true, Dangerous: true}
	ActAttachVolume    = access.Action{Name: "attach volume", MinRole: access.Operator, Mutates: true}
	ActDestroyVolume   = access.Action{Name: "destroy volume", MinRole: access.Operator, Mutates: true, Dangerous: true}
)

// VolumeSnapshot is a point-in-time copy of a block-storage volume.
type VolumeSnapshot struct {
	ID       string
	Name     string
	VolumeID string // the volume it was taken of (which may be gone)
	Region   string // a volume can be restored from it in this region only
	MinGB    int    // the smallest volume it restores into
	SizeGB   float64
	Created  time.Time
	Tags     []string
}

// Storage is the cloud's block storage beyond listing and creating volumes:
// snapshots, detaching and deleting. *digitalocean.Client implements it.
type Storage interface {
	VolumeSnapshots(ctx context.Context, volumeID string) ([]VolumeSnapshot, error)
	// TakeVolumeSnapshot snapshots a volume, attached or not.
	TakeVolumeSnapshot(ctx context.Context, volumeID, name string, tags []string) (VolumeSnapshot, error)
	DeleteVolumeSnapshot(ctx context.Context, id string) error
	// DetachVolume detaches a volume and returns once the action completed.
	DetachVolume(ctx context.Context, volumeID string, hostID int, progress func(ActionStatus)) error
	// DestroyVolume deletes a volume attached to no host.
	DestroyVolume(ctx context.Context, id string) error
}

func (s *Service) storage() (Storage, error) {
	if s.opt.Storage == nil {
		return nil, errors.New("this cloud connection has no block-storage snapshots")
	}
	return s.opt.Storage, nil
}

func volumeTarget(v Volume) string { return "volume/" + v.Name }

// VolumeSnapshots lists a volume's snapshots, oldest first (IO: call it from
// a command).
func (s *Service) VolumeSnapshots(ctx context.Context, v Volume) ([]VolumeSnapshot, error) {
	st, err := s.storage()
	if err != nil {
		return nil, err
	}
	return st.VolumeSnapshots(ctx, v.ID)
}

// TakeVolumeSnapshot snapshots v under name (default: the volume's name and
// the time), journaled.
func (s *Service) TakeVolumeSnapshot(ctx context.Context, actor access.Actor, v Volume, name string) (VolumeSnapshot, error) {
	st, err := s.storage()
	if err != nil {
		return VolumeSnapshot{}, err
	}
	if name = strings.TrimSpace(name); name == "" {
		name = v.Name + "-" + s.opt.Now().UTC().Format("20060102-150405")
	}
	params := map[string]string{"id": v.ID, "name": name}
	if err := s.check(ctx, actor, ActVolumeSnapshot, []string{volumeTarget(v)}, params); err != nil {
		return VolumeSnapshot{}, err
	}
	defer presence.Begin(ctx, "taking snapshot "+name+" of volume "+v.Name)()
	snap, err := st.TakeVolumeSnapshot(ctx, v.ID, name, nil)
	if err == nil {
		params["snapshot_id"] = snap.ID
	}
	if jerr := s.record(ctx, actor, ActVolumeSnapshot, volumeTarget(v), params, err); jerr != nil {
		err = errors.Join(err, jerr)
	}
	return snap, err
}

// DeleteVolumeSnapshot deletes a snapshot; the caller has had its name typed.
func (s *Service) DeleteVolumeSnapshot(ctx context.Context, actor access.Actor, snap VolumeSnapshot) error {
	st, err := s.storage()
	if err != nil {
		return err
	}
	tgt := "snapshot/" + snap.Name
	params := map[string]string{"id": snap.ID, "volume_id": snap.VolumeID}
	if err := s.check(ctx, actor, ActDeleteSnapshot, []string{tgt}, params); err != nil {
		return err
	}
	err = st.DeleteVolumeSnapshot(ctx, snap.ID)
	if jerr := s.record(ctx, actor, ActDeleteSnapshot, tgt, params, err); jerr != nil {
		err = errors.Join(err, jerr)
	}
	return err
}

// RestoreVolumeSnapshot creates a new volume called name from snap, in its
// region and at least its size; the volume is attached to nothing.
func (s *Service) RestoreVolumeSnapshot(ctx context.Context, actor access.Actor, snap VolumeSnapshot, name string, sizeGB int) (Volume, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return Volume{}, errors.New("the new volume needs a name")
	}
	if sizeGB < snap.MinGB {
		sizeGB = snap.MinGB
	}
	params := map[string]string{"snapshot_id": snap.ID, "snapshot": snap.Name, "region": snap.Region, "size_gb": fmt.Sprint(sizeGB)}
	tgt := "volume/" + name
	if err := s.check(ctx, actor, ActRestoreSnapshot, []string{tgt}, params); err != nil {
		return Volume{}, err
	}
	defer presence.Begin(ctx, "restoring snapshot "+snap.Name+" into volume "+name)()
	v, err := s.cloud.CreateVolume(ctx, VolumeRequest{Name: name, Region: snap.Region, SizeGB: sizeGB, SnapshotID: snap.ID})
	if err == nil {
		params["id"] = v.ID
	}
	if jerr := s.record(ctx, actor, ActRestoreSnapshot, tgt, params, err); jerr != nil {
		err = errors.Join(err, jerr)
	}
	s.refreshQuietly(ctx)
	return v, err
}

// HasStorage reports whether volumes have snapshots here (Options.Storage).
func (s *Service) HasStorage() bool { return s.opt.Storage != nil }

// FindVolumeSnapshot looks a snapshot up by name (or id) among the
// snapshots of the volumes in the current state (IO: one list per volume).
func (s *Service) FindVolumeSnapshot(ctx context.Context, name string) (VolumeSnapshot, error) {
	st, err := s.storage()
	if err != nil {
		return VolumeSnapshot{}, err
	}
	seen := map[string]bool{}
	for _, vols := range s.State().Volumes {
		for _, v := range vols {
			if seen[v.ID] {
				continue
			}
			seen[v.ID] = true
			snaps, err := st.VolumeSnapshots(ctx, v.ID)
			if err != nil {
				return VolumeSnapshot{}, err
			}
			for _, sn := range snaps {
				if sn.Name == name || sn.ID == name {
					return sn, nil
				}
			}
		}
	}
	return VolumeSnapshot{}, fmt.Errorf("no snapshot %q of an attached volume: see the host's details for its volumes' snapshots", name)
}
