package kubernetes

import (
	"context"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/vigilops/vigil/ops/release"
)

// WatchPods implements release.PodWatcher with an informer of its own,
// limited to the workload's selector, that lives as long as ctx.
func (c *Client) WatchPods(ctx context.Context, ref release.Ref, fn func([]release.Pod)) error {
	sp, ok := c.watched(ref.Target)
	if !ok {
		return fmt.Errorf("%s is not watched: start the release service first", ref)
	}
	var sel *metav1.LabelSelector
	key := sp.ns + "/" + ref.Name
	switch ref.Kind {
	case release.Deployment:
		if o, ok, _ := sp.deploy.GetIndexer().GetByKey(key); ok {
			sel = o.(*appsv1.Deployment).Spec.Selector
		}
	case release.StatefulSet:
		if o, ok, _ := sp.sts.GetIndexer().GetByKey(key); ok {
			sel = o.(*appsv1.StatefulSet).Spec.Selector
		}
	}
	if sel == nil {
		return fmt.Errorf("%s is not in the cache", ref)
	}
	selector, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return fmt.Errorf("%s has a bad selector: %w", ref, err)
	}
	cl, err := c.cluster(ref.Context)
	if err != nil {
		return err
	}
	factory := informers.NewSharedInformerFactoryWithOptions(cl.cs, 0, informers.WithNamespace(ref.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = selector.String() }))
	inf := factory.Core().V1().Pods().Informer()
	if err := inf.SetTransform(trimPod); err != nil {
		return err
	}
	report := func(any) {
		objs := inf.GetStore().List()
		pods := make([]release.Pod, 0, len(objs))
		for _, o := range objs {
			if p := o.(*corev1.Pod); sp.owns(ref, p) {
				pods = append(pods, podOf(p))
			}
		}
		slices.SortFunc(pods, func(a, b release.Pod) int { return strings.Compare(a.Name, b.Name) })
		fn(pods)
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    report,
		UpdateFunc: func(_, o any) { report(o) },
		DeleteFunc: report,
	}); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	return nil
}

// owns reports whether p belongs to ref, and not only matches its
// selector: selectors of two workloads may overlap (a canary's pods
// carry the labels of the main one), and each detail shows its own pods.
func (sp *space) owns(ref release.Ref, p *corev1.Pod) bool {
	o := metav1.GetControllerOfNoCopy(p)
	if o == nil {
		return false
	}
	if ref.Kind == release.StatefulSet {
		return o.Kind == "StatefulSet" && o.Name == ref.Name
	}
	if o.Kind != "ReplicaSet" {
		return false
	}
	if rs, ok, _ := sp.rs.GetIndexer().GetByKey(sp.ns + "/" + o.Name); ok {
		c := metav1.GetControllerOfNoCopy(rs.(*appsv1.ReplicaSet))
		return c != nil && c.Kind == "Deployment" && c.Name == ref.Name
	}
	// A ReplicaSet the cache has not seen yet: its name is the
	// Deployment's, a dash and the template's hash.
	rest, ok := strings.CutPrefix(o.Name, ref.Name+"-")
	return ok && rest != "" && !strings.Contains(rest, "-")
}

// trimPod keeps what podOf reads.
func trimPod(obj any) (any, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	slim := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, ResourceVersion: p.ResourceVersion, CreationTimestamp: p.CreationTimestamp, OwnerReferences: p.OwnerReferences,
			Labels: map[string]string{appsv1.DefaultDeploymentUniqueLabelKey: p.Labels[appsv1.DefaultDeploymentUniqueLabelKey], appsv1.StatefulSetRevisionLabel: p.Labels[appsv1.StatefulSetRevisionLabel]}},
		Spec:   corev1.PodSpec{NodeName: p.Spec.NodeName},
		Status: corev1.PodStatus{Phase: p.Status.Phase, Conditions: p.Status.Conditions, ContainerStatuses: p.Status.ContainerStatuses, InitContainerStatuses: p.Status.InitContainerStatuses},
	}
	return slim, nil
}

func podOf(p *corev1.Pod) release.Pod {
	out := release.Pod{Name: p.Name, Phase: string(p.Status.Phase), Created: p.CreationTimestamp.Time}
	if ref := metav1.GetControllerOfNoCopy(p); ref != nil {
		out.Owner = ref.Name
	}
	out.Revision = p.Labels[appsv1.DefaultDeploymentUniqueLabelKey]
	if r := p.Labels[appsv1.StatefulSetRevisionLabel]; r != "" {
		out.Revision = r
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			out.Ready = c.Status == corev1.ConditionTrue
		}
	}
	out.Node = p.Spec.NodeName
	for _, cs := range p.Status.ContainerStatuses {
		if !cs.Ready {
			out.Unready = append(out.Unready, cs.Name)
		}
	}
	for _, cs := range slices.Concat(p.Status.InitContainerStatuses, p.Status.ContainerStatuses) {
		out.Restarts += cs.RestartCount
		switch {
		case out.Reason != "":
		case cs.State.Waiting != nil && cs.State.Waiting.Reason != "" && cs.State.Waiting.Reason != "PodInitializing" && cs.State.Waiting.Reason != "ContainerCreating":
			out.Reason = cs.State.Waiting.Reason
		case cs.State.Terminated != nil && cs.State.Terminated.ExitCode != 0:
			out.Reason = exit(cs.State.Terminated)
		}
		if t := cs.LastTerminationState.Terminated; t != nil && t.FinishedAt.After(out.LastExitAt) {
			out.LastExit, out.LastExitAt = exit(t), t.FinishedAt.Time
		}
	}
	return out
}

// exit says how a container ended: its reason and exit code.
func exit(t *corev1.ContainerStateTerminated) string {
	reason := t.Reason
	if reason == "" {
		reason = "Terminated"
	}
	return fmt.Sprintf("%s, exit %d", reason, t.ExitCode)
}
