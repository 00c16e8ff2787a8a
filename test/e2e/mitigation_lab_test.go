package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vigilops/vigil/internal/labtest"
)

// TestE2EMitigationPathOnTheLab is issue 12's drill in tmux, on the lab, in
// namespaces of the test's own: the console promotes a bad release from
// preprod into protected prod, AppHighErrorRate fires on it, and from the
// alert on screen the keys u and y roll the promotion back: 2 keys, the
// goal being at most 4. Prod then runs the good release again.
func TestE2EMitigationPathOnTheLab(t *testing.T) {
	needTmux(t)
	env := labtest.Env(t, "KUBECONFIG", "VIGIL_CONFIG")
	bin := vigilBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	rc, err := clientcmd.BuildConfigFromFlags("", env["KUBECONFIG"])
	if err != nil {
		t.Fatal(err)
	}
	kube, err := k8s.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix)
	id := hex.EncodeToString(suffix)
	app, partOf := "mitig-"+id, "vigil-e2e-mitigation-"+id

	// The lab's config, its pipeline in this test's namespaces, its apps
	// those of this test's label, a journal of its own.
	data, err := os.ReadFile(env["VIGIL_CONFIG"])
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	kcfg, _ := cfg["kubernetes"].(map[string]any)
	envs, _ := kcfg["environments"].([]any)
	if len(envs) != 4 {
		t.Fatalf("the lab's pipeline has %d environments, want dev, test, preprod and prod", len(envs))
	}
	namespaces := map[string]string{}
	for _, e := range envs {
		em := e.(map[string]any)
		name := fmt.Sprint(em["name"])
		ns := "ve-" + id + "-" + name
		em["namespace"] = ns
		namespaces[name] = ns
		if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = kube.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	}
	kcfg["app_selector"] = "app.kubernetes.io/part-of=" + partOf
	cfg["audit"] = map[string]any{"path": filepath.Join(t.TempDir(), "journal.db")}
	delete(cfg, "serve")
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}

	image := func(v string) string { return "registry.lab.local/test/mitigation:" + v }
	for name, version := range map[string]string{"dev": "1.0.0", "test": "1.0.0", "preprod": "1.1.0-bad", "prod": "1.0.0"} {
		labels := map[string]string{"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": partOf}
		two := int32(2)
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: app, Labels: labels},
			Spec: appsv1.DeploymentSpec{
				Replicas: &two,
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": app}},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
					Containers: []corev1.Container{{Name: "app", Image: image(version)}},
				}},
			},
		}
		if _, err := kube.AppsV1().Deployments(namespaces[name]).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	prodImage := func() string {
		d, err := kube.AppsV1().Deployments(namespaces["prod"]).Get(ctx, app, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return d.Spec.Template.Spec.Containers[0].Image
	}

	s := newSandbox(t, string(out))
	tm := startTmux(t, s.env(), 160, 45)
	tm.respawn(consoleArgv(bin, s)...)
	const wait = 20 * time.Second

	// Setup, not counted: promote the bad release from preprod to prod.
	// The source's rollout done first: promoting from one still rolling out
	// asks a second confirmation.
	tm.keys("2")
	tm.waitText(wait, app, "1.1.0-bad 2/2 ✓")
	tm.keys("l", "l", "p")
	tm.waitText(wait, "Promote "+app+" from preprod to prod?", "Type prod to confirm")
	tm.typeText("prod")
	tm.keys("Enter")
	tm.waitText(wait, "promoted "+app+" to prod")
	deadline := time.Now().Add(90 * time.Second)
	for prodImage() != image("1.1.0-bad") {
		if time.Now().After(deadline) {
			t.Fatalf("prod runs %s 90s after the promotion", prodImage())
		}
		time.Sleep(200 * time.Millisecond)
	}

	// The Alerts pane, only this test's prod: the shared lab may have
	// alerts of its own.
	tm.keys("4", "/")
	tm.typeText(fmt.Sprintf(`namespace=%q`, namespaces["prod"]))
	tm.keys("Enter")
	tm.waitFor("AppHighErrorRate on prod", 3*time.Minute, func(screen string) bool {
		return strings.Contains(screen, "AppHighErrorRate") && strings.Contains(screen, namespaces["prod"]+"/"+app) && strings.Contains(screen, "firing")
	})

	// From the alert on screen to the rollback under way.
	keys := 0
	press := func(k string) { keys++; tm.keys(k) }
	press("u")
	screen := tm.waitText(wait, "Roll back prod/"+app+" from 1.1.0-bad to 1.0.0")
	flat := strings.Join(strings.Fields(strings.ReplaceAll(screen, "│", " ")), " ")
	for _, want := range []string{"the revision before the promotion by", image("1.0.0")} {
		if !strings.Contains(flat, want) {
			t.Errorf("the dialog lacks %q:\n%s", want, screen)
		}
	}
	press("y")
	tm.waitText(wait, "done: roll back prod/"+app)
	if keys > 4 {
		t.Fatalf("%d keys from the alert to the rollback", keys)
	}
	deadline = time.Now().Add(90 * time.Second)
	for prodImage() != image("1.0.0") {
		if time.Now().After(deadline) {
			t.Fatalf("prod runs %s 90s after the rollback", prodImage())
		}
		time.Sleep(200 * time.Millisecond)
	}
	tm.keys("q")
	if st := tm.exitStatus(10 * time.Second); st != 0 {
		t.Fatalf("vigil exited %d", st)
	}
}

// BenchmarkFirstFrameOnTheLab measures process start to first painted frame
// with the lab's whole config (Kubernetes, Prometheus, Alertmanager,
// DigitalOcean, Ansible): the console does not wait for the clusters'
// caches, the panes fill in as the systems answer.
func BenchmarkFirstFrameOnTheLab(b *testing.B) {
	needTmux(b)
	env := labtest.Env(b, "VIGIL_CONFIG")
	bin := vigilBinary(b)
	data, err := os.ReadFile(env["VIGIL_CONFIG"])
	if err != nil {
		b.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		b.Fatal(err)
	}
	cfg["audit"] = map[string]any{"path": filepath.Join(b.TempDir(), "journal.db")}
	delete(cfg, "serve")
	out, err := yaml.Marshal(cfg)
	if err != nil {
		b.Fatal(err)
	}
	benchFirstFrame(b, bin, newSandbox(b, string(out)), "Environments")
}
