package emulator

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
)

type wireAction struct {
	ID           int     `json:"id"`
	Status       string  `json:"status"`
	Type         string  `json:"type"`
	StartedAt    string  `json:"started_at"`
	CompletedAt  *string `json:"completed_at"`
	ResourceID   int     `json:"resource_id"`
	ResourceType string  `json:"resource_type"`
	Region       region  `json:"region"`
	RegionSlug   string  `json:"region_slug"`
}

func renderAction(a *action) wireAction {
	rg, _ := catalogRegion(a.Region)
	w := wireAction{
		ID: a.ID, Status: a.Status, Type: a.Type, StartedAt: a.StartedAt.UTC().Format(time.RFC3339),
		ResourceID: a.ResourceID, ResourceType: a.ResourceType, Region: rg, RegionSlug: a.Region,
	}
	if a.CompletedAt != nil {
		c := a.CompletedAt.UTC().Format(time.RFC3339)
		w.CompletedAt = &c
	}
	return w
}

// startAction records an in-progress action on d, locks d and arms the
// timer that completes it. The caller holds s.mu.
func (s *Server) startAction(d *droplet, typ, arg string) *action {
	a := &action{
		ID: s.st.NextActionID, Status: "in-progress", Type: typ, StartedAt: time.Now().UTC(),
		ResourceID: d.ID, ResourceType: "droplet", Region: d.Region, Arg: arg,
	}
	s.st.NextActionID++
	s.st.Actions[a.ID] = a
	d.ActionIDs = append(d.ActionIDs, a.ID)
	d.Locked = true
	s.arm(a, s.cfg.ActionDelay)
	s.markDirty()
	return a
}

func (s *Server) arm(a *action, after time.Duration) {
	id := a.ID
	s.timers[id] = time.AfterFunc(after, func() { s.complete(id) })
}

// complete carries out an action's effect: it starts or stops the droplet's
// host first, then changes the droplet, so that "active" means the host is up
// and "off" means it is down.
func (s *Server) complete(id int) {
	s.mu.Lock()
	delete(s.timers, id)
	a := s.st.Actions[id]
	if a == nil || a.Status != "in-progress" || s.closing {
		s.mu.Unlock()
		return
	}
	d := s.st.Droplets[a.ResourceID]
	if d == nil {
		s.finish(a, "errored")
		s.mu.Unlock()
		return
	}
	spec := s.hostSpec(d)
	mount, isMount := s.actionMount(a)
	s.mu.Unlock()

	var hostErr error
	started := false
	if h := s.cfg.Hosts; h != nil {
		switch a.Type {
		case "create", "power_on":
			hostErr, started = h.Start(spec), true
		case "power_off", "shutdown":
			hostErr = h.Stop(spec.ID)
		case "reboot", "power_cycle":
			if hostErr = h.Stop(spec.ID); hostErr == nil {
				hostErr, started = h.Start(spec), true
			}
		}
		if isMount {
			hostErr = s.applyMount(a.Type, spec.ID, mount)
		}
	}

	s.mu.Lock()
	d = s.st.Droplets[a.ResourceID]
	if d == nil || s.closing {
		gone := d == nil
		s.mu.Unlock()
		if gone && started {
			s.removeHosts([]int{spec.ID})
		}
		return
	}
	defer s.mu.Unlock()
	d.Locked = false
	if hostErr != nil {
		s.cfg.Logf("droplet %d (%s): %s: %v", d.ID, d.Name, a.Type, hostErr)
		s.finish(a, "errored")
		return
	}
	switch a.Type {
	case "create", "power_on", "reboot", "power_cycle":
		d.Status = "active"
	case "power_off", "shutdown":
		d.Status = "off"
	case "resize":
		d.Size = a.Arg
	case "rename":
		d.Name = a.Arg
	case "snapshot":
		d.SnapshotIDs = append(d.SnapshotIDs, 7000000+a.ID)
	case "attach_volume":
		if v := s.st.Volumes[a.Arg]; v != nil && !slices.Contains(v.DropletIDs, d.ID) {
			v.DropletIDs = append(v.DropletIDs, d.ID)
		}
	case "detach_volume":
		if v := s.st.Volumes[a.Arg]; v != nil {
			v.DropletIDs = slices.DeleteFunc(v.DropletIDs, func(x int) bool { return x == d.ID })
		}
	}
	s.finish(a, "completed")
}

func (s *Server) finish(a *action, status string) {
	now := time.Now().UTC()
	a.Status, a.CompletedAt = status, &now
	s.markDirty()
}

type actionRequest struct {
	Type string `json:"type"`
	Size string `json:"size"`
	Name string `json:"name"`
}

var dropletActionTypes = []string{"power_on", "power_off", "power_cycle", "reboot", "shutdown", "resize", "snapshot", "rename"}

// checkAction tells why req cannot run on d now, or "".
func checkAction(d *droplet, req actionRequest) string {
	switch {
	case d.Locked:
		return "Droplet already has a pending event."
	case req.Type == "resize":
		if _, ok := catalogSize(req.Size); !ok {
			return fmt.Sprintf("Size %q is not available; list /v2/sizes.", req.Size)
		}
		if d.Status == "active" {
			return "Droplet is currently on. Please power it off to run this event."
		}
	case req.Type == "rename":
		if !dropletName.MatchString(req.Name) {
			return fmt.Sprintf("Name %q is invalid: only letters, digits, dots and dashes are allowed.", req.Name)
		}
	case d.Status == "new":
		return "Droplet is being created; wait for its create action to complete."
	}
	return ""
}

func (s *Server) readActionRequest(w http.ResponseWriter, r *http.Request) (actionRequest, bool) {
	var req actionRequest
	if !decode(w, r, &req) {
		return req, false
	}
	if !slices.Contains(dropletActionTypes, req.Type) {
		unprocessable(w, fmt.Sprintf("Action type %q is not supported here; use one of %v.", req.Type, dropletActionTypes))
		return req, false
	}
	return req, true
}

func (s *Server) postDropletAction(w http.ResponseWriter, r *http.Request) {
	req, ok := s.readActionRequest(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.dropletFromPath(w, r)
	if d == nil {
		return
	}
	if why := checkAction(d, req); why != "" {
		unprocessable(w, why)
		return
	}
	arg := ""
	switch req.Type {
	case "resize":
		arg = req.Size
	case "rename":
		arg = req.Name
	}
	a := s.startAction(d, req.Type, arg)
	writeJSON(w, http.StatusCreated, map[string]any{"action": renderAction(a)})
}

// postDropletActionByTag runs an action on every droplet with tag_name; the
// API allows it for power and snapshot actions only.
func (s *Server) postDropletActionByTag(w http.ResponseWriter, r *http.Request) {
	tag := r.URL.Query().Get("tag_name")
	req, ok := s.readActionRequest(w, r)
	if !ok {
		return
	}
	if tag == "" || req.Type == "resize" || req.Type == "rename" {
		unprocessable(w, "Actions by tag need a tag_name and one of power_on, power_off, power_cycle, reboot, shutdown, snapshot.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var targets []*droplet
	for _, d := range s.sortedDroplets() {
		if slices.Contains(d.Tags, tag) {
			if why := checkAction(d, req); why != "" {
				unprocessable(w, fmt.Sprintf("Droplet %d (%s): %s", d.ID, d.Name, why))
				return
			}
			targets = append(targets, d)
		}
	}
	out := []wireAction{}
	for _, d := range targets {
		out = append(out, renderAction(s.startAction(d, req.Type, "")))
	}
	writeJSON(w, http.StatusCreated, map[string]any{"actions": out})
}

func (s *Server) listDropletActions(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.dropletFromPath(w, r)
	if d == nil {
		return
	}
	s.writeActions(w, r, d.ActionIDs)
}

func (s *Server) getDropletAction(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.dropletFromPath(w, r)
	if d == nil {
		return
	}
	id, _ := strconv.Atoi(r.PathValue("action"))
	if a := s.st.Actions[id]; a != nil && slices.Contains(d.ActionIDs, id) {
		writeJSON(w, http.StatusOK, map[string]any{"action": renderAction(a)})
		return
	}
	notFound(w)
}

func (s *Server) listActions(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]int, 0, len(s.st.Actions))
	for id := range s.st.Actions {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	s.writeActions(w, r, ids)
}

func (s *Server) writeActions(w http.ResponseWriter, r *http.Request, ids []int) {
	lo, hi, links, m := page(r, len(ids))
	out := make([]wireAction, 0, hi-lo)
	for _, id := range ids[lo:hi] {
		out = append(out, renderAction(s.st.Actions[id]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"actions": out, "links": links, "meta": m})
}

func (s *Server) getAction(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.Atoi(r.PathValue("action"))
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.st.Actions[id]; a != nil {
		writeJSON(w, http.StatusOK, map[string]any{"action": renderAction(a)})
		return
	}
	notFound(w)
}
