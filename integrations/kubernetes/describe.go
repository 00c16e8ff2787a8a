package kubernetes

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/yaml"

	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ops/workload"
)

var _ workload.Cluster = (*Client)(nil)

// lastApplied is kubectl's copy of the applied object: it holds the same
// values the spec does, environment variables' included.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// HiddenValue replaces the value of an environment variable in the YAML
// of a description.
const HiddenValue = "<hidden by vigil>"

// Describe implements workload.Describer with live reads (the caches keep
// only what the matrix shows): the workload, its ReplicaSets, pods and
// claims, in a handful of requests.
func (c *Client) Describe(ctx context.Context, ref release.Ref) (workload.Description, error) {
	cl, err := c.cluster(ref.Context)
	if err != nil {
		return workload.Description{}, err
	}
	d := workload.Description{Ref: ref}
	var (
		meta     *metav1.ObjectMeta
		sel      *metav1.LabelSelector
		template *corev1.PodTemplateSpec
		obj      any
		claims   []corev1.PersistentVolumeClaim // a StatefulSet's templates
	)
	ns := ref.Namespace
	switch ref.Kind {
	case release.Deployment:
		o, err := cl.cs.AppsV1().Deployments(ns).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			return d, fmt.Errorf("describe %s: %w", ref, err)
		}
		o.TypeMeta = metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}
		meta, sel, template, obj = &o.ObjectMeta, o.Spec.Selector, &o.Spec.Template, o
		d.Strategy = string(o.Spec.Strategy.Type)
		if ru := o.Spec.Strategy.RollingUpdate; ru != nil && o.Spec.Strategy.Type == appsv1.RollingUpdateDeploymentStrategyType {
			d.Strategy += fmt.Sprintf(" (max surge %s, max unavailable %s)", intOrString(ru.MaxSurge), intOrString(ru.MaxUnavailable))
		}
		d.Replicas = workload.Replicas{Desired: replicas(o.Spec.Replicas), Current: o.Status.Replicas, Updated: o.Status.UpdatedReplicas, Ready: o.Status.ReadyReplicas, Available: o.Status.AvailableReplicas}
		for _, c := range o.Status.Conditions {
			d.Conditions = append(d.Conditions, release.Condition{Type: string(c.Type), Status: string(c.Status), Reason: c.Reason, Message: c.Message, Updated: c.LastUpdateTime.Time})
		}
	case release.StatefulSet:
		o, err := cl.cs.AppsV1().StatefulSets(ns).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			return d, fmt.Errorf("describe %s: %w", ref, err)
		}
		o.TypeMeta = metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"}
		meta, sel, template, obj = &o.ObjectMeta, o.Spec.Selector, &o.Spec.Template, o
		d.Strategy = string(o.Spec.UpdateStrategy.Type)
		if ru := o.Spec.UpdateStrategy.RollingUpdate; ru != nil && o.Spec.UpdateStrategy.Type == appsv1.RollingUpdateStatefulSetStrategyType {
			var parts []string
			if ru.Partition != nil && *ru.Partition > 0 {
				parts = append(parts, fmt.Sprintf("partition %d", *ru.Partition))
			}
			if ru.MaxUnavailable != nil {
				parts = append(parts, "max unavailable "+intOrString(ru.MaxUnavailable))
			}
			if len(parts) > 0 {
				d.Strategy += " (" + strings.Join(parts, ", ") + ")"
			}
		}
		d.Replicas = workload.Replicas{Desired: replicas(o.Spec.Replicas), Current: o.Status.Replicas, Updated: o.Status.UpdatedReplicas, Ready: o.Status.ReadyReplicas, Available: o.Status.AvailableReplicas}
		for _, c := range o.Status.Conditions {
			d.Conditions = append(d.Conditions, release.Condition{Type: string(c.Type), Status: string(c.Status), Reason: c.Reason, Message: c.Message, Updated: c.LastTransitionTime.Time})
		}
		claims = o.Spec.VolumeClaimTemplates
	default:
		return d, fmt.Errorf("cannot describe %s: only Deployments and StatefulSets", ref)
	}
	d.Created = meta.CreationTimestamp.Time
	d.Labels = maps.Clone(meta.Labels)
	selector, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return d, fmt.Errorf("%s has a bad selector: %w", ref, err)
	}
	d.Selector = selector.String()
	d.Containers = describeContainers(&template.Spec)
	d.Volumes = describeVolumes(template.Spec.Volumes)

	pods, err := cl.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: d.Selector})
	if err != nil {
		return d, fmt.Errorf("describe %s: its pods: %w", ref, err)
	}
	if d.Owned, err = owned(ctx, cl, ref, meta.UID, d.Selector, pods.Items); err != nil {
		return d, err
	}
	if d.Claims, err = describeClaims(ctx, cl, ref, template.Spec.Volumes, claims, pods.Items); err != nil {
		return d, err
	}
	if d.YAML, err = redactedYAML(obj); err != nil {
		return d, fmt.Errorf("describe %s: %w", ref, err)
	}
	return d, nil
}

func intOrString(v *intstr.IntOrString) string {
	if v == nil {
		return "unset"
	}
	return v.String()
}

// owned is the owner chain below the workload: ReplicaSets (or revisions)
// with the pods each owns.
func owned(ctx context.Context, cl *cluster, ref release.Ref, uid types.UID, selector string, pods []corev1.Pod) ([]workload.Owned, error) {
	byOwner := map[string][]string{}
	for _, p := range pods {
		if o := metav1.GetControllerOfNoCopy(&p); o != nil {
			key := o.Name
			if ref.Kind == release.StatefulSet {
				if o.UID != uid {
					continue
				}
				key = p.Labels[appsv1.StatefulSetRevisionLabel]
			}
			byOwner[key] = append(byOwner[key], p.Name)
		}
	}
	var out []workload.Owned
	switch ref.Kind {
	case release.Deployment:
		rss, err := cl.cs.AppsV1().ReplicaSets(ref.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return nil, fmt.Errorf("describe %s: its ReplicaSets: %w", ref, err)
		}
		var cur int64
		for _, rs := range rss.Items {
			if o := metav1.GetControllerOfNoCopy(&rs); o == nil || o.UID != uid {
				continue
			}
			rev, _ := strconv.ParseInt(rs.Annotations[revisionKey], 10, 64)
			cur = max(cur, rev)
			out = append(out, workload.Owned{Kind: "ReplicaSet", Name: rs.Name, Revision: rev, Desired: replicas(rs.Spec.Replicas),
				Ready: rs.Status.ReadyReplicas, Created: rs.CreationTimestamp.Time, Pods: sorted(byOwner[rs.Name])})
		}
		// As kubectl describe: the current ReplicaSet, and the old ones
		// still holding pods.
		out = slices.DeleteFunc(out, func(o workload.Owned) bool {
			return o.Revision != cur && o.Desired == 0 && len(o.Pods) == 0
		})
		for i := range out {
			out[i].Current = out[i].Revision == cur
		}
	case release.StatefulSet:
		s, err := cl.cs.AppsV1().StatefulSets(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("describe %s: %w", ref, err)
		}
		crs, err := cl.cs.AppsV1().ControllerRevisions(ref.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return nil, fmt.Errorf("describe %s: its revisions: %w", ref, err)
		}
		for _, cr := range crs.Items {
			if o := metav1.GetControllerOfNoCopy(&cr); o == nil || o.UID != uid {
				continue
			}
			if cr.Name != s.Status.UpdateRevision && cr.Name != s.Status.CurrentRevision && len(byOwner[cr.Name]) == 0 {
				continue // a former revision without pods
			}
			out = append(out, workload.Owned{Kind: "ControllerRevision", Name: cr.Name, Revision: cr.Revision, Current: cr.Name == s.Status.UpdateRevision,
				Created: cr.CreationTimestamp.Time, Pods: sorted(byOwner[cr.Name]), Desired: int32(len(byOwner[cr.Name]))})
		}
		ready := map[string]bool{}
		for _, p := range pods {
			ready[p.Name] = podReady(&p)
		}
		for i := range out {
			for _, p := range out[i].Pods {
				if ready[p] {
					out[i].Ready++
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b workload.Owned) int { return int(b.Revision - a.Revision) })
	return out, nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func sorted(s []string) []string {
	slices.Sort(s)
	return s
}

func describeContainers(spec *corev1.PodSpec) []workload.Container {
	var out []workload.Container
	add := func(c corev1.Container, init bool) {
		wc := workload.Container{Name: c.Name, Image: c.Image, Init: init,
			Requests: quantities(c.Resources.Requests), Limits: quantities(c.Resources.Limits),
			Liveness: probeOf(c.LivenessProbe), Readiness: probeOf(c.ReadinessProbe), Startup: probeOf(c.StartupProbe)}
		for _, p := range c.Ports {
			s := fmt.Sprintf("%d/%s", p.ContainerPort, p.Protocol)
			if p.Name != "" {
				s = p.Name + " " + s
			}
			wc.Ports = append(wc.Ports, s)
		}
		for _, e := range c.Env {
			wc.Env = append(wc.Env, workload.EnvVar{Name: e.Name, From: envFrom(e.ValueFrom)})
		}
		for _, e := range c.EnvFrom {
			switch {
			case e.SecretRef != nil:
				wc.EnvFrom = append(wc.EnvFrom, workload.EnvSource{Kind: "Secret", Name: e.SecretRef.Name, Prefix: e.Prefix})
			case e.ConfigMapRef != nil:
				wc.EnvFrom = append(wc.EnvFrom, workload.EnvSource{Kind: "ConfigMap", Name: e.ConfigMapRef.Name, Prefix: e.Prefix})
			}
		}
		for _, m := range c.VolumeMounts {
			wc.Mounts = append(wc.Mounts, workload.Mount{Volume: m.Name, Path: m.MountPath, ReadOnly: m.ReadOnly})
		}
		out = append(out, wc)
	}
	for _, c := range spec.InitContainers {
		add(c, true)
	}
	for _, c := range spec.Containers {
		add(c, false)
	}
	return out
}

func quantities(l corev1.ResourceList) map[string]string {
	if len(l) == 0 {
		return nil
	}
	out := make(map[string]string, len(l))
	for k, q := range l {
		out[string(k)] = q.String()
	}
	return out
}

func envFrom(s *corev1.EnvVarSource) string {
	switch {
	case s == nil:
		return ""
	case s.SecretKeyRef != nil:
		return "secret " + s.SecretKeyRef.Name + "/" + s.SecretKeyRef.Key
	case s.ConfigMapKeyRef != nil:
		return "configmap " + s.ConfigMapKeyRef.Name + "/" + s.ConfigMapKeyRef.Key
	case s.FieldRef != nil:
		return "field " + s.FieldRef.FieldPath
	case s.ResourceFieldRef != nil:
		return "resource " + strings.TrimPrefix(s.ResourceFieldRef.ContainerName+"/", "/") + s.ResourceFieldRef.Resource
	}
	return "other"
}

func probeOf(p *corev1.Probe) *workload.Probe {
	if p == nil {
		return nil
	}
	sec := func(n int32) time.Duration { return time.Duration(n) * time.Second }
	out := &workload.Probe{Delay: sec(p.InitialDelaySeconds), Period: sec(p.PeriodSeconds), Timeout: sec(p.TimeoutSeconds),
		Failure: p.FailureThreshold, Success: p.SuccessThreshold}
	switch h := p.ProbeHandler; {
	case h.HTTPGet != nil:
		scheme := ""
		if h.HTTPGet.Scheme == corev1.URISchemeHTTPS {
			scheme = "https "
		}
		out.Kind, out.Target = "http", scheme+"GET "+h.HTTPGet.Host+":"+h.HTTPGet.Port.String()+h.HTTPGet.Path
	case h.TCPSocket != nil:
		out.Kind, out.Target = "tcp", h.TCPSocket.Host+":"+h.TCPSocket.Port.String()
	case h.GRPC != nil:
		out.Kind, out.Target = "grpc", ":"+strconv.Itoa(int(h.GRPC.Port))
		if h.GRPC.Service != nil && *h.GRPC.Service != "" {
			out.Target += " " + *h.GRPC.Service
		}
	case h.Exec != nil:
		out.Kind, out.Target = "exec", "exec"
	}
	return out
}

func describeVolumes(vs []corev1.Volume) []workload.Volume {
	var out []workload.Volume
	for _, v := range vs {
		w := workload.Volume{Name: v.Name, Kind: "Other"}
		switch s := v.VolumeSource; {
		case s.Secret != nil:
			w.Kind, w.Source = "Secret", s.Secret.SecretName
		case s.ConfigMap != nil:
			w.Kind, w.Source = "ConfigMap", s.ConfigMap.Name
		case s.PersistentVolumeClaim != nil:
			w.Kind, w.Source = "PersistentVolumeClaim", s.PersistentVolumeClaim.ClaimName
		case s.EmptyDir != nil:
			w.Kind = "EmptyDir"
			if s.EmptyDir.Medium != "" {
				w.Source = string(s.EmptyDir.Medium)
			}
		case s.HostPath != nil:
			w.Kind, w.Source = "HostPath", s.HostPath.Path
		case s.Projected != nil:
			w.Kind = "Projected"
			var names []string
			for _, p := range s.Projected.Sources {
				switch {
				case p.Secret != nil:
					names = append(names, "secret "+p.Secret.Name)
				case p.ConfigMap != nil:
					names = append(names, "configmap "+p.ConfigMap.Name)
				case p.ServiceAccountToken != nil:
					names = append(names, "service account token")
				case p.DownwardAPI != nil:
					names = append(names, "downward API")
				}
			}
			w.Source = strings.Join(names, ", ")
		case s.DownwardAPI != nil:
			w.Kind = "DownwardAPI"
		case s.Ephemeral != nil:
			w.Kind = "Ephemeral"
		case s.CSI != nil:
			w.Kind, w.Source = "CSI", s.CSI.Driver
		case s.NFS != nil:
			w.Kind, w.Source = "NFS", s.NFS.Server+":"+s.NFS.Path
		}
		out = append(out, w)
	}
	return out
}

// describeClaims reads the claims the volumes name and those a
// StatefulSet's templates made for its pods (template-name-ordinal), one
// per desired or existing pod.
func describeClaims(ctx context.Context, cl *cluster, ref release.Ref, vols []corev1.Volume, templates []corev1.PersistentVolumeClaim, pods []corev1.Pod) ([]workload.Claim, error) {
	type want struct{ name, template string }
	var wants []want
	for _, v := range vols {
		if v.PersistentVolumeClaim != nil {
			wants = append(wants, want{name: v.PersistentVolumeClaim.ClaimName})
		}
	}
	if len(templates) > 0 {
		var names []string
		for _, p := range pods {
			if o := metav1.GetControllerOfNoCopy(&p); o != nil && o.Kind == "StatefulSet" && o.Name == ref.Name {
				names = append(names, p.Name)
			}
		}
		slices.Sort(names)
		for _, t := range templates {
			for _, p := range names {
				wants = append(wants, want{name: t.Name + "-" + p, template: t.Name})
			}
		}
	}
	if len(wants) == 0 {
		return nil, nil
	}
	list, err := cl.cs.CoreV1().PersistentVolumeClaims(ref.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("describe %s: its claims: %w", ref, err)
	}
	have := map[string]*corev1.PersistentVolumeClaim{}
	for i := range list.Items {
		have[list.Items[i].Name] = &list.Items[i]
	}
	out := make([]workload.Claim, 0, len(wants))
	for _, w := range wants {
		c := workload.Claim{Name: w.name, Template: w.template, Phase: "Missing"}
		if p, ok := have[w.name]; ok {
			c.Phase, c.Volume = string(p.Status.Phase), p.Spec.VolumeName
			if q, ok := p.Status.Capacity[corev1.ResourceStorage]; ok {
				c.Capacity = q.String()
			}
			if q, ok := p.Spec.Resources.Requests[corev1.ResourceStorage]; ok {
				c.Requested = q.String()
			}
			if p.Spec.StorageClassName != nil {
				c.StorageClass = *p.Spec.StorageClassName
			}
			for _, m := range p.Spec.AccessModes {
				c.AccessModes = append(c.AccessModes, string(m))
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// redactedYAML is obj (a Deployment or StatefulSet read for this call) as
// YAML without managedFields, kubectl's last-applied copy, or the value of
// any environment variable.
func redactedYAML(obj any) (string, error) {
	var meta *metav1.ObjectMeta
	var spec *corev1.PodSpec
	switch o := obj.(type) {
	case *appsv1.Deployment:
		meta, spec = &o.ObjectMeta, &o.Spec.Template.Spec
	case *appsv1.StatefulSet:
		meta, spec = &o.ObjectMeta, &o.Spec.Template.Spec
	default:
		return "", fmt.Errorf("no YAML for a %T", obj)
	}
	meta.ManagedFields = nil
	if _, ok := meta.Annotations[lastApplied]; ok {
		meta.Annotations = maps.Clone(meta.Annotations)
		delete(meta.Annotations, lastApplied)
	}
	for _, cs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for i := range cs {
			for j := range cs[i].Env {
				if cs[i].Env[j].ValueFrom == nil {
					cs[i].Env[j].Value = HiddenValue
				}
			}
		}
	}
	b, err := yaml.Marshal(obj)
	return string(b), err
}

// workloadMatcher says whether an event is about ref, one of its
// ReplicaSets or revisions, or one of its pods (of any ReplicaSet the cache
// holds, or a StatefulSet's ordinal pods and their claims), from the
// space's caches.
func (sp *space) workloadMatcher(ref release.Ref) func(kind, name string) bool {
	owned := map[string]bool{}
	var prefixes []string
	switch ref.Kind {
	case release.Deployment:
		rss, _ := sp.rs.GetIndexer().ByIndex(ownerIndex, "Deployment/"+ref.Name)
		for _, o := range rss {
			rs := o.(*appsv1.ReplicaSet)
			owned["ReplicaSet/"+rs.Name] = true
			prefixes = append(prefixes, rs.Name+"-")
		}
	case release.StatefulSet:
		crs, _ := sp.cr.GetIndexer().ByIndex(ownerIndex, "StatefulSet/"+ref.Name)
		for _, o := range crs {
			owned["ControllerRevision/"+o.(*appsv1.ControllerRevision).Name] = true
		}
	}
	self := string(ref.Kind) + "/" + ref.Name
	return func(kind, name string) bool {
		if owned[kind+"/"+name] || kind+"/"+name == self {
			return true
		}
		if kind == "PersistentVolumeClaim" && ref.Kind == release.StatefulSet {
			// A claim made from a template for a pod: TEMPLATE-NAME-ORDINAL.
			i := strings.LastIndex(name, "-"+ref.Name+"-")
			return i > 0 && ordinalOf(name[i+1:], ref.Name)
		}
		if kind != "Pod" {
			return false
		}
		if ref.Kind == release.StatefulSet {
			return ordinalOf(name, ref.Name)
		}
		for _, p := range prefixes {
			// A ReplicaSet's pods are its name, a dash and five characters.
			if rest, ok := strings.CutPrefix(name, p); ok && len(rest) == 5 && !strings.Contains(rest, "-") {
				return true
			}
		}
		return false
	}
}

// ordinalOf reports whether pod is one of the StatefulSet's: its name, a
// dash and an ordinal.
func ordinalOf(pod, sts string) bool {
	rest, ok := strings.CutPrefix(pod, sts+"-")
	if !ok || rest == "" {
		return false
	}
	_, err := strconv.ParseUint(rest, 10, 32)
	return err == nil
}

// WatchEvents implements workload.EventWatcher on the namespace's shared
// event cache (the one the rollout detail reads): a handler of its own,
// removed when ctx ends, wakes a goroutine that sends the workload's
// events, coalescing bursts.
func (c *Client) WatchEvents(ctx context.Context, ref release.Ref, fn func([]release.Event)) error {
	sp, ok := c.watched(ref.Target)
	if !ok {
		return fmt.Errorf("%s is not watched: start the release service first", ref)
	}
	wake := make(chan struct{}, 1)
	poke := func(any) {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	h := cache.ResourceEventHandlerFuncs{AddFunc: poke, UpdateFunc: func(_, o any) { poke(o) }, DeleteFunc: poke}
	var regs []func()
	// A new ReplicaSet or revision brings its pods' events in.
	for _, inf := range []cache.SharedIndexInformer{sp.events, sp.rs, sp.cr} {
		reg, err := inf.AddEventHandler(h)
		if err != nil {
			for _, r := range regs {
				r()
			}
			return err
		}
		regs = append(regs, func() { _ = inf.RemoveEventHandler(reg) })
	}
	poke(nil)
	go func() {
		defer func() {
			for _, r := range regs {
				r()
			}
		}()
		if !cache.WaitForCacheSync(ctx.Done(), sp.events.HasSynced, sp.rs.HasSynced, sp.cr.HasSynced) {
			return
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-wake:
			}
			fn(sp.workloadEvents(ref))
		}
	}()
	return nil
}

// workloadEvents lists every event of ref the cache holds, in
// workload.Sort's order.
func (sp *space) workloadEvents(ref release.Ref) []release.Event {
	match := sp.workloadMatcher(ref)
	out := []release.Event{}
	for _, o := range sp.events.GetStore().List() {
		ev := o.(*corev1.Event)
		if match(ev.InvolvedObject.Kind, ev.InvolvedObject.Name) {
			out = append(out, eventOf(ev))
		}
	}
	workload.Sort(out)
	return out
}

// eventOf is an event as the details show it: its last time is the newest
// it carries, its source the component or controller that reported it.
func eventOf(ev *corev1.Event) release.Event {
	last := ev.LastTimestamp.Time
	if last.IsZero() {
		last = ev.EventTime.Time
	}
	if last.IsZero() {
		last = ev.CreationTimestamp.Time
	}
	if ev.Series != nil && ev.Series.LastObservedTime.After(last) {
		last = ev.Series.LastObservedTime.Time
	}
	first := ev.FirstTimestamp.Time
	if first.IsZero() {
		first = ev.EventTime.Time
	}
	count := ev.Count
	if ev.Series != nil && ev.Series.Count > count {
		count = ev.Series.Count
	}
	if count == 0 {
		count = 1
	}
	src := ev.Source.Component
	if src == "" {
		src = ev.ReportingController
	}
	host := ev.Source.Host
	if host == "" {
		host = ev.ReportingInstance
	}
	if host != "" && host != src {
		src = strings.TrimPrefix(src+", "+host, ", ")
	}
	return release.Event{Type: ev.Type, Reason: ev.Reason, Object: ev.InvolvedObject.Kind + "/" + ev.InvolvedObject.Name,
		Message: ev.Message, Count: count, Last: last, First: first, Source: src}
}
