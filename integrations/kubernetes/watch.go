package kubernetes

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/vigilops/vigil/ops/release"
)

const (
	ownerIndex       = "owner"
	freezeName       = "vigil-freeze"
	revisionKey      = "deployment.kubernetes.io/revision"
	revisionHistory  = "deployment.kubernetes.io/revision-history"
	syncTimeout      = 20 * time.Second
	eventsInDetail   = 20
	restartedAtKey   = "kubectl.kubernetes.io/restartedAt"
	revisionNotFound = "unable to find specified revision %d in history"
)

// space is the informers of one namespace, shared by every Watch.
type space struct {
	ns                                  string
	deploy, sts, rs, cr, events, freeze cache.SharedIndexInformer
	pvc                                 cache.SharedIndexInformer // the StatefulSets' claims (claims.go)
	lease                               cache.SharedIndexInformer // the locks held in the namespace (lock.go)
}

// ownerKey indexes ReplicaSets and ControllerRevisions by controller.
func ownerKey(obj any) ([]string, error) {
	m, err := metaOf(obj)
	if err != nil {
		return nil, nil
	}
	if ref := metav1.GetControllerOfNoCopy(m); ref != nil {
		return []string{ref.Kind + "/" + ref.Name}, nil
	}
	return nil, nil
}

func metaOf(obj any) (metav1.Object, error) {
	switch o := obj.(type) {
	case *appsv1.ReplicaSet:
		return o, nil
	case *appsv1.ControllerRevision:
		return o, nil
	}
	return nil, fmt.Errorf("unexpected %T", obj)
}

func (cl *cluster) space(ctx context.Context, ns, selector string) (*space, error) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	key := ns + "\x00" + selector
	if sp, ok := cl.spaces[key]; ok {
		return sp, nil
	}
	apps := informers.NewSharedInformerFactoryWithOptions(cl.cs, 0, informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = selector }))
	owned := informers.NewSharedInformerFactoryWithOptions(cl.cs, 0, informers.WithNamespace(ns))
	freeze := informers.NewSharedInformerFactoryWithOptions(cl.cs, 0, informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = "metadata.name=" + freezeName }))
	sp := &space{
		ns:     ns,
		deploy: apps.Apps().V1().Deployments().Informer(),
		sts:    apps.Apps().V1().StatefulSets().Informer(),
		rs:     owned.Apps().V1().ReplicaSets().Informer(),
		cr:     owned.Apps().V1().ControllerRevisions().Informer(),
		events: owned.Core().V1().Events().Informer(),
		freeze: freeze.Core().V1().ConfigMaps().Informer(),
		pvc:    owned.Core().V1().PersistentVolumeClaims().Informer(),
		lease:  owned.Coordination().V1().Leases().Informer(),
	}
	if err := sp.lease.SetTransform(trimLease); err != nil {
		return nil, err
	}
	for _, inf := range []cache.SharedIndexInformer{sp.deploy, sp.sts, sp.rs, sp.cr, sp.events, sp.freeze, sp.pvc} {
		if err := inf.SetTransform(trim); err != nil {
			return nil, err
		}
	}
	for _, inf := range []cache.SharedIndexInformer{sp.rs, sp.cr} {
		if err := inf.AddIndexers(cache.Indexers{ownerIndex: ownerKey}); err != nil {
			return nil, err
		}
	}
	apps.Start(ctx.Done())
	owned.Start(ctx.Done())
	freeze.Start(ctx.Done())
	cl.spaces[key] = sp
	return sp, nil
}

// Watch implements release.Watcher.
func (c *Client) Watch(ctx context.Context, envs []release.Env, selector string, sink release.Sink) error {
	if _, err := labels.Parse(selector); err != nil {
		return fmt.Errorf("kubernetes.app_selector %q is not a label selector: %w", selector, err)
	}
	var synced, lockSynced []<-chan struct{}
	var stops []func()
	for _, env := range envs {
		cl, err := c.cluster(env.Context)
		if err != nil {
			return err
		}
		sp, err := cl.space(c.ctx, env.Namespace, selector)
		if err != nil {
			return err
		}
		e := env.Name
		emitDeploy := func(obj any) {
			if d, ok := obj.(*appsv1.Deployment); ok {
				sink.Workload(e, sp.deploymentWorkload(d))
			}
		}
		emitSts := func(obj any) {
			if s, ok := obj.(*appsv1.StatefulSet); ok {
				sink.Workload(e, sp.statefulSetWorkload(s))
			}
		}
		gone := func(kind release.Kind) func(any) {
			return func(obj any) {
				if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
					obj = t.Obj
				}
				if m, ok := obj.(metav1.Object); ok {
					sink.WorkloadGone(e, kind, m.GetName())
				}
			}
		}
		// A new ReplicaSet or ControllerRevision changes its owner's revision
		// and last change: report the owner again.
		owner := func(kind string, of cache.SharedIndexInformer, emit func(any)) func(any) {
			return func(obj any) {
				if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
					obj = t.Obj
				}
				m, ok := obj.(metav1.Object)
				if !ok {
					return
				}
				if ref := metav1.GetControllerOfNoCopy(m); ref != nil && ref.Kind == kind {
					if o, ok, _ := of.GetIndexer().GetByKey(sp.ns + "/" + ref.Name); ok {
						emit(o)
					}
				}
			}
		}
		freeze := func(obj any) { sink.Freeze(e, parseFreeze(obj)) }
		handlers := []struct {
			inf cache.SharedIndexInformer
			h   cache.ResourceEventHandlerFuncs
		}{
			{sp.deploy, funcs(emitDeploy, gone(release.Deployment))},
			{sp.sts, funcs(emitSts, gone(release.StatefulSet))},
			{sp.rs, funcs(owner("Deployment", sp.deploy, emitDeploy), owner("Deployment", sp.deploy, emitDeploy))},
			{sp.cr, funcs(owner("StatefulSet", sp.sts, emitSts), owner("StatefulSet", sp.sts, emitSts))},
			{sp.freeze, funcs(freeze, func(any) { sink.Freeze(e, nil) })},
			{sp.pvc, funcs(claimOwner(sp.sts, emitSts), claimOwner(sp.sts, emitSts))},
		}
		for _, h := range handlers {
			reg, err := h.inf.AddEventHandler(h.h)
			if err != nil {
				return err
			}
			synced = append(synced, reg.HasSyncedChecker().Done())
			inf := h.inf
			stops = append(stops, func() { _ = inf.RemoveEventHandler(reg) })
		}
		// Events only feed the rollout detail: the matrix does not wait for them.
		stops = append(stops, cl.health.listen(sink.Conn))
		// Nor does it wait for the locks: a role that may take a Lease but
		// not watch them still sees its matrix.
		if ls, ok := sink.(release.LockSink); ok {
			lock := func(obj any) {
				if l, ok := obj.(*coordv1.Lease); ok && strings.HasPrefix(l.Name, "vigil-") {
					ls.Lock(e, l.Name, lockedBy(l, l.Name+" in "+sp.ns))
				}
			}
			unlock := func(obj any) {
				if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
					obj = t.Obj
				}
				if m, ok := obj.(metav1.Object); ok && strings.HasPrefix(m.GetName(), "vigil-") {
					ls.Lock(e, m.GetName(), nil)
				}
			}
			reg, err := sp.lease.AddEventHandler(funcs(lock, unlock))
			if err != nil {
				return err
			}
			lockSynced = append(lockSynced, reg.HasSyncedChecker().Done())
			stops = append(stops, func() { _ = sp.lease.RemoveEventHandler(reg) })
		}
	}
	go func() {
		<-ctx.Done()
		for _, stop := range stops {
			stop()
		}
	}()
	timeout := time.NewTimer(syncTimeout)
	defer timeout.Stop()
	for _, done := range synced {
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		case <-timeout.C:
			return fmt.Errorf("the Kubernetes caches did not sync within %s: check that the clusters are reachable (vigil keeps retrying)", syncTimeout)
		}
	}
	// The locks are waited for briefly, so that a command line verb shows
	// those held; they are never worth failing the start.
	lockTimeout := time.NewTimer(lockSyncTimeout)
	defer lockTimeout.Stop()
	for _, done := range lockSynced {
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		case <-lockTimeout.C:
			return nil
		}
	}
	return nil
}

// lockSyncTimeout bounds how long Watch waits for the locks once the
// workloads are in.
const lockSyncTimeout = 2 * time.Second

// trimLease keeps of a Lease all but its managedFields: its holder and
// the annotations naming the holder's bastion and action.
func trimLease(obj any) (any, error) {
	if l, ok := obj.(*coordv1.Lease); ok {
		l.ManagedFields = nil
	}
	return obj, nil
}

func funcs(upsert, del func(any)) cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { upsert(obj) },
		UpdateFunc: func(_, obj any) { upsert(obj) },
		DeleteFunc: del,
	}
}

func parseFreeze(obj any) *release.Freeze {
	cm, ok := obj.(*corev1.ConfigMap)
	if !ok {
		return nil
	}
	f := &release.Freeze{Reason: cm.Data["reason"], By: cm.Data["by"]}
	f.At, _ = time.Parse(time.RFC3339, cm.Data["at"])
	until, err := time.Parse(time.RFC3339, cm.Data["until"])
	if err != nil {
		// An unreadable expiry freezes for good rather than not at all.
		until = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	f.Until = until
	return f
}

func containers(t *corev1.PodTemplateSpec) []release.Container {
	out := make([]release.Container, 0, len(t.Spec.InitContainers)+len(t.Spec.Containers))
	for _, c := range t.Spec.InitContainers {
		out = append(out, release.Container{Name: c.Name, Image: c.Image, Init: true})
	}
	for _, c := range t.Spec.Containers {
		out = append(out, release.Container{Name: c.Name, Image: c.Image})
	}
	return out
}

func replicas(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

// provenance fills who changed the workload last through vigil, from its
// annotations (after w.Containers and w.Revision). When it no longer runs
// the images vigil set (someone ran `kubectl set image` since, which keeps
// the annotations), or its revision is past the one vigil's change made
// (`kubectl rollout undo` copies a revision's annotations back), they are
// stale: vigil's are left out, so that nobody is named for a change they
// did not make.
func provenance(w *release.Workload, a map[string]string) {
	w.Hook = a[release.AnnotationHook]
	w.ChangeCause = a[release.AnnotationChangeCause]
	images, ok := a[release.AnnotationImages]
	if ok && !release.ImagesMatch(images, w.Containers) || release.StaleProvenance(a, w.Revision) {
		if strings.HasPrefix(w.ChangeCause, "vigil: ") {
			w.ChangeCause = ""
		}
		return
	}
	w.PromotedFrom = a[release.AnnotationPromotedFrom]
	w.PromotedBy = a[release.AnnotationPromotedBy]
	w.PromotedAt, _ = time.Parse(time.RFC3339, a[release.AnnotationPromotedAt])
	w.RolledBackFrom, _ = strconv.ParseInt(a[release.AnnotationRolledBackFrom], 10, 64)
}

func (sp *space) deploymentWorkload(d *appsv1.Deployment) release.Workload {
	w := release.Workload{
		Kind:       release.Deployment,
		Name:       d.Name,
		Containers: containers(&d.Spec.Template),
		Desired:    replicas(d.Spec.Replicas),
		Current:    d.Status.Replicas,
		Updated:    d.Status.UpdatedReplicas,
		Ready:      d.Status.ReadyReplicas,
		Available:  d.Status.AvailableReplicas,
		Paused:     d.Spec.Paused,
		Settled:    d.Status.ObservedGeneration >= d.Generation,
	}
	w.Revision, _ = strconv.ParseInt(d.Annotations[revisionKey], 10, 64)
	for _, c := range d.Status.Conditions {
		w.Conditions = append(w.Conditions, release.Condition{Type: string(c.Type), Status: string(c.Status), Reason: c.Reason, Message: c.Message, Updated: c.LastUpdateTime.Time})
	}
	provenance(&w, d.Annotations)
	w.ChangedAt = d.CreationTimestamp.Time
	rss, _ := sp.rs.GetIndexer().ByIndex(ownerIndex, "Deployment/"+d.Name)
	for _, o := range rss {
		rs := o.(*appsv1.ReplicaSet)
		// Until the controller makes the new ReplicaSet, the one of the
		// current revision annotation still runs the old images: its pods
		// are old too.
		if rs.Annotations[revisionKey] == d.Annotations[revisionKey] {
			w.ChangedAt = rs.CreationTimestamp.Time
			if slices.Equal(containers(&rs.Spec.Template), w.Containers) {
				continue
			}
		}
		// The old ReplicaSets' pods: a rollout's progress is the new one's.
		w.OldReady += rs.Status.ReadyReplicas
		w.OldAvailable += rs.Status.AvailableReplicas
	}
	return w
}

func (sp *space) statefulSetWorkload(s *appsv1.StatefulSet) release.Workload {
	st := s.Status
	w := release.Workload{
		Kind:       release.StatefulSet,
		Name:       s.Name,
		Containers: containers(&s.Spec.Template),
		Desired:    replicas(s.Spec.Replicas),
		Current:    st.Replicas,
		Updated:    st.UpdatedReplicas,
		Ready:      st.ReadyReplicas,
		Available:  st.AvailableReplicas,
		Settled:    st.ObservedGeneration >= s.Generation && (st.UpdateRevision == "" || st.CurrentRevision == st.UpdateRevision),
	}
	for _, c := range st.Conditions {
		w.Conditions = append(w.Conditions, release.Condition{Type: string(c.Type), Status: string(c.Status), Reason: c.Reason, Message: c.Message, Updated: c.LastTransitionTime.Time})
	}
	if st.UpdateRevision != "" && st.CurrentRevision != st.UpdateRevision {
		// The status does not say which revision's pods are ready: count
		// the pods of the old revision as ready first, so that the new
		// revision's progress is never overstated.
		old := max(st.Replicas-st.UpdatedReplicas, 0)
		w.OldReady, w.OldAvailable = min(st.ReadyReplicas, old), min(st.AvailableReplicas, old)
	}
	provenance(&w, s.Annotations)
	w.Claims = sp.claims(s)
	w.ChangedAt = s.CreationTimestamp.Time
	if o, ok, _ := sp.cr.GetIndexer().GetByKey(sp.ns + "/" + st.UpdateRevision); ok {
		cr := o.(*appsv1.ControllerRevision)
		w.Revision = cr.Revision
		w.ChangedAt = cr.CreationTimestamp.Time
	}
	return w
}

// eventsFor returns the newest events about the objects named in names or
// the pods whose names start with one of prefixes, oldest first.
func (sp *space) eventsFor(names map[string]bool, prefixes []string) []release.Event {
	var out []release.Event
	for _, o := range sp.events.GetStore().List() {
		ev := o.(*corev1.Event)
		n := ev.InvolvedObject.Name
		match := names[n]
		for _, p := range prefixes {
			if !match && ev.InvolvedObject.Kind == "Pod" && strings.HasPrefix(n, p) {
				match = true
			}
		}
		if !match {
			continue
		}
		out = append(out, eventOf(ev))
	}
	sortEvents(out)
	if len(out) > eventsInDetail {
		out = out[len(out)-eventsInDetail:]
	}
	return out
}
