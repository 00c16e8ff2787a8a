package emulator

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vigilops/vigil/lab/hosts"
)

// Volume data. Each volume keeps its files in StateDir/volumes/ID; a snapshot
// is a copy of them in StateDir/snapshots/ID taken when it is created, and a
// volume created from a snapshot starts as a copy of the snapshot. While a
// volume is attached to a droplet with a host, the host sees its files at
// mountPath(name), as if DigitalOcean had formatted and auto-mounted it.

// volumeHosts is what Hosts implement to show attached volumes inside a
// running host; *hosts.Manager does.
type volumeHosts interface {
	Mount(id int, m hosts.Mount) error
	Unmount(id int, target string) error
}

var _ volumeHosts = (*hosts.Manager)(nil)

type volumeSnapshot struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	VolumeID      string    `json:"volume_id"`
	Region        string    `json:"region"`
	MinDiskSize   int       `json:"min_disk_size"`
	SizeGigabytes float64   `json:"size_gigabytes"`
	Tags          []string  `json:"tags"`
	CreatedAt     time.Time `json:"created_at"`
}

type wireSnapshot struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	CreatedAt     string   `json:"created_at"`
	Regions       []string `json:"regions"`
	MinDiskSize   int      `json:"min_disk_size"`
	SizeGigabytes float64  `json:"size_gigabytes"`
	ResourceID    string   `json:"resource_id"`
	ResourceType  string   `json:"resource_type"`
	Tags          []string `json:"tags"`
}

func renderSnapshot(sn *volumeSnapshot) wireSnapshot {
	return wireSnapshot{
		ID: sn.ID, Name: sn.Name, CreatedAt: sn.CreatedAt.UTC().Format(time.RFC3339), Regions: []string{sn.Region},
		MinDiskSize: sn.MinDiskSize, SizeGigabytes: sn.SizeGigabytes, ResourceID: sn.VolumeID, ResourceType: "volume",
		Tags: append([]string{}, sn.Tags...),
	}
}

func (s *Server) snapshotRoutes(m *http.ServeMux) {
	// GET /v2/volumes/{volume}/snapshots and /v2/volumes/snapshots/{snapshot}
	// overlap for ServeMux, so one pattern serves both.
	m.HandleFunc("GET /v2/volumes/{a}/{b}", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.PathValue("a") == "snapshots":
			r.SetPathValue("snapshot", r.PathValue("b"))
			s.getSnapshot(w, r)
		case r.PathValue("b") == "snapshots":
			r.SetPathValue("volume", r.PathValue("a"))
			s.listVolumeSnapshots(w, r)
		default:
			notFound(w)
		}
	})
	m.HandleFunc("POST /v2/volumes/{volume}/snapshots", s.createVolumeSnapshot)
	m.HandleFunc("DELETE /v2/volumes/snapshots/{snapshot}", s.deleteSnapshot)
	m.HandleFunc("GET /v2/snapshots", s.listSnapshots)
	m.HandleFunc("GET /v2/snapshots/{snapshot}", s.getSnapshot)
	m.HandleFunc("DELETE /v2/snapshots/{snapshot}", s.deleteSnapshot)
}

func (s *Server) volumeDir(id string) string   { return filepath.Join(s.cfg.StateDir, "volumes", id) }
func (s *Server) snapshotDir(id string) string { return filepath.Join(s.cfg.StateDir, "snapshots", id) }

// mountPath is where an attached volume shows up on its droplet's host:
// DigitalOcean's auto-mount point, /mnt/ and the name with dashes as
// underscores.
func mountPath(name string) string { return "/mnt/" + strings.ReplaceAll(name, "-", "_") }

// volumeMounts lists the volumes attached to d. The caller holds s.mu.
func (s *Server) volumeMounts(d *droplet) []hosts.Mount {
	var out []hosts.Mount
	for _, v := range s.sortedVolumes() {
		if slices.Contains(v.DropletIDs, d.ID) {
			os.MkdirAll(s.volumeDir(v.ID), 0o755)
			out = append(out, hosts.Mount{Source: s.volumeDir(v.ID), Target: mountPath(v.Name)})
		}
	}
	return out
}

// actionMount is the mount an attach or detach action changes. The caller
// holds s.mu.
func (s *Server) actionMount(a *action) (hosts.Mount, bool) {
	if a.Type != "attach_volume" && a.Type != "detach_volume" {
		return hosts.Mount{}, false
	}
	v := s.st.Volumes[a.Arg]
	if v == nil {
		return hosts.Mount{}, false
	}
	os.MkdirAll(s.volumeDir(v.ID), 0o755)
	return hosts.Mount{Source: s.volumeDir(v.ID), Target: mountPath(v.Name)}, true
}

// applyMount mounts or unmounts a volume on a running host; without hosts it
// does nothing.
func (s *Server) applyMount(typ string, id int, m hosts.Mount) error {
	vh, ok := s.cfg.Hosts.(volumeHosts)
	if !ok {
		return nil
	}
	if typ == "attach_volume" {
		return vh.Mount(id, m)
	}
	return vh.Unmount(id, m.Target)
}

func (s *Server) snapshots() map[string]*volumeSnapshot {
	if s.st.Snapshots == nil {
		s.st.Snapshots = map[string]*volumeSnapshot{}
	}
	return s.st.Snapshots
}

func (s *Server) sortedSnapshots(keep func(*volumeSnapshot) bool) []*volumeSnapshot {
	var out []*volumeSnapshot
	for _, sn := range s.snapshots() {
		if keep(sn) {
			out = append(out, sn)
		}
	}
	slices.SortFunc(out, func(a, b *volumeSnapshot) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

func (s *Server) writeSnapshots(w http.ResponseWriter, r *http.Request, list []*volumeSnapshot) {
	lo, hi, links, m := page(r, len(list))
	out := make([]wireSnapshot, 0, hi-lo)
	for _, sn := range list[lo:hi] {
		out = append(out, renderSnapshot(sn))
	}
	writeJSON(w, http.StatusOK, map[string]any{"snapshots": out, "links": links, "meta": m})
}

func (s *Server) listVolumeSnapshots(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.st.Volumes[r.PathValue("volume")]
	if v == nil {
		notFound(w)
		return
	}
	s.writeSnapshots(w, r, s.sortedSnapshots(func(sn *volumeSnapshot) bool { return sn.VolumeID == v.ID }))
}

// listSnapshots serves /v2/snapshots: the lab keeps volume snapshots only
// (droplet snapshots are ids on their droplet), so resource_type=droplet
// lists none.
func (s *Server) listSnapshots(w http.ResponseWriter, r *http.Request) {
	rt := r.URL.Query().Get("resource_type")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writeSnapshots(w, r, s.sortedSnapshots(func(*volumeSnapshot) bool { return rt == "" || rt == "volume" }))
}

var snapshotName = volumeName

// createVolumeSnapshot copies the volume's files now, attached or not, as
// DigitalOcean takes a volume snapshot while the droplet runs.
func (s *Server) createVolumeSnapshot(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}
	if !decode(w, r, &req) {
		return
	}
	if req.Name == "" || len(req.Name) > 255 {
		writeError(w, http.StatusBadRequest, "bad_request", "A snapshot needs a name of at most 255 characters.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.st.Volumes[r.PathValue("volume")]
	if v == nil {
		notFound(w)
		return
	}
	sn := &volumeSnapshot{
		ID: newUUID(), Name: req.Name, VolumeID: v.ID, Region: v.Region, MinDiskSize: v.SizeGigabytes,
		Tags: s.canonicalTags(req.Tags), CreatedAt: time.Now().UTC().Truncate(time.Second),
	}
	n, err := copyTree(s.volumeDir(v.ID), s.snapshotDir(sn.ID))
	if err != nil {
		os.RemoveAll(s.snapshotDir(sn.ID))
		writeError(w, http.StatusInternalServerError, "server_error", "Copying the volume's data: "+err.Error())
		return
	}
	sn.SizeGigabytes = math.Ceil(float64(n)/1e7) / 100 // GB, two decimals, rounded up
	s.snapshots()[sn.ID] = sn
	s.markDirty()
	writeJSON(w, http.StatusCreated, map[string]any{"snapshot": renderSnapshot(sn)})
}

func (s *Server) getSnapshot(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sn := s.snapshots()[r.PathValue("snapshot")]; sn != nil {
		writeJSON(w, http.StatusOK, map[string]any{"snapshot": renderSnapshot(sn)})
		return
	}
	notFound(w)
}

func (s *Server) deleteSnapshot(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sn := s.snapshots()[r.PathValue("snapshot")]
	if sn == nil {
		notFound(w)
		return
	}
	delete(s.st.Snapshots, sn.ID)
	os.RemoveAll(s.snapshotDir(sn.ID))
	s.markDirty()
	w.WriteHeader(http.StatusNoContent)
}

// checkRestore tells why a volume of size GB in region cannot be created
// from snapshot id, or "". The caller holds s.mu.
func (s *Server) checkRestore(id, region string, size int) string {
	sn := s.snapshots()[id]
	switch {
	case sn == nil:
		return fmt.Sprintf("Snapshot %s does not exist.", id)
	case sn.Region != region:
		return fmt.Sprintf("Snapshot %s is in %s: a volume can be created from it in that region only, not in %s.", sn.Name, sn.Region, region)
	case size < sn.MinDiskSize:
		return fmt.Sprintf("Snapshot %s needs a volume of at least %d GB.", sn.Name, sn.MinDiskSize)
	}
	return ""
}

// restore fills a new volume's directory from a snapshot. The caller holds s.mu.
func (s *Server) restore(volumeID, snapshotID string) error {
	_, err := copyTree(s.snapshotDir(snapshotID), s.volumeDir(volumeID))
	return err
}

// removeVolumeData deletes a deleted volume's files.
func (s *Server) removeVolumeData(id string) { os.RemoveAll(s.volumeDir(id)) }

// copyTree copies the regular files and directories under src (which may
// not exist: an empty volume) to dst and returns the bytes copied.
func copyTree(src, dst string) (int64, error) {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return 0, err
	}
	var n int64
	err := filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == src {
			return filepath.SkipDir
		}
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		info, err := e.Info()
		if err != nil {
			return err
		}
		switch {
		case e.IsDir():
			return os.MkdirAll(to, info.Mode().Perm())
		case info.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			n += int64(len(b))
			return os.WriteFile(to, b, info.Mode().Perm())
		}
		return nil // sockets, links: not data the lab keeps
	})
	return n, err
}
