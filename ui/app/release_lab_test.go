package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/teatest/v2"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vigilops/vigil/integrations/kubernetes"
	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ops/workload"
	"github.com/vigilops/vigil/ui/common"
)

// releaseLab is the lab's pipeline (from its vigil.yaml) in namespaces of
// the test's own, watched through a label of this test only; everything it
// creates is deleted after.
type releaseLab struct {
	t       *testing.T
	cfg     *config.Config
	svc     *release.Service
	kc      *kubernetes.Client // the service's client
	cs      k8s.Interface
	journal *audit.Journal
	app     string
}

// newReleaseLab deploys the app at versions, one per environment from
// the first; a version ending in -broken never becomes ready.
func newReleaseLab(t *testing.T, versions ...string) *releaseLab {
	t.Helper()
	labtest.Env(t, "KUBECONFIG")
	cfg, err := config.Load(filepath.Join(labtest.StateDir(), "vigil.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix)
	l := &releaseLab{t: t, cfg: cfg, app: "uiflow-" + hex.EncodeToString(suffix)}
	partOf := "vigil-ui-test-" + hex.EncodeToString(suffix)

	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: cfg.Kubernetes.Kubeconfig}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: cfg.Kubernetes.Environments[0].Context}).ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	cs, err := k8s.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	// The lab's pipeline, in namespaces of this test's own: a freeze or a
	// lock it sets cannot meet another test's, nor survive the test.
	for i := range cfg.Kubernetes.Environments {
		ns := "vu-" + hex.EncodeToString(suffix) + "-" + cfg.Kubernetes.Environments[i].Name
		cfg.Kubernetes.Environments[i].Namespace = ns
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	}
	envs, err := release.EnvsFromConfig(cfg.Kubernetes)
	if err != nil {
		t.Fatal(err)
	}
	for i, version := range versions {
		ns := envs[i].Namespace
		labels := map[string]string{"app.kubernetes.io/name": l.app, "app.kubernetes.io/part-of": partOf}
		two := int32(2)
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: l.app, Labels: labels},
			Spec: appsv1.DeploymentSpec{
				Replicas: &two,
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": l.app}},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
					Containers: []corev1.Container{{Name: "app", Image: "registry.lab.local/test/uiflow:" + version}},
				}},
			},
		}
		if _, err := cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			bg := context.Background()
			_ = cs.AppsV1().Deployments(ns).Delete(bg, l.app, metav1.DeleteOptions{})
			_ = cs.CoordinationV1().Leases(ns).Delete(bg, "vigil-promote-"+l.app, metav1.DeleteOptions{})
		})
	}
	if l.journal, err = audit.Open(filepath.Join(t.TempDir(), "journal.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.journal.Close() })
	l.cs, l.kc = cs, kubernetes.New(ctx, cfg.Kubernetes.Kubeconfig)
	l.svc = release.New(envs, l.kc, l.journal,
		release.Options{Selector: "app.kubernetes.io/part-of=" + partOf, LockTTL: time.Minute})
	if err := l.svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for i, v := range versions {
		if !strings.HasSuffix(v, "-broken") {
			l.waitCell(envs[i].Name, v)
		}
	}
	return l
}

// waitCell waits until the app runs version in env, healthy.
func (l *releaseLab) waitCell(env, version string) {
	l.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if c, ok := l.svc.Matrix().Cell(l.app, env); ok && c.Version == version && c.Health == release.Healthy {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	c, _ := l.svc.Matrix().Cell(l.app, env)
	l.t.Fatalf("%s in %s is not healthy at %s after 90s: %s %s", l.app, env, version, c.Version, c.Health)
}

// console runs the shell over the lab's release service as actor.
func (l *releaseLab) console(actor access.Actor) (*teatest.TestModel, *probe) {
	l.t.Helper()
	opts := testOptions(l.t, l.cfg)
	opts.Actor, opts.Journal, opts.Now = actor, l.journal, time.Now
	opts.Services = &common.Services{Release: l.svc, Workload: workload.New(l.svc, l.kc)}
	return l.consoleWith(opts)
}

// consoleWith runs the shell with opts.
func (l *releaseLab) consoleWith(opts Options) (*teatest.TestModel, *probe) {
	l.t.Helper()
	p := &probe{Model: New(opts)}
	tm := teatest.NewTestModel(l.t, p, teatest.WithInitialTermSize(120, 40),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.ASCII)))
	l.t.Cleanup(func() { _ = tm.Quit(); p.Close() })
	return tm, p
}

func sendKeys(tm *teatest.TestModel, keys string) {
	for _, k := range strings.Fields(keys) {
		tm.Send(keyMsg(k))
	}
}

func sendText(tm *teatest.TestModel, s string) {
	for _, r := range s {
		if r == ' ' {
			tm.Send(keyMsg("space"))
		} else {
			tm.Send(keyMsg(string(r)))
		}
	}
}

// entry returns the journal's entry for action, failing when there is none.
func (l *releaseLab) entry(action string) audit.Entry {
	l.t.Helper()
	all, err := l.journal.Query(audit.Query{})
	if err != nil {
		l.t.Fatal(err)
	}
	for _, e := range all {
		if e.Action == action {
			return e
		}
	}
	l.t.Fatalf("no %q in the journal: %+v", action, all)
	return audit.Entry{}
}

// TestReleaseFlowOnTheLab opens the matrix, promotes a cell through the
// preview and the confirm dialog, watches the rollout complete, and rolls
// it back from the Rollouts pane, on the lab's real control plane.
func TestReleaseFlowOnTheLab(t *testing.T) {
	l := newReleaseLab(t, "1.1.0", "1.0.0", "1.1.0", "1.0.0")
	tm, p := l.console(access.Actor{Name: "alice", Role: access.Operator, Source: "local"})

	sendKeys(tm, "2")
	p.waitFor(t, l.app)
	p.waitFor(t, "p promote")
	sendKeys(tm, "p")
	p.waitFor(t, "Promote "+l.app+" from dev to test?")
	p.waitFor(t, "container app: registry.lab.local/test/uiflow:1.0.0 →") // the dialog wraps the line
	p.waitFor(t, "registry.lab.local/test/uiflow:1.1.0")
	sendKeys(tm, "y")
	p.waitFor(t, "promoted "+l.app+" to test")
	l.waitCell("test", "1.1.0")
	if e := l.entry("promote"); e.Result != audit.OK || e.Target != "test/"+l.app || e.Actor != "alice" {
		t.Fatalf("promote journaled as %+v", e)
	}

	// The rollout detail of the promoted cell, then a rollback to revision 1.
	sendKeys(tm, "l enter")
	p.waitFor(t, l.app+" in test · Deployment · revision 2 · 1.1.0")
	p.waitFor(t, "promoted by alice")
	p.waitFor(t, "●    2  registry.lab.local/test/uiflow:1.1.0")
	sendKeys(tm, "u")
	p.waitFor(t, "Roll "+l.app+" in test back to which revision?")
	sendKeys(tm, "enter")
	p.waitFor(t, "Roll "+l.app+" in test back to revision 1?")
	sendKeys(tm, "y")
	p.waitFor(t, "done: roll "+l.app+" in test back to revision 1")
	l.waitCell("test", "1.0.0")
	p.waitFor(t, "revision 3 · 1.0.0")
	if e := l.entry("roll back"); e.Result != audit.OK || e.Parameters["restored"] != "1" {
		t.Fatalf("rollback journaled as %+v", e)
	}

	// Into protected prod, the name must be typed: a wrong one does nothing.
	sendKeys(tm, "esc 2 l p")
	p.waitFor(t, "Promote "+l.app+" from preprod to prod?")
	p.waitFor(t, "Type prod to confirm")
	sendText(tm, "prd")
	sendKeys(tm, "enter")
	p.waitFor(t, "that is not the name")
	sendKeys(tm, "esc")
	p.waitFor(t, "cancelled: Promote "+l.app)

	// A freeze set from the palette refuses a promotion, and is lifted
	// (the namespace is this test's own: nothing else can have frozen it).
	if f := l.svc.Matrix().Envs[1].Freeze; f.Active(time.Now()) {
		t.Fatalf("the test's own test environment is frozen by %s before the test froze it", f.By)
	}
	sendKeys(tm, ":")
	sendText(tm, "freeze test 'ui flow test' 5m")
	sendKeys(tm, "enter")
	p.waitFor(t, "Freeze test for 5m0s?")
	sendKeys(tm, "y")
	p.waitFor(t, "froze test")
	p.waitFor(t, "test ❄")
	sendKeys(tm, "h h p")
	p.waitFor(t, "refused: test is frozen by alice")
	sendKeys(tm, ":")
	sendText(tm, "unfreeze test")
	sendKeys(tm, "enter")
	p.waitFor(t, "Unfreeze test?")
	sendKeys(tm, "y")
	p.waitFor(t, "unfroze test")
	if c, _ := l.svc.Matrix().Cell(l.app, "prod"); c.Version != "1.0.0" {
		t.Fatalf("prod runs %s after a cancelled promotion", c.Version)
	}

	// Scale from the live detail, opened from the palette: the prompt
	// takes digits, which otherwise switch panes.
	sendKeys(tm, ":")
	sendText(tm, "rollout test/"+l.app)
	sendKeys(tm, "enter")
	p.waitFor(t, l.app+" in test · Deployment")
	sendKeys(tm, "s")
	p.waitFor(t, "replicas of "+l.app+" in test (now 2): ")
	sendKeys(tm, "3 enter")
	p.waitFor(t, "Scale "+l.app+" in test to 3?")
	sendKeys(tm, "y")
	p.waitFor(t, "done: scale "+l.app+" in test to 3")
	p.waitFor(t, "available  ")
	p.waitFor(t, " 3/3")
	if c, _ := l.svc.Matrix().Cell(l.app, "test"); c.Workload.Desired != 3 {
		t.Fatalf("test wants %d replicas after scaling to 3", c.Workload.Desired)
	}
}

// TestViewerCannotPromoteOnTheLab: a viewer's console has no promote key,
// and the palette's :promote reaches ops, which refuses and journals it.
func TestViewerCannotPromoteOnTheLab(t *testing.T) {
	l := newReleaseLab(t, "1.1.0", "1.0.0")
	tm, p := l.console(access.Actor{Name: "victor", Role: access.Viewer, Source: "local"})

	sendKeys(tm, "2")
	p.waitFor(t, l.app)
	sendKeys(tm, "p ?")
	p.waitFor(t, "rollout detail")
	if strings.Contains(p.screen(), "promote to the next environment") {
		t.Fatalf("a viewer's help offers promote:\n%s", p.screen())
	}
	sendKeys(tm, "esc :")
	sendText(tm, "promote "+l.app+" test")
	sendKeys(tm, "enter")
	p.waitFor(t, "refused: ")
	e := l.entry("promote")
	if e.Result != audit.Refused || e.Actor != "victor" || e.Target != "test/"+l.app {
		t.Fatalf("refusal journaled as %+v", e)
	}
	if c, _ := l.svc.Matrix().Cell(l.app, "test"); c.Version != "1.0.0" {
		t.Fatalf("test runs %s after a viewer's promote", c.Version)
	}
}

func (p *probe) screen() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

// TestStallOnTheLab promotes a -broken release: the Rollouts pane shows the
// stall, offers the rollback, and u restores health.
func TestStallOnTheLab(t *testing.T) {
	l := newReleaseLab(t, "1.1.0-broken", "1.0.0")
	tm, p := l.console(access.Actor{Name: "alice", Role: access.Operator, Source: "local"})

	sendKeys(tm, ":")
	sendText(tm, "promote "+l.app+" test")
	sendKeys(tm, "enter")
	p.waitFor(t, "Promote "+l.app+" from dev to test?")
	sendKeys(tm, "y")
	// dev runs the broken release too: a second confirmation says so.
	p.waitFor(t, "promote it to test anyway?")
	sendKeys(tm, "y")
	p.waitFor(t, "promoted "+l.app+" to test")
	sendKeys(tm, ":")
	sendText(tm, "rollout test/"+l.app)
	sendKeys(tm, "enter")
	p.waitFor(t, l.app+" in test · Deployment · revision 2 · 1.1.0-broken")
	p.waitForLong(t, "✗ stalled: pod", 60*time.Second)
	p.waitFor(t, "u rolls back to revision 1")
	sendKeys(tm, "u")
	p.waitFor(t, "back to which revision?")
	sendKeys(tm, "enter")
	p.waitFor(t, "Roll "+l.app+" in test back to revision 1?")
	sendKeys(tm, "y")
	p.waitFor(t, "done: roll "+l.app+" in test back to revision 1")
	l.waitCell("test", "1.0.0")
	p.waitFor(t, "revision 3 · 1.0.0 · ✓ healthy")
}

func (p *probe) waitForLong(t *testing.T, want string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if strings.Contains(p.screen(), want) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%q not on screen after %s:\n%s", want, d, p.screen())
}
