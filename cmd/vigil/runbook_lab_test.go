package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/config"
)

// TestRunbookRunOnTheLab: a bad release in a prod of the test's own fires
// AppHighErrorRate; vigil runbook list names the scale runbook with what it
// would do, and vigil runbook run --yes scales the lab's Deployment,
// journaled as carol's scale.
func TestRunbookRunOnTheLab(t *testing.T) {
	env := labtest.Env(t, "KUBECONFIG", "VIGIL_LAB_PROMETHEUS_URL", "VIGIL_LAB_ALERTMANAGER_URL")
	lab, err := config.Load(filepath.Join(labtest.StateDir(), "vigil.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := sandbox(t)
	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix)
	id := hex.EncodeToString(suffix)
	app, ns := "rb-"+id, "vr-"+id+"-prod"
	k := lab.Kubernetes
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: k.Kubeconfig}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: k.Environments[0].Context}).ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	cs, err := k8s.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	labels := map[string]string{"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": "vigil-runbook-test-" + id}
	two := int32(2)
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: app, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &two,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": app}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "app", Image: "registry.lab.local/test/runbook:1.1.0-bad"}},
			}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "carol.yaml")
	writeFile(t, path, fmt.Sprintf("identity: {name: carol, role: operator}\naudit: {path: %q}\n"+
		"kubernetes:\n  kubeconfig: %q\n  app_selector: %q\n  environments:\n    - {name: prod, context: %q, namespace: %s}\n"+
		"prometheus: {url: %q}\nalertmanager: {urls: [%q]}\n"+
		"runbooks:\n  - {name: scale-out, alert: AppHighErrorRate, labels: {namespace: %s}, kind: scale, replicas: 3}\n",
		filepath.Join(dir, "journal.db"), k.Kubeconfig, "app.kubernetes.io/part-of=vigil-runbook-test-"+id, k.Environments[0].Context, ns,
		env["VIGIL_LAB_PROMETHEUS_URL"], env["VIGIL_LAB_ALERTMANAGER_URL"], ns))
	t.Setenv("VIGIL_CONFIG", path)

	var fp, listed string
	waitUntil(t, 4*time.Minute, "AppHighErrorRate to fire on "+ns+"/"+app, func() bool {
		var out string
		_, out, _ = cli(t, "alerts", "--json", "--filter", fmt.Sprintf(`alertname="AppHighErrorRate",namespace=%q`, ns))
		listed = out
		var as []struct{ Fingerprint, State string }
		if json.Unmarshal([]byte(out), &as) != nil {
			return false
		}
		for _, a := range as {
			if a.State == "firing" {
				fp = a.Fingerprint
			}
		}
		return fp != ""
	}, func() string { return listed })

	code, out, errOut := cli(t, "runbook", "list", fp)
	if code != 0 || !strings.Contains(out, "scale-out  scale  operator  yes   scale "+app+" in prod ("+ns+"/"+app+") to 3 replicas") {
		t.Fatalf("runbook list: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = cli(t, "runbook", "run", fp, "scale-out", "--yes")
	if code != 0 || !strings.Contains(out, "done: runbook scale-out: scale "+app+" in prod") {
		t.Fatalf("runbook run: exit %d\n%s%s", code, out, errOut)
	}
	d, err := cs.AppsV1().Deployments(ns).Get(ctx, app, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 3 {
		t.Fatalf("the Deployment has %v replicas after the runbook, want 3", d.Spec.Replicas)
	}
	_, out, _ = cli(t, "audit", "--json")
	if !strings.Contains(out, `"carol"`) || !strings.Contains(out, `"scale"`) || !strings.Contains(out, `"prod/`+app+`"`) {
		t.Errorf("the journal lacks carol's scale of prod/%s:\n%s", app, out)
	}
}
