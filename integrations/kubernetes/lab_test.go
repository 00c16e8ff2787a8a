package kubernetes_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vigilops/vigil/integrations/kubernetes"
	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/release"
)

// The tests below run against the lab's real control plane. Each one works
// in namespaces of its own, removed afterwards, so they leave the shop alone.

const (
	partOf   = "vigil-release-test"
	selector = "app.kubernetes.io/part-of=" + partOf
	image    = "registry.lab.local/test/%s:%s"
)

var (
	alice  = access.Actor{Name: "alice", Role: access.Operator, Source: "local"}
	bob    = access.Actor{Name: "bob", Role: access.Operator, Source: "local"}
	viewer = access.Actor{Name: "victor", Role: access.Viewer, Source: "local"}
)

type fixture struct {
	t          testing.TB
	ctx        context.Context
	kubeconfig string
	cs         k8s.Interface
	client     *kubernetes.Client
	journal    *audit.Journal
	svc        *release.Service
	envs       []release.Env
}

func clientset(t testing.TB, kubeconfig string) k8s.Interface {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := k8s.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// newFixture makes one namespace per environment name (a name ending in
// "+auto" rolls back automatically; "+absent" gets no namespace yet).
func newFixture(t testing.TB, kubeconfig string, envNames ...string) *fixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	f := &fixture{t: t, ctx: ctx, kubeconfig: kubeconfig, cs: clientset(t, kubeconfig)}
	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix)
	for _, n := range envNames {
		name, auto := strings.CutSuffix(n, "+auto")
		name, absent := strings.CutSuffix(name, "+absent")
		ns := "vt-" + hex.EncodeToString(suffix) + "-" + name
		if !absent {
			if _, err := f.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(func() {
			_ = f.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
		})
		f.envs = append(f.envs, release.Env{Name: name, Namespace: ns, Protected: name == "prod", AutoRollback: auto})
	}
	var err error
	f.journal, err = audit.Open(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.journal.Close() })
	return f
}

// start starts the adapter and the service, as vigil does once per process.
func (f *fixture) start() {
	f.t.Helper()
	f.client = kubernetes.New(f.ctx, f.kubeconfig)
	f.svc = release.New(f.envs, f.client, f.journal, release.Options{Selector: selector, LockTTL: time.Minute})
	if err := f.svc.Start(f.ctx); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) env(name string) release.Env {
	for _, e := range f.envs {
		if e.Name == name {
			return e
		}
	}
	f.t.Fatalf("no env %s", name)
	return release.Env{}
}

// deploy creates a Deployment app at version in env.
func (f *fixture) deploy(env, app, version string, replicas int32) {
	f.t.Helper()
	labels := map[string]string{"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": partOf}
	deadline := int32(20)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: app, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas:                &replicas,
			ProgressDeadlineSeconds: &deadline,
			Selector:                &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": app}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					InitContainers: []corev1.Container{{Name: "migrate", Image: fmt.Sprintf(image, app+"-migrate", version)}},
					Containers:     []corev1.Container{{Name: app, Image: fmt.Sprintf(image, app, version)}},
				},
			},
		},
	}
	if _, err := f.cs.AppsV1().Deployments(f.env(env).Namespace).Create(f.ctx, d, metav1.CreateOptions{}); err != nil {
		f.t.Fatal(err)
	}
}

// release sets app's images in env to version, as a CI pipeline would
// (apps named sts-… are StatefulSets).
func (f *fixture) release(env, app, version string) {
	f.t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{"kubernetes.io/change-cause":"ci: %[1]s %[2]s"}},"spec":{"template":{"spec":{"initContainers":[{"name":"migrate","image":%[3]q}],"containers":[{"name":%[1]q,"image":%[4]q}]}}}}`,
		app, version, fmt.Sprintf(image, app+"-migrate", version), fmt.Sprintf(image, app, version))
	var err error
	if strings.HasPrefix(app, "sts-") {
		_, err = f.cs.AppsV1().StatefulSets(f.env(env).Namespace).Patch(f.ctx, app, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
	} else {
		_, err = f.cs.AppsV1().Deployments(f.env(env).Namespace).Patch(f.ctx, app, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
	}
	if err != nil {
		f.t.Fatal(err)
	}
}

// statefulSet creates a StatefulSet app (named sts-…) at version in env.
func (f *fixture) statefulSet(env, app, version string) {
	f.t.Helper()
	labels := map[string]string{"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": partOf}
	one := int32(1)
	s := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: app, Labels: labels},
		Spec: appsv1.StatefulSetSpec{
			Replicas: &one, ServiceName: app,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": app}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
				InitContainers: []corev1.Container{{Name: "migrate", Image: fmt.Sprintf(image, app+"-migrate", version)}},
				Containers:     []corev1.Container{{Name: app, Image: fmt.Sprintf(image, app, version)}},
			}},
		},
	}
	if _, err := f.cs.AppsV1().StatefulSets(f.env(env).Namespace).Create(f.ctx, s, metav1.CreateOptions{}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) live(env, app string) *appsv1.Deployment {
	f.t.Helper()
	d, err := f.cs.AppsV1().Deployments(f.env(env).Namespace).Get(f.ctx, app, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

// waitHealthy waits until app in env is healthy at version.
func (f *fixture) waitHealthy(env, app, version string) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(f.ctx, 90*time.Second)
	defer cancel()
	want := []release.Container{{Name: app, Image: fmt.Sprintf(image, app, version)}}
	if err := f.svc.Wait(ctx, alice, app, env, want); err != nil {
		f.t.Fatalf("%s in %s did not become healthy at %s: %v", app, env, version, err)
	}
}

// waitUnlocked waits until no promotion or rollback holds app in env: the
// lock is freed just after the rollout settles, by the holder's own watch.
func (f *fixture) waitUnlocked(env, app string) {
	f.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		held, err := f.client.Held(f.ctx, f.env(env).Target(), "vigil-promote-"+app)
		if err == nil && len(held) == 0 {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("%s in %s still locked: %v %v", app, env, held, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (f *fixture) entries(action string) []audit.Entry {
	f.t.Helper()
	all, err := f.journal.Query(audit.Query{})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []audit.Entry
	for _, e := range all {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

func lab(t testing.TB) string {
	t.Helper()
	return labtest.Env(t, "KUBECONFIG")["KUBECONFIG"]
}
