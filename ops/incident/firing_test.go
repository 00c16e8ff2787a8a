package incident_test

import (
	"context"
	"testing"
	"time"

	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ops/release"
)

// watchCluster is a release.Cluster whose watch reports fixed workloads.
type watchCluster struct {
	release.Cluster
	workloads map[string]release.Workload // env → workload
}

func (c watchCluster) Watch(_ context.Context, _ []release.Env, _ string, sink release.Sink) error {
	for env, w := range c.workloads {
		sink.Workload(env, w)
	}
	return nil
}

func settled(name, version string) release.Workload {
	return release.Workload{Kind: release.Deployment, Name: name, Settled: true,
		Containers: []release.Container{{Name: name, Image: "reg.example/" + name + ":" + version}},
		Desired:    2, Current: 2, Updated: 2, Ready: 2, Available: 2}
}

// waitCell waits until app's cell in env has health h.
func waitCell(t *testing.T, rel *release.Service, app, env string, h release.Health) release.Cell {
	t.Helper()
	ch, stop := rel.Subscribe()
	defer stop()
	timeout := time.After(5 * time.Second)
	for {
		if c, _ := rel.Matrix().Cell(app, env); c.Health == h {
			return c
		}
		select {
		case <-ch:
		case <-timeout:
			c, _ := rel.Matrix().Cell(app, env)
			t.Fatalf("%s/%s stayed %s (%s), want %s", env, app, c.Health, c.Reason, h)
		}
	}
}

// TestAlertsReachTheReleaseMatrix: an alert firing on preprod/api (its
// namespace and deployment labels) makes that cell alerting, and only it;
// a pending alert does not; resolving it makes the cell healthy again.
func TestAlertsReachTheReleaseMatrix(t *testing.T) {
	f := newFixture(t)
	t0 := f.clock.Now()
	envs := []release.Env{{Name: "preprod", Namespace: "preprod"}, {Name: "prod", Namespace: "prod"}}
	rel := release.New(envs, watchCluster{workloads: map[string]release.Workload{"preprod": settled("api", "2.5.1-bad"), "prod": settled("api", "2.5.0")}},
		nil, release.Options{Now: f.clock.Now})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := rel.Start(ctx); err != nil {
		t.Fatal(err)
	}
	pending := mkAlert("p1", "AppHighLatency", "warning", t0, "namespace", "prod", "deployment", "api")
	pending.State = incident.Pending
	f.prom.set([]incident.Alert{pending}, nil)
	f.am.set([]incident.Alert{mkAlert("a1", "AppHighErrorRate", "critical", t0.Add(-time.Minute), "namespace", "preprod", "deployment", "api")}, nil)
	f.svc.Refresh(ctx)
	rel.FollowAlerts(ctx, f.svc)

	c := waitCell(t, rel, "api", "preprod", release.Alerting)
	if len(c.Alerts) != 1 || c.Alerts[0].Name != "AppHighErrorRate" || c.Reason != "firing: AppHighErrorRate" {
		t.Fatalf("preprod/api: %+v", c.Assessment)
	}
	if c, _ := rel.Matrix().Cell("api", "prod"); c.Health != release.Healthy {
		t.Fatalf("prod/api has only a pending alert: %s (%s)", c.Health, c.Reason)
	}

	f.am.set(nil, nil)
	f.prom.set(nil, nil)
	f.svc.Refresh(ctx)
	waitCell(t, rel, "api", "preprod", release.Healthy)
}
