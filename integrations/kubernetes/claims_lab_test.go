package kubernetes_test

import (
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vigilops/vigil/ops/release"
)

// TestLabStatefulSetClaims: a StatefulSet with a volumeClaimTemplate shows
// its claims in the matrix as its controller makes them: the first pod's
// Pending (no volume, so the pod waits and the second pod is not made:
// its claim "not created"), then Bound with the volume's capacity once a
// PersistentVolume of the class exists.
func TestLabStatefulSetClaims(t *testing.T) {
	f := newFixture(t, lab(t), "preprod")
	f.start()
	ns := f.env("preprod").Namespace
	class := ns + "-local" // a class of this test alone: no provisioner, static volumes
	app := "sts-pg"
	labels := map[string]string{"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": partOf}
	two := int32(2)
	s := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: app, Labels: labels},
		Spec: appsv1.StatefulSetSpec{
			Replicas: &two, ServiceName: app,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": app}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: app, Image: fmt.Sprintf(image, app, "16.1")}},
			}},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}, Spec: corev1.PersistentVolumeClaimSpec{
				StorageClassName: &class, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			}}},
		},
	}
	if _, err := f.cs.AppsV1().StatefulSets(ns).Create(f.ctx, s, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	claims := func(want func([]release.Claim) bool) []release.Claim {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			c, ok := f.svc.Matrix().Cell(app, "preprod")
			if ok && c.Workload != nil && want(c.Workload.Claims) {
				return c.Workload.Claims
			}
			if time.Now().After(deadline) {
				var got []release.Claim
				if c.Workload != nil {
					got = c.Workload.Claims
				}
				t.Fatalf("claims of %s: %+v", app, got)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	got := claims(func(cs []release.Claim) bool { return len(cs) == 2 && cs[0].Status == "Pending" })
	if got[0].Name != "data-sts-pg-0" || got[0].Size != "1Gi" || got[0].StorageClass != class || got[1].Status != release.ClaimNotCreated {
		t.Fatalf("pending claims: %+v", got)
	}

	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: ns + "-pv0"},
		Spec: corev1.PersistentVolumeSpec{
			StorageClassName: class, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("2Gi")},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp/" + ns}},
			ClaimRef:               &corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: ns, Name: "data-sts-pg-0"},
		},
	}
	if _, err := f.cs.CoreV1().PersistentVolumes().Create(f.ctx, pv, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.cs.CoreV1().PersistentVolumes().Delete(f.ctx, pv.Name, metav1.DeleteOptions{}) })
	got = claims(func(cs []release.Claim) bool { return len(cs) == 2 && cs[0].Status == "Bound" })
	if got[0].Size != "2Gi" || got[0].Volume != pv.Name {
		t.Fatalf("bound claim: %+v", got[0])
	}
}
