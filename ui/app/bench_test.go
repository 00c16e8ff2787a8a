package app

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ui/common"
)

// BenchmarkShellView draws the Activity pane, full of entries, at 200×60.
func BenchmarkShellView(b *testing.B) {
	opts := testOptions(b, nil)
	for i := range 2000 {
		if _, err := opts.Journal.Append(audit.Entry{Time: fixedNow.Add(-time.Duration(i) * time.Second),
			Actor: fmt.Sprintf("user%d", i%7), Action: "promote", Target: fmt.Sprintf("prod/app-%d", i%40), Result: audit.OK}); err != nil {
			b.Fatal(err)
		}
	}
	m := New(opts)
	drive(m, m.Init())
	resize(m, 200, 60)
	press(m, "5", "j", "j")
	m.View() // fill the row cache, as the first frame after a change does
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		_ = m.View()
	}
}

// loadRelease is a cluster holding apps Deployments in each of envs, as
// `vigil-lab load` makes them.
type loadRelease struct {
	pickRelease
	apps int
	envs []release.Env
}

func (c *loadRelease) Watch(_ context.Context, envs []release.Env, _ string, sink release.Sink) error {
	for _, e := range envs {
		for i := range c.apps {
			sink.Workload(e.Name, release.Workload{Kind: release.Deployment, Name: fmt.Sprintf("app-%04d", i), Revision: 1,
				Desired: 3, Ready: 3, Available: 3, Updated: 3,
				Containers: []release.Container{{Name: "app", Image: "registry.lab.local/load/app:1.0.0"}}, ChangedAt: fixedNow.Add(-time.Hour)})
		}
	}
	return nil
}

// BenchmarkEnvironmentsKey is the shell's part of `j` on the Environments
// pane at 500 apps × 4 environments, 200×60: the key through Update, then
// the whole frame (issue 18's keypress path, without the terminal).
func BenchmarkEnvironmentsKey(b *testing.B) {
	m := envShell(b)
	down, up := keyMsg("j"), keyMsg("k")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := down
		if i/400%2 == 1 {
			k = up
		}
		i++
		m.Update(k)
		_ = m.View()
	}
}

// envShell is the shell at 200×60 on the Environments pane of a 500 × 4
// matrix.
func envShell(b testing.TB) *Model {
	opts := testOptions(b, nil)
	envs := []release.Env{{Name: "dev", Namespace: "dev"}, {Name: "test", Namespace: "test"},
		{Name: "preprod", Namespace: "preprod"}, {Name: "prod", Namespace: "prod", Protected: true}}
	rel := release.New(envs, &loadRelease{apps: 500}, opts.Journal, release.Options{Now: opts.Now})
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	if err := rel.Start(ctx); err != nil {
		b.Fatal(err)
	}
	opts.Services = &common.Services{Release: rel}
	m := New(opts)
	resize(m, 200, 60)
	drive(m, m.Init())
	if s := screen(m); !strings.Contains(s, "app-0000") {
		b.Fatalf("no matrix:\n%s", s)
	}
	return m
}
