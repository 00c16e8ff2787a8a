package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/release"
)

// seedCluster plans a fixed seed and counts the seeds; prepare needs
// nothing else of a cluster.
type seedCluster struct {
	release.Cluster
	seeds int
}

func (c *seedCluster) PlanSeed(context.Context, release.Target, release.Target, string) (release.Seed, error) {
	return release.Seed{Objects: []release.SeedObject{
		{Kind: "Deployment", Name: "api"},
		{Kind: "StatefulSet", Name: "db", Volumes: []string{"data"}},
		{Kind: "ConfigMap", Name: "shared", Exists: true},
	}, Secrets: []string{"api-credentials"}}, nil
}

func (c *seedCluster) Seed(context.Context, release.Target, release.Target, []release.SeedObject) error {
	c.seeds++
	return nil
}

// Preparation's locks are tested with the Leases on the lab.
func (c *seedCluster) Lock(context.Context, release.Target, string, release.Holder, time.Duration) error {
	return nil
}
func (c *seedCluster) Unlock(context.Context, release.Target, string, string) error { return nil }
func (c *seedCluster) Held(context.Context, release.Target, string) ([]*release.LockedError, error) {
	return nil, nil
}

// The answer decides: y (or the name of a protected environment) prepares,
// anything else refuses (exit 3); without a terminal, only --yes prepares.
func TestPrepareConfirmation(t *testing.T) {
	for _, c := range []struct {
		name           string
		protected, yes bool
		terminal       bool
		answer         string
		code, seeds    int
		want           string
	}{
		{"yes", false, false, true, "y\n", 0, 1, "Prepare test from dev? [y/N] prepared test from dev: 2 objects created\nnow create the Secrets api-credentials in namespace vp-test\n"},
		{"no", false, false, true, "n\n", 3, 0, "vigil prepare: prepare an environment test: not confirmed: nothing was done; answer y when asked on a terminal, or pass --yes"},
		{"closed input", false, false, true, "", 3, 0, "not confirmed, the terminal closed"},
		{"no terminal", false, false, false, "y\n", 3, 0, "not confirmed, there is no terminal to ask on: nothing was done; answer y when asked on a terminal, or pass --yes"},
		{"--yes without a terminal", false, true, false, "", 0, 1, "prepared test from dev"},
		{"protected, y", true, false, true, "y\n", 3, 0, "Prepare test from dev? Type test to confirm: vigil prepare: prepare an environment test: not confirmed: nothing was done; type test"},
		{"protected, name", true, false, true, "test\n", 0, 1, "prepared test from dev"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl := &seedCluster{}
			envs := []release.Env{{Name: "dev", Namespace: "vp-dev"}, {Name: "test", Namespace: "vp-test", Protected: c.protected}}
			var out strings.Builder
			actor := access.Actor{Name: "alice", Role: access.Operator}
			ask := &confirmer{ctx: context.Background(), actor: actor, yes: c.yes, terminal: c.terminal, in: strings.NewReader(c.answer), out: &out}
			p := preparer{svc: release.New(envs, cl, nil, release.Options{}), actor: actor, mayAct: true, confirm: ask.release(), out: &out}
			code := p.run(context.Background(), "test")
			if code != c.code || cl.seeds != c.seeds || !strings.Contains(out.String(), c.want) {
				t.Fatalf("exit %d, %d seeds, want %d and %d; output lacks %q:\n%s", code, cl.seeds, c.code, c.seeds, c.want, out.String())
			}
			for _, line := range []string{"  create namespace vp-test\n", "  create Deployment/api\n", "  create StatefulSet/db with volume claim templates data\n",
				"  skip (already in vp-test) ConfigMap/shared\n", "  not copied: Secret/api-credentials\n", "warning: dev uses Secrets"} {
				if !strings.Contains(out.String(), line) {
					t.Errorf("the preview lacks %q:\n%s", line, out.String())
				}
			}
		})
	}
}

func TestPrepareUsage(t *testing.T) {
	sandbox(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"prepare"}, "prepare takes one environment"},
		{[]string{"prepare", "test", "prod"}, "prepare takes one environment"},
		{[]string{"prepare", "test", "--force"}, "unknown flag: --force"},
	} {
		code, _, errOut := cli(t, c.args...)
		if code != release.ExitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", c.args, code, errOut, c.want)
		}
	}
}

// TestPrepareOnTheLab prepares an absent environment from one holding a
// Deployment, a StatefulSet with a volume claim template, a Service, a
// ConfigMap and a Secret: everything but the Secret is copied, and the
// Secret is named in a warning. A viewer and a read-only session are
// refused first, and journaled.
func TestPrepareOnTheLab(t *testing.T) {
	labtest.Env(t, "KUBECONFIG")
	lab, err := config.Load(filepath.Join(labtest.StateDir(), "vigil.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	k := lab.Kubernetes
	kctx := k.Environments[0].Context
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: k.Kubeconfig}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kctx}).ClientConfig()
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
	ctx := context.Background()
	t.Cleanup(func() {
		for _, ns := range []string{dev, test} {
			_ = cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
		}
	})
	create := metav1.CreateOptions{}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: dev}}, create); err != nil {
		t.Fatal(err)
	}
	labels := func(app string) map[string]string {
		return map[string]string{"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": id}
	}
	one := int32(1)
	template := func(app, image string) corev1.PodTemplateSpec {
		return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels(app)}, Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: app, Image: image}},
		}}
	}
	selector := func(app string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": app}}
	}
	if _, err := cs.AppsV1().Deployments(dev).Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "api", Labels: labels("api")},
		Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: selector("api"), Template: template("api", "registry.lab.local/test/api:2.0.0")}}, create); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.AppsV1().StatefulSets(dev).Create(ctx, &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db", Labels: labels("db")},
		Spec: appsv1.StatefulSetSpec{Replicas: &one, ServiceName: "db", Selector: selector("db"), Template: template("db", "registry.lab.local/test/db:15.4"),
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}, Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			}}}}}, create); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Services(dev).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "api"}, Spec: corev1.ServiceSpec{
		Selector: labels("api"), Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}, create); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().ConfigMaps(dev).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "api-config"}, Data: map[string]string{"LOG": "debug"}}, create); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Secrets(dev).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "api-credentials"}, StringData: map[string]string{"token": "s3cret"}}, create); err != nil {
		t.Fatal(err)
	}

	dir := sandbox(t)
	journal := filepath.Join(dir, "journal.db")
	configFor := func(role string) {
		path := filepath.Join(dir, role+".yaml")
		writeFile(t, path, fmt.Sprintf("identity: {name: alice, role: %s}\naudit: {path: %q}\nkubernetes:\n  kubeconfig: %q\n  app_selector: %q\n  environments:\n"+
			"    - {name: dev, context: %q, namespace: %s}\n    - {name: test, context: %q, namespace: %s}\n",
			role, journal, k.Kubeconfig, "app.kubernetes.io/part-of="+id, kctx, dev, kctx, test))
		t.Setenv("VIGIL_CONFIG", path)
	}

	configFor("viewer")
	if code, out, _ := cli(t, "prepare", "test", "--yes"); code != release.ExitRefused || !strings.Contains(out, "  create Deployment/api") {
		t.Fatalf("viewer prepare: exit %d:\n%s", code, out)
	}
	configFor("operator")
	if code, out, _ := cli(t, "--read-only", "prepare", "test", "--yes"); code != release.ExitRefused {
		t.Fatalf("read-only prepare: exit %d:\n%s", code, out)
	}
	if _, err := cs.CoreV1().Namespaces().Get(ctx, test, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("a refused prepare left namespace %s: %v", test, err)
	}

	start := time.Now()
	code, out, errOut := cli(t, "prepare", "test", "--yes")
	if code != 0 {
		t.Fatalf("prepare: exit %d:\n%s%s", code, out, errOut)
	}
	t.Logf("prepared in %s:\n%s", time.Since(start).Round(time.Millisecond), out)
	for _, want := range []string{
		"  create namespace " + test + "\n",
		"  create Deployment/api\n",
		"  create StatefulSet/db with volume claim templates data\n",
		"  create Service/api\n",
		"  create ConfigMap/api-config\n",
		"  not copied: Secret/api-credentials\n",
		"warning: dev uses Secrets that vigil does not copy: create api-credentials in namespace " + test,
		"prepared test from dev: 4 objects created\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q", want)
		}
	}
	get := metav1.GetOptions{}
	if d, err := cs.AppsV1().Deployments(test).Get(ctx, "api", get); err != nil || d.Spec.Template.Spec.Containers[0].Image != "registry.lab.local/test/api:2.0.0" {
		t.Errorf("Deployment api in %s: %v", test, err)
	}
	if s, err := cs.AppsV1().StatefulSets(test).Get(ctx, "db", get); err != nil || len(s.Spec.VolumeClaimTemplates) != 1 || s.Spec.VolumeClaimTemplates[0].Name != "data" {
		t.Errorf("StatefulSet db in %s, with its volume claim template: %v", test, err)
	}
	if _, err := cs.CoreV1().Services(test).Get(ctx, "api", get); err != nil {
		t.Errorf("Service api in %s: %v", test, err)
	}
	if c, err := cs.CoreV1().ConfigMaps(test).Get(ctx, "api-config", get); err != nil || c.Data["LOG"] != "debug" {
		t.Errorf("ConfigMap api-config in %s: %v", test, err)
	}
	if _, err := cs.CoreV1().Secrets(test).Get(ctx, "api-credentials", get); !apierrors.IsNotFound(err) {
		t.Errorf("the Secret was copied to %s: %v", test, err)
	}

	// Again: everything is there, nothing to create, nothing journaled.
	code, out, _ = cli(t, "prepare", "test")
	if code != 0 || !strings.Contains(out, "skip (already in "+test+") Deployment/api") || !strings.Contains(out, "nothing to create") {
		t.Fatalf("second prepare: exit %d:\n%s", code, out)
	}

	var results []string
	for _, e := range (&releaseLab{dir: dir}).journal(t) {
		results = append(results, e.Role+" "+e.Action+" "+e.Target+" "+string(e.Result))
	}
	want := []string{"viewer prepare an environment test refused", "operator prepare an environment test refused", "operator prepare an environment test ok"}
	if !slices.Equal(results, want) {
		t.Fatalf("journal %q, want %q", results, want)
	}
}
