package exporter

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock               { return &clock{t: time.Unix(1_700_000_000, 0)} }
func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// scrape gathers the store and returns, per metric name, the metric of the
// workload k.
func scrape(t *testing.T, st *Store, k Key) map[string]*dto.Metric {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(st)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.Metric{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			l := labelsOf(m)
			if l["namespace"] == k.Namespace && l["deployment"] == k.Name && l["kind"] == k.Kind {
				out[f.GetName()] = m
			}
		}
	}
	return out
}

func TestStoreCountsTrafficOverTime(t *testing.T) {
	c := newClock()
	st := NewStore(c.now)
	api := Key{"deployment", "prod", "api"}
	st.Set(api, 3, []Pods{{3, "2.4.1"}})
	c.add(10 * time.Second)
	m := scrape(t, st, api)
	if got := m["lab_http_requests_total"].GetCounter().GetValue(); !near(got, 300) {
		t.Fatalf("requests after 10s at 30/s = %v, want 300", got)
	}
	if got := m["lab_http_errors_total"].GetCounter().GetValue(); got != 0 {
		t.Fatalf("errors of a good release = %v, want 0", got)
	}

	// Promote a bad release: the next 10s answer 20% errors.
	st.Set(api, 3, []Pods{{0, "2.4.1"}, {3, "2.5.0-bad"}})
	c.add(10 * time.Second)
	m = scrape(t, st, api)
	if got := m["lab_http_requests_total"].GetCounter().GetValue(); !near(got, 600) {
		t.Fatalf("requests after 20s = %v, want 600", got)
	}
	if got := m["lab_http_errors_total"].GetCounter().GetValue(); !near(got, 60) {
		t.Fatalf("errors after 10s of a bad release = %v, want 60", got)
	}
	h := m["lab_http_request_duration_seconds"].GetHistogram()
	if h.GetSampleCount() != 600 {
		t.Fatalf("histogram count %d, want 600", h.GetSampleCount())
	}
	for _, b := range h.GetBucket() {
		if b.GetCumulativeCount() > h.GetSampleCount() {
			t.Fatalf("bucket le=%v holds %d of %d answers", b.GetUpperBound(), b.GetCumulativeCount(), h.GetSampleCount())
		}
		if b.GetUpperBound() == 0.1 && b.GetCumulativeCount() != 594 {
			t.Fatalf("answers within 0.1s = %d, want 99%% of 600", b.GetCumulativeCount())
		}
	}
	if mean := h.GetSampleSum() / float64(h.GetSampleCount()); mean < 0.03 || mean > 0.05 {
		t.Fatalf("mean latency %v, want about %v", mean, BaseLatency)
	}

	// Roll back: the error counter stops growing.
	st.Set(api, 3, []Pods{{3, "2.4.1"}, {0, "2.5.0-bad"}})
	c.add(30 * time.Second)
	if got := scrape(t, st, api)["lab_http_errors_total"].GetCounter().GetValue(); !near(got, 60) {
		t.Fatalf("errors after rollback = %v, want still 60", got)
	}
}

func TestStoreForgetsDeletedWorkloads(t *testing.T) {
	c := newClock()
	st := NewStore(c.now)
	web := Key{"deployment", "dev", "web"}
	db := Key{"statefulset", "dev", "web"} // same name, other kind: distinct series
	st.Set(web, 1, []Pods{{1, "1.0"}})
	st.Set(db, 1, []Pods{{1, "15.4"}})
	c.add(time.Second)
	if len(scrape(t, st, web)) != 3 || len(scrape(t, st, db)) != 3 {
		t.Fatal("both workloads should have their three metrics")
	}
	st.Delete(web)
	if len(scrape(t, st, web)) != 0 || len(scrape(t, st, db)) != 3 {
		t.Fatal("the deleted workload's metrics remain, or the other's went")
	}
}
