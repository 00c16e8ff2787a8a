package emulator

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

func (s *Server) volumeRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /v2/volumes", s.listVolumes)
	m.HandleFunc("POST /v2/volumes", s.createVolume)
	m.HandleFunc("GET /v2/volumes/{volume}", s.getVolume)
	m.HandleFunc("DELETE /v2/volumes/{volume}", s.deleteVolume)
	m.HandleFunc("POST /v2/volumes/{volume}/actions", s.postVolumeAction)
}

type wireVolume struct {
	ID              string   `json:"id"`
	DropletIDs      []int    `json:"droplet_ids"`
	Name            string   `json:"name"`
	Description     string   `json:"description"`
	SizeGigabytes   int      `json:"size_gigabytes"`
	CreatedAt       string   `json:"created_at"`
	Tags            []string `json:"tags"`
	Region          region   `json:"region"`
	FilesystemType  string   `json:"filesystem_type"`
	FilesystemLabel string   `json:"filesystem_label"`
}

func renderVolume(v *volume) wireVolume {
	rg, _ := catalogRegion(v.Region)
	return wireVolume{
		ID: v.ID, DropletIDs: append([]int{}, v.DropletIDs...), Name: v.Name, Description: v.Description,
		SizeGigabytes: v.SizeGigabytes, CreatedAt: v.CreatedAt.UTC().Format(time.RFC3339),
		Tags: append([]string{}, v.Tags...), Region: rg, FilesystemType: v.FilesystemType, FilesystemLabel: v.FilesystemLabel,
	}
}

func (s *Server) sortedVolumes() []*volume {
	out := make([]*volume, 0, len(s.st.Volumes))
	for _, v := range s.st.Volumes {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b *volume) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

func (s *Server) listVolumes(w http.ResponseWriter, r *http.Request) {
	name, rg := r.URL.Query().Get("name"), r.URL.Query().Get("region")
	s.mu.Lock()
	defer s.mu.Unlock()
	var match []*volume
	for _, v := range s.sortedVolumes() {
		if (name == "" || v.Name == name) && (rg == "" || v.Region == rg) {
			match = append(match, v)
		}
	}
	lo, hi, links, m := page(r, len(match))
	out := make([]wireVolume, 0, hi-lo)
	for _, v := range match[lo:hi] {
		out = append(out, renderVolume(v))
	}
	writeJSON(w, http.StatusOK, map[string]any{"volumes": out, "links": links, "meta": m})
}

var volumeName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,63}$`)

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (s *Server) createVolume(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name            string   `json:"name"`
		Description     string   `json:"description"`
		SizeGigabytes   int      `json:"size_gigabytes"`
		Region          string   `json:"region"`
		FilesystemType  string   `json:"filesystem_type"`
		FilesystemLabel string   `json:"filesystem_label"`
		Tags            []string `json:"tags"`
		SnapshotID      string   `json:"snapshot_id"`
	}
	if !decode(w, r, &req) {
		return
	}
	switch {
	case !volumeName.MatchString(req.Name):
		unprocessable(w, fmt.Sprintf("Volume name %q is invalid: lowercase letters, digits and dashes, starting with a letter, at most 64.", req.Name))
		return
	case req.SizeGigabytes < 1 || req.SizeGigabytes > 16384:
		unprocessable(w, "size_gigabytes must be from 1 to 16384.")
		return
	case !slices.Contains(regionSlugs, req.Region):
		unprocessable(w, fmt.Sprintf("Region %q is not available; list /v2/regions.", req.Region))
		return
	case req.FilesystemType != "" && req.FilesystemType != "ext4" && req.FilesystemType != "xfs":
		unprocessable(w, "filesystem_type must be ext4 or xfs.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.st.Volumes {
		if v.Name == req.Name && v.Region == req.Region {
			writeError(w, http.StatusConflict, "conflict", fmt.Sprintf("A volume named %s exists in %s already.", req.Name, req.Region))
			return
		}
	}
	if req.SnapshotID != "" {
		if why := s.checkRestore(req.SnapshotID, req.Region, req.SizeGigabytes); why != "" {
			unprocessable(w, why)
			return
		}
	}
	v := &volume{
		ID: newUUID(), Name: req.Name, Description: req.Description, SizeGigabytes: req.SizeGigabytes, Region: req.Region,
		FilesystemType: req.FilesystemType, FilesystemLabel: req.FilesystemLabel, Tags: s.canonicalTags(req.Tags),
		CreatedAt: time.Now().UTC().Truncate(time.Second), DropletIDs: []int{},
	}
	if req.SnapshotID != "" {
		if err := s.restore(v.ID, req.SnapshotID); err != nil {
			s.removeVolumeData(v.ID)
			writeError(w, http.StatusInternalServerError, "server_error", "Copying the snapshot's data: "+err.Error())
			return
		}
	}
	s.st.Volumes[v.ID] = v
	s.markDirty()
	writeJSON(w, http.StatusCreated, map[string]any{"volume": renderVolume(v)})
}

func (s *Server) getVolume(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := s.st.Volumes[r.PathValue("volume")]; v != nil {
		writeJSON(w, http.StatusOK, map[string]any{"volume": renderVolume(v)})
		return
	}
	notFound(w)
}

func (s *Server) deleteVolume(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.st.Volumes[r.PathValue("volume")]
	if v == nil {
		notFound(w)
		return
	}
	if len(v.DropletIDs) > 0 {
		writeError(w, http.StatusConflict, "conflict", fmt.Sprintf("Volume %s is attached to droplet %d; detach it first.", v.Name, v.DropletIDs[0]))
		return
	}
	delete(s.st.Volumes, v.ID)
	s.removeVolumeData(v.ID)
	s.markDirty()
	w.WriteHeader(http.StatusNoContent)
}

// postVolumeAction attaches or detaches a volume; the change shows once the
// action completes, like droplet actions.
func (s *Server) postVolumeAction(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Type      string `json:"type"`
		DropletID int    `json:"droplet_id"`
	}
	if !decode(w, r, &req) {
		return
	}
	if req.Type != "attach" && req.Type != "detach" {
		unprocessable(w, fmt.Sprintf("Volume action %q is not supported by the lab; use attach or detach.", req.Type))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.st.Volumes[r.PathValue("volume")]
	if v == nil {
		notFound(w)
		return
	}
	d := s.st.Droplets[req.DropletID]
	switch {
	case d == nil:
		unprocessable(w, fmt.Sprintf("Droplet %d does not exist.", req.DropletID))
		return
	case d.Locked:
		unprocessable(w, "Droplet already has a pending event.")
		return
	case req.Type == "attach" && len(v.DropletIDs) > 0:
		unprocessable(w, fmt.Sprintf("Volume %s is attached to droplet %d already.", v.Name, v.DropletIDs[0]))
		return
	case req.Type == "attach" && d.Region != v.Region:
		unprocessable(w, fmt.Sprintf("Volume %s is in %s and droplet %d in %s: they must share a region.", v.Name, v.Region, d.ID, d.Region))
		return
	case req.Type == "detach" && !slices.Contains(v.DropletIDs, d.ID):
		unprocessable(w, fmt.Sprintf("Volume %s is not attached to droplet %d.", v.Name, d.ID))
		return
	}
	a := s.startAction(d, req.Type+"_volume", v.ID)
	a.ResourceType = "volume"
	writeJSON(w, http.StatusAccepted, map[string]any{"action": renderAction(a)})
}
