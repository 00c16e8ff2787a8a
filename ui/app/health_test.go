package app

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/integrations/alertmanager"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ui/common"
)

// healthCluster holds dev/worker stalled on 3.1.1-broken (its new
// ReplicaSet has 0/1 ready while the old one serves, and the progress
// deadline passed) and dev/api healthy on 2.5.1-bad; test and prod are
// healthy. It records the images promotions set.
type healthCluster struct {
	release.Cluster
	mu  sync.Mutex
	set []string // "namespace/name image"
}

func healthyWorkload(name, version string) release.Workload {
	return release.Workload{Kind: release.Deployment, Name: name, Settled: true, Revision: 1,
		Containers: []release.Container{{Name: name, Image: "registry.lab.local/shop/" + name + ":" + version}},
		Desired:    1, Current: 1, Updated: 1, Ready: 1, Available: 1, ChangedAt: fixedNow.Add(-time.Hour),
		Conditions: []release.Condition{{Type: "Available", Status: "True"}, {Type: "Progressing", Status: "True", Reason: "NewReplicaSetAvailable"}}}
}

func brokenWorker() release.Workload {
	w := healthyWorkload("worker", "3.1.1-broken")
	w.Revision, w.ChangedAt = 2, fixedNow.Add(-time.Minute)
	// What Deployment status says: 1/1 updated, 1 ready, 1 available; all
	// of the ready and available pods are the old ReplicaSet's.
	w.Current, w.Updated, w.Ready, w.Available = 2, 1, 1, 1
	w.OldReady, w.OldAvailable = 1, 1
	w.Conditions[1] = release.Condition{Type: "Progressing", Status: "False", Reason: "ProgressDeadlineExceeded",
		Message: `ReplicaSet "worker-2" has timed out progressing.`, Updated: fixedNow.Add(-10 * time.Second)}
	return w
}

func (c *healthCluster) workloads() map[string][]release.Workload {
	return map[string][]release.Workload{
		"dev":  {healthyWorkload("api", "2.5.1-bad"), brokenWorker()},
		"test": {healthyWorkload("api", "2.5.0"), healthyWorkload("worker", "3.1.0")},
		"prod": {healthyWorkload("api", "2.4.1"), healthyWorkload("worker", "3.1.0")},
	}
}

func (c *healthCluster) Watch(_ context.Context, _ []release.Env, _ string, sink release.Sink) error {
	for env, ws := range c.workloads() {
		for _, w := range ws {
			sink.Workload(env, w)
		}
	}
	return nil
}

func (c *healthCluster) Detail(ref release.Ref) (release.Detail, bool) {
	for _, w := range c.workloads()[ref.Namespace] {
		if w.Name == ref.Name {
			d := release.Detail{Workload: w, New: &release.ReplicaSet{Name: w.Name + "-2", Revision: w.Revision, Desired: 1, Ready: w.Ready - w.OldReady}}
			if w.OldReady > 0 {
				d.Old = []release.ReplicaSet{{Name: w.Name + "-1", Revision: 1, Desired: 1, Ready: 1, Available: 1}}
			}
			return d, true
		}
	}
	return release.Detail{}, false
}

func (c *healthCluster) History(release.Ref) ([]release.Revision, error) { return nil, nil }

func (c *healthCluster) WatchPods(_ context.Context, ref release.Ref, fn func([]release.Pod)) error {
	if ref.Name == "worker" && ref.Namespace == "dev" {
		fn([]release.Pod{{Name: "worker-2-x", Owner: "worker-2", Phase: "Running", Restarts: 5, Reason: "CrashLoopBackOff"}})
	}
	return nil
}

func (c *healthCluster) GetFreeze(context.Context, release.Target) (*release.Freeze, error) {
	return nil, nil
}
func (c *healthCluster) Lock(context.Context, release.Target, string, release.Holder, time.Duration) error {
	return nil
}
func (c *healthCluster) Unlock(context.Context, release.Target, string, string) error { return nil }
func (c *healthCluster) SetImages(_ context.Context, ref release.Ref, images []release.Container, _ map[string]string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.set = append(c.set, ref.Namespace+"/"+ref.Name+" "+images[0].Image)
	return nil
}

func (c *healthCluster) promoted() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.set...)
}

// healthShell is an operator's session over healthCluster, with
// AppHighErrorRate firing on dev/api.
func healthShell(t *testing.T) (*Model, *healthCluster) {
	t.Helper()
	cl := &healthCluster{}
	am := &oneAM{alerts: []incident.Alert{{Fingerprint: "e1", Name: "AppHighErrorRate", State: incident.Firing, StartsAt: fixedNow.Add(-3 * time.Minute),
		Labels: map[string]string{"alertname": "AppHighErrorRate", "severity": "critical", "namespace": "dev", "deployment": "api"}}}}
	m := newShell(t, nil, func(o *Options) {
		inc, err := incident.New(incident.Options{Alertmanager: am, ParseMatchers: alertmanager.ParseMatchers, Journal: o.Journal, Now: o.Now})
		if err != nil {
			t.Fatal(err)
		}
		inc.Refresh(context.Background())
		envs := []release.Env{{Name: "dev", Namespace: "dev"}, {Name: "test", Namespace: "test"}, {Name: "prod", Namespace: "prod", Protected: true}}
		rel := release.New(envs, cl, o.Journal, release.Options{Now: o.Now})
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		if err := rel.Start(ctx); err != nil {
			t.Fatal(err)
		}
		rel.FollowAlerts(ctx, inc) // as cmd/vigil wires it
		o.Services = &common.Services{Incident: inc, Release: rel}
	})
	resize(m, 120, 40)
	drive(m, m.focusKey(common.EnvironmentsPane))
	return m, cl
}

// flat is s's words in one line, without the frames' borders, so that
// wrapped text reads whole.
func flat(s string) string {
	s = strings.NewReplacer("│", " ", "╭", " ", "╮", " ", "╰", " ", "╯", " ", "─", " ").Replace(s)
	return strings.Join(strings.Fields(s), " ")
}

// lineWith returns the first line of s holding every one of parts.
func lineWith(s string, parts ...string) string {
	for _, l := range strings.Split(s, "\n") {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(l, p)
		}
		if ok {
			return l
		}
	}
	return ""
}

// Issue 12, points 7 and 8: a stalled rollout and an alerting workload
// show one state in the matrix, its status line and legend, the Rollouts
// detail (header, banner, bars) and the Rollouts list.
func TestOneStateInEveryPane(t *testing.T) {
	m, _ := healthShell(t)
	s := screen(m)
	if l := lineWith(s, "worker", "3.1.1-broken"); !strings.Contains(l, "3.1.1-broken 0/1 ✗") {
		t.Fatalf("the matrix shows the stalled worker as %q:\n%s", l, s)
	}
	if l := lineWith(s, "api", "2.5.1-bad"); !strings.Contains(l, "2.5.1-bad 1/1 ▲") {
		t.Fatalf("the matrix shows the alerting api as %q:\n%s", l, s)
	}
	// The status line names the alert of the selected cell (dev/api).
	if st := m.Pane().Status(); !strings.Contains(st, "dev/api 2.5.1-bad 1/1 ▲ · firing: AppHighErrorRate") {
		t.Fatalf("status %q", st)
	}
	press(m, "?")
	if s := screen(m); !strings.Contains(s, "▲  alerting: an alert fires on it") {
		t.Fatalf("the legend lacks ▲:\n%s", s)
	}
	press(m, "esc")

	press(m, "j") // dev/worker
	if st := m.Pane().Status(); !strings.Contains(st, "dev/worker 3.1.1-broken 0/1 ✗ · progress deadline exceeded") {
		t.Fatalf("status %q", st)
	}
	press(m, "enter")
	s = screen(m)
	if m.Pane().Title() != "Rollouts" || !strings.Contains(s, "worker in dev") {
		t.Fatalf("enter did not open the detail:\n%s", s)
	}
	for _, want := range []string{"revision 2 · 3.1.1-broken · ✗ stalled", "✗ stalled: progress deadline exceeded"} {
		if !strings.Contains(s, want) {
			t.Fatalf("the detail lacks %q:\n%s", want, s)
		}
	}
	if l := strings.Trim(lineWith(s, "ready "), "│ "); !strings.HasSuffix(l, "0/1") || strings.Contains(l, "█") {
		t.Fatalf("the ready bar counts the old ReplicaSet: %q\n%s", l, s)
	}
	if l := lineWith(s, "worker in dev"); strings.Contains(l, "↻") || strings.Contains(l, "· progressing") {
		t.Fatalf("the header says progressing beside a stalled banner: %q", l)
	}

	press(m, "esc") // back to the matrix, where enter came from
	drive(m, m.focusKey(common.RolloutsPane))
	s = screen(m)
	if l := lineWith(s, "│dev", "worker", "3.1.1-broken"); !strings.Contains(l, "0/1") || !strings.Contains(l, "stalled") {
		t.Fatalf("the Rollouts list shows the stalled worker as %q:\n%s", l, s)
	}
	if l := lineWith(s, "│dev", "api", "2.5.1-bad"); !strings.Contains(l, "alerting") {
		t.Fatalf("the Rollouts list shows the alerting api as %q:\n%s", l, s)
	}
}

// Issue 12, point 3: p on a source with a firing alert says so in the
// preview and asks a second confirmation before anything changes.
func TestPromoteFromUnhealthySourceAsksTwice(t *testing.T) {
	m, cl := healthShell(t)
	press(m, "p") // dev/api → test
	s := flat(screen(m))
	for _, want := range []string{"Promote api from dev to test?", "2.5.0 → registry.lab.local/shop/api:2.5.1-bad",
		"⚠ dev/api, the source, is alerting: firing: AppHighErrorRate"} {
		if !strings.Contains(s, want) {
			t.Fatalf("the preview lacks %q:\n%s", want, screen(m))
		}
	}
	press(m, "y")
	s = flat(screen(m))
	if len(cl.promoted()) != 0 || !strings.Contains(s, "dev/api is alerting: promote it to test anyway?") {
		t.Fatalf("the first y promoted (%v) or asked nothing more:\n%s", cl.promoted(), screen(m))
	}
	press(m, "n")
	if len(cl.promoted()) != 0 || m.confirm != nil {
		t.Fatalf("n on the second confirmation promoted: %v", cl.promoted())
	}
	press(m, "p", "y", "y")
	if got := cl.promoted(); len(got) != 1 || got[0] != "test/api registry.lab.local/shop/api:2.5.1-bad" {
		t.Fatalf("promotions %v after two confirmations", got)
	}
	// A healthy source asks once: test/api → prod asks to type prod, then promotes.
	press(m, "l")
	press(m, "p")
	if s := screen(m); strings.Contains(s, "the source, is") {
		t.Fatalf("a healthy source is flagged:\n%s", s)
	}
}
