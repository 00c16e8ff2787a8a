package emulator

import (
	"fmt"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

func (s *Server) firewallRoutes(m filteredMux) {
	m.HandleFunc("GET /v2/firewalls", s.listFirewalls)
	m.HandleFunc("POST /v2/firewalls", s.createFirewall)
	m.HandleFunc("GET /v2/firewalls/{fw}", s.getFirewall)
	m.HandleFunc("PUT /v2/firewalls/{fw}", s.updateFirewall)
	m.HandleFunc("DELETE /v2/firewalls/{fw}", s.deleteFirewall)
	m.HandleFunc("POST /v2/firewalls/{fw}/droplets", s.firewallDroplets(true))
	m.HandleFunc("DELETE /v2/firewalls/{fw}/droplets", s.firewallDroplets(false))
	m.HandleFunc("POST /v2/firewalls/{fw}/tags", s.firewallTags(true))
	m.HandleFunc("DELETE /v2/firewalls/{fw}/tags", s.firewallTags(false))
	m.HandleFunc("POST /v2/firewalls/{fw}/rules", s.firewallRules(true))
	m.HandleFunc("DELETE /v2/firewalls/{fw}/rules", s.firewallRules(false))
	m.HandleFunc("GET /v2/droplets/{id}/firewalls", s.listDropletFirewalls)
}

// endpoints are a rule's sources (inbound) or destinations (outbound).
type endpoints struct {
	Addresses        []string `json:"addresses,omitempty"`
	DropletIDs       []int    `json:"droplet_ids,omitempty"`
	LoadBalancerUIDs []string `json:"load_balancer_uids,omitempty"`
	KubernetesIDs    []string `json:"kubernetes_ids,omitempty"`
	Tags             []string `json:"tags,omitempty"`
}

type inboundRule struct {
	Protocol string    `json:"protocol"`
	Ports    string    `json:"ports"`
	Sources  endpoints `json:"sources"`
}

type outboundRule struct {
	Protocol     string    `json:"protocol"`
	Ports        string    `json:"ports"`
	Destinations endpoints `json:"destinations"`
}

type firewall struct {
	ID            string         `json:"id"`
	Name          string         `json:"name"`
	CreatedAt     time.Time      `json:"created_at"`
	InboundRules  []inboundRule  `json:"inbound_rules"`
	OutboundRules []outboundRule `json:"outbound_rules"`
	DropletIDs    []int          `json:"droplet_ids"`
	Tags          []string       `json:"tags"`
}

type wireFirewall struct {
	ID             string         `json:"id"`
	Name           string         `json:"name"`
	Status         string         `json:"status"`
	CreatedAt      string         `json:"created_at"`
	PendingChanges []struct{}     `json:"pending_changes"`
	InboundRules   []inboundRule  `json:"inbound_rules"`
	OutboundRules  []outboundRule `json:"outbound_rules"`
	DropletIDs     []int          `json:"droplet_ids"`
	Tags           []string       `json:"tags"`
}

func (s *Server) renderFirewall(f *firewall) wireFirewall {
	return wireFirewall{
		ID: f.ID, Name: f.Name, Status: "succeeded", CreatedAt: rfc3339(f.CreatedAt), PendingChanges: []struct{}{},
		InboundRules: append([]inboundRule{}, f.InboundRules...), OutboundRules: append([]outboundRule{}, f.OutboundRules...),
		DropletIDs: s.liveDropletIDs(f.DropletIDs), Tags: append([]string{}, f.Tags...),
	}
}

func (s *Server) sortedFirewalls() []*firewall {
	out := make([]*firewall, 0, len(s.network().Firewalls))
	for _, f := range s.network().Firewalls {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b *firewall) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// covers tells whether f applies to d, by ID or by tag.
func (f *firewall) covers(d *droplet) bool {
	if slices.Contains(f.DropletIDs, d.ID) {
		return true
	}
	for _, t := range f.Tags {
		if slices.Contains(d.Tags, t) {
			return true
		}
	}
	return false
}

func (s *Server) listFirewalls(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writeFirewalls(w, r, s.sortedFirewalls())
}

func (s *Server) writeFirewalls(w http.ResponseWriter, r *http.Request, fws []*firewall) {
	lo, hi, links, m := page(r, len(fws))
	out := make([]wireFirewall, 0, hi-lo)
	for _, f := range fws[lo:hi] {
		out = append(out, s.renderFirewall(f))
	}
	writeJSON(w, http.StatusOK, map[string]any{"firewalls": out, "links": links, "meta": m})
}

func (s *Server) listDropletFirewalls(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.dropletFromPath(w, r)
	if d == nil {
		return
	}
	var fws []*firewall
	for _, f := range s.sortedFirewalls() {
		if f.covers(d) {
			fws = append(fws, f)
		}
	}
	s.writeFirewalls(w, r, fws)
}

var firewallName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9.-]+$`)

type firewallRequest struct {
	Name          string         `json:"name"`
	InboundRules  []inboundRule  `json:"inbound_rules"`
	OutboundRules []outboundRule `json:"outbound_rules"`
	DropletIDs    []int          `json:"droplet_ids"`
	Tags          []string       `json:"tags"`
}

// checkPorts validates a rule's protocol and ports the way the API does.
func checkPorts(protocol, ports string) string {
	switch protocol {
	case "icmp":
		return ""
	case "tcp", "udp":
	default:
		return fmt.Sprintf("Protocol %q is invalid: use tcp, udp or icmp.", protocol)
	}
	if ports == "" {
		return fmt.Sprintf("A %s rule needs ports: a port, a range like 8000-9000, or all.", protocol)
	}
	if _, _, ok := portRange(ports); !ok {
		return fmt.Sprintf("Ports %q are invalid: a port from 1 to 65535, a range like 8000-9000, 0 or all.", ports)
	}
	return ""
}

// portRange parses "80", "8000-9000", "0" or "all" (0 and all: every port).
func portRange(ports string) (lo, hi int, ok bool) {
	if ports == "all" || ports == "0" || ports == "" {
		return 1, 65535, true
	}
	a, b, isRange := strings.Cut(ports, "-")
	lo, err1 := strconv.Atoi(a)
	hi, err2 := lo, error(nil)
	if isRange {
		hi, err2 = strconv.Atoi(b)
	}
	if err1 != nil || err2 != nil || lo < 1 || hi > 65535 || lo > hi {
		return 0, 0, false
	}
	return lo, hi, true
}

func checkAddresses(addrs []string) string {
	for _, a := range addrs {
		if net.ParseIP(a) != nil {
			continue
		}
		if _, _, err := net.ParseCIDR(a); err != nil {
			return fmt.Sprintf("Address %q is neither an IP address nor a CIDR block.", a)
		}
	}
	return ""
}

// checkFirewall tells what is wrong with req, or "". The caller holds s.mu.
func (s *Server) checkFirewall(req *firewallRequest) string {
	if len(req.Name) > 255 || !firewallName.MatchString(req.Name) {
		return fmt.Sprintf("Name %q is invalid: letters, digits, dots and dashes, starting with a letter or digit.", req.Name)
	}
	for _, r := range req.InboundRules {
		if why := checkPorts(r.Protocol, r.Ports); why != "" {
			return why
		}
		if why := s.checkEndpoints(r.Sources); why != "" {
			return why
		}
	}
	for _, r := range req.OutboundRules {
		if why := checkPorts(r.Protocol, r.Ports); why != "" {
			return why
		}
		if why := s.checkEndpoints(r.Destinations); why != "" {
			return why
		}
	}
	return s.checkDroplets(req.DropletIDs)
}

func (s *Server) checkEndpoints(e endpoints) string {
	if why := checkAddresses(e.Addresses); why != "" {
		return why
	}
	for _, id := range e.LoadBalancerUIDs {
		if s.network().LoadBalancers[id] == nil {
			return fmt.Sprintf("Load balancer %s does not exist.", id)
		}
	}
	return s.checkDroplets(e.DropletIDs)
}

func (s *Server) createFirewall(w http.ResponseWriter, r *http.Request) {
	var req firewallRequest
	if !decode(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if why := s.checkFirewall(&req); why != "" {
		unprocessable(w, why)
		return
	}
	for _, f := range s.network().Firewalls {
		if f.Name == req.Name {
			writeError(w, http.StatusConflict, "conflict", fmt.Sprintf("A firewall named %s exists already.", req.Name))
			return
		}
	}
	f := &firewall{ID: newUUID(), CreatedAt: now()}
	s.setFirewall(f, &req)
	s.network().Firewalls[f.ID] = f
	s.markDirty()
	writeJSON(w, http.StatusAccepted, map[string]any{"firewall": s.renderFirewall(f)})
}

func (s *Server) setFirewall(f *firewall, req *firewallRequest) {
	f.Name = req.Name
	f.InboundRules = append([]inboundRule{}, req.InboundRules...)
	f.OutboundRules = append([]outboundRule{}, req.OutboundRules...)
	f.DropletIDs = s.liveDropletIDs(req.DropletIDs)
	f.Tags = s.canonicalTags(req.Tags)
}

func (s *Server) firewallFromPath(w http.ResponseWriter, r *http.Request) *firewall {
	f := s.network().Firewalls[r.PathValue("fw")]
	if f == nil {
		notFound(w)
	}
	return f
}

func (s *Server) getFirewall(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.firewallFromPath(w, r); f != nil {
		writeJSON(w, http.StatusOK, map[string]any{"firewall": s.renderFirewall(f)})
	}
}

func (s *Server) updateFirewall(w http.ResponseWriter, r *http.Request) {
	var req firewallRequest
	if !decode(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.firewallFromPath(w, r)
	if f == nil {
		return
	}
	if why := s.checkFirewall(&req); why != "" {
		unprocessable(w, why)
		return
	}
	s.setFirewall(f, &req)
	s.markDirty()
	writeJSON(w, http.StatusOK, map[string]any{"firewall": s.renderFirewall(f)})
}

func (s *Server) deleteFirewall(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.firewallFromPath(w, r); f != nil {
		delete(s.network().Firewalls, f.ID)
		s.markDirty()
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) firewallDroplets(add bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			DropletIDs []int `json:"droplet_ids"`
		}
		if !decode(w, r, &req) {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		f := s.firewallFromPath(w, r)
		if f == nil {
			return
		}
		if len(req.DropletIDs) == 0 {
			unprocessable(w, "droplet_ids must name at least one droplet.")
			return
		}
		if why := s.checkDroplets(req.DropletIDs); add && why != "" {
			unprocessable(w, why)
			return
		}
		for _, id := range req.DropletIDs {
			if add && !slices.Contains(f.DropletIDs, id) {
				f.DropletIDs = append(f.DropletIDs, id)
			}
			if !add {
				f.DropletIDs = slices.DeleteFunc(f.DropletIDs, func(x int) bool { return x == id })
			}
		}
		s.markDirty()
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) firewallTags(add bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Tags []string `json:"tags"`
		}
		if !decode(w, r, &req) {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		f := s.firewallFromPath(w, r)
		if f == nil {
			return
		}
		if len(req.Tags) == 0 {
			unprocessable(w, "tags must name at least one tag.")
			return
		}
		for _, t := range req.Tags {
			if add {
				if c := s.ensureTag(t); !slices.Contains(f.Tags, c) {
					f.Tags = append(f.Tags, c)
				}
				continue
			}
			f.Tags = slices.DeleteFunc(f.Tags, func(x string) bool { return strings.EqualFold(x, t) })
		}
		s.markDirty()
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) firewallRules(add bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			InboundRules  []inboundRule  `json:"inbound_rules"`
			OutboundRules []outboundRule `json:"outbound_rules"`
		}
		if !decode(w, r, &req) {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		f := s.firewallFromPath(w, r)
		if f == nil {
			return
		}
		check := firewallRequest{Name: f.Name, InboundRules: req.InboundRules, OutboundRules: req.OutboundRules}
		if why := s.checkFirewall(&check); why != "" {
			unprocessable(w, why)
			return
		}
		for _, in := range req.InboundRules {
			i := slices.IndexFunc(f.InboundRules, func(x inboundRule) bool { return sameInbound(x, in) })
			switch {
			case add && i < 0:
				f.InboundRules = append(f.InboundRules, in)
			case !add && i >= 0:
				f.InboundRules = slices.Delete(f.InboundRules, i, i+1)
			}
		}
		for _, out := range req.OutboundRules {
			i := slices.IndexFunc(f.OutboundRules, func(x outboundRule) bool { return sameOutbound(x, out) })
			switch {
			case add && i < 0:
				f.OutboundRules = append(f.OutboundRules, out)
			case !add && i >= 0:
				f.OutboundRules = slices.Delete(f.OutboundRules, i, i+1)
			}
		}
		s.markDirty()
		w.WriteHeader(http.StatusNoContent)
	}
}

func sameEndpoints(a, b endpoints) bool {
	return slices.Equal(a.Addresses, b.Addresses) && slices.Equal(a.DropletIDs, b.DropletIDs) &&
		slices.Equal(a.LoadBalancerUIDs, b.LoadBalancerUIDs) && slices.Equal(a.Tags, b.Tags) &&
		slices.Equal(a.KubernetesIDs, b.KubernetesIDs)
}

func samePorts(a, b string) bool {
	la, ha, _ := portRange(a)
	lb, hb, _ := portRange(b)
	return la == lb && ha == hb
}

func sameInbound(a, b inboundRule) bool {
	return a.Protocol == b.Protocol && samePorts(a.Ports, b.Ports) && sameEndpoints(a.Sources, b.Sources)
}

func sameOutbound(a, b outboundRule) bool {
	return a.Protocol == b.Protocol && samePorts(a.Ports, b.Ports) && sameEndpoints(a.Destinations, b.Destinations)
}
