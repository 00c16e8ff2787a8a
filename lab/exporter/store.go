package exporter

import (
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Key names a workload.
type Key struct {
	Kind      string // "deployment" or "statefulset"
	Namespace string
	Name      string
}

type series struct {
	profile    Profile
	at         time.Time // when the counters were last advanced
	requests   float64
	errors     float64
	latencySum float64
	buckets    []float64
}

// advance adds the traffic served from s.at to now.
func (s *series) advance(now time.Time) {
	dt := now.Sub(s.at).Seconds()
	s.at = now
	if dt <= 0 {
		return
	}
	n := s.profile.RPS * dt
	s.requests += n
	s.errors += n * s.profile.ErrorRatio
	s.latencySum += n * s.profile.MeanLatency
	for i, share := range s.profile.BucketShare {
		s.buckets[i] += n * share
	}
}

// Store keeps each workload's counters, advancing them lazily: at every
// scrape and before each change of the workload's profile. Nothing ticks.
type Store struct {
	mu     sync.Mutex
	now    func() time.Time
	series map[Key]*series

	requests, errors, latency *prometheus.Desc
}

// NewStore makes an empty store reading time from now.
func NewStore(now func() time.Time) *Store {
	labels := []string{"namespace", "deployment", "kind"}
	return &Store{
		now:      now,
		series:   map[Key]*series{},
		requests: prometheus.NewDesc("lab_http_requests_total", "HTTP requests served by the workload.", labels, nil),
		errors:   prometheus.NewDesc("lab_http_errors_total", "HTTP requests the workload answered with a 5xx.", labels, nil),
		latency:  prometheus.NewDesc("lab_http_request_duration_seconds", "Latency of the workload's HTTP answers.", labels, nil),
	}
}

// Set records the workload's current state.
func (st *Store) Set(k Key, desired int32, pods []Pods) {
	st.mu.Lock()
	defer st.mu.Unlock()
	now := st.now()
	s, ok := st.series[k]
	if !ok {
		s = &series{at: now, buckets: make([]float64, len(Buckets))}
		st.series[k] = s
	}
	s.advance(now)
	s.profile = ProfileOf(desired, pods)
}

// Delete forgets a workload that no longer exists.
func (st *Store) Delete(k Key) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.series, k)
}

// Describe implements prometheus.Collector.
func (st *Store) Describe(ch chan<- *prometheus.Desc) {
	ch <- st.requests
	ch <- st.errors
	ch <- st.latency
}

// Collect implements prometheus.Collector.
func (st *Store) Collect(ch chan<- prometheus.Metric) {
	st.mu.Lock()
	defer st.mu.Unlock()
	now := st.now()
	for k, s := range st.series {
		s.advance(now)
		lv := []string{k.Namespace, k.Name, k.Kind}
		ch <- prometheus.MustNewConstMetric(st.requests, prometheus.CounterValue, s.requests, lv...)
		ch <- prometheus.MustNewConstMetric(st.errors, prometheus.CounterValue, s.errors, lv...)
		count := uint64(math.Floor(s.requests))
		buckets := make(map[float64]uint64, len(Buckets))
		for i, bound := range Buckets {
			buckets[bound] = min(uint64(math.Floor(s.buckets[i])), count)
		}
		ch <- prometheus.MustNewConstHistogram(st.latency, count, s.latencySum, buckets, lv...)
	}
}
