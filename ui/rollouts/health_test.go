package rollouts

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/release"
)

// stallingCluster holds test/worker rolling out 3.1.1-broken before its
// progress deadline: its new pod crash-loops while the old one serves.
type stallingCluster struct{ release.Cluster }

func rollingWorker() release.Workload {
	w := *workload("worker", "3.1.1-broken", 1, 1, 1, time.Minute)
	w.Current, w.OldReady, w.OldAvailable = 2, 1, 1
	return w
}

func (stallingCluster) Watch(_ context.Context, _ []release.Env, _ string, sink release.Sink) error {
	sink.Workload("test", rollingWorker())
	return nil
}

func (stallingCluster) Detail(release.Ref) (release.Detail, bool) {
	w := rollingWorker()
	return release.Detail{Workload: w, New: &release.ReplicaSet{Name: "worker-5", Revision: 4, Desired: 1}}, true
}

func (stallingCluster) History(release.Ref) ([]release.Revision, error) { return nil, nil }

func (stallingCluster) WatchPods(_ context.Context, _ release.Ref, fn func([]release.Pod)) error {
	fn([]release.Pod{{Name: "worker-5-x", Owner: "worker-5", Phase: "Running", Restarts: 5, Reason: "CrashLoopBackOff"}})
	return nil
}

// deliver runs cmd (and the batches it makes) and hands its messages to m,
// one level deep: the commands m returns are not run. A command still
// waiting after a second (a feed's next value) is left.
func deliver(m *Model, cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	done := make(chan tea.Msg, 1)
	go func() { done <- cmd() }()
	select {
	case msg := <-done:
		if b, ok := msg.(tea.BatchMsg); ok {
			for _, c := range b {
				deliver(m, c)
			}
			return
		}
		if next := m.Update(msg); next != nil {
			if _, isFeed := msg.(watchMsg); isFeed {
				deliver(m, next) // the first detail
			}
		}
	case <-time.After(time.Second):
	}
}

// Issue 12, point 7: before the progress deadline, the detail sees the new
// pod crash-looping: the header, the banner, the bars and then the list
// (from the matrix) all say stalled, with 0/1 ready; never full bars.
func TestFailingPodStallsEveryView(t *testing.T) {
	envs := []release.Env{{Name: "test", Namespace: "shop-test"}}
	svc := release.New(envs, stallingCluster{}, nil, release.Options{Now: func() time.Time { return fixedNow }})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	m := New(testContext(t, access.Operator), svc, NewKeyMap())
	m.SetSize(120, 30)
	m.SetMatrix(svc.Matrix())
	row := func() string {
		for _, l := range strings.Split(ansi.Strip(m.View()), "\n") {
			if strings.Contains(l, "worker") {
				return l
			}
		}
		return ""
	}
	if l := row(); !strings.Contains(l, "0/1") || !strings.Contains(l, "progressing") || strings.Contains(l, "█") {
		t.Fatalf("before any pod is seen the list shows %q, want progressing with 0/1 ready", l)
	}

	ch, stop := svc.Subscribe()
	defer stop()
	deliver(m, m.openDetail("worker", "test"))
	s := ansi.Strip(m.View())
	for _, want := range []string{"3.1.1-broken · ✗ stalled", "✗ stalled: pod worker-5-x is failing (CrashLoopBackOff, 5 restarts)"} {
		if !strings.Contains(s, want) {
			t.Fatalf("the detail lacks %q:\n%s", want, s)
		}
	}
	for _, l := range strings.Split(s, "\n") {
		if (strings.HasPrefix(l, "ready") || strings.HasPrefix(l, "available")) && (!strings.HasSuffix(l, "0/1") || strings.Contains(l, "█")) {
			t.Fatalf("a bar counts the old ReplicaSet's pod: %q", l)
		}
	}

	// The matrix learns it from the detail: the list says stalled too.
	timeout := time.After(5 * time.Second)
	for {
		if c, _ := svc.Matrix().Cell("worker", "test"); c.Health == release.Stalled {
			break
		}
		select {
		case <-ch:
		case <-timeout:
			t.Fatal("the matrix never says stalled")
		}
	}
	m.Update(matrixMsg{matrix: svc.Matrix()})
	m.Update(keyEsc())
	if l := row(); !strings.Contains(l, "stalled") || !strings.Contains(l, "0/1") {
		t.Fatalf("after the detail, the list shows %q", l)
	}
	if c, _ := svc.Matrix().Cell("worker", "test"); c.Reason != m.detail.Assessment.Reason {
		t.Fatalf("matrix says %q, the detail %q", c.Reason, m.detail.Assessment.Reason)
	}
}

func keyEsc() tea.KeyPressMsg { return tea.KeyPressMsg{Code: tea.KeyEscape} }

// Issue 12, point 8: the detail of an alerting workload names its alerts
// under a header that says alerting, as the list does.
func TestAlertingDetail(t *testing.T) {
	m := newModel(t, access.Operator, 120, 40)
	w := *workload("api", "2.5.1-bad", 3, 3, 3, time.Hour)
	alerts := []release.FiringAlert{{Name: "AppHighErrorRate", Severity: "critical", Namespace: "shop-prod", Workload: "api"}}
	mat := testMatrix()
	mat.Rows[0].Cells[2].Workload = &w
	mat.Rows[0].Cells[2].Assessment = release.Assess(&w, release.Signals{Alerts: alerts})
	m.SetMatrix(mat)
	if l := strings.Split(ansi.Strip(m.View()), "\n")[1]; !strings.Contains(l, "alerting") {
		t.Fatalf("the list's first row %q: want the alerting workload first, alerting", l)
	}
	m.gen++
	m.app, m.env, m.mode = "api", "prod", detailMode
	m.Update(DetailMsg{gen: m.gen, Detail: release.Detail{Workload: w, Assessment: release.Assess(&w, release.Signals{Alerts: alerts})}})
	s := ansi.Strip(m.View())
	for _, want := range []string{"2.5.1-bad · ▲ alerting", "▲ firing: AppHighErrorRate (critical)"} {
		if !strings.Contains(s, want) {
			t.Fatalf("the detail lacks %q:\n%s", want, s)
		}
	}
}
