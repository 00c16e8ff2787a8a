package kubernetes

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/vigilops/vigil/ops/release"
)

func (c *Client) patch(ctx context.Context, ref release.Ref, pt types.PatchType, body any) error {
	cl, err := c.cluster(ref.Context)
	if err != nil {
		return err
	}
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	switch ref.Kind {
	case release.Deployment:
		_, err = cl.cs.AppsV1().Deployments(ref.Namespace).Patch(ctx, ref.Name, pt, data, metav1.PatchOptions{FieldManager: "vigil"})
	case release.StatefulSet:
		_, err = cl.cs.AppsV1().StatefulSets(ref.Namespace).Patch(ctx, ref.Name, pt, data, metav1.PatchOptions{FieldManager: "vigil"})
	default:
		return fmt.Errorf("%s: vigil changes Deployments and StatefulSets only", ref)
	}
	if err != nil {
		return fmt.Errorf("cannot change %s: %w", ref, err)
	}
	return nil
}

type obj = map[string]any

var _ release.LiveReader = (*Client)(nil)

// LiveContainers implements release.LiveReader: the workload's containers
// and change-cause as the API server holds them now. A change-cause of
// vigil's that no longer matches the images (someone changed them since
// outside vigil) is left out, as the cache leaves it out.
func (c *Client) LiveContainers(ctx context.Context, ref release.Ref) ([]release.Container, string, error) {
	cl, err := c.cluster(ref.Context)
	if err != nil {
		return nil, "", err
	}
	var meta metav1.ObjectMeta
	var template *corev1.PodTemplateSpec
	switch ref.Kind {
	case release.Deployment:
		d, err := cl.cs.AppsV1().Deployments(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			return nil, "", err
		}
		meta, template = d.ObjectMeta, &d.Spec.Template
	case release.StatefulSet:
		s, err := cl.cs.AppsV1().StatefulSets(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			return nil, "", err
		}
		meta, template = s.ObjectMeta, &s.Spec.Template
	default:
		return nil, "", fmt.Errorf("%s: vigil changes Deployments and StatefulSets only", ref)
	}
	cs := containers(template)
	cause := meta.Annotations[release.AnnotationChangeCause]
	if images, ok := meta.Annotations[release.AnnotationImages]; ok && !release.ImagesMatch(images, cs) && strings.HasPrefix(cause, "vigil: ") {
		cause = ""
	}
	return cs, cause, nil
}

// SetImages implements release.Mutator with a strategic merge patch:
// containers merge by name, so only the named ones change.
func (c *Client) SetImages(ctx context.Context, ref release.Ref, images []release.Container, annotations map[string]string) error {
	var cs, inits []obj
	for _, ct := range images {
		if ct.Init {
			inits = append(inits, obj{"name": ct.Name, "image": ct.Image})
		} else {
			cs = append(cs, obj{"name": ct.Name, "image": ct.Image})
		}
	}
	podSpec := obj{}
	if len(cs) > 0 {
		podSpec["containers"] = cs
	}
	if len(inits) > 0 {
		podSpec["initContainers"] = inits
	}
	if _, ok := annotations[release.AnnotationImages]; ok && ref.Kind == release.Deployment {
		if next, ok := c.nextRevision(ref); ok {
			annotations = maps.Clone(annotations)
			annotations[release.AnnotationRevision] = strconv.FormatInt(next, 10)
		}
	}
	return c.patch(ctx, ref, types.StrategicMergePatchType, obj{
		"metadata": obj{"annotations": annotations},
		"spec":     obj{"template": obj{"spec": podSpec}},
	})
}

// nextRevision is the number the Deployment's next revision will get, one
// above its ReplicaSets' highest, from the cache; ok is false when the
// cache does not hold them.
func (c *Client) nextRevision(ref release.Ref) (int64, bool) {
	sp, ok := c.watched(ref.Target)
	if !ok {
		return 0, false
	}
	rss, err := sp.rs.GetIndexer().ByIndex(ownerIndex, "Deployment/"+ref.Name)
	if err != nil || len(rss) == 0 {
		return 0, false
	}
	var top int64
	for _, o := range rss {
		if v, err := strconv.ParseInt(o.(*appsv1.ReplicaSet).Annotations[revisionKey], 10, 64); err == nil {
			top = max(top, v)
		}
	}
	return top + 1, true
}

// SetPaused implements release.Mutator.
func (c *Client) SetPaused(ctx context.Context, ref release.Ref, paused bool) error {
	if ref.Kind != release.Deployment {
		return fmt.Errorf("%s cannot be paused: only Deployments can", ref)
	}
	return c.patch(ctx, ref, types.MergePatchType, obj{"spec": obj{"paused": paused}})
}

// Restart implements release.Mutator with the annotation `kubectl rollout
// restart` sets.
func (c *Client) Restart(ctx context.Context, ref release.Ref, at time.Time) error {
	return c.patch(ctx, ref, types.StrategicMergePatchType, obj{
		"spec": obj{"template": obj{"metadata": obj{"annotations": obj{restartedAtKey: at.Format(time.RFC3339)}}}},
	})
}

// Scale implements release.Mutator.
func (c *Client) Scale(ctx context.Context, ref release.Ref, n int32) error {
	return c.patch(ctx, ref, types.MergePatchType, obj{"spec": obj{"replicas": n}})
}

// annotationsToSkip are the annotations `kubectl rollout undo` keeps from
// the Deployment instead of taking them from the ReplicaSet.
var annotationsToSkip = map[string]bool{
	corev1.LastAppliedConfigAnnotation:          true,
	revisionKey:                                 true,
	revisionHistory:                             true,
	"deployment.kubernetes.io/desired-replicas": true,
	"deployment.kubernetes.io/max-replicas":     true,
	appsv1.DeprecatedRollbackTo:                 true,
}

// Rollback implements release.Mutator, doing what `kubectl rollout undo`
// does (k8s.io/kubectl/pkg/polymorphichelpers/rollback.go), on live objects,
// and adding annotate's annotations, which kubectl has no way to record.
func (c *Client) Rollback(ctx context.Context, ref release.Ref, toRevision int64, annotate release.Annotator) (release.Revision, error) {
	if toRevision < 0 {
		return release.Revision{}, fmt.Errorf(revisionNotFound, toRevision)
	}
	cl, err := c.cluster(ref.Context)
	if err != nil {
		return release.Revision{}, err
	}
	switch ref.Kind {
	case release.Deployment:
		return c.rollbackDeployment(ctx, cl, ref, toRevision, annotate)
	case release.StatefulSet:
		return c.rollbackStatefulSet(ctx, cl, ref, toRevision, annotate)
	}
	return release.Revision{}, fmt.Errorf("%s cannot be rolled back: only Deployments and StatefulSets can", ref)
}

func (c *Client) rollbackDeployment(ctx context.Context, cl *cluster, ref release.Ref, toRevision int64, annotate release.Annotator) (release.Revision, error) {
	apps := cl.cs.AppsV1()
	d, err := apps.Deployments(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	if err != nil {
		return release.Revision{}, fmt.Errorf("cannot read %s: %w", ref, err)
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return release.Revision{}, err
	}
	list, err := apps.ReplicaSets(ref.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return release.Revision{}, fmt.Errorf("cannot list the ReplicaSets of %s: %w", ref, err)
	}
	// The newest and second newest revisions, or the one asked for.
	var latest, previous, chosen *appsv1.ReplicaSet
	latestRev, previousRev := int64(-1), int64(-1)
	for i := range list.Items {
		rs := &list.Items[i]
		if !metav1.IsControlledBy(rs, d) {
			continue
		}
		v, err := strconv.ParseInt(rs.Annotations[revisionKey], 10, 64)
		if err != nil {
			continue
		}
		switch {
		case toRevision > 0:
			if v == toRevision {
				chosen = rs
			}
		case latestRev < v:
			previous, previousRev = latest, latestRev
			latest, latestRev = rs, v
		case previousRev < v:
			previous, previousRev = rs, v
		}
	}
	if toRevision == 0 {
		if previous == nil {
			return release.Revision{}, fmt.Errorf("no rollout history found for deployment %q", ref.Name)
		}
		chosen = previous
	}
	if chosen == nil {
		return release.Revision{}, fmt.Errorf(revisionNotFound, toRevision)
	}
	r := replicaSet(chosen)
	rev := release.Revision{Number: r.Revision, Containers: r.Containers, ChangeCause: chosen.Annotations[release.AnnotationChangeCause], Created: r.Created}
	if d.Spec.Paused {
		return rev, fmt.Errorf("you cannot roll back a paused deployment: resume %s first and try again", ref.Name)
	}
	if equalIgnoreHash(&chosen.Spec.Template, &d.Spec.Template) {
		return rev, nil // the current template already matches
	}
	delete(chosen.Spec.Template.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	annotations := map[string]string{}
	for k := range annotationsToSkip {
		if v, ok := d.Annotations[k]; ok {
			annotations[k] = v
		}
	}
	for k, v := range chosen.Annotations {
		if !annotationsToSkip[k] {
			annotations[k] = v
		}
	}
	cur, _ := strconv.ParseInt(d.Annotations[revisionKey], 10, 64)
	ours := annotateWith(annotate, release.Revision{Number: cur, Containers: containers(&d.Spec.Template)}, rev)
	if len(ours) > 0 {
		// The controller numbers the restored revision one above the highest.
		top := max(latestRev, cur)
		for i := range list.Items {
			if v, err := strconv.ParseInt(list.Items[i].Annotations[revisionKey], 10, 64); err == nil && metav1.IsControlledBy(&list.Items[i], d) {
				top = max(top, v)
			}
		}
		ours[release.AnnotationRevision] = strconv.FormatInt(top+1, 10)
	}
	for k, v := range ours {
		if v == "" {
			delete(annotations, k)
		} else {
			annotations[k] = v
		}
	}
	patch, err := json.Marshal([]obj{
		{"op": "replace", "path": "/spec/template", "value": chosen.Spec.Template},
		{"op": "replace", "path": "/metadata/annotations", "value": annotations},
	})
	if err != nil {
		return rev, err
	}
	if _, err := apps.Deployments(ref.Namespace).Patch(ctx, ref.Name, types.JSONPatchType, patch, metav1.PatchOptions{}); err != nil {
		return rev, fmt.Errorf("failed restoring revision %d of %s: %w", rev.Number, ref, err)
	}
	// The controller copies the Deployment's annotations to the ReplicaSet
	// it brings back, but never removes one: remove those vigil removed
	// (the promoted-from of an older promotion), so that the history does
	// not pair this rollback with that promotion's source.
	if len(ours) > 0 {
		body, err := json.Marshal(obj{"metadata": obj{"annotations": nullEmpty(ours)}})
		if err != nil {
			return rev, err
		}
		if _, err := apps.ReplicaSets(ref.Namespace).Patch(ctx, chosen.Name, types.MergePatchType, body, metav1.PatchOptions{FieldManager: "vigil"}); err != nil {
			return rev, fmt.Errorf("restored revision %d of %s, but could not annotate its ReplicaSet %s: %w", rev.Number, ref, chosen.Name, err)
		}
	}
	return rev, nil
}

// annotateWith calls annotate when there is one.
func annotateWith(annotate release.Annotator, from, to release.Revision) map[string]string {
	if annotate == nil {
		return nil
	}
	return annotate(from, to)
}

// nullEmpty turns the empty values of a map of annotations into nulls, which
// a merge patch removes.
func nullEmpty(a map[string]string) obj {
	out := obj{}
	for k, v := range a {
		if v == "" {
			out[k] = nil
		} else {
			out[k] = v
		}
	}
	return out
}

func equalIgnoreHash(a, b *corev1.PodTemplateSpec) bool {
	a, b = a.DeepCopy(), b.DeepCopy()
	delete(a.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	delete(b.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	return apiequality.Semantic.DeepEqual(a, b)
}

func (c *Client) rollbackStatefulSet(ctx context.Context, cl *cluster, ref release.Ref, toRevision int64, annotate release.Annotator) (release.Revision, error) {
	apps := cl.cs.AppsV1()
	s, err := apps.StatefulSets(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	if err != nil {
		return release.Revision{}, fmt.Errorf("cannot read %s: %w", ref, err)
	}
	sel, err := metav1.LabelSelectorAsSelector(s.Spec.Selector)
	if err != nil {
		return release.Revision{}, err
	}
	list, err := apps.ControllerRevisions(ref.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return release.Revision{}, fmt.Errorf("cannot list the revisions of %s: %w", ref, err)
	}
	var history []*appsv1.ControllerRevision
	for i := range list.Items {
		if metav1.IsControlledBy(&list.Items[i], s) {
			history = append(history, &list.Items[i])
		}
	}
	var chosen *appsv1.ControllerRevision
	if toRevision == 0 {
		if len(history) <= 1 {
			return release.Revision{}, fmt.Errorf("no last revision to roll back to")
		}
		slices.SortFunc(history, func(a, b *appsv1.ControllerRevision) int { return int(a.Revision - b.Revision) })
		chosen = history[len(history)-2]
	} else {
		for _, h := range history {
			if h.Revision == toRevision {
				chosen = h
			}
		}
	}
	if chosen == nil {
		return release.Revision{}, fmt.Errorf(revisionNotFound, toRevision)
	}
	rev := release.Revision{Number: chosen.Revision, Containers: revisionContainers(chosen.Data.Raw), ChangeCause: chosen.Annotations[release.AnnotationChangeCause], Created: chosen.CreationTimestamp.Time}
	if chosen.Name == s.Status.UpdateRevision {
		return rev, nil // the current template already matches
	}
	from := release.Revision{Containers: containers(&s.Spec.Template)}
	for _, h := range history {
		if h.Name == s.Status.UpdateRevision {
			from.Number = h.Revision
		}
	}
	// The revision's data is a patch of spec.template; the annotations go
	// on the StatefulSet in the same patch (its ControllerRevisions keep
	// those of when they were made, as after `kubectl rollout undo`).
	body := chosen.Data.Raw
	if ours := annotateWith(annotate, from, rev); len(ours) > 0 {
		var p obj
		if err := json.Unmarshal(chosen.Data.Raw, &p); err != nil {
			return rev, fmt.Errorf("cannot read revision %d of %s: %w", rev.Number, ref, err)
		}
		p["metadata"] = obj{"annotations": nullEmpty(ours)}
		if body, err = json.Marshal(p); err != nil {
			return rev, err
		}
	}
	if _, err := apps.StatefulSets(ref.Namespace).Patch(ctx, ref.Name, types.StrategicMergePatchType, body, metav1.PatchOptions{}); err != nil {
		return rev, fmt.Errorf("failed restoring revision %d of %s: %w", rev.Number, ref, err)
	}
	return rev, nil
}
