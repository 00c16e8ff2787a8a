package emulator

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/digitalocean/godo"
)

// BenchmarkListAll10k walks 10,000 droplets through godo, 200 per page, as
// vigil's inventory does against the lab (issue 6's figure).
func BenchmarkListAll10k(b *testing.B) {
	dir := b.TempDir()
	srv, err := New(Config{StateDir: dir, Token: testToken, ActionDelay: time.Millisecond, RateLimit: 1 << 30, Logf: b.Logf})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv)
	defer hs.Close()
	c := newClient(b, hs.URL, testToken)
	ctx := context.Background()
	start := time.Now()
	for i := range 1000 {
		req := createReq()
		for j := range 10 {
			req.Names = append(req.Names, fmt.Sprintf("bench-%04d-%d", i, j))
		}
		if _, _, err := c.Droplets.CreateMultiple(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("created 10,000 droplets in %s", time.Since(start).Round(time.Millisecond))
	flushStart := time.Now()
	srv.flush()
	b.Logf("saving the state took %s", time.Since(flushStart).Round(time.Millisecond))
	if fi, err := os.Stat(filepath.Join(dir, stateFile)); err == nil {
		b.Logf("state file: %.1f MB", float64(fi.Size())/1e6)
	}
	b.ResetTimer()
	for range b.N {
		n := 0
		opt := &godo.ListOptions{Page: 1, PerPage: 200}
		for {
			ds, resp, err := c.Droplets.List(ctx, opt)
			if err != nil {
				b.Fatal(err)
			}
			n += len(ds)
			if resp.Links.IsLastPage() {
				break
			}
			opt.Page++
		}
		if n != 10000 {
			b.Fatalf("listed %d droplets", n)
		}
	}
}
