package exporter

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
)

func replicaSet(name string, owner *appsv1.Deployment, image string, ready int32) *appsv1.ReplicaSet {
	yes := true
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: owner.Namespace, OwnerReferences: []metav1.OwnerReference{{
			APIVersion: "apps/v1", Kind: "Deployment", Name: owner.Name, UID: owner.UID, Controller: &yes,
		}}},
		Spec:   appsv1.ReplicaSetSpec{Template: podTemplate(image)},
		Status: appsv1.ReplicaSetStatus{ReadyReplicas: ready},
	}
}

func podTemplate(image string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}}}
}

// waitErrorRatio waits for the store to hold k with the wanted error ratio.
func waitErrorRatio(t *testing.T, st *Store, k Key, want float64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st.mu.Lock()
		s, ok := st.series[k]
		var got float64
		if ok {
			got = s.profile.ErrorRatio
		}
		st.mu.Unlock()
		if ok && near(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v: error ratio %v (known: %v), want %v", k, got, ok, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A Deployment's traffic follows its ReplicaSets' ready pods and images, a
// StatefulSet's follows its own status, and deleted workloads disappear.
func TestWatchDerivesTrafficFromClusterState(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	three := int32(3)
	api := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "prod", UID: types.UID("u-api")},
		Spec:       appsv1.DeploymentSpec{Replicas: &three, Template: podTemplate("shop/api:2.5.0-bad")},
	}
	db := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "prod"},
		Spec:       appsv1.StatefulSetSpec{Replicas: &three, Template: podTemplate("shop/db:15.4-bad")},
		Status:     appsv1.StatefulSetStatus{ReadyReplicas: 3},
	}
	cs := fake.NewClientset(api, db,
		replicaSet("api-old", api, "shop/api:2.4.1", 2),
		replicaSet("api-new", api, "shop/api:2.5.0-bad", 1),
	)
	st := NewStore(time.Now)
	if err := Watch(ctx, cs, st); err != nil {
		t.Fatal(err)
	}
	apiKey := Key{"deployment", "prod", "api"}
	waitErrorRatio(t, st, apiKey, BadErrorRatio/3)
	waitErrorRatio(t, st, Key{"statefulset", "prod", "db"}, BadErrorRatio)

	// The rollout completes: every ready pod runs the bad release.
	rs := replicaSet("api-old", api, "shop/api:2.4.1", 0)
	if _, err := cs.AppsV1().ReplicaSets("prod").Update(ctx, rs, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	rs = replicaSet("api-new", api, "shop/api:2.5.0-bad", 3)
	if _, err := cs.AppsV1().ReplicaSets("prod").Update(ctx, rs, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitErrorRatio(t, st, apiKey, BadErrorRatio)

	if err := cs.AppsV1().Deployments("prod").Delete(ctx, "api", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		st.mu.Lock()
		_, ok := st.series[apiKey]
		st.mu.Unlock()
		if !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a deleted Deployment keeps its metrics")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
