package emulator

import (
	"fmt"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

func (s *Server) domainRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /v2/domains", s.listDomains)
	m.HandleFunc("POST /v2/domains", s.createDomain)
	m.HandleFunc("GET /v2/domains/{domain}", s.getDomain)
	m.HandleFunc("DELETE /v2/domains/{domain}", s.deleteDomain)
	m.HandleFunc("GET /v2/domains/{domain}/records", s.listRecords)
	m.HandleFunc("POST /v2/domains/{domain}/records", s.createRecord)
	m.HandleFunc("GET /v2/domains/{domain}/records/{record}", s.getRecord)
	m.HandleFunc("PUT /v2/domains/{domain}/records/{record}", s.updateRecord)
	m.HandleFunc("PATCH /v2/domains/{domain}/records/{record}", s.updateRecord)
	m.HandleFunc("DELETE /v2/domains/{domain}/records/{record}", s.deleteRecord)
}

type record struct {
	ID       int    `json:"id"`
	Type     string `json:"type"`
	Name     string `json:"name"`
	Data     string `json:"data"`
	Priority *int   `json:"priority"`
	Port     *int   `json:"port"`
	TTL      int    `json:"ttl"`
	Weight   *int   `json:"weight"`
	Flags    *int   `json:"flags"`
	Tag      string `json:"tag"`
}

type domain struct {
	Name    string    `json:"name"`
	TTL     int       `json:"ttl"`
	Records []*record `json:"records"`
}

func (d *domain) zoneFile() string {
	var b strings.Builder
	fmt.Fprintf(&b, "$ORIGIN %s.\n$TTL %d\n", d.Name, d.TTL)
	for _, r := range d.Records {
		data := r.Data
		if r.Type == "CNAME" || r.Type == "NS" {
			data += "."
		}
		fmt.Fprintf(&b, "%s\t%d\tIN\t%s\t%s\n", r.Name, r.TTL, r.Type, data)
	}
	return b.String()
}

func renderDomain(d *domain) map[string]any {
	return map[string]any{"name": d.Name, "ttl": d.TTL, "zone_file": d.zoneFile()}
}

func (s *Server) sortedDomains() []*domain {
	out := make([]*domain, 0, len(s.network().Domains))
	for _, d := range s.network().Domains {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b *domain) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (s *Server) listDomains(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := s.sortedDomains()
	lo, hi, links, m := page(r, len(all))
	out := make([]map[string]any, 0, hi-lo)
	for _, d := range all[lo:hi] {
		out = append(out, renderDomain(d))
	}
	writeJSON(w, http.StatusOK, map[string]any{"domains": out, "links": links, "meta": m})
}

var domainName = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)

func (s *Server) createDomain(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name      string `json:"name"`
		IPAddress string `json:"ip_address"`
	}
	if !decode(w, r, &req) {
		return
	}
	req.Name = strings.ToLower(strings.TrimSuffix(req.Name, "."))
	switch {
	case !domainName.MatchString(req.Name):
		unprocessable(w, fmt.Sprintf("Domain %q is not a valid domain name.", req.Name))
		return
	case req.IPAddress != "" && net.ParseIP(req.IPAddress) == nil:
		unprocessable(w, fmt.Sprintf("ip_address %q is not an IP address.", req.IPAddress))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.network()
	if n.Domains[req.Name] != nil {
		unprocessable(w, fmt.Sprintf("Domain %s is already taken.", req.Name))
		return
	}
	d := &domain{Name: req.Name, TTL: 1800}
	for _, ns := range []string{"ns1.digitalocean.com", "ns2.digitalocean.com", "ns3.digitalocean.com"} {
		d.Records = append(d.Records, s.newRecord(record{Type: "NS", Name: "@", Data: ns, TTL: 1800}))
	}
	if req.IPAddress != "" {
		d.Records = append(d.Records, s.newRecord(record{Type: "A", Name: "@", Data: req.IPAddress, TTL: 1800}))
	}
	n.Domains[d.Name] = d
	s.markDirty()
	writeJSON(w, http.StatusCreated, map[string]any{"domain": map[string]any{"name": d.Name, "ttl": d.TTL, "zone_file": nil}})
}

func (s *Server) newRecord(r record) *record {
	n := s.network()
	r.ID = n.NextRecordID
	n.NextRecordID++
	return &r
}

func (s *Server) domainFromPath(w http.ResponseWriter, r *http.Request) *domain {
	d := s.network().Domains[strings.ToLower(r.PathValue("domain"))]
	if d == nil {
		notFound(w)
	}
	return d
}

func (s *Server) getDomain(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.domainFromPath(w, r); d != nil {
		writeJSON(w, http.StatusOK, map[string]any{"domain": renderDomain(d)})
	}
}

func (s *Server) deleteDomain(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.domainFromPath(w, r); d != nil {
		delete(s.network().Domains, d.Name)
		s.markDirty()
		w.WriteHeader(http.StatusNoContent)
	}
}

// recordName is the name relative to the domain: "@", "www", or a full
// name within the domain shortened so.
func recordName(name, domain string) string {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	switch {
	case name == "" || name == domain:
		return "@"
	case strings.HasSuffix(name, "."+domain):
		return strings.TrimSuffix(name, "."+domain)
	}
	return name
}

func (s *Server) listRecords(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.domainFromPath(w, r)
	if d == nil {
		return
	}
	var match []*record
	for _, rec := range d.Records {
		if (q.Get("type") == "" || rec.Type == q.Get("type")) && (q.Get("name") == "" || rec.Name == recordName(q.Get("name"), d.Name)) {
			match = append(match, rec)
		}
	}
	lo, hi, links, m := page(r, len(match))
	out := make([]record, 0, hi-lo)
	for _, rec := range match[lo:hi] {
		out = append(out, *rec)
	}
	writeJSON(w, http.StatusOK, map[string]any{"domain_records": out, "links": links, "meta": m})
}

var recordTypes = []string{"A", "AAAA", "CAA", "CNAME", "MX", "NS", "SOA", "SRV", "TXT"}

// checkRecord tells what is wrong with rec in d, or "": the data must suit
// the type, and a CNAME cannot share its name with another record.
func checkRecord(d *domain, rec *record) string {
	if !slices.Contains(recordTypes, rec.Type) {
		return fmt.Sprintf("Record type %q is invalid: use one of %v.", rec.Type, recordTypes)
	}
	ip := net.ParseIP(rec.Data)
	switch {
	case rec.Type == "A" && (ip == nil || ip.To4() == nil):
		return fmt.Sprintf("An A record needs an IPv4 address, not %q.", rec.Data)
	case rec.Type == "AAAA" && (ip == nil || ip.To4() != nil):
		return fmt.Sprintf("An AAAA record needs an IPv6 address, not %q.", rec.Data)
	case rec.Data == "":
		return "A record needs data."
	case rec.TTL != 0 && rec.TTL < 30:
		return "ttl must be at least 30 seconds."
	}
	for _, o := range d.Records {
		if o.ID != rec.ID && o.Name == rec.Name && (o.Type == "CNAME" || rec.Type == "CNAME") {
			return fmt.Sprintf("%s.%s has a %s record already (ID %d): a CNAME cannot share its name with another record.", rec.Name, d.Name, o.Type, o.ID)
		}
	}
	return ""
}

func (s *Server) createRecord(w http.ResponseWriter, r *http.Request) {
	var req record
	if !decode(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.domainFromPath(w, r)
	if d == nil {
		return
	}
	req.ID, req.Name = 0, recordName(req.Name, d.Name)
	if why := checkRecord(d, &req); why != "" {
		unprocessable(w, why)
		return
	}
	if req.TTL == 0 {
		req.TTL = 1800
	}
	rec := s.newRecord(req)
	d.Records = append(d.Records, rec)
	s.markDirty()
	writeJSON(w, http.StatusCreated, map[string]any{"domain_record": *rec})
}

func (s *Server) recordFromPath(w http.ResponseWriter, r *http.Request) (*domain, *record) {
	d := s.domainFromPath(w, r)
	if d == nil {
		return nil, nil
	}
	id, _ := strconv.Atoi(r.PathValue("record"))
	for _, rec := range d.Records {
		if rec.ID == id {
			return d, rec
		}
	}
	notFound(w)
	return nil, nil
}

func (s *Server) getRecord(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, rec := s.recordFromPath(w, r); rec != nil {
		writeJSON(w, http.StatusOK, map[string]any{"domain_record": *rec})
	}
}

// updateRecord changes the fields given (PUT and PATCH alike, as the API).
func (s *Server) updateRecord(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Type     *string `json:"type"`
		Name     *string `json:"name"`
		Data     *string `json:"data"`
		Priority *int    `json:"priority"`
		Port     *int    `json:"port"`
		TTL      *int    `json:"ttl"`
		Weight   *int    `json:"weight"`
	}
	if !decode(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, rec := s.recordFromPath(w, r)
	if rec == nil {
		return
	}
	next := *rec
	if req.Type != nil && *req.Type != "" {
		next.Type = *req.Type
	}
	if req.Name != nil && *req.Name != "" {
		next.Name = recordName(*req.Name, d.Name)
	}
	if req.Data != nil && *req.Data != "" {
		next.Data = *req.Data
	}
	if req.TTL != nil && *req.TTL != 0 {
		next.TTL = *req.TTL
	}
	if req.Priority != nil {
		next.Priority = req.Priority
	}
	if req.Port != nil {
		next.Port = req.Port
	}
	if req.Weight != nil {
		next.Weight = req.Weight
	}
	if why := checkRecord(d, &next); why != "" {
		unprocessable(w, why)
		return
	}
	*rec = next
	s.markDirty()
	writeJSON(w, http.StatusOK, map[string]any{"domain_record": *rec})
}

func (s *Server) deleteRecord(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, rec := s.recordFromPath(w, r)
	if rec == nil {
		return
	}
	d.Records = slices.DeleteFunc(d.Records, func(x *record) bool { return x.ID == rec.ID })
	s.markDirty()
	w.WriteHeader(http.StatusNoContent)
}
