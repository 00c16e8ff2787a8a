package emulator

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// netState is the networking part of the account: firewalls, load
// balancers, domains, VPCs and reserved IPs. It is kept under state.Network.
type netState struct {
	Firewalls     map[string]*firewall     `json:"firewalls"`
	LoadBalancers map[string]*loadBalancer `json:"load_balancers"`
	Domains       map[string]*domain       `json:"domains"`
	VPCs          map[string]*vpc          `json:"vpcs"`
	ReservedIPs   map[string]*reservedIP   `json:"reserved_ips"`
	NextRecordID  int                      `json:"next_record_id"`
	// NextLBIndex and NextRIPIndex number the addresses given to load
	// balancers and reserved IPs (see lbIP and ripIP).
	NextLBIndex  int `json:"next_lb_index"`
	NextRIPIndex int `json:"next_rip_index"`
}

// network returns the networking state, made on first use so that a state
// file written before it existed still loads. The caller holds s.mu.
func (s *Server) network() *netState {
	n := s.st.Network
	if n == nil {
		n = &netState{NextRecordID: 30000001}
		s.st.Network = n
	}
	if n.Firewalls == nil {
		n.Firewalls = map[string]*firewall{}
	}
	if n.LoadBalancers == nil {
		n.LoadBalancers = map[string]*loadBalancer{}
	}
	if n.Domains == nil {
		n.Domains = map[string]*domain{}
	}
	if n.VPCs == nil {
		n.VPCs = map[string]*vpc{}
	}
	if n.ReservedIPs == nil {
		n.ReservedIPs = map[string]*reservedIP{}
	}
	return n
}

func (s *Server) networkRoutes(m *http.ServeMux) {
	// A change to firewalls, load balancers (their addresses are firewall
	// sources) or reserved IPs is applied to the packet filter before the
	// answer, so that a client checking a port right after sees it.
	filtered := filteredMux{m, s}
	s.firewallRoutes(filtered)
	s.loadBalancerRoutes(filtered)
	s.domainRoutes(m)
	s.vpcRoutes(m)
	s.reservedIPRoutes(filtered)
}

// filteredMux registers handlers whose non-GET requests apply the packet
// filter once handled (the state lock released).
type filteredMux struct {
	mux *http.ServeMux
	s   *Server
}

func (f filteredMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	if strings.HasPrefix(pattern, "GET ") {
		f.mux.HandleFunc(pattern, h)
		return
	}
	f.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		fw := &heldWriter{ResponseWriter: w}
		h(fw, r)
		f.s.applyFilter()
		fw.release()
	})
}

// heldWriter holds the status until the filter is applied: the body is
// buffered, since a client may act as soon as it reads the status.
type heldWriter struct {
	http.ResponseWriter
	status int
	body   []byte
}

func (w *heldWriter) WriteHeader(status int) { w.status = status }
func (w *heldWriter) Write(b []byte) (int, error) {
	w.body = append(w.body, b...)
	return len(b), nil
}

func (w *heldWriter) release() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.ResponseWriter.WriteHeader(w.status)
	w.ResponseWriter.Write(w.body)
}

// liveDropletIDs keeps the IDs of droplets that exist, in order: a deleted
// droplet drops out of firewalls and load balancers as it does on the
// platform. The caller holds s.mu.
func (s *Server) liveDropletIDs(ids []int) []int {
	out := []int{}
	for _, id := range ids {
		if s.st.Droplets[id] != nil && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// checkDroplets tells which of ids does not exist, or "". The caller holds s.mu.
func (s *Server) checkDroplets(ids []int) string {
	for _, id := range ids {
		if s.st.Droplets[id] == nil {
			return fmt.Sprintf("Droplet %d does not exist.", id)
		}
	}
	return ""
}

// dropletsTagged lists the droplets carrying any of tags. The caller holds s.mu.
func (s *Server) dropletsTagged(tags []string) []*droplet {
	var out []*droplet
	for _, d := range s.sortedDroplets() {
		for _, t := range tags {
			if slices.Contains(d.Tags, t) {
				out = append(out, d)
				break
			}
		}
	}
	return out
}

// extraIP is an address of the lab's second range, 127.(A+1).B.N, kept
// apart from the droplets' so that load balancers and reserved IPs never
// meet a droplet's sshd.
func (s *Server) extraIP(n int) string {
	return fmt.Sprintf("127.%d.%d.%d", s.ipA+1, s.ipB, n)
}

func now() time.Time { return time.Now().UTC().Truncate(time.Second) }

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }
