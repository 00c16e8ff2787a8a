package kubernetes_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/release"
)

func TestPrepareEnvironment(t *testing.T) {
	f := newFixture(t, lab(t), "dev", "test+absent")
	dev := f.env("dev").Namespace
	f.deploy("dev", "api", "2.0.0", 1)
	labels := map[string]string{"app.kubernetes.io/name": "db", "app.kubernetes.io/part-of": partOf}
	one := int32(1)
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Labels: labels},
		Spec: appsv1.StatefulSetSpec{
			Replicas: &one, ServiceName: "db",
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": "db"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "db", Image: "registry.lab.local/test/db:15.4"}},
			}},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data"},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
				},
			}},
		},
	}
	if _, err := f.cs.AppsV1().StatefulSets(dev).Create(f.ctx, sts, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "api"}, Spec: corev1.ServiceSpec{
		Selector: map[string]string{"app.kubernetes.io/name": "api"}, Ports: []corev1.ServicePort{{Name: "http", Port: 80}},
	}}
	if _, err := f.cs.CoreV1().Services(dev).Create(f.ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.cs.CoreV1().ConfigMaps(dev).Create(f.ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "api-config"}, Data: map[string]string{"LOG": "debug"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.cs.CoreV1().Secrets(dev).Create(f.ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "api-credentials"}, StringData: map[string]string{"token": "s3cret"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.start()

	plan, err := f.svc.PlanPrepare(f.ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range plan.Creates() {
		got = append(got, o.Kind+"/"+o.Name)
		if o.Kind == "StatefulSet" && !slices.Equal(o.Volumes, []string{"data"}) {
			t.Errorf("the preview should name db's volume claim templates: %+v", o)
		}
	}
	slices.Sort(got)
	want := []string{"ConfigMap/api-config", "Deployment/api", "Service/api", "StatefulSet/db"}
	if plan.Seed.NamespaceExists || !slices.Equal(got, want) {
		t.Fatalf("plan: namespace exists %v, creates %v, want %v", plan.Seed.NamespaceExists, got, want)
	}
	if !slices.Equal(plan.Seed.Secrets, []string{"api-credentials"}) || len(plan.Warnings) != 1 || !strings.Contains(plan.Warnings[0], "api-credentials") {
		t.Fatalf("the preview should warn about the Secret: %v %v", plan.Seed.Secrets, plan.Warnings)
	}
	if err := f.svc.Prepare(f.ctx, viewer, plan); err == nil {
		t.Fatal("a viewer prepared an environment")
	}
	if err := f.svc.Prepare(f.ctx, alice, plan); err != nil {
		t.Fatal(err)
	}
	test := f.env("test").Namespace
	if s, err := f.cs.AppsV1().StatefulSets(test).Get(f.ctx, "db", metav1.GetOptions{}); err != nil || len(s.Spec.VolumeClaimTemplates) != 1 {
		t.Fatalf("db in test: %v", err)
	}
	if s, err := f.cs.CoreV1().Services(test).Get(f.ctx, "api", metav1.GetOptions{}); err != nil || s.Spec.ClusterIP == "" {
		t.Fatalf("service in test: %v", err)
	}
	if cm, err := f.cs.CoreV1().ConfigMaps(test).Get(f.ctx, "api-config", metav1.GetOptions{}); err != nil || cm.Data["LOG"] != "debug" {
		t.Fatalf("configmap in test: %v", err)
	}
	if _, err := f.cs.CoreV1().Secrets(test).Get(f.ctx, "api-credentials", metav1.GetOptions{}); err == nil {
		t.Fatal("a Secret was copied")
	}
	waitFor(t, "the seeded apps in the matrix", func() bool {
		a, okA := f.svc.Matrix().Cell("api", "test")
		d, okD := f.svc.Matrix().Cell("db", "test")
		return okA && okD && a.Version == "2.0.0" && !a.Drift && d.Workload.Kind == release.StatefulSet
	})
	again, err := f.svc.PlanPrepare(f.ctx, "test")
	if err != nil || len(again.Creates()) != 0 || !again.Seed.NamespaceExists {
		t.Fatalf("preparing twice should find nothing to create: %+v %v", again, err)
	}
}

// A preparation while a promotion into the environment holds its lock (a
// Lease on the lab's API server) is refused naming the holder, journaled as
// refused, and creates nothing; once the lock is freed it goes ahead.
func TestPrepareRefusedWhileAPromotionIsInFlight(t *testing.T) {
	f := newFixture(t, lab(t), "dev", "test")
	f.deploy("dev", "api", "2.0.0", 1)
	f.start()
	target := f.env("test").Target()
	if err := f.client.Lock(f.ctx, target, "vigil-promote-web", release.ParseHolder("carol on bastion-9"), time.Minute); err != nil {
		t.Fatal(err)
	}
	plan, err := f.svc.PlanPrepare(f.ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	err = f.svc.Prepare(f.ctx, alice, plan)
	if release.ExitCode(err) != release.ExitRefused || !strings.Contains(err.Error(), "a promotion into test is in flight") || !strings.Contains(err.Error(), "carol on bastion-9") {
		t.Fatalf("prepare during carol's promotion: %v", err)
	}
	if _, err := f.cs.AppsV1().Deployments(target.Namespace).Get(f.ctx, "api", metav1.GetOptions{}); err == nil {
		t.Fatal("the refused preparation created api")
	}
	if es := f.entries(release.ActPrepare.Name); len(es) != 1 || es[0].Result != audit.Refused || !strings.Contains(es[0].Error, "carol on bastion-9") {
		t.Fatalf("journal: %+v", es)
	}
	if err := f.client.Unlock(f.ctx, target, "vigil-promote-web", "carol on bastion-9"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Prepare(f.ctx, alice, plan); err != nil {
		t.Fatalf("prepare once the promotion settled: %v", err)
	}
	if _, err := f.cs.AppsV1().Deployments(target.Namespace).Get(f.ctx, "api", metav1.GetOptions{}); err != nil {
		t.Fatalf("the preparation did not create api: %v", err)
	}
}
