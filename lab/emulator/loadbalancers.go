package emulator

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

func (s *Server) loadBalancerRoutes(m filteredMux) {
	m.HandleFunc("GET /v2/load_balancers", s.listLoadBalancers)
	m.HandleFunc("POST /v2/load_balancers", s.createLoadBalancer)
	m.HandleFunc("GET /v2/load_balancers/{lb}", s.getLoadBalancer)
	m.HandleFunc("PUT /v2/load_balancers/{lb}", s.updateLoadBalancer)
	m.HandleFunc("DELETE /v2/load_balancers/{lb}", s.deleteLoadBalancer)
	m.HandleFunc("POST /v2/load_balancers/{lb}/droplets", s.lbDroplets(true))
	m.HandleFunc("DELETE /v2/load_balancers/{lb}/droplets", s.lbDroplets(false))
	m.HandleFunc("POST /v2/load_balancers/{lb}/forwarding_rules", s.lbRules(true))
	m.HandleFunc("DELETE /v2/load_balancers/{lb}/forwarding_rules", s.lbRules(false))
}

type forwardingRule struct {
	EntryProtocol  string `json:"entry_protocol"`
	EntryPort      int    `json:"entry_port"`
	TargetProtocol string `json:"target_protocol"`
	TargetPort     int    `json:"target_port"`
	CertificateID  string `json:"certificate_id,omitempty"`
	TLSPassthrough bool   `json:"tls_passthrough"`
}

type healthCheck struct {
	Protocol               string `json:"protocol"`
	Port                   int    `json:"port"`
	Path                   string `json:"path,omitempty"`
	CheckIntervalSeconds   int    `json:"check_interval_seconds"`
	ResponseTimeoutSeconds int    `json:"response_timeout_seconds"`
	HealthyThreshold       int    `json:"healthy_threshold"`
	UnhealthyThreshold     int    `json:"unhealthy_threshold"`
}

type loadBalancer struct {
	ID              string           `json:"id"`
	Name            string           `json:"name"`
	Region          string           `json:"region"`
	IPIndex         int              `json:"ip_index"`
	CreatedAt       time.Time        `json:"created_at"`
	Algorithm       string           `json:"algorithm"`
	ForwardingRules []forwardingRule `json:"forwarding_rules"`
	HealthCheck     healthCheck      `json:"health_check"`
	DropletIDs      []int            `json:"droplet_ids"`
	Tag             string           `json:"tag"`
	VpcUUID         string           `json:"vpc_uuid"`
	RedirectHTTP    bool             `json:"redirect_http_to_https"`
}

// backendHealth is the lab's extension to a load balancer's JSON: the
// health of each backend as the control panel shows it (the public API has
// no field for it; clients that do not know it ignore it).
type backendHealth struct {
	DropletID int    `json:"droplet_id"`
	Status    string `json:"status"` // healthy, unhealthy
	Reason    string `json:"reason,omitempty"`
}

type wireLB struct {
	ID                     string           `json:"id"`
	Name                   string           `json:"name"`
	IP                     string           `json:"ip"`
	SizeUnit               int              `json:"size_unit"`
	Algorithm              string           `json:"algorithm"`
	Status                 string           `json:"status"`
	CreatedAt              string           `json:"created_at"`
	ForwardingRules        []forwardingRule `json:"forwarding_rules"`
	HealthCheck            healthCheck      `json:"health_check"`
	StickySessions         map[string]any   `json:"sticky_sessions"`
	RedirectHTTPToHTTPS    bool             `json:"redirect_http_to_https"`
	EnableProxyProtocol    bool             `json:"enable_proxy_protocol"`
	EnableBackendKeepalive bool             `json:"enable_backend_keepalive"`
	HTTPIdleTimeoutSeconds int              `json:"http_idle_timeout_seconds"`
	VpcUUID                string           `json:"vpc_uuid"`
	Region                 region           `json:"region"`
	DropletIDs             []int            `json:"droplet_ids"`
	Tag                    string           `json:"tag,omitempty"`
	DropletHealth          []backendHealth  `json:"droplet_health"`
}

// lbIP is a load balancer's address: health checks come from it, and a
// firewall source naming the load balancer allows it.
func (s *Server) lbIP(lb *loadBalancer) string { return s.extraIP(2 + lb.IPIndex%126) }

// backends lists the droplets behind lb: its droplet_ids, or those with its tag.
func (s *Server) backends(lb *loadBalancer) []*droplet {
	if lb.Tag != "" {
		return s.dropletsTagged([]string{lb.Tag})
	}
	var out []*droplet
	for _, id := range s.liveDropletIDs(lb.DropletIDs) {
		out = append(out, s.st.Droplets[id])
	}
	return out
}

func (s *Server) renderLB(lb *loadBalancer) wireLB {
	rg, _ := catalogRegion(lb.Region)
	w := wireLB{
		ID: lb.ID, Name: lb.Name, IP: s.lbIP(lb), SizeUnit: 1, Algorithm: lb.Algorithm, Status: "active",
		CreatedAt: rfc3339(lb.CreatedAt), ForwardingRules: append([]forwardingRule{}, lb.ForwardingRules...),
		HealthCheck: lb.HealthCheck, StickySessions: map[string]any{"type": "none"}, RedirectHTTPToHTTPS: lb.RedirectHTTP,
		HTTPIdleTimeoutSeconds: 60, VpcUUID: lb.VpcUUID, Region: rg, DropletIDs: []int{}, Tag: lb.Tag,
		DropletHealth: []backendHealth{},
	}
	for _, d := range s.backends(lb) {
		w.DropletIDs = append(w.DropletIDs, d.ID)
	}
	return w
}

// probe is one backend's health check to run outside the lock.
type probe struct {
	out      *backendHealth
	from, to string
	check    healthCheck
}

// renderLBs renders lbs and checks each backend: a backend is healthy when
// its droplet is active and its health-check port answers on the droplet's
// address, dialled from the load balancer's address. It takes s.mu itself
// and probes without holding it.
func (s *Server) renderLBs(lbs func() []*loadBalancer) []wireLB {
	s.mu.Lock()
	var out []wireLB
	var probes []probe
	for _, lb := range lbs() {
		w := s.renderLB(lb)
		for _, d := range s.backends(lb) {
			h := backendHealth{DropletID: d.ID, Status: "unhealthy"}
			switch {
			case d.Status != "active":
				h.Reason = "droplet is " + d.Status
			case s.cfg.Hosts == nil:
				h.Status = "healthy"
			default:
				probes = append(probes, probe{from: s.lbIP(lb), to: s.publicIP(d), check: lb.HealthCheck})
			}
			w.DropletHealth = append(w.DropletHealth, h)
		}
		out = append(out, w)
	}
	// Point each probe at its result now that the slices are final.
	p := 0
	for i := range out {
		for j := range out[i].DropletHealth {
			h := &out[i].DropletHealth[j]
			if h.Status == "unhealthy" && h.Reason == "" {
				probes[p].out = h
				p++
			}
		}
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, pr := range probes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := healthProbe(pr.from, pr.to, pr.check); err != nil {
				pr.out.Reason = err.Error()
				return
			}
			pr.out.Status = "healthy"
		}()
	}
	wg.Wait()
	return out
}

func healthProbe(from, to string, hc healthCheck) error {
	timeout := time.Duration(min(max(hc.ResponseTimeoutSeconds, 1), 2)) * time.Second
	d := net.Dialer{Timeout: timeout, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	addr := net.JoinHostPort(to, strconv.Itoa(hc.Port))
	if hc.Protocol != "http" {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			return fmt.Errorf("%s port %d: %s", hc.Protocol, hc.Port, shortNetErr(err))
		}
		return c.Close()
	}
	client := http.Client{Timeout: timeout, Transport: &http.Transport{DialContext: d.DialContext}}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+hc.Path, nil)
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("http port %d: %s", hc.Port, shortNetErr(err))
	}
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return fmt.Errorf("http %s answered %d", hc.Path, resp.StatusCode)
	}
	return nil
}

func shortNetErr(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "refused"):
		return "connection refused"
	case strings.Contains(msg, "timeout"), strings.Contains(msg, "deadline"):
		return "no answer (timeout)"
	}
	return msg
}

func (s *Server) sortedLBs() []*loadBalancer {
	out := make([]*loadBalancer, 0, len(s.network().LoadBalancers))
	for _, lb := range s.network().LoadBalancers {
		out = append(out, lb)
	}
	slices.SortFunc(out, func(a, b *loadBalancer) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

func (s *Server) listLoadBalancers(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	all := s.sortedLBs()
	lo, hi, links, m := page(r, len(all))
	s.mu.Unlock()
	out := s.renderLBs(func() []*loadBalancer { return all[lo:hi] })
	if out == nil {
		out = []wireLB{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"load_balancers": out, "links": links, "meta": m})
}

type lbRequest struct {
	Name                string           `json:"name"`
	Region              string           `json:"region"`
	Algorithm           string           `json:"algorithm"`
	ForwardingRules     []forwardingRule `json:"forwarding_rules"`
	HealthCheck         *healthCheck     `json:"health_check"`
	DropletIDs          []int            `json:"droplet_ids"`
	Tag                 string           `json:"tag"`
	VpcUUID             string           `json:"vpc_uuid"`
	RedirectHTTPToHTTPS bool             `json:"redirect_http_to_https"`
}

var lbProtocols = []string{"http", "https", "http2", "http3", "tcp", "udp"}

// checkLB tells what is wrong with req, or "". The caller holds s.mu.
func (s *Server) checkLB(req *lbRequest) string {
	switch {
	case !firewallName.MatchString(req.Name):
		return fmt.Sprintf("Name %q is invalid: letters, digits, dots and dashes.", req.Name)
	case !slices.Contains(regionSlugs, req.Region):
		return fmt.Sprintf("Region %q is not available; list /v2/regions.", req.Region)
	case len(req.ForwardingRules) == 0:
		return "A load balancer needs at least one forwarding rule."
	case len(req.DropletIDs) > 0 && req.Tag != "":
		return "Give droplet_ids or a tag, not both."
	}
	for _, fr := range req.ForwardingRules {
		if why := checkForwardingRule(fr); why != "" {
			return why
		}
	}
	if hc := req.HealthCheck; hc != nil {
		if hc.Protocol != "http" && hc.Protocol != "https" && hc.Protocol != "tcp" {
			return fmt.Sprintf("Health check protocol %q is invalid: http, https or tcp.", hc.Protocol)
		}
		if hc.Port < 1 || hc.Port > 65535 {
			return fmt.Sprintf("Health check port %d is invalid.", hc.Port)
		}
	}
	for _, id := range req.DropletIDs {
		if d := s.st.Droplets[id]; d == nil {
			return fmt.Sprintf("Droplet %d does not exist.", id)
		} else if d.Region != req.Region {
			return fmt.Sprintf("Droplet %d is in %s, the load balancer in %s: they must share a region.", id, d.Region, req.Region)
		}
	}
	if req.VpcUUID != "" {
		if v := s.findVPC(req.VpcUUID); v == nil || v.Region != req.Region {
			return fmt.Sprintf("VPC %s does not exist in %s.", req.VpcUUID, req.Region)
		}
	}
	return ""
}

func checkForwardingRule(fr forwardingRule) string {
	if !slices.Contains(lbProtocols, fr.EntryProtocol) || !slices.Contains(lbProtocols, fr.TargetProtocol) {
		return fmt.Sprintf("Forwarding rule protocols %q → %q are invalid: use %v.", fr.EntryProtocol, fr.TargetProtocol, lbProtocols)
	}
	if fr.EntryPort < 1 || fr.EntryPort > 65535 || fr.TargetPort < 1 || fr.TargetPort > 65535 {
		return fmt.Sprintf("Forwarding rule ports %d → %d are invalid.", fr.EntryPort, fr.TargetPort)
	}
	return ""
}

func (s *Server) setLB(lb *loadBalancer, req *lbRequest) {
	lb.Name, lb.Region, lb.Tag, lb.RedirectHTTP = req.Name, req.Region, req.Tag, req.RedirectHTTPToHTTPS
	lb.Algorithm = req.Algorithm
	if lb.Algorithm == "" {
		lb.Algorithm = "round_robin"
	}
	lb.ForwardingRules = append([]forwardingRule{}, req.ForwardingRules...)
	lb.HealthCheck = healthCheck{Protocol: "http", Port: 80, Path: "/", CheckIntervalSeconds: 10, ResponseTimeoutSeconds: 5, HealthyThreshold: 5, UnhealthyThreshold: 3}
	if hc := req.HealthCheck; hc != nil {
		lb.HealthCheck.Protocol, lb.HealthCheck.Port = hc.Protocol, hc.Port
		if hc.Protocol == "tcp" {
			lb.HealthCheck.Path = ""
		} else if hc.Path != "" {
			lb.HealthCheck.Path = hc.Path
		}
		for dst, src := range map[*int]int{
			&lb.HealthCheck.CheckIntervalSeconds: hc.CheckIntervalSeconds, &lb.HealthCheck.ResponseTimeoutSeconds: hc.ResponseTimeoutSeconds,
			&lb.HealthCheck.HealthyThreshold: hc.HealthyThreshold, &lb.HealthCheck.UnhealthyThreshold: hc.UnhealthyThreshold,
		} {
			if src > 0 {
				*dst = src
			}
		}
	}
	lb.DropletIDs = s.liveDropletIDs(req.DropletIDs)
	if req.Tag != "" {
		lb.Tag = s.ensureTag(req.Tag)
		lb.DropletIDs = nil
	}
	lb.VpcUUID = req.VpcUUID
	if lb.VpcUUID == "" {
		lb.VpcUUID = defaultVPCID(lb.Region)
	}
}

func (s *Server) createLoadBalancer(w http.ResponseWriter, r *http.Request) {
	var req lbRequest
	if !decode(w, r, &req) {
		return
	}
	s.mu.Lock()
	if why := s.checkLB(&req); why != "" {
		s.mu.Unlock()
		unprocessable(w, why)
		return
	}
	n := s.network()
	lb := &loadBalancer{ID: newUUID(), CreatedAt: now(), IPIndex: n.NextLBIndex}
	n.NextLBIndex++
	s.setLB(lb, &req)
	n.LoadBalancers[lb.ID] = lb
	s.markDirty()
	s.mu.Unlock()
	out := s.renderLBs(func() []*loadBalancer { return []*loadBalancer{lb} })
	writeJSON(w, http.StatusAccepted, map[string]any{"load_balancer": out[0]})
}

func (s *Server) lbFromPath(w http.ResponseWriter, r *http.Request) *loadBalancer {
	lb := s.network().LoadBalancers[r.PathValue("lb")]
	if lb == nil {
		notFound(w)
	}
	return lb
}

func (s *Server) getLoadBalancer(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	lb := s.lbFromPath(w, r)
	s.mu.Unlock()
	if lb != nil {
		out := s.renderLBs(func() []*loadBalancer { return []*loadBalancer{lb} })
		writeJSON(w, http.StatusOK, map[string]any{"load_balancer": out[0]})
	}
}

func (s *Server) updateLoadBalancer(w http.ResponseWriter, r *http.Request) {
	var req lbRequest
	if !decode(w, r, &req) {
		return
	}
	s.mu.Lock()
	lb := s.lbFromPath(w, r)
	if lb == nil {
		s.mu.Unlock()
		return
	}
	if why := s.checkLB(&req); why != "" {
		s.mu.Unlock()
		unprocessable(w, why)
		return
	}
	s.setLB(lb, &req)
	s.markDirty()
	s.mu.Unlock()
	out := s.renderLBs(func() []*loadBalancer { return []*loadBalancer{lb} })
	writeJSON(w, http.StatusOK, map[string]any{"load_balancer": out[0]})
}

func (s *Server) deleteLoadBalancer(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if lb := s.lbFromPath(w, r); lb != nil {
		delete(s.network().LoadBalancers, lb.ID)
		s.markDirty()
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) lbDroplets(add bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			DropletIDs []int `json:"droplet_ids"`
		}
		if !decode(w, r, &req) {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		lb := s.lbFromPath(w, r)
		switch {
		case lb == nil:
			return
		case lb.Tag != "":
			unprocessable(w, fmt.Sprintf("Load balancer %s takes its droplets by the tag %s; tag or untag them instead.", lb.Name, lb.Tag))
			return
		case len(req.DropletIDs) == 0:
			unprocessable(w, "droplet_ids must name at least one droplet.")
			return
		}
		for _, id := range req.DropletIDs {
			if !add {
				lb.DropletIDs = slices.DeleteFunc(lb.DropletIDs, func(x int) bool { return x == id })
				continue
			}
			if d := s.st.Droplets[id]; d == nil || d.Region != lb.Region {
				unprocessable(w, fmt.Sprintf("Droplet %d does not exist in %s.", id, lb.Region))
				return
			}
			if !slices.Contains(lb.DropletIDs, id) {
				lb.DropletIDs = append(lb.DropletIDs, id)
			}
		}
		s.markDirty()
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) lbRules(add bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ForwardingRules []forwardingRule `json:"forwarding_rules"`
		}
		if !decode(w, r, &req) {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		lb := s.lbFromPath(w, r)
		if lb == nil {
			return
		}
		rules := slices.Clone(lb.ForwardingRules)
		for _, fr := range req.ForwardingRules {
			if why := checkForwardingRule(fr); why != "" {
				unprocessable(w, why)
				return
			}
			i := slices.Index(rules, fr)
			switch {
			case add && i < 0:
				rules = append(rules, fr)
			case !add && i >= 0:
				rules = slices.Delete(rules, i, i+1)
			}
		}
		if len(rules) == 0 {
			unprocessable(w, "A load balancer keeps at least one forwarding rule.")
			return
		}
		lb.ForwardingRules = rules
		s.markDirty()
		w.WriteHeader(http.StatusNoContent)
	}
}
