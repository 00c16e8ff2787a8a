package environments

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vigilops/vigil/integrations/kubernetes"
	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/uitest"
)

// TestPrepareOnTheLab prepares, from the pane, an environment whose
// namespace does not exist: the pane shows it empty, previews the seed,
// and once confirmed the app appears there in the live matrix.
func TestPrepareOnTheLab(t *testing.T) {
	labtest.Env(t, "KUBECONFIG")
	lab, err := config.Load(filepath.Join(labtest.StateDir(), "vigil.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, kctx := lab.Kubernetes.Kubeconfig, lab.Kubernetes.Environments[0].Context
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(&clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: kctx}).ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	cs, err := k8s.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix)
	id := "vp-" + hex.EncodeToString(suffix)
	dev, test := id+"-dev", id+"-test"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	t.Cleanup(func() {
		for _, ns := range []string{dev, test} {
			_ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
		}
	})
	create := metav1.CreateOptions{}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: dev}}, create); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app.kubernetes.io/name": "api", "app.kubernetes.io/part-of": id}
	one := int32(1)
	if _, err := cs.AppsV1().Deployments(dev).Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "api", Labels: labels},
		Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": "api"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "api", Image: "registry.lab.local/test/api:2.0.0"}},
			}}}}, create); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().ConfigMaps(dev).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "api-config"}}, create); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Secrets(dev).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "api-credentials"}}, create); err != nil {
		t.Fatal(err)
	}

	envs := []release.Env{{Name: "dev", Context: kctx, Namespace: dev}, {Name: "test", Context: kctx, Namespace: test}}
	j := &journal{}
	svc := release.New(envs, kubernetes.New(ctx, kubeconfig), j, release.Options{Selector: "app.kubernetes.io/part-of=" + id})
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	m := New(testContext(t, access.Operator), svc, NewKeyMap())
	m.SetSize(120, 30)
	m.SetMatrix(svc.Matrix())
	v := uitest.ASCII(t, m.View())
	if !strings.Contains(v, "test ∅") || !strings.Contains(v, "∅ test has no apps: P on its column or :prepare test seeds it from dev · namespace "+test+" absent or empty") || strings.Contains(v, "⚠") {
		t.Fatalf("the absent namespace should show as an empty environment, not a broken one:\n%s", v)
	}

	press(m, "l")
	req, ok := run(t, m, press(m, "P")).(common.ConfirmMsg)
	if !ok {
		t.Fatal("P did not lead to the confirm dialog")
	}
	for _, want := range []string{"create namespace " + test, "create 1 Deployment: api", "create 1 ConfigMap: api-config",
		"⚠ dev uses Secrets that vigil does not copy: create api-credentials in namespace " + test} {
		if !strings.Contains(req.Body, want) {
			t.Errorf("the preview lacks %q:\n%s", want, req.Body)
		}
	}
	toast, ok := run(t, m, req.OnYes).(common.ToastMsg)
	if !ok || toast.Level != common.Success || !strings.HasPrefix(toast.Text, "prepared test from dev: 2 objects created") {
		t.Fatalf("toast %#v", toast)
	}
	if want := []string{"operator prepare an environment test ok"}; !slices.Equal(j.entries, want) {
		t.Fatalf("journal %v, want %v", j.entries, want)
	}
	if _, err := cs.CoreV1().Secrets(test).Get(ctx, "api-credentials", metav1.GetOptions{}); err == nil {
		t.Fatal("the Secret was copied")
	}
	// The watch sees the seeded app: test is a column like the others.
	for {
		if c, ok := svc.Matrix().Cell("api", "test"); ok && c.Version == "2.0.0" {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the seeded api never showed in test")
		}
		time.Sleep(100 * time.Millisecond)
	}
	m.SetMatrix(svc.Matrix())
	if v := uitest.ASCII(t, m.View()); strings.Contains(v, "∅") {
		t.Fatalf("test still shows as empty:\n%s", v)
	}
}
