package emulator

import (
	"fmt"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

func (s *Server) vpcRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /v2/vpcs", s.listVPCs)
	m.HandleFunc("POST /v2/vpcs", s.createVPC)
	m.HandleFunc("GET /v2/vpcs/{vpc}", s.getVPC)
	m.HandleFunc("PATCH /v2/vpcs/{vpc}", s.updateVPC)
	m.HandleFunc("PUT /v2/vpcs/{vpc}", s.updateVPC)
	m.HandleFunc("DELETE /v2/vpcs/{vpc}", s.deleteVPC)
	m.HandleFunc("GET /v2/vpcs/{vpc}/members", s.listVPCMembers)
}

type vpc struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Region      string    `json:"region"`
	IPRange     string    `json:"ip_range"`
	Default     bool      `json:"default"`
	CreatedAt   time.Time `json:"created_at"`
}

type wireVPC struct {
	ID          string `json:"id"`
	URN         string `json:"urn"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Region      string `json:"region"`
	IPRange     string `json:"ip_range"`
	Default     bool   `json:"default"`
	CreatedAt   string `json:"created_at"`
}

func renderVPC(v *vpc) wireVPC {
	return wireVPC{
		ID: v.ID, URN: "do:vpc:" + v.ID, Name: v.Name, Description: v.Description, Region: v.Region,
		IPRange: v.IPRange, Default: v.Default, CreatedAt: rfc3339(v.CreatedAt),
	}
}

// defaultVPCID is the ID of a region's default VPC, the one droplets
// created without a vpc_uuid join (the droplets' JSON has used it always).
func defaultVPCID(region string) string {
	return fmt.Sprintf("5a4981aa-9653-4bd1-bef5-d6bff52%05d", regionIndex(region))
}

// defaultVPCs are the regions' default VPCs; the private addresses of
// droplets (10.110.0.0/16) fall in their range.
func defaultVPCs() []*vpc {
	out := make([]*vpc, 0, len(regionSlugs))
	for _, rg := range regionSlugs {
		out = append(out, &vpc{
			ID: defaultVPCID(rg), Name: "default-" + rg, Description: "The default VPC of " + rg, Region: rg,
			IPRange: "10.110.0.0/16", Default: true, CreatedAt: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC),
		})
	}
	return out
}

// allVPCs lists the default VPCs, then the account's. The caller holds s.mu.
func (s *Server) allVPCs() []*vpc {
	out := defaultVPCs()
	var own []*vpc
	for _, v := range s.network().VPCs {
		own = append(own, v)
	}
	slices.SortFunc(own, func(a, b *vpc) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return append(out, own...)
}

// findVPC finds a VPC by ID, default or not. The caller holds s.mu.
func (s *Server) findVPC(id string) *vpc {
	for _, v := range s.allVPCs() {
		if v.ID == id {
			return v
		}
	}
	return nil
}

// checkVPC tells why a droplet in region cannot join VPC id, or "". An
// empty id is the region's default. The caller holds s.mu.
func (s *Server) checkVPC(id, region string) string {
	if id == "" {
		return ""
	}
	if v := s.findVPC(id); v == nil || v.Region != region {
		return fmt.Sprintf("VPC %s does not exist in %s; list /v2/vpcs.", id, region)
	}
	return ""
}

// dropletVPC is the VPC a droplet is in.
func dropletVPC(d *droplet) string {
	if d.VpcUUID != "" {
		return d.VpcUUID
	}
	return defaultVPCID(d.Region)
}

func (s *Server) listVPCs(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := s.allVPCs()
	lo, hi, links, m := page(r, len(all))
	out := make([]wireVPC, 0, hi-lo)
	for _, v := range all[lo:hi] {
		out = append(out, renderVPC(v))
	}
	writeJSON(w, http.StatusOK, map[string]any{"vpcs": out, "links": links, "meta": m})
}

var vpcName = regexp.MustCompile(`^[a-zA-Z0-9\-.]{1,64}$`)

func (s *Server) createVPC(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		Region      string `json:"region"`
		IPRange     string `json:"ip_range"`
	}
	if !decode(w, r, &req) {
		return
	}
	if req.IPRange == "" {
		req.IPRange = "10.120.0.0/20"
	}
	switch _, ipnet, err := net.ParseCIDR(req.IPRange); {
	case !vpcName.MatchString(req.Name):
		unprocessable(w, fmt.Sprintf("VPC name %q is invalid: letters, digits, dots and dashes, at most 64.", req.Name))
		return
	case !slices.Contains(regionSlugs, req.Region):
		unprocessable(w, fmt.Sprintf("Region %q is not available; list /v2/regions.", req.Region))
		return
	case err != nil || ipnet.IP.To4() == nil || !ipnet.IP.IsPrivate():
		unprocessable(w, fmt.Sprintf("ip_range %q must be a private IPv4 CIDR block like 10.120.0.0/20.", req.IPRange))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.allVPCs() {
		if strings.EqualFold(v.Name, req.Name) {
			writeError(w, http.StatusConflict, "conflict", fmt.Sprintf("A VPC named %s exists already.", req.Name))
			return
		}
	}
	v := &vpc{ID: newUUID(), Name: req.Name, Description: req.Description, Region: req.Region, IPRange: req.IPRange, CreatedAt: now()}
	s.network().VPCs[v.ID] = v
	s.markDirty()
	writeJSON(w, http.StatusCreated, map[string]any{"vpc": renderVPC(v)})
}

func (s *Server) getVPC(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := s.findVPC(r.PathValue("vpc")); v != nil {
		writeJSON(w, http.StatusOK, map[string]any{"vpc": renderVPC(v)})
		return
	}
	notFound(w)
}

func (s *Server) updateVPC(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name        *string `json:"name"`
		Description *string `json:"description"`
	}
	if !decode(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.network().VPCs[r.PathValue("vpc")]
	if v == nil {
		if s.findVPC(r.PathValue("vpc")) != nil {
			writeError(w, http.StatusForbidden, "forbidden", "A region's default VPC cannot be changed in the lab.")
			return
		}
		notFound(w)
		return
	}
	if req.Name != nil {
		if !vpcName.MatchString(*req.Name) {
			unprocessable(w, fmt.Sprintf("VPC name %q is invalid.", *req.Name))
			return
		}
		v.Name = *req.Name
	}
	if req.Description != nil {
		v.Description = *req.Description
	}
	s.markDirty()
	writeJSON(w, http.StatusOK, map[string]any{"vpc": renderVPC(v)})
}

func (s *Server) deleteVPC(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("vpc")
	v := s.network().VPCs[id]
	if v == nil {
		if s.findVPC(id) != nil {
			writeError(w, http.StatusForbidden, "forbidden", "A region's default VPC cannot be deleted.")
			return
		}
		notFound(w)
		return
	}
	for _, d := range s.st.Droplets {
		if dropletVPC(d) == id {
			writeError(w, http.StatusForbidden, "forbidden", fmt.Sprintf("VPC %s still has droplet %s in it.", v.Name, d.Name))
			return
		}
	}
	delete(s.network().VPCs, id)
	s.markDirty()
	w.WriteHeader(http.StatusNoContent)
}

// listVPCMembers lists the droplets and load balancers in a VPC.
func (s *Server) listVPCMembers(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.findVPC(r.PathValue("vpc"))
	if v == nil {
		notFound(w)
		return
	}
	type member struct {
		URN       string `json:"urn"`
		Name      string `json:"name"`
		CreatedAt string `json:"created_at"`
	}
	var all []member
	for _, d := range s.sortedDroplets() {
		if dropletVPC(d) == v.ID {
			all = append(all, member{URN: fmt.Sprintf("do:droplet:%d", d.ID), Name: d.Name, CreatedAt: rfc3339(d.CreatedAt)})
		}
	}
	for _, lb := range s.sortedLBs() {
		if lb.VpcUUID == v.ID {
			all = append(all, member{URN: "do:loadbalancer:" + lb.ID, Name: lb.Name, CreatedAt: rfc3339(lb.CreatedAt)})
		}
	}
	lo, hi, links, m := page(r, len(all))
	out := append([]member{}, all[lo:hi]...)
	writeJSON(w, http.StatusOK, map[string]any{"members": out, "links": links, "meta": m})
}
