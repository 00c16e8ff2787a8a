package inventory_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/vigilops/vigil/internal/testclock"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ui/common"
)

// TestGolden draws the pane in the shell at the two reference sizes.
func TestGolden(t *testing.T) {
	cfg := &config.Config{Identity: config.Identity{Name: "alice", Role: "operator"}, DigitalOcean: &config.DigitalOcean{}}
	now := func() time.Time { return t0 }
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			for _, c := range []struct {
				name, keys, want string
			}{
				{"table", "j", "4 hosts"},
				{"selection", "j space space", "2 selected"},
				{"details", "enter", "db-01-data"},
				{"create", "n", "TEMPLATE NAME"},
			} {
				t.Run(c.name, func(t *testing.T) {
					e := setup(t, fleet(), 80, 24)
					s := newShell(t, cfg, &common.Services{Inventory: e.svc}, e.journal, now, size[0], size[1])
					// The status bar's dot comes with the first health
					// report: the golden holds it, so wait for it too.
					s.waitFor(20*time.Second, "web-01", "do ●")
					s.keys(c.keys)
					s.waitFor(20*time.Second, c.want, "do ●")
					golden.RequireEqual(t, testclock.Unshift(s.final()))
				})
			}
		})
	}
}
