package digitalocean

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/inventory"
)

// pages serves n droplets in DigitalOcean's JSON shape and page links, the
// ones tagged "even" only for ?tag_name=even.
func pages(tb testing.TB, n int) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		per, _ := strconv.Atoi(q.Get("per_page"))
		page, _ := strconv.Atoi(q.Get("page"))
		page = max(page, 1)
		var ids []int
		for i := 1; i <= n; i++ {
			if q.Get("tag_name") == "" || (q.Get("tag_name") == "even" && i%2 == 0) {
				ids = append(ids, i)
			}
		}
		lo, hi := min((page-1)*per, len(ids)), min(page*per, len(ids))
		var b strings.Builder
		b.WriteString(`{"droplets":[`)
		for k, id := range ids[lo:hi] {
			if k > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"id":%d,"name":"web-%05d","status":"active","created_at":"2026-11-01T10:00:00Z",`+
				`"size_slug":"s-1vcpu-1gb","size":{"slug":"s-1vcpu-1gb","price_monthly":6},`+
				`"image":{"slug":"debian-12-x64"},"region":{"slug":"fra1"},"tags":["web"],`+
				`"networks":{"v4":[{"ip_address":"10.0.%d.%d","type":"private"},{"ip_address":"203.0.%d.%d","type":"public"}]}}`,
				id, id, id/256, id%256, id/256, id%256)
		}
		b.WriteString(`],"links":{`)
		if hi < len(ids) {
			fmt.Fprintf(&b, `"pages":{"next":"http://%s%s?page=%d&per_page=%d"}`, r.Host, r.URL.Path, page+1, per)
		}
		fmt.Fprintf(&b, `},"meta":{"total":%d}}`, len(ids))
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(b.String()))
	}))
	tb.Cleanup(srv.Close)
	return srv
}

func TestHostsWalksAllPagesWithTag(t *testing.T) {
	srv := pages(t, 450)
	c, err := New(Options{APIURL: srv.URL, Token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	all, err := c.Hosts(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	even, err := c.Hosts(context.Background(), "even")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 450 || len(even) != 225 {
		t.Fatalf("got %d hosts and %d tagged even, want 450 and 225", len(all), len(even))
	}
	h := all[449]
	if h.ID != 450 || h.PublicIPv4 != "203.0.1.194" || h.PrivateIPv4 != "10.0.1.194" || h.PriceMonthly != 6 ||
		h.Region != "fra1" || h.Image != "debian-12-x64" || h.Created.IsZero() {
		t.Fatalf("last host converted wrong: %+v", h)
	}
}

// BenchmarkHosts10k lists 10,000 droplets through every page.
func BenchmarkHosts10k(b *testing.B) {
	srv := pages(b, 10000)
	c, err := New(Options{APIURL: srv.URL, Token: "tok"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		hs, err := c.Hosts(context.Background(), "")
		if err != nil || len(hs) != 10000 {
			b.Fatalf("%d hosts, %v", len(hs), err)
		}
	}
}

// TestTenThousandDropletsMemory loads 10,000 droplets into the inventory
// and checks what the process keeps of them.
func TestTenThousandDropletsMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("lists 10,000 droplets")
	}
	srv := pages(t, 10000)
	c, err := New(Options{APIURL: srv.URL, Token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	svc := inventory.New(c, nopJournal{}, inventory.Options{})
	if err := svc.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	kept := after.HeapAlloc - min(after.HeapAlloc, before.HeapAlloc)
	st := svc.State()
	t.Logf("10,000 droplets listed and tabled in %s; heap kept %.1f MB", took, float64(kept)/(1<<20))
	if len(st.Rows) != 10000 || st.Rows[9999].Name != "web-10000" || st.MonthlyTotal != 60000 {
		t.Fatalf("%d rows, last %+v, total %v", len(st.Rows), st.Rows[len(st.Rows)-1], st.MonthlyTotal)
	}
	if kept > 40<<20 {
		t.Fatalf("10,000 droplets keep %d MB of heap, want under 40", kept>>20)
	}
}

type nopJournal struct{}

func (nopJournal) Record(context.Context, access.Actor, string, string, map[string]string, error) error {
	return nil
}
