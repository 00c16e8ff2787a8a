package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// state is everything the emulator remembers; it is saved as one JSON file
// in the state directory and loaded again on start.
type state struct {
	NextDropletID int `json:"next_droplet_id"`
	// NextIPIndex is where the search for a droplet's address starts.
	NextIPIndex  int                `json:"next_ip_index"`
	NextActionID int                `json:"next_action_id"`
	NextKeyID    int                `json:"next_key_id"`
	Network      *netState          `json:"network,omitempty"`
	Droplets     map[int]*droplet   `json:"droplets"`
	Actions      map[int]*action    `json:"actions"`
	Keys         []*sshKey          `json:"keys"`
	Tags         []string           `json:"tags"`
	Volumes      map[string]*volume `json:"volumes"`
	// Snapshots are volume snapshots (see snapshots.go); nil in old states.
	Snapshots map[string]*volumeSnapshot `json:"snapshots,omitempty"`
}

type droplet struct {
	ID             int       `json:"id"`
	Name           string    `json:"name"`
	Status         string    `json:"status"`
	Size           string    `json:"size"`
	Region         string    `json:"region"`
	Image          int       `json:"image"`
	Tags           []string  `json:"tags"`
	CreatedAt      time.Time `json:"created_at"`
	IPIndex        int       `json:"ip_index"`
	Locked         bool      `json:"locked"`
	SnapshotIDs    []int     `json:"snapshot_ids"`
	AuthorizedKeys []string  `json:"authorized_keys"`
	ActionIDs      []int     `json:"action_ids"`
	VpcUUID        string    `json:"vpc_uuid,omitempty"` // empty: the region's default
}

type action struct {
	ID           int        `json:"id"`
	Status       string     `json:"status"`
	Type         string     `json:"type"`
	StartedAt    time.Time  `json:"started_at"`
	CompletedAt  *time.Time `json:"completed_at"`
	ResourceID   int        `json:"resource_id"`
	ResourceType string     `json:"resource_type"`
	Region       string     `json:"region"`
	// Arg is the action's parameter applied when it completes: the new size
	// of a resize, the new name of a rename, the volume of an attach.
	Arg string `json:"arg,omitempty"`
}

type sshKey struct {
	ID          int    `json:"id"`
	Fingerprint string `json:"fingerprint"`
	PublicKey   string `json:"public_key"`
	Name        string `json:"name"`
}

type volume struct {
	ID              string    `json:"id"`
	Name            string    `json:"name"`
	Description     string    `json:"description"`
	SizeGigabytes   int       `json:"size_gigabytes"`
	Region          string    `json:"region"`
	FilesystemType  string    `json:"filesystem_type"`
	FilesystemLabel string    `json:"filesystem_label"`
	Tags            []string  `json:"tags"`
	CreatedAt       time.Time `json:"created_at"`
	DropletIDs      []int     `json:"droplet_ids"`
}

func newState() *state {
	return &state{
		NextDropletID: 100001, NextActionID: 500001, NextKeyID: 1001,
		Droplets: map[int]*droplet{}, Actions: map[int]*action{}, Volumes: map[string]*volume{},
	}
}

const stateFile = "state.json"

func loadState(dir string) (*state, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return newState(), nil
	}
	if err != nil {
		return nil, err
	}
	st := newState()
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("read %s: %w (move it away to start from an empty account)", filepath.Join(dir, stateFile), err)
	}
	if st.Droplets == nil {
		st.Droplets = map[int]*droplet{}
	}
	if st.Actions == nil {
		st.Actions = map[int]*action{}
	}
	if st.Volumes == nil {
		st.Volumes = map[string]*volume{}
	}
	return st, nil
}

// writeAtomic replaces path with data so that readers (Prometheus, a restarted
// emulator) never see a half-written file.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
