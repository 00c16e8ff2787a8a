package exporter

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	"k8s.io/client-go/tools/cache"
)

const ownerIndex = "owner"

// watcher feeds the store from informers. A Deployment's pods are counted
// per ReplicaSet, so a rollout mixes both releases' traffic as it goes; a
// StatefulSet's ready pods are taken to run its template's image.
type watcher struct {
	store       *Store
	deployments appslisters.DeploymentLister
	replicasets cache.Indexer
}

// Watch starts informers on cs that keep store up to date until ctx ends,
// and returns once their caches are synced.
func Watch(ctx context.Context, cs kubernetes.Interface, store *Store) error {
	f := informers.NewSharedInformerFactory(cs, 0)
	dep := f.Apps().V1().Deployments()
	rs := f.Apps().V1().ReplicaSets()
	sts := f.Apps().V1().StatefulSets()
	w := &watcher{store: store, deployments: dep.Lister(), replicasets: rs.Informer().GetIndexer()}

	for _, inf := range []cache.SharedIndexInformer{dep.Informer(), rs.Informer(), sts.Informer()} {
		if err := inf.SetTransform(stripManagedFields); err != nil {
			return err
		}
	}
	if err := rs.Informer().AddIndexers(cache.Indexers{ownerIndex: byOwner}); err != nil {
		return err
	}
	handlers := []struct {
		inf cache.SharedIndexInformer
		h   cache.ResourceEventHandler
	}{
		{dep.Informer(), cache.ResourceEventHandlerFuncs{
			AddFunc:    func(o any) { w.deployment(o) },
			UpdateFunc: func(_, o any) { w.deployment(o) },
			DeleteFunc: func(o any) { w.forget("deployment", o) },
		}},
		{rs.Informer(), cache.ResourceEventHandlerFuncs{
			AddFunc:    func(o any) { w.replicaset(o) },
			UpdateFunc: func(_, o any) { w.replicaset(o) },
			DeleteFunc: func(o any) { w.replicaset(o) },
		}},
		{sts.Informer(), cache.ResourceEventHandlerFuncs{
			AddFunc:    func(o any) { w.statefulset(o) },
			UpdateFunc: func(_, o any) { w.statefulset(o) },
			DeleteFunc: func(o any) { w.forget("statefulset", o) },
		}},
	}
	for _, h := range handlers {
		if _, err := h.inf.AddEventHandler(h.h); err != nil {
			return err
		}
	}
	f.Start(ctx.Done())
	for typ, ok := range f.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("watching %v: caches did not sync", typ)
		}
	}
	return nil
}

func stripManagedFields(o any) (any, error) {
	if m, ok := o.(metav1.Object); ok {
		m.SetManagedFields(nil)
	}
	return o, nil
}

func byOwner(o any) ([]string, error) {
	if ref := metav1.GetControllerOf(o.(metav1.Object)); ref != nil {
		return []string{string(ref.UID)}, nil
	}
	return nil, nil
}

func (w *watcher) deployment(o any) {
	d, ok := o.(*appsv1.Deployment)
	if !ok {
		return
	}
	var pods []Pods
	owned, _ := w.replicasets.ByIndex(ownerIndex, string(d.UID))
	for _, o := range owned {
		rs := o.(*appsv1.ReplicaSet)
		pods = append(pods, Pods{Ready: rs.Status.ReadyReplicas, Tag: Tag(firstImage(rs.Spec.Template.Spec.Containers))})
	}
	w.store.Set(Key{"deployment", d.Namespace, d.Name}, replicas(d.Spec.Replicas), pods)
}

func (w *watcher) replicaset(o any) {
	if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
		o = t.Obj
	}
	rs, ok := o.(*appsv1.ReplicaSet)
	if !ok {
		return
	}
	ref := metav1.GetControllerOf(rs)
	if ref == nil || ref.Kind != "Deployment" {
		return
	}
	if d, err := w.deployments.Deployments(rs.Namespace).Get(ref.Name); err == nil && d.UID == ref.UID {
		w.deployment(d)
	}
}

func (w *watcher) statefulset(o any) {
	s, ok := o.(*appsv1.StatefulSet)
	if !ok {
		return
	}
	pods := []Pods{{Ready: s.Status.ReadyReplicas, Tag: Tag(firstImage(s.Spec.Template.Spec.Containers))}}
	w.store.Set(Key{"statefulset", s.Namespace, s.Name}, replicas(s.Spec.Replicas), pods)
}

func (w *watcher) forget(kind string, o any) {
	if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
		o = t.Obj
	}
	if m, ok := o.(metav1.Object); ok {
		w.store.Delete(Key{kind, m.GetNamespace(), m.GetName()})
	}
}

func firstImage(cs []corev1.Container) string {
	if len(cs) == 0 {
		return ""
	}
	return cs[0].Image
}

func replicas(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}

// Serve exposes the store's metrics (and the exporter's own) on listen at
// /metrics, and /healthz, until ctx ends.
func Serve(ctx context.Context, listen string, store *Store) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(store, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("lab exporter: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
