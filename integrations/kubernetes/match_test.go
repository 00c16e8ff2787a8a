package kubernetes

import (
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/vigilops/vigil/ops/release"
)

func TestWorkloadMatcher(t *testing.T) {
	rs := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{ownerIndex: ownerKey})
	yes := true
	_ = rs.Add(&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "api-5d6bf8c984",
		OwnerReferences: []metav1.OwnerReference{{Kind: "Deployment", Name: "api", Controller: &yes}}}})
	_ = rs.Add(&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "api-canary-7f9c",
		OwnerReferences: []metav1.OwnerReference{{Kind: "Deployment", Name: "api-canary", Controller: &yes}}}})
	sp := &space{ns: "prod", rs: fakeInformer{idx: rs}, cr: fakeInformer{idx: cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{ownerIndex: ownerKey})}}
	api := sp.workloadMatcher(release.Ref{Kind: release.Deployment, Name: "api"})
	db := sp.workloadMatcher(release.Ref{Kind: release.StatefulSet, Name: "db"})
	for _, c := range []struct {
		match      func(kind, name string) bool
		kind, name string
		want       bool
	}{
		{api, "Deployment", "api", true},
		{api, "Service", "api", false},
		{api, "ReplicaSet", "api-5d6bf8c984", true},
		{api, "Pod", "api-5d6bf8c984-x7k2p", true},
		{api, "Pod", "api-canary-7f9c-x7k2p", false},
		{api, "ReplicaSet", "api-canary-7f9c", false},
		{api, "Deployment", "api-canary", false},
		{db, "StatefulSet", "db", true},
		{db, "Pod", "db-0", true},
		{db, "Pod", "db-backup-0", false},
		{db, "Pod", "db-x", false},
		{db, "PersistentVolumeClaim", "data-db-2", true},
		{db, "PersistentVolumeClaim", "data-db-backup-2", false},
		{db, "PersistentVolumeClaim", "db-2", false},
	} {
		if got := c.match(c.kind, c.name); got != c.want {
			t.Errorf("%s/%s: %v, want %v", c.kind, c.name, got, c.want)
		}
	}
}

// fakeInformer serves an indexer as an informer's (workloadMatcher reads
// only GetIndexer).
type fakeInformer struct {
	cache.SharedIndexInformer
	idx cache.Indexer
}

func (f fakeInformer) GetIndexer() cache.Indexer { return f.idx }

func (f fakeInformer) GetStore() cache.Store { return f.idx }

// BenchmarkWorkloadEvents: the events of one workload among 10,000 of a
// namespace (2,000 other pods, five events each), as WatchEvents sends
// them after a change.
func BenchmarkWorkloadEvents(b *testing.B) {
	yes := true
	rs := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{ownerIndex: ownerKey})
	_ = rs.Add(&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "api-5d6bf8c984",
		OwnerReferences: []metav1.OwnerReference{{Kind: "Deployment", Name: "api", Controller: &yes}}}})
	evs := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	now := metav1.Now()
	add := func(i int, kind, name string) {
		_ = evs.Add(&corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: fmt.Sprintf("e%d", i)},
			InvolvedObject: corev1.ObjectReference{Kind: kind, Name: name}, Type: "Normal", Reason: "Pulled", LastTimestamp: now, Count: 1})
	}
	for i := range 10000 {
		add(i, "Pod", fmt.Sprintf("app%d-7f9c8d-%05d", i/5, i/5))
	}
	for i := range 30 {
		add(10000+i, "Pod", fmt.Sprintf("api-5d6bf8c984-x%04d", i))
	}
	sp := &space{ns: "prod", rs: fakeInformer{idx: rs}, cr: fakeInformer{idx: cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{ownerIndex: ownerKey})}, events: fakeInformer{idx: evs}}
	ref := release.Ref{Kind: release.Deployment, Name: "api"}
	b.ReportAllocs()
	for b.Loop() {
		if got := sp.workloadEvents(ref); len(got) != 30 {
			b.Fatalf("%d events", len(got))
		}
	}
}
