package kubernetes

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/vigilops/vigil/ops/release"
)

// watched returns the informers of t, which a Watch must have started.
func (c *Client) watched(t release.Target) (*space, bool) {
	c.mu.Lock()
	cl := c.clusters[t.Context]
	c.mu.Unlock()
	if cl == nil {
		return nil, false
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	for k, sp := range cl.spaces {
		if strings.HasPrefix(k, t.Namespace+"\x00") {
			return sp, true
		}
	}
	return nil, false
}

// Detail implements release.Inspector from the caches.
func (c *Client) Detail(ref release.Ref) (release.Detail, bool) {
	sp, ok := c.watched(ref.Target)
	if !ok {
		return release.Detail{}, false
	}
	var d release.Detail
	names := map[string]bool{ref.Name: true}
	var prefixes []string
	switch ref.Kind {
	case release.Deployment:
		o, ok, _ := sp.deploy.GetIndexer().GetByKey(sp.ns + "/" + ref.Name)
		if !ok {
			return d, false
		}
		d.Workload = sp.deploymentWorkload(o.(*appsv1.Deployment))
		rss, _ := sp.rs.GetIndexer().ByIndex(ownerIndex, "Deployment/"+ref.Name)
		for _, o := range rss {
			rs := o.(*appsv1.ReplicaSet)
			r := replicaSet(rs)
			names[rs.Name] = true
			prefixes = append(prefixes, rs.Name+"-")
			switch {
			case r.Revision == d.Workload.Revision:
				d.New = &r
			case rs.Status.Replicas > 0 || replicas(rs.Spec.Replicas) > 0:
				d.Old = append(d.Old, r)
			}
		}
		slices.SortFunc(d.Old, func(a, b release.ReplicaSet) int { return int(b.Revision - a.Revision) })
	case release.StatefulSet:
		o, ok, _ := sp.sts.GetIndexer().GetByKey(sp.ns + "/" + ref.Name)
		if !ok {
			return d, false
		}
		s := o.(*appsv1.StatefulSet)
		d.Workload = sp.statefulSetWorkload(s)
		prefixes = append(prefixes, ref.Name+"-")
		if cr, ok, _ := sp.cr.GetIndexer().GetByKey(sp.ns + "/" + s.Status.UpdateRevision); ok {
			r := revisionSet(cr.(*appsv1.ControllerRevision))
			r.Desired, r.Ready, r.Available = d.Workload.Desired, d.Workload.Updated, d.Workload.Available
			d.New = &r
		}
		if s.Status.CurrentRevision != s.Status.UpdateRevision {
			if cr, ok, _ := sp.cr.GetIndexer().GetByKey(sp.ns + "/" + s.Status.CurrentRevision); ok {
				r := revisionSet(cr.(*appsv1.ControllerRevision))
				r.Desired = s.Status.CurrentReplicas
				d.Old = append(d.Old, r)
			}
		}
	default:
		return d, false
	}
	d.Events = sp.eventsFor(names, prefixes)
	return d, true
}

func replicaSet(rs *appsv1.ReplicaSet) release.ReplicaSet {
	rev, _ := strconv.ParseInt(rs.Annotations[revisionKey], 10, 64)
	return release.ReplicaSet{
		Name:       rs.Name,
		Revision:   rev,
		Containers: containers(&rs.Spec.Template),
		Desired:    replicas(rs.Spec.Replicas),
		Ready:      rs.Status.ReadyReplicas,
		Available:  rs.Status.AvailableReplicas,
		Created:    rs.CreationTimestamp.Time,
	}
}

func revisionSet(cr *appsv1.ControllerRevision) release.ReplicaSet {
	return release.ReplicaSet{Name: cr.Name, Revision: cr.Revision, Containers: revisionContainers(cr.Data.Raw), Created: cr.CreationTimestamp.Time}
}

func revisionContainers(raw []byte) []release.Container {
	var d revisionData
	if json.Unmarshal(raw, &d) != nil {
		return nil
	}
	var out []release.Container
	for _, c := range d.Spec.Template.Spec.InitContainers {
		out = append(out, release.Container{Name: c.Name, Image: c.Image, Init: true})
	}
	for _, c := range d.Spec.Template.Spec.Containers {
		out = append(out, release.Container{Name: c.Name, Image: c.Image})
	}
	return out
}

// History implements release.Inspector from the caches.
func (c *Client) History(ref release.Ref) ([]release.Revision, error) {
	sp, ok := c.watched(ref.Target)
	if !ok {
		return nil, fmt.Errorf("%s is not watched: start the release service first", ref)
	}
	var out []release.Revision
	switch ref.Kind {
	case release.Deployment:
		o, ok, _ := sp.deploy.GetIndexer().GetByKey(sp.ns + "/" + ref.Name)
		if !ok {
			return nil, fmt.Errorf("deployment %s not found in %s", ref.Name, sp.ns)
		}
		cur := o.(*appsv1.Deployment).Annotations[revisionKey]
		rss, _ := sp.rs.GetIndexer().ByIndex(ownerIndex, "Deployment/"+ref.Name)
		for _, o := range rss {
			rs := o.(*appsv1.ReplicaSet)
			r := replicaSet(rs)
			rev := release.Revision{Number: r.Revision, Containers: r.Containers, Created: r.Created, Current: rs.Annotations[revisionKey] == cur}
			revisionProvenance(&rev, rs.Annotations)
			rev.Stale = release.StaleProvenance(rs.Annotations, rev.Number)
			rev.Restored = rs.Annotations[revisionHistory] != ""
			rev.Since = rev.Created
			if rev.Restored {
				rev.Since = latest(rev.Created, latest(rev.At, sp.scaledUp(ref.Name, rs.Name)))
			}
			out = append(out, rev)
		}
	case release.StatefulSet:
		o, ok, _ := sp.sts.GetIndexer().GetByKey(sp.ns + "/" + ref.Name)
		if !ok {
			return nil, fmt.Errorf("statefulset %s not found in %s", ref.Name, sp.ns)
		}
		cur := o.(*appsv1.StatefulSet).Status.UpdateRevision
		crs, _ := sp.cr.GetIndexer().ByIndex(ownerIndex, "StatefulSet/"+ref.Name)
		for _, o := range crs {
			cr := o.(*appsv1.ControllerRevision)
			rev := release.Revision{Number: cr.Revision, Containers: revisionContainers(cr.Data.Raw), Created: cr.CreationTimestamp.Time, Current: cr.Name == cur}
			revisionProvenance(&rev, cr.Annotations)
			rev.Since = rev.Created
			out = append(out, rev)
		}
	default:
		return nil, fmt.Errorf("%s has no history: only Deployments and StatefulSets do", ref)
	}
	slices.SortFunc(out, func(a, b release.Revision) int { return int(b.Number - a.Number) })
	// A restored revision came back after every revision numbered before it
	// was made: a floor for its Since when no event tells (they last an
	// hour, and a ReplicaSet that kept its pods is not scaled up again).
	var floor time.Time
	for i := len(out) - 1; i >= 0; i-- {
		if out[i].Restored {
			out[i].Since = latest(out[i].Since, floor)
		}
		floor = latest(floor, out[i].Since)
	}
	return out, nil
}

// revisionProvenance fills the change-cause and vigil's who and when of a
// revision from its annotations.
func revisionProvenance(r *release.Revision, a map[string]string) {
	r.ChangeCause = a[release.AnnotationChangeCause]
	r.By = a[release.AnnotationPromotedBy]
	r.At, _ = time.Parse(time.RFC3339, a[release.AnnotationPromotedAt])
	r.Images = a[release.AnnotationImages]
}

// scaledUp returns when the Deployment last scaled the ReplicaSet up from
// no replicas (the controller's "Scaled up replica set X from 0 to N"), from
// the events still held (an hour by default); zero when none is.
func (sp *space) scaledUp(deployment, rs string) time.Time {
	var at time.Time
	prefix := "Scaled up replica set " + rs + " "
	for _, o := range sp.events.GetStore().List() {
		ev := o.(*corev1.Event)
		if ev.InvolvedObject.Kind != "Deployment" || ev.InvolvedObject.Name != deployment || ev.Reason != "ScalingReplicaSet" {
			continue
		}
		// "… from 0 to N" (Kubernetes 1.37 here), "… to N from 0" (older).
		rest, ok := strings.CutPrefix(ev.Message, prefix)
		if !ok || !(strings.HasPrefix(rest, "from 0 to ") || strings.HasSuffix(rest, " from 0")) {
			continue
		}
		at = latest(at, latest(ev.LastTimestamp.Time, latest(ev.EventTime.Time, ev.CreationTimestamp.Time)))
	}
	return at
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func sortEvents(evs []release.Event) {
	slices.SortStableFunc(evs, func(a, b release.Event) int { return a.Last.Compare(b.Last) })
}
