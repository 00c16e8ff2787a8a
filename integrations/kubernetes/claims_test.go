package kubernetes

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/vigilops/vigil/ops/release"
)

func claim(name, class, size string, phase corev1.PersistentVolumeClaimPhase, capacity string) *corev1.PersistentVolumeClaim {
	c := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "prod", Labels: map[string]string{"app": "db"}, Annotations: map[string]string{"pv.kubernetes.io/bind-completed": "yes"}},
		Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: &class, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}}},
		Status: corev1.PersistentVolumeClaimStatus{Phase: phase},
	}
	if capacity != "" {
		c.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(capacity)}
	}
	return c
}

// TestStatefulSetClaims: a StatefulSet's claims come from its namespace's
// claims by name (template, set, ordinal), with the bound capacity or the
// request, the phase and the class; a pod's claim not made yet shows from
// its template; other claims, and the trimmed fields, are left out.
func TestStatefulSetClaims(t *testing.T) {
	class := "ssd"
	three := int32(3)
	s := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "prod"}, Spec: appsv1.StatefulSetSpec{
		Replicas: &three,
		VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data", Labels: map[string]string{"x": "y"}},
			Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: &class, Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")}}}}},
	}}
	if _, err := trim(s); err != nil {
		t.Fatal(err)
	}
	if tpl := s.Spec.VolumeClaimTemplates[0]; tpl.Name != "data" || tpl.Labels != nil || *tpl.Spec.StorageClassName != "ssd" {
		t.Fatalf("trimmed template: %+v", tpl)
	}
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	for _, c := range []*corev1.PersistentVolumeClaim{
		claim("data-db-1", "ssd", "10Gi", corev1.ClaimPending, ""),
		claim("data-db-0", "ssd", "10Gi", corev1.ClaimBound, "12Gi"),
		claim("data-dbx-0", "ssd", "1Gi", corev1.ClaimBound, "1Gi"),  // another set's
		claim("data-db-old", "ssd", "1Gi", corev1.ClaimBound, "1Gi"), // not an ordinal
	} {
		if _, err := trim(c); err != nil {
			t.Fatal(err)
		}
		if c.Labels != nil || c.Annotations != nil || c.Spec.AccessModes != nil {
			t.Fatalf("trimmed claim keeps %+v", c.ObjectMeta)
		}
		idx.Add(c)
	}
	sp := &space{ns: "prod", pvc: fakeInformer{idx: idx}}
	got := sp.claims(s)
	want := []release.Claim{
		{Name: "data-db-0", Template: "data", Ordinal: 0, Size: "12Gi", Status: "Bound", StorageClass: "ssd"},
		{Name: "data-db-1", Template: "data", Ordinal: 1, Size: "10Gi", Status: "Pending", StorageClass: "ssd"},
		{Name: "data-db-2", Template: "data", Ordinal: 2, Size: "10Gi", Status: release.ClaimNotCreated, StorageClass: "ssd"},
	}
	if len(got) != len(want) {
		t.Fatalf("claims: %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("claim %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	var emitted []string
	sts := fakeInformer{idx: cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})}
	sts.idx.Add(s)
	owner := claimOwner(sts, func(o any) { emitted = append(emitted, o.(*appsv1.StatefulSet).Name) })
	owner(claim("data-db-1", "ssd", "10Gi", corev1.ClaimBound, "10Gi"))
	owner(cache.DeletedFinalStateUnknown{Obj: claim("data-db-0", "ssd", "1Gi", corev1.ClaimBound, "")})
	owner(claim("logs-web-0", "ssd", "1Gi", corev1.ClaimBound, ""))
	if len(emitted) != 2 {
		t.Fatalf("owners re-emitted: %v", emitted)
	}
}
