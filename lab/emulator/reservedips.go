package emulator

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

func (s *Server) reservedIPRoutes(m filteredMux) {
	m.HandleFunc("GET /v2/reserved_ips", s.listReservedIPs)
	m.HandleFunc("POST /v2/reserved_ips", s.createReservedIP)
	m.HandleFunc("GET /v2/reserved_ips/{ip}", s.getReservedIP)
	m.HandleFunc("DELETE /v2/reserved_ips/{ip}", s.deleteReservedIP)
	m.HandleFunc("GET /v2/reserved_ips/{ip}/actions", s.listReservedIPActions)
	m.HandleFunc("POST /v2/reserved_ips/{ip}/actions", s.postReservedIPAction)
	m.HandleFunc("GET /v2/reserved_ips/{ip}/actions/{action}", s.getReservedIPAction)
}

// reservedIP is an address of the lab's second range; in the lab it is
// translated to its droplet's address (see nftables.go).
type reservedIP struct {
	IP        string    `json:"ip"`
	Region    string    `json:"region"`
	DropletID int       `json:"droplet_id"` // 0: unassigned
	CreatedAt time.Time `json:"created_at"`
	ActionIDs []int     `json:"action_ids"`
}

// assigned is the droplet rip points at, or nil. The caller holds s.mu.
func (s *Server) assigned(rip *reservedIP) *droplet {
	if rip.DropletID == 0 {
		return nil
	}
	return s.st.Droplets[rip.DropletID]
}

func (s *Server) renderReservedIP(rip *reservedIP) map[string]any {
	rg, _ := catalogRegion(rip.Region)
	var d any
	if dr := s.assigned(rip); dr != nil {
		d = s.render(dr)
	}
	return map[string]any{"ip": rip.IP, "region": rg, "droplet": d, "locked": false, "project_id": "a6f1b7a4-2c84-4d67-8cb3-6f6e0b0c5d21"}
}

func (s *Server) sortedReservedIPs() []*reservedIP {
	out := make([]*reservedIP, 0, len(s.network().ReservedIPs))
	for _, r := range s.network().ReservedIPs {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *reservedIP) int { return strings.Compare(a.IP, b.IP) })
	return out
}

func (s *Server) listReservedIPs(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := s.sortedReservedIPs()
	lo, hi, links, m := page(r, len(all))
	out := make([]map[string]any, 0, hi-lo)
	for _, rip := range all[lo:hi] {
		out = append(out, s.renderReservedIP(rip))
	}
	writeJSON(w, http.StatusOK, map[string]any{"reserved_ips": out, "links": links, "meta": m})
}

func (s *Server) createReservedIP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Region    string `json:"region"`
		DropletID int    `json:"droplet_id"`
	}
	if !decode(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.network()
	if req.DropletID != 0 {
		d := s.st.Droplets[req.DropletID]
		if d == nil {
			unprocessable(w, fmt.Sprintf("Droplet %d does not exist.", req.DropletID))
			return
		}
		if why := s.checkAssign(d); why != "" {
			unprocessable(w, why)
			return
		}
		req.Region = d.Region
	} else if !slices.Contains(regionSlugs, req.Region) {
		unprocessable(w, fmt.Sprintf("Give a droplet_id or a region; %q is not available.", req.Region))
		return
	}
	if len(n.ReservedIPs) >= 120 {
		unprocessable(w, "The lab has no reserved IP left (120 at most).")
		return
	}
	var ip string
	for {
		ip = s.extraIP(130 + n.NextRIPIndex%120)
		n.NextRIPIndex++
		if n.ReservedIPs[ip] == nil {
			break
		}
	}
	rip := &reservedIP{IP: ip, Region: req.Region, DropletID: req.DropletID, CreatedAt: now()}
	n.ReservedIPs[ip] = rip
	s.markDirty()
	writeJSON(w, http.StatusAccepted, map[string]any{"reserved_ip": s.renderReservedIP(rip), "links": map[string]any{}})
}

// checkAssign tells why d cannot take a reserved IP, or "". The caller holds s.mu.
func (s *Server) checkAssign(d *droplet) string {
	for _, o := range s.network().ReservedIPs {
		if o.DropletID == d.ID {
			return fmt.Sprintf("Droplet %s has the reserved IP %s already.", d.Name, o.IP)
		}
	}
	return ""
}

func (s *Server) ripFromPath(w http.ResponseWriter, r *http.Request) *reservedIP {
	rip := s.network().ReservedIPs[r.PathValue("ip")]
	if rip == nil {
		notFound(w)
	}
	return rip
}

func (s *Server) getReservedIP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rip := s.ripFromPath(w, r); rip != nil {
		writeJSON(w, http.StatusOK, map[string]any{"reserved_ip": s.renderReservedIP(rip)})
	}
}

func (s *Server) deleteReservedIP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rip := s.ripFromPath(w, r); rip != nil {
		delete(s.network().ReservedIPs, rip.IP)
		s.markDirty()
		w.WriteHeader(http.StatusNoContent)
	}
}

// ipResourceID is how the API numbers a reserved IP in its actions: the
// address as a 32-bit integer.
func ipResourceID(ip string) int {
	v4 := net.ParseIP(ip).To4()
	if v4 == nil {
		return 0
	}
	return int(binary.BigEndian.Uint32(v4))
}

// postReservedIPAction assigns or unassigns; the change is done at once
// and its action completed (on the platform it takes a second or two).
func (s *Server) postReservedIPAction(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Type      string `json:"type"`
		DropletID int    `json:"droplet_id"`
	}
	if !decode(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rip := s.ripFromPath(w, r)
	if rip == nil {
		return
	}
	switch req.Type {
	case "assign":
		d := s.st.Droplets[req.DropletID]
		switch {
		case d == nil:
			unprocessable(w, fmt.Sprintf("Droplet %d does not exist.", req.DropletID))
			return
		case d.Region != rip.Region:
			unprocessable(w, fmt.Sprintf("Reserved IP %s is in %s and droplet %s in %s: they must share a region.", rip.IP, rip.Region, d.Name, d.Region))
			return
		case rip.DropletID == d.ID:
		default:
			if why := s.checkAssign(d); why != "" {
				unprocessable(w, why)
				return
			}
		}
		rip.DropletID = d.ID
	case "unassign":
		if s.assigned(rip) == nil {
			unprocessable(w, fmt.Sprintf("Reserved IP %s is not assigned.", rip.IP))
			return
		}
		rip.DropletID = 0
	default:
		unprocessable(w, fmt.Sprintf("Reserved IP action %q is invalid: use assign or unassign.", req.Type))
		return
	}
	t := time.Now().UTC()
	a := &action{
		ID: s.st.NextActionID, Status: "completed", Type: req.Type + "_ip", StartedAt: t, CompletedAt: &t,
		ResourceID: ipResourceID(rip.IP), ResourceType: "reserved_ip", Region: rip.Region,
	}
	s.st.NextActionID++
	s.st.Actions[a.ID] = a
	rip.ActionIDs = append(rip.ActionIDs, a.ID)
	s.markDirty()
	writeJSON(w, http.StatusCreated, map[string]any{"action": renderAction(a)})
}

func (s *Server) listReservedIPActions(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rip := s.ripFromPath(w, r); rip != nil {
		s.writeActions(w, r, rip.ActionIDs)
	}
}

func (s *Server) getReservedIPAction(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rip := s.ripFromPath(w, r)
	if rip == nil {
		return
	}
	id, _ := strconv.Atoi(r.PathValue("action"))
	if a := s.st.Actions[id]; a != nil && slices.Contains(rip.ActionIDs, id) {
		writeJSON(w, http.StatusOK, map[string]any{"action": renderAction(a)})
		return
	}
	notFound(w)
}
