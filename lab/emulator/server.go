// Package emulator serves the droplets subset of DigitalOcean's API v2 for the
// lab: account, regions, sizes, images, SSH keys, tags, droplets, droplet
// actions and block-storage volumes, with DigitalOcean's JSON shapes, rate-limit
// headers, injectable faults and state kept on disk. Each active droplet can be
// backed by a real SSH host (see package hosts).
package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigilops/vigil/lab/hosts"
)

// Hosts runs the machines behind droplets. *hosts.Manager implements it.
type Hosts interface {
	Start(spec hosts.Spec) error
	Stop(id int) error
	Remove(id int) error
	Close() error
}

var _ Hosts = (*hosts.Manager)(nil)

// Config configures a Server.
type Config struct {
	StateDir string // where state.json lives; required
	Token    string // the bearer token every API request must carry; required
	// LabKey is an OpenSSH public key registered in the account as "vigil-lab"
	// and authorized on every droplet.
	LabKey string
	FileSD string // Prometheus file_sd path written on every change; empty: none
	Hosts  Hosts  // nil: droplets have no hosts
	// Filter makes firewalls and reserved IPs real on the droplets'
	// addresses (see nftables.go); nil: they are API state only.
	Filter PacketFilter
	// MaxHosts caps the droplets when Hosts is set (each host costs about
	// 25 MB); creating more fails with 422. Default 20.
	MaxHosts int
	// IPBase holds the first two octets and the starting third octet of the
	// droplets' addresses, like "127.0.10": droplets get 127.0.10.2, 127.0.10.3, …
	IPBase      string
	ActionDelay time.Duration // how long an action stays in-progress
	RateLimit   int           // requests per RateWindow and token
	RateWindow  time.Duration
	Logf        func(format string, args ...any) // nil: log.Printf
}

// Server is the emulator: an http.Handler over persistent state.
type Server struct {
	cfg     Config
	ipA     int // second octet
	ipB     int // first third octet
	mux     *http.ServeMux
	mu      sync.Mutex // guards the fields below and cfg's rate limit
	st      *state
	timers  map[int]*time.Timer
	limits  map[string]*budget
	fault   *Fault
	dirty   chan struct{}
	done    chan struct{}
	saved   sync.WaitGroup
	closing bool
}

type budget struct {
	reset time.Time
	used  int
}

// Fault makes the next Count API requests fail with Status; a 429 carries
// Retry-After: RetryAfter seconds.
type Fault struct {
	Status     int `json:"status"`
	Count      int `json:"count"`
	RetryAfter int `json:"retry_after"`
}

// New loads the state from cfg.StateDir, registers the lab key, starts the
// hosts of active droplets and resumes pending actions.
func New(cfg Config) (*Server, error) {
	if cfg.StateDir == "" || cfg.Token == "" {
		return nil, errors.New("emulator: a state directory and a token are required")
	}
	if cfg.IPBase == "" {
		cfg.IPBase = "127.0.10"
	}
	if cfg.ActionDelay == 0 {
		cfg.ActionDelay = 1500 * time.Millisecond
	}
	if cfg.MaxHosts == 0 {
		cfg.MaxHosts = 20
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = 5000
	}
	if cfg.RateWindow == 0 {
		cfg.RateWindow = time.Hour
	}
	if cfg.Logf == nil {
		cfg.Logf = log.Printf
	}
	var oct [3]int
	if _, err := fmt.Sscanf(cfg.IPBase, "%d.%d.%d", &oct[0], &oct[1], &oct[2]); err != nil || oct[0] != 127 || oct[1] > 255 || oct[2] > 254 {
		return nil, fmt.Errorf("emulator: IP base %q must be a loopback prefix like 127.0.10", cfg.IPBase)
	}
	if err := os.MkdirAll(cfg.StateDir, 0o755); err != nil {
		return nil, fmt.Errorf("emulator: state directory: %w", err)
	}
	st, err := loadState(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg, ipA: oct[1], ipB: oct[2], st: st,
		timers: map[int]*time.Timer{}, limits: map[string]*budget{},
		dirty: make(chan struct{}, 1), done: make(chan struct{}),
	}
	if cfg.LabKey != "" {
		if _, err := s.ensureKey("vigil-lab", cfg.LabKey); err != nil {
			return nil, fmt.Errorf("emulator: lab key: %w", err)
		}
	}
	s.routes()
	s.saved.Add(1)
	go s.saver()
	s.markDirty()
	s.resume()
	return s, nil
}

// resume starts the hosts of active droplets and re-arms pending actions.
func (s *Server) resume() {
	s.mu.Lock()
	var active []hosts.Spec
	for _, d := range s.st.Droplets {
		if d.Status == "active" {
			active = append(active, s.hostSpec(d))
		}
	}
	now := time.Now()
	for _, a := range s.st.Actions {
		if a.Status == "in-progress" {
			s.arm(a, max(0, a.StartedAt.Add(s.cfg.ActionDelay).Sub(now)))
		}
	}
	s.mu.Unlock()
	if s.cfg.Hosts == nil {
		return
	}
	for _, h := range active {
		if err := s.cfg.Hosts.Start(h); err != nil {
			s.cfg.Logf("droplet %d (%s): host did not start: %v", h.ID, h.Name, err)
		}
	}
}

// Close stops the action timers, saves the state and stops every host.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil
	}
	s.closing = true
	for id, t := range s.timers {
		t.Stop()
		delete(s.timers, id)
	}
	s.mu.Unlock()
	close(s.done)
	s.saved.Wait()
	var err error
	if s.cfg.Filter != nil {
		err = s.cfg.Filter.Close()
	}
	if s.cfg.Hosts != nil {
		err = errors.Join(err, s.cfg.Hosts.Close())
	}
	return err
}

func (s *Server) markDirty() {
	select {
	case s.dirty <- struct{}{}:
	default:
	}
}

// saver writes the state and the file_sd file after changes, coalescing
// bursts (creating thousands of droplets must not rewrite the file each time).
func (s *Server) saver() {
	defer s.saved.Done()
	for {
		select {
		case <-s.dirty:
			s.flush()
			select {
			case <-time.After(50 * time.Millisecond):
			case <-s.done:
				s.flush()
				return
			}
		case <-s.done:
			s.flush()
			return
		}
	}
}

func (s *Server) flush() {
	s.mu.Lock()
	data, err := json.Marshal(s.st)
	var sd []byte
	if err == nil && s.cfg.FileSD != "" {
		sd, err = json.MarshalIndent(s.fileSD(), "", "  ")
	}
	s.mu.Unlock()
	if err != nil {
		s.cfg.Logf("encode state: %v", err)
		return
	}
	if err := writeAtomic(filepath.Join(s.cfg.StateDir, stateFile), data); err != nil {
		s.cfg.Logf("save state: %v", err)
	}
	if sd != nil {
		if err := writeAtomic(s.cfg.FileSD, sd); err != nil {
			s.cfg.Logf("write file_sd %s: %v", s.cfg.FileSD, err)
		}
	}
	s.applyFilter()
}

type sdGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// fileSD lists one node exporter target per droplet, powered off or not, so
// that a droplet that is off shows up == 0. Its labels are those vigil's
// own file_sd (`vigil inventory --prometheus-sd`) gives a host, tags with
// a comma at each end so that a rule can match ",web,": when both files are
// read, Prometheus sees one target per droplet, not two.
func (s *Server) fileSD() []sdGroup {
	out := []sdGroup{}
	for _, d := range s.sortedDroplets() {
		tags := ""
		if len(d.Tags) > 0 {
			tags = "," + strings.Join(d.Tags, ",") + ","
		}
		out = append(out, sdGroup{
			Targets: []string{s.publicIP(d) + ":9100"},
			Labels:  map[string]string{"droplet": d.Name, "region": d.Region, "size": d.Size, "tags": tags},
		})
	}
	return out
}

// ServeHTTP authenticates, applies faults and the rate limit, then routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token != s.cfg.Token {
		s.mu.Lock()
		limit, window := s.cfg.RateLimit, s.cfg.RateWindow
		s.mu.Unlock()
		setLimitHeaders(w, limit, limit, time.Now().Add(window))
		writeError(w, http.StatusUnauthorized, "unauthorized", "Unable to authenticate you")
		return
	}
	if strings.HasPrefix(r.URL.Path, "/_lab/") {
		s.mux.ServeHTTP(w, r)
		return
	}
	limit, remaining, reset, fault := s.admit(token)
	setLimitHeaders(w, limit, remaining, reset)
	switch {
	case fault != nil:
		if fault.Status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", strconv.Itoa(fault.RetryAfter))
		}
		writeError(w, fault.Status, errorID(fault.Status), "Injected by the lab fault switch.")
		return
	case remaining < 0:
		w.Header().Set("RateLimit-Remaining", "0")
		w.Header().Set("Retry-After", strconv.Itoa(int(time.Until(reset).Seconds())+1))
		writeError(w, http.StatusTooManyRequests, "too_many_requests", "API rate limit exceeded.")
		return
	}
	if _, pattern := s.mux.Handler(r); pattern == "" {
		writeError(w, http.StatusNotFound, "not_found", "The resource you were accessing could not be found.")
		return
	}
	s.mux.ServeHTTP(w, r)
}

// admit charges one request to the token's budget and takes a pending fault.
// The /_lab endpoints are neither charged nor faulted.
func (s *Server) admit(token string) (limit, remaining int, reset time.Time, fault *Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	b := s.limits[token]
	if b == nil || now.After(b.reset) {
		b = &budget{reset: now.Add(s.cfg.RateWindow)}
		s.limits[token] = b
	}
	b.used++
	if s.fault != nil {
		f := *s.fault
		if s.fault.Count--; s.fault.Count <= 0 {
			s.fault = nil
		}
		return s.cfg.RateLimit, s.cfg.RateLimit - b.used, b.reset, &f
	}
	return s.cfg.RateLimit, s.cfg.RateLimit - b.used, b.reset, nil
}

func setLimitHeaders(w http.ResponseWriter, limit, remaining int, reset time.Time) {
	h := w.Header()
	h.Set("RateLimit-Limit", strconv.Itoa(limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(max(remaining, 0)))
	h.Set("RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
}

func errorID(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "bad_request"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusUnprocessableEntity:
		return "unprocessable_entity"
	case http.StatusTooManyRequests:
		return "too_many_requests"
	case http.StatusServiceUnavailable:
		return "service_unavailable"
	}
	return "server_error"
}

func writeError(w http.ResponseWriter, status int, id, msg string) {
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"id": id, "message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func notFound(w http.ResponseWriter) {
	writeError(w, http.StatusNotFound, "not_found", "The resource you were accessing could not be found.")
}

func unprocessable(w http.ResponseWriter, msg string) {
	writeError(w, http.StatusUnprocessableEntity, "unprocessable_entity", msg)
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "The request body is not valid JSON: "+err.Error())
		return false
	}
	return true
}

// baseURL is the emulator's own address as the client reached it, for links.
func baseURL(r *http.Request) string {
	return "http://" + r.Host
}

type pageLinks struct {
	Pages map[string]string `json:"pages,omitempty"`
}

type meta struct {
	Total int `json:"total"`
}

// page cuts [lo, hi) out of total items per the page and per_page query
// parameters (DigitalOcean's defaults: 20 per page, at most 200) and builds
// the links to the first, previous, next and last pages.
func page(r *http.Request, total int) (lo, hi int, links pageLinks, m meta) {
	q := r.URL.Query()
	per, err := strconv.Atoi(q.Get("per_page"))
	if err != nil || per < 1 {
		per = 20
	}
	per = min(per, 200)
	p, err := strconv.Atoi(q.Get("page"))
	if err != nil || p < 1 {
		p = 1
	}
	last := max(1, (total+per-1)/per)
	lo = min((p-1)*per, total)
	hi = min(lo+per, total)
	link := func(n int) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(n))
		q.Set("per_page", strconv.Itoa(per))
		u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
		return baseURL(r) + u.String()
	}
	pages := map[string]string{}
	if p > 1 {
		pages["first"] = link(1)
		pages["prev"] = link(min(p-1, last))
	}
	if p < last {
		pages["next"] = link(p + 1)
		pages["last"] = link(last)
	}
	if len(pages) > 0 {
		links.Pages = pages
	}
	return lo, hi, links, meta{Total: total}
}
