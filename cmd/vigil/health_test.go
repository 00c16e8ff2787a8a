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
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/release"
)

// Issue 12, point 3, through the CLI on the lab: with
// kubernetes.refuse_unhealthy_source_for_protected set, `vigil promote`
// into protected prod from a preprod whose release never becomes ready
// prints the warning and is refused (exit 3, journaled), and prod keeps
// its release. vigil status shows preprod not healthy.
func TestPromoteRefusesUnhealthySourceOnTheLab(t *testing.T) {
	labtest.Env(t, "KUBECONFIG")
	lab, err := config.Load(filepath.Join(labtest.StateDir(), "vigil.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := sandbox(t)
	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix)
	app := "cli-" + hex.EncodeToString(suffix)
	partOf := "vigil-cli-test-" + hex.EncodeToString(suffix)
	k := lab.Kubernetes
	if len(k.Environments) != 4 || !k.Environments[3].Protected {
		t.Fatalf("the lab's pipeline is not dev, test, preprod, protected prod: %+v", k.Environments)
	}
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: k.Kubeconfig}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: k.Environments[0].Context}).ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	cs, err := k8s.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i, version := range map[int]string{2: "2.0.0-broken", 3: "1.0.0"} {
		ns := k.Environments[i].Namespace
		labels := map[string]string{"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": partOf}
		one := int32(1)
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: app, Labels: labels},
			Spec: appsv1.DeploymentSpec{
				Replicas: &one,
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": app}},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
					Containers: []corev1.Container{{Name: "app", Image: "registry.lab.local/test/cli:" + version}},
				}},
			},
		}
		if _, err := cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cs.AppsV1().Deployments(ns).Delete(ctx, app, metav1.DeleteOptions{})
			_ = cs.CoordinationV1().Leases(ns).Delete(ctx, "vigil-promote-"+app, metav1.DeleteOptions{})
		})
	}
	var b strings.Builder
	// An Alertmanager that does not answer: status says the alerts are
	// not weighed.
	fmt.Fprintf(&b, "identity: {name: alice, role: operator}\naudit: {path: %q}\nalertmanager: {urls: [\"http://127.0.0.1:9\"]}\nkubernetes:\n  kubeconfig: %q\n  app_selector: %q\n  refuse_unhealthy_source_for_protected: true\n  environments:\n",
		filepath.Join(dir, "journal.db"), k.Kubeconfig, "app.kubernetes.io/part-of="+partOf)
	for _, e := range k.Environments {
		fmt.Fprintf(&b, "    - {name: %s, context: %q, namespace: %s, protected: %v}\n", e.Name, e.Context, e.Namespace, e.Protected)
	}
	path := filepath.Join(dir, "refuse.yaml")
	writeFile(t, path, b.String())
	t.Setenv("VIGIL_CONFIG", path)

	// Wait until prod is healthy and preprod holds the broken release.
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, out, errOut := cli(t, "status", "--json")
		if code != 0 {
			t.Fatalf("status --json: exit %d: %s", code, errOut)
		}
		var m release.Matrix
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("status --json: %v\n%s", err, out)
		}
		src, _ := m.Cell(app, "preprod")
		dst, _ := m.Cell(app, "prod")
		if dst.Health == release.Healthy && src.Version == "2.0.0-broken" && src.Workload.Updated == 1 {
			if src.Health == release.Healthy || src.Ready != 0 {
				t.Fatalf("the broken release in preprod: %+v", src.Assessment)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never settled in preprod and prod:\n%s", app, out)
		}
		time.Sleep(500 * time.Millisecond)
	}

	code, out, _ := cli(t, "promote", app, "--to", "prod")
	if code != release.ExitRefused || !strings.Contains(out, "warning: preprod/"+app+", the source, is ") ||
		!strings.Contains(out, "refuse_unhealthy_source_for_protected refuses promoting from it") {
		t.Fatalf("promote from an unhealthy source into prod: exit %d:\n%s", code, out)
	}
	code, out, errOut := cli(t, "status")
	if code != 0 || !strings.Contains(out, "2.0.0-broken 0/1") || strings.Contains(out, "2.0.0-broken 0/1 healthy") {
		t.Fatalf("status: exit %d:\n%s", code, out)
	}
	if !strings.Contains(errOut, "vigil status: alerts not weighed in the health shown: alertmanager:") {
		t.Fatalf("status does not say the alerts are unknown: %q", errOut)
	}
	var results []string
	j, err := audit.Open(filepath.Join(dir, "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	entries, err := j.Query(audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		results = append(results, e.Action+" "+e.Target+" "+string(e.Result))
	}
	if got, want := strings.Join(results, "|"), "promote to a protected environment prod/"+app+" refused"; got != want {
		t.Fatalf("journal %q, want %q", got, want)
	}
}
