package emulator

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/vigilops/vigil/lab/hosts"
)

func (s *Server) routes() {
	m := http.NewServeMux()
	s.networkRoutes(m)
	m.HandleFunc("GET /v2/account", s.getAccount)
	m.HandleFunc("GET /v2/regions", s.listRegions)
	m.HandleFunc("GET /v2/sizes", s.listSizes)
	m.HandleFunc("GET /v2/images", s.listImages)
	m.HandleFunc("GET /v2/images/{image}", s.getImage)
	m.HandleFunc("GET /v2/account/keys", s.listKeys)
	m.HandleFunc("POST /v2/account/keys", s.createKey)
	m.HandleFunc("GET /v2/account/keys/{key}", s.getKey)
	m.HandleFunc("DELETE /v2/account/keys/{key}", s.deleteKey)
	m.HandleFunc("GET /v2/tags", s.listTags)
	m.HandleFunc("POST /v2/tags", s.createTag)
	m.HandleFunc("GET /v2/tags/{tag}", s.getTag)
	m.HandleFunc("DELETE /v2/tags/{tag}", s.deleteTag)
	m.HandleFunc("POST /v2/tags/{tag}/resources", s.tagResources)
	m.HandleFunc("DELETE /v2/tags/{tag}/resources", s.untagResources)
	m.HandleFunc("GET /v2/droplets", s.listDroplets)
	m.HandleFunc("POST /v2/droplets", s.createDroplets)
	m.HandleFunc("DELETE /v2/droplets", s.deleteDropletsByTag)
	m.HandleFunc("GET /v2/droplets/{id}", s.getDroplet)
	m.HandleFunc("DELETE /v2/droplets/{id}", s.deleteDroplet)
	m.HandleFunc("GET /v2/droplets/{id}/actions", s.listDropletActions)
	m.HandleFunc("POST /v2/droplets/{id}/actions", s.postDropletAction)
	m.HandleFunc("POST /v2/droplets/actions", s.postDropletActionByTag)
	m.HandleFunc("GET /v2/droplets/{id}/actions/{action}", s.getDropletAction)
	m.HandleFunc("GET /v2/actions", s.listActions)
	m.HandleFunc("GET /v2/actions/{action}", s.getAction)
	s.volumeRoutes(m)
	s.snapshotRoutes(m)
	m.HandleFunc("POST /_lab/faults", s.setFault)
	m.HandleFunc("DELETE /_lab/faults", s.clearFault)
	m.HandleFunc("PUT /_lab/ratelimit", s.setRateLimit)
	s.mux = m
}

// setFault arms the fault switch: the next Count API requests fail.
func (s *Server) setFault(w http.ResponseWriter, r *http.Request) {
	var f Fault
	if !decode(w, r, &f) {
		return
	}
	if f.Status < 400 || f.Status > 599 || f.Count < 1 {
		unprocessable(w, `A fault needs a status from 400 to 599 and a count of at least 1, like {"status":429,"count":3,"retry_after":1}.`)
		return
	}
	if f.Status == http.StatusTooManyRequests && f.RetryAfter < 1 {
		f.RetryAfter = 1
	}
	s.mu.Lock()
	s.fault = &f
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"fault": f})
}

// setRateLimit changes the per-token budget at run time and starts every
// token's window afresh, so tests can run a client into its limit.
func (s *Server) setRateLimit(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Limit         int `json:"limit"`
		WindowSeconds int `json:"window_seconds"`
	}
	if !decode(w, r, &req) {
		return
	}
	if req.Limit < 1 || req.WindowSeconds < 1 {
		unprocessable(w, `A rate limit needs a limit and a window_seconds of at least 1, like {"limit":100,"window_seconds":60}.`)
		return
	}
	s.mu.Lock()
	s.cfg.RateLimit, s.cfg.RateWindow = req.Limit, time.Duration(req.WindowSeconds)*time.Second
	s.limits = map[string]*budget{}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, req)
}

func (s *Server) clearFault(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.fault = nil
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

type network struct {
	IPAddress string `json:"ip_address"`
	Netmask   string `json:"netmask"`
	Gateway   string `json:"gateway,omitempty"`
	Type      string `json:"type"`
}

// backupWindow is always set: the spec's next_backup_window is not nullable
// where the droplet embeds it (allOf drops the nullable), so the emulator
// reports the window the platform would use if backups were enabled.
type backupWindow struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

type wireDroplet struct {
	ID               int          `json:"id"`
	Name             string       `json:"name"`
	Memory           int          `json:"memory"`
	Vcpus            int          `json:"vcpus"`
	Disk             int          `json:"disk"`
	Locked           bool         `json:"locked"`
	Status           string       `json:"status"`
	Kernel           *struct{}    `json:"kernel"`
	CreatedAt        string       `json:"created_at"`
	Features         []string     `json:"features"`
	BackupIDs        []int        `json:"backup_ids"`
	NextBackupWindow backupWindow `json:"next_backup_window"`
	SnapshotIDs      []int        `json:"snapshot_ids"`
	Image            image        `json:"image"`
	VolumeIDs        []string     `json:"volume_ids"`
	Size             size         `json:"size"`
	SizeSlug         string       `json:"size_slug"`
	Networks         struct {
		V4 []network `json:"v4"`
		V6 []network `json:"v6"`
	} `json:"networks"`
	Region  region   `json:"region"`
	Tags    []string `json:"tags"`
	VpcUUID string   `json:"vpc_uuid"`
}

// publicIP is the droplet's loopback address: index 0 is IPBase.2.
func (s *Server) publicIP(d *droplet) string {
	return fmt.Sprintf("127.%d.%d.%d", s.ipA, s.ipB+d.IPIndex/253, 2+d.IPIndex%253)
}

// privateIP exists in the JSON only; nothing listens there.
func privateIP(d *droplet) string {
	return fmt.Sprintf("10.110.%d.%d", d.IPIndex/253, 2+d.IPIndex%253)
}

// freeIPIndex returns the first address index no droplet holds from the
// last one given on, round the range: an address is not given again until
// the range has gone round, so a new droplet never meets the sshd of one
// just destroyed still answering there, nor its key in a known_hosts.
func (s *Server) freeIPIndex(taken map[int]bool) (int, error) {
	limit := (255 - s.ipB) * 253
	for n := 0; n < limit; n++ {
		i := (s.st.NextIPIndex + n) % limit
		if !taken[i] {
			taken[i] = true
			s.st.NextIPIndex = (i + 1) % limit
			return i, nil
		}
	}
	return 0, fmt.Errorf("no free address left under 127.%d.%d", s.ipA, s.ipB)
}

func (s *Server) render(d *droplet) wireDroplet {
	sz, _ := catalogSize(d.Size)
	img, _ := catalogImage("", d.Image)
	rg, _ := catalogRegion(d.Region)
	w := wireDroplet{
		ID: d.ID, Name: d.Name, Memory: sz.Memory, Vcpus: sz.Vcpus, Disk: sz.Disk, Locked: d.Locked,
		Status: d.Status, CreatedAt: d.CreatedAt.UTC().Format(time.RFC3339), Features: []string{"private_networking"},
		BackupIDs: []int{}, SnapshotIDs: append([]int{}, d.SnapshotIDs...), Image: img, VolumeIDs: []string{},
		Size: sz, SizeSlug: d.Size, Region: rg, Tags: append([]string{}, d.Tags...),
		NextBackupWindow: backupWindow{
			Start: d.CreatedAt.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour).Format(time.RFC3339),
			End:   d.CreatedAt.UTC().Truncate(24 * time.Hour).Add(31 * time.Hour).Format(time.RFC3339),
		},
		VpcUUID: dropletVPC(d),
	}
	w.Networks.V4 = []network{
		{IPAddress: s.publicIP(d), Netmask: "255.255.255.0", Gateway: fmt.Sprintf("127.%d.%d.1", s.ipA, s.ipB+d.IPIndex/253), Type: "public"},
		{IPAddress: privateIP(d), Netmask: "255.255.0.0", Type: "private"},
	}
	w.Networks.V6 = []network{}
	for _, v := range s.sortedVolumes() {
		if slices.Contains(v.DropletIDs, d.ID) {
			w.VolumeIDs = append(w.VolumeIDs, v.ID)
		}
	}
	return w
}

func regionIndex(slug string) int {
	return slices.Index(regionSlugs, slug) + 1
}

// NoExporterTag makes a droplet come up without its node exporter, as a
// fresh droplet does: the lab's monitoring.yml installs one.
const NoExporterTag = "no-node-exporter"

func (s *Server) hostSpec(d *droplet) hosts.Spec {
	return hosts.Spec{ID: d.ID, Name: d.Name, IP: s.publicIP(d), AuthorizedKeys: d.AuthorizedKeys,
		NoExporter: slices.Contains(d.Tags, NoExporterTag), Mounts: s.volumeMounts(d)}
}

func (s *Server) sortedDroplets() []*droplet {
	out := make([]*droplet, 0, len(s.st.Droplets))
	for _, d := range s.st.Droplets {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b *droplet) int { return a.ID - b.ID })
	return out
}

// dropletFromPath finds the droplet named by the {id} path value; on failure
// it has written the error.
func (s *Server) dropletFromPath(w http.ResponseWriter, r *http.Request) *droplet {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		notFound(w)
		return nil
	}
	d := s.st.Droplets[id]
	if d == nil {
		notFound(w)
	}
	return d
}

func (s *Server) listDroplets(w http.ResponseWriter, r *http.Request) {
	tag, name := r.URL.Query().Get("tag_name"), r.URL.Query().Get("name")
	s.mu.Lock()
	defer s.mu.Unlock()
	var match []*droplet
	for _, d := range s.sortedDroplets() {
		if (tag == "" || slices.Contains(d.Tags, tag)) && (name == "" || d.Name == name) {
			match = append(match, d)
		}
	}
	lo, hi, links, m := page(r, len(match))
	out := make([]wireDroplet, 0, hi-lo)
	for _, d := range match[lo:hi] {
		out = append(out, s.render(d))
	}
	writeJSON(w, http.StatusOK, map[string]any{"droplets": out, "links": links, "meta": m})
}

func (s *Server) getDroplet(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.dropletFromPath(w, r); d != nil {
		writeJSON(w, http.StatusOK, map[string]any{"droplet": s.render(d)})
	}
}

var (
	dropletName = regexp.MustCompile(`^[a-zA-Z0-9]?[a-z0-9A-Z.\-]*[a-z0-9A-Z]$`)
	tagName     = regexp.MustCompile(`^[a-zA-Z0-9_\-:]+$`)
)

type createRequest struct {
	Name    string   `json:"name"`
	Names   []string `json:"names"`
	Region  string   `json:"region"`
	Size    string   `json:"size"`
	Image   any      `json:"image"`
	SSHKeys []any    `json:"ssh_keys"`
	Tags    []string `json:"tags"`
	Volumes []string `json:"volumes"`
	VpcUUID string   `json:"vpc_uuid"`
}

type actionLink struct {
	ID   int    `json:"id"`
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

func (s *Server) createDroplets(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	if !decode(w, r, &req) {
		return
	}
	names := req.Names
	if req.Name != "" {
		names = []string{req.Name}
	}
	if len(names) == 0 || len(names) > 10 {
		unprocessable(w, "Give a name, or names with one to ten entries.")
		return
	}
	for _, n := range names {
		if len(n) > 255 || !dropletName.MatchString(n) {
			unprocessable(w, fmt.Sprintf("Name %q is invalid: only letters, digits, dots and dashes are allowed.", n))
			return
		}
	}
	if _, ok := catalogSize(req.Size); !ok {
		unprocessable(w, fmt.Sprintf("Size %q is not available; list /v2/sizes.", req.Size))
		return
	}
	if req.Region == "" {
		req.Region = regionSlugs[0]
	}
	if _, ok := catalogRegion(req.Region); !ok {
		unprocessable(w, fmt.Sprintf("Region %q is not available; list /v2/regions.", req.Region))
		return
	}
	var img image
	var ok bool
	switch v := req.Image.(type) {
	case string:
		img, ok = catalogImage(v, 0)
	case float64:
		img, ok = catalogImage("", int(v))
	}
	if !ok {
		unprocessable(w, fmt.Sprintf("Image %v is not available; list /v2/images.", req.Image))
		return
	}
	for _, t := range req.Tags {
		if !tagName.MatchString(t) || len(t) > 255 {
			unprocessable(w, fmt.Sprintf("Tag %q is invalid: use letters, digits, colons, dashes and underscores.", t))
			return
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if why := s.checkVPC(req.VpcUUID, req.Region); why != "" {
		unprocessable(w, why)
		return
	}
	keys, err := s.resolveKeys(req.SSHKeys)
	if err != nil {
		unprocessable(w, err.Error())
		return
	}
	for _, vid := range req.Volumes {
		v := s.st.Volumes[vid]
		if v == nil || len(v.DropletIDs) > 0 || v.Region != req.Region {
			unprocessable(w, fmt.Sprintf("Volume %s does not exist in %s or is attached already.", vid, req.Region))
			return
		}
	}
	if s.cfg.Hosts != nil && len(s.st.Droplets)+len(names) > s.cfg.MaxHosts {
		unprocessable(w, fmt.Sprintf("The lab runs at most %d droplets with hosts (%d exist); delete some, or run the emulator with --max-hosts or --no-hosts.", s.cfg.MaxHosts, len(s.st.Droplets)))
		return
	}
	taken := map[int]bool{}
	for _, d := range s.st.Droplets {
		taken[d.IPIndex] = true
	}
	tags := s.canonicalTags(req.Tags)
	var created []wireDroplet
	var links []actionLink
	for _, n := range names {
		idx, err := s.freeIPIndex(taken)
		if err != nil {
			unprocessable(w, err.Error())
			return
		}
		d := &droplet{
			ID: s.st.NextDropletID, Name: n, Status: "new", Size: req.Size, Region: req.Region, Image: img.ID,
			Tags: append([]string{}, tags...), CreatedAt: time.Now().UTC().Truncate(time.Second), IPIndex: idx,
			SnapshotIDs: []int{}, AuthorizedKeys: keys, VpcUUID: req.VpcUUID,
		}
		s.st.NextDropletID++
		s.st.Droplets[d.ID] = d
		if len(names) == 1 {
			for _, vid := range req.Volumes {
				s.st.Volumes[vid].DropletIDs = []int{d.ID}
			}
		}
		a := s.startAction(d, "create", "")
		links = append(links, actionLink{ID: a.ID, Rel: "create", Href: fmt.Sprintf("%s/v2/actions/%d", baseURL(r), a.ID)})
		created = append(created, s.render(d))
	}
	s.markDirty()
	if req.Name != "" {
		writeJSON(w, http.StatusAccepted, map[string]any{"droplet": created[0], "links": map[string]any{"actions": links}})
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"droplets": created, "links": map[string]any{"actions": links}})
}

// canonicalTags registers new tags and returns the canonical spelling of
// each (tags are case stable: the first spelling wins).
func (s *Server) canonicalTags(in []string) []string {
	out := []string{}
	for _, t := range in {
		c := s.ensureTag(t)
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

func (s *Server) deleteDroplet(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	d := s.dropletFromPath(w, r)
	if d == nil {
		s.mu.Unlock()
		return
	}
	s.removeDroplet(d)
	s.mu.Unlock()
	s.removeHosts([]int{d.ID})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) deleteDropletsByTag(w http.ResponseWriter, r *http.Request) {
	tag := r.URL.Query().Get("tag_name")
	if tag == "" {
		writeError(w, http.StatusBadRequest, "bad_request", "Deleting droplets needs a tag_name, or use /v2/droplets/{id}.")
		return
	}
	s.mu.Lock()
	var ids []int
	for _, d := range s.sortedDroplets() {
		if slices.Contains(d.Tags, tag) {
			s.removeDroplet(d)
			ids = append(ids, d.ID)
		}
	}
	s.mu.Unlock()
	s.removeHosts(ids)
	w.WriteHeader(http.StatusNoContent)
}

// removeDroplet forgets a droplet, its pending actions' timers and its volume
// attachments. The caller holds s.mu.
func (s *Server) removeDroplet(d *droplet) {
	delete(s.st.Droplets, d.ID)
	for _, aid := range d.ActionIDs {
		if t := s.timers[aid]; t != nil {
			t.Stop()
			delete(s.timers, aid)
			a := s.st.Actions[aid]
			now := time.Now().UTC()
			a.Status, a.CompletedAt = "errored", &now
		}
	}
	for _, v := range s.st.Volumes {
		v.DropletIDs = slices.DeleteFunc(v.DropletIDs, func(id int) bool { return id == d.ID })
	}
	s.markDirty()
}

func (s *Server) removeHosts(ids []int) {
	if s.cfg.Hosts == nil {
		return
	}
	for _, id := range ids {
		if err := s.cfg.Hosts.Remove(id); err != nil {
			s.cfg.Logf("droplet %d: removing its host: %v", id, err)
		}
	}
}
