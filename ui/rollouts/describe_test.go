package rollouts

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/release"
	wl "github.com/vigilops/vigil/ops/workload"
)

// The open workload's description names its env vars and where their
// values come from, never a value; esc returns to the live rollout.
func TestDescriptionShowsNamesOnly(t *testing.T) {
	m := newModel(t, access.Viewer, 100, 40)
	open(m)
	m.page = describePage
	d := wl.Description{
		Ref:      release.Ref{Target: release.Target{Namespace: "prod"}, Kind: release.Deployment, Name: "api"},
		Created:  m.Ctx.Now().Add(-49 * 60 * 60 * 1e9),
		Selector: "app=api", Strategy: "RollingUpdate 25% surge, 25% unavailable",
		Containers: []wl.Container{{Name: "app", Image: "registry/api:2.4.1",
			Requests:  map[string]string{"memory": "64Mi", "cpu": "100m"},
			Readiness: &wl.Probe{Kind: "http-get", Target: ":8080/ready"},
			Env:       []wl.EnvVar{{Name: "LOG_LEVEL"}, {Name: "DB_PASSWORD", From: "secret db/password"}}}},
		Owned: []wl.Owned{{Kind: "ReplicaSet", Name: "api-7d9", Revision: 4, Current: true, Desired: 3, Ready: 3, Pods: []string{"api-7d9-a"}}},
	}
	m.Update(describedMsg{gen: m.gen, desc: d})
	view := ansi.Strip(m.View())
	for _, want := range []string{"api in prod · describe", "Deployment prod/api, created 2d ago", "Image:      registry/api:2.4.1",
		"Requests:   cpu=100m memory=64Mi", "Readiness:  http-get :8080/ready", "DB_PASSWORD  from secret db/password",
		"ReplicaSet api-7d9 revision 4 (current): 3/3 ready", "pod api-7d9-a"} {
		if !strings.Contains(view, want) {
			t.Errorf("%q is not in the description:\n%s", want, view)
		}
	}
	m.Update(describedMsg{gen: m.gen - 1, desc: wl.Description{YAML: "stale"}})
	if strings.Contains(ansi.Strip(m.View()), "stale") {
		t.Fatal("the description of a workload opened before replaced this one's")
	}
	press(m, "esc")
	if m.page != livePage || m.mode != detailMode {
		t.Fatalf("esc left page %d, mode %d", m.page, m.mode)
	}
}
