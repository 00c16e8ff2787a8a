// Package inventory is vigil's view of its servers: hosts (droplets), host
// templates, provisioning with progress, and the power, resize, snapshot and
// tag actions, each one guarded and journaled.
package inventory

import (
	"context"
	"slices"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
)

// ProtectedTag marks a host that vigil refuses to destroy.
const ProtectedTag = "protected"

// Host is one server as the inventory shows it.
type Host struct {
	ID           int
	Name         string
	Status       string // new, active, off, archive
	Region       string
	Size         string
	Image        string
	PublicIPv4   string
	PrivateIPv4  string
	Tags         []string
	Created      time.Time
	PriceMonthly float64 // from the size's price, in US dollars
	Locked       bool    // an action is in progress
	VolumeIDs    []string
	VPCID        string // the VPC the host is in
}

// Protected reports whether the host carries ProtectedTag.
func (h Host) Protected() bool { return slices.Contains(h.Tags, ProtectedTag) }

// HasTag reports whether the host carries tag.
func (h Host) HasTag(tag string) bool { return slices.Contains(h.Tags, tag) }

// Age is how long ago the host was created.
func (h Host) Age(now time.Time) time.Duration { return now.Sub(h.Created) }

// Volume is a block-storage volume.
type Volume struct {
	ID         string
	Name       string
	Region     string
	SizeGB     int
	HostIDs    []int
	Created    time.Time
	Filesystem string
}

// Size is a droplet size offered by the cloud.
type Size struct {
	Slug         string
	Memory       int // MiB
	Vcpus        int
	Disk         int // GB
	PriceMonthly float64
	Regions      []string
}

// Template is a recipe for new hosts (from config).
type Template struct {
	Name     string
	Region   string
	Size     string
	Image    string
	SSHKeys  []string // names, fingerprints or numeric ids of the account's keys
	Tags     []string
	UserData string
	VolumeGB int    // > 0: a volume of this size is created and attached with each host
	VPC      string // a VPC name or ID; empty: the region's default
	Record   bool   // offer a DNS record for each new host (ops/network)
}

// CreateRequest asks the cloud for one or several hosts alike.
type CreateRequest struct {
	Names    []string
	Region   string
	Size     string
	Image    string
	SSHKeys  []string
	Tags     []string
	UserData string
	VPC      string // a VPC name or ID; empty: the region's default
}

// VolumeRequest asks for a new block-storage volume.
type VolumeRequest struct {
	Name   string
	Region string
	SizeGB int
	// SnapshotID, when set, starts the volume as a copy of that volume
	// snapshot (in the snapshot's region, at least its size).
	SnapshotID string
}

// ActionKind names a host action.
type ActionKind string

const (
	PowerOn    ActionKind = "power_on"
	PowerOff   ActionKind = "power_off"
	PowerCycle ActionKind = "power_cycle"
	Reboot     ActionKind = "reboot"
	Shutdown   ActionKind = "shutdown"
	Resize     ActionKind = "resize"
	Snapshot   ActionKind = "snapshot"
)

// ActionRequest is one host action with its argument.
type ActionRequest struct {
	Kind ActionKind
	Size string // Resize: the new size slug
	Name string // Snapshot: the snapshot's name
}

// ActionStatus reports a cloud action while it is waited on.
type ActionStatus struct {
	ID      int
	Kind    string
	HostID  int
	Status  string // in-progress, completed, errored
	Started time.Time
}

// Cloud is what the inventory needs from a cloud provider.
type Cloud interface {
	// Hosts lists every host, or those tagged tag when tag is not empty.
	Hosts(ctx context.Context, tag string) ([]Host, error)
	Host(ctx context.Context, id int) (Host, error)
	Sizes(ctx context.Context) ([]Size, error)
	Volumes(ctx context.Context) ([]Volume, error)
	// Create requests the hosts and returns them as first reported (status new).
	Create(ctx context.Context, req CreateRequest) ([]Host, error)
	Destroy(ctx context.Context, id int) error
	// Act runs a host action and returns once it completed, reporting
	// each status it saw.
	Act(ctx context.Context, id int, a ActionRequest, progress func(ActionStatus)) error
	CreateVolume(ctx context.Context, req VolumeRequest) (Volume, error)
	// AttachVolume attaches a volume and returns once the action completed.
	AttachVolume(ctx context.Context, volumeID string, hostID int, progress func(ActionStatus)) error
	Tag(ctx context.Context, tag string, ids []int) error
	Untag(ctx context.Context, tag string, ids []int) error
}

// Journal is the audit journal as the inventory uses it.
type Journal interface {
	Record(ctx context.Context, actor access.Actor, action, target string, params map[string]string, err error) error
}

var _ Journal = (*audit.Journal)(nil)
