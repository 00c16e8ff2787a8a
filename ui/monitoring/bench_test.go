package monitoring_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/config"
	mon "github.com/vigilops/vigil/ops/monitoring"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/monitoring"
	"github.com/vigilops/vigil/ui/uitest"
)

// manyTargets is a Prometheus scraping n node exporters.
type manyTargets struct {
	prom
	n int
}

func (p *manyTargets) Targets(context.Context) ([]mon.Target, error) {
	out := make([]mon.Target, p.n)
	for i := range out {
		inst := fmt.Sprintf("10.0.%d.%d:9100", i/250, i%250)
		out[i] = mon.Target{Job: "droplets", ScrapePool: "droplets", ScrapeURL: "http://" + inst + "/metrics", Instance: inst, Health: mon.Up,
			LastScrape: t0.Add(-3 * time.Second), LastScrapeDuration: 12 * time.Millisecond,
			Labels: map[string]string{"job": "droplets", "instance": inst, "droplet": fmt.Sprintf("web-%d", i), "region": "ams3", "tags": ",web,shop,"}}
	}
	return out, nil
}

// BenchmarkTargets5000: a new read of 5,000 targets made into rows, and a
// frame (a key, then View) at 200×50.
func BenchmarkTargets5000(b *testing.B) {
	p := &manyTargets{n: 5000}
	svc, err := mon.New(mon.Options{Prometheus: p, Now: func() time.Time { return t0 }})
	if err != nil {
		b.Fatal(err)
	}
	svc.Refresh(context.Background())
	ctx := &common.Context{Config: config.Default(), Actor: access.Actor{Name: "alice", Role: access.Operator},
		Services: &common.Services{Monitoring: svc}, Base: context.Background(), Now: func() time.Time { return t0 }}
	ctx.SetTheme(uitest.Theme(b))
	m := monitoring.New(ctx, svc, monitoring.NewKeyMap())
	m.SetSize(200, 50)
	m.Init()
	m.Update(monitoring.ChangedMsg())
	b.Run("rows", func(b *testing.B) {
		for b.Loop() {
			m.Update(monitoring.ChangedMsg())
		}
	})
	b.Run("frame", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			k := "j"
			if i%100 >= 50 {
				k = "k"
			}
			m.Update(uitest.Key(k))
			_ = m.View()
		}
	})
}
