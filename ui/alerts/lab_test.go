package alerts_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os/exec"
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
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vigilops/vigil/integrations/alertmanager"
	"github.com/vigilops/vigil/integrations/prometheus"
	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ui/app"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/uitest"
)

// typeText sends each rune of s as a key press.
func typeText(tm *teatest.TestModel, s string) {
	for _, r := range s {
		tm.Send(uitest.Key(string(r)))
	}
}

func amtool(t *testing.T, url string, args ...string) string {
	t.Helper()
	path := labtest.Tool(t, "amtool", "prometheus-alertmanager")
	out, err := exec.Command(path, append([]string{"--alertmanager.url=" + url}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("amtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestLabAcknowledgeFromThePane drives the console (the shell with the
// Alerts pane) over the lab's real Prometheus and Alertmanager: a -bad
// image set with client-go fires AppHighErrorRate, the pane shows it, the
// acknowledgement dialog makes a silence that amtool shows with the actor
// and the comment, and A then y expires it. The workload lives in a
// namespace of its own, so that other lab tests are not disturbed.
func TestLabAcknowledgeFromThePane(t *testing.T) {
	env := labtest.Env(t, "VIGIL_LAB_PROMETHEUS_URL", "VIGIL_LAB_ALERTMANAGER_URL", "KUBECONFIG")
	promURL, amURL := env["VIGIL_LAB_PROMETHEUS_URL"], env["VIGIL_LAB_ALERTMANAGER_URL"]
	amtool(t, amURL, "config", "show") // skip early without amtool
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// A prod-like workload of this test's own.
	rc, err := clientcmd.BuildConfigFromFlags("", env["KUBECONFIG"])
	if err != nil {
		t.Fatal(err)
	}
	kube, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix)
	ns, name := "va-"+hex.EncodeToString(suffix)+"-prod", "web"
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kube.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	labels := map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "shop"}
	replicas := int32(2)
	good := "registry.lab.local/shop/web:1.8.3"
	if _, err := kube.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": name}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: name, Image: good}}}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	setImage := func(ctx context.Context, image string) error {
		patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":%q,"image":%q}]}}}}`, name, image)
		_, err := kube.AppsV1().Deployments(ns).Patch(ctx, name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
		return err
	}
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = setImage(c, good)
	})

	// The services, as cmd/vigil builds them, polling every 2 s.
	j, err := audit.Open(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	pc, err := prometheus.New(promURL)
	if err != nil {
		t.Fatal(err)
	}
	ac, err := alertmanager.New([]string{amURL})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := incident.New(incident.Options{Prometheus: pc, Alertmanager: ac, ParseMatchers: alertmanager.ParseMatchers,
		Journal: j, Interval: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	go svc.Run(runCtx)

	theme := uitest.Theme(t)
	actor := access.Actor{Name: "ana-" + hex.EncodeToString(suffix), Role: access.Operator, Source: "local"}
	cfg := &config.Config{Identity: config.Identity{Name: actor.Name, Role: "operator"},
		Prometheus: &config.Prometheus{URL: promURL}, Alertmanager: &config.Alertmanager{URLs: []string{amURL}}}
	console := app.New(app.Options{Config: cfg, Theme: theme, Actor: actor, Journal: j,
		Services: &common.Services{Incident: svc}, Now: time.Now})
	defer console.Close()
	m := &uitest.Probe{Model: console}
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(140, 40),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.ASCII)))

	if err := setImage(ctx, good+"-bad"); err != nil {
		t.Fatal(err)
	}
	tm.Send(uitest.Key("4"))
	tm.Send(uitest.Key("/"))
	typeText(tm, fmt.Sprintf(`namespace=%q`, ns))
	tm.Send(uitest.Key("enter"))
	m.WaitForLine(t, 3*time.Minute, "AppHighErrorRate", ns+"/web", "firing")

	comment := "rolling back web " + hex.EncodeToString(suffix)
	tm.Send(uitest.Key("a"))
	m.WaitForLine(t, 5*time.Second, "Investigating AppHighErrorRate on "+ns+"/web")
	tm.Send(uitest.Key("ctrl+u"))
	typeText(tm, comment)
	tm.Send(uitest.Key("enter"))
	m.WaitForLine(t, 20*time.Second, "acknowledged AppHighErrorRate for 30m")
	m.WaitForLine(t, 10*time.Second, "AppHighErrorRate", ns+"/web", "ack "+actor.Name)

	var silence string
	for _, l := range strings.Split(amtool(t, amURL, "silence", "query", "-o", "extended", "namespace="+ns), "\n") {
		if strings.Contains(l, actor.Name) && strings.Contains(l, comment) {
			silence = strings.Fields(l)[0]
		}
	}
	if silence == "" {
		t.Fatalf("amtool shows no silence by %s with %q:\n%s", actor.Name, comment, amtool(t, amURL, "silence", "query", "-o", "extended"))
	}

	tm.Send(uitest.Key("A"))
	m.WaitForLine(t, 5*time.Second, "Expire silence "+silence+"?")
	tm.Send(uitest.Key("y"))
	m.WaitForLine(t, 20*time.Second, "expired silence "+silence)
	if strings.Contains(amtool(t, amURL, "silence", "query", "-q"), silence) {
		t.Fatal("the silence is still active after A, y")
	}
	if !strings.Contains(amtool(t, amURL, "silence", "query", "--expired", "-q"), silence) {
		t.Fatal("amtool does not list the silence as expired")
	}
	m.WaitForLine(t, 10*time.Second, "AppHighErrorRate", ns+"/web", "firing")

	es, err := j.Query(audit.Query{Actor: actor.Name})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[0].Action != "alert.ack" || es[1].Action != "alert.unack" || es[0].Parameters["comment"] != comment {
		t.Fatalf("journal: %+v", es)
	}
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}
