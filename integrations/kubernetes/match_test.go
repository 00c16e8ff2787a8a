package kubernetes

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
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
