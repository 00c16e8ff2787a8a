package kubernetes

import (
	"encoding/json"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/vigilops/vigil/ops/release"
)

// The transforms below run before objects reach the informer caches: they
// keep what the matrix, the rollout detail and the history show, and drop
// the rest (managedFields, pod specs but for container names and images).
// Mutations never use cached objects: they read the live object.

// keptAnnotations are the annotations the cache keeps.
var keptAnnotations = map[string]bool{
	revisionKey:                      true,
	revisionHistory:                  true, // a restored revision's former numbers
	release.AnnotationChangeCause:    true,
	release.AnnotationPromotedFrom:   true,
	release.AnnotationPromotedBy:     true,
	release.AnnotationPromotedAt:     true,
	release.AnnotationRolledBackFrom: true,
	release.AnnotationImages:         true,
	release.AnnotationRevision:       true,
	release.AnnotationHook:           true,
}

func trimMeta(m *metav1.ObjectMeta) {
	m.ManagedFields = nil
	m.Labels = nil
	m.Finalizers = nil
	var kept map[string]string
	for k, v := range m.Annotations {
		if keptAnnotations[k] {
			if kept == nil {
				kept = map[string]string{}
			}
			kept[k] = v
		}
	}
	m.Annotations = kept
}

func slimContainers(cs []corev1.Container) []corev1.Container {
	if len(cs) == 0 {
		return nil
	}
	out := make([]corev1.Container, len(cs))
	for i, c := range cs {
		out[i] = corev1.Container{Name: c.Name, Image: c.Image}
	}
	return out
}

func slimTemplate(t *corev1.PodTemplateSpec) {
	*t = corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		Containers:     slimContainers(t.Spec.Containers),
		InitContainers: slimContainers(t.Spec.InitContainers),
	}}
}

func trim(obj any) (any, error) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		trimMeta(&o.ObjectMeta)
		slimTemplate(&o.Spec.Template)
		o.Spec.Strategy = appsv1.DeploymentStrategy{}
	case *appsv1.StatefulSet:
		trimMeta(&o.ObjectMeta)
		slimTemplate(&o.Spec.Template)
		o.Spec.VolumeClaimTemplates = slimClaimTemplates(o.Spec.VolumeClaimTemplates)
		o.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{}
	case *appsv1.ReplicaSet:
		trimMeta(&o.ObjectMeta)
		slimTemplate(&o.Spec.Template)
		o.Spec.Selector = nil
	case *appsv1.ControllerRevision:
		trimMeta(&o.ObjectMeta)
		o.Data = runtime.RawExtension{Raw: slimRevisionData(o.Data.Raw)}
	case *corev1.Event:
		*o = corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace, ResourceVersion: o.ResourceVersion, CreationTimestamp: o.CreationTimestamp},
			InvolvedObject: corev1.ObjectReference{Kind: o.InvolvedObject.Kind, Name: o.InvolvedObject.Name},
			Reason:         o.Reason,
			Message:        o.Message,
			Type:           o.Type,
			Count:          o.Count,
			FirstTimestamp: o.FirstTimestamp,
			LastTimestamp:  o.LastTimestamp,
			EventTime:      o.EventTime,
			Series:         o.Series,
			// Where it came from, for the workload detail's events.
			Source:              o.Source,
			ReportingController: o.ReportingController,
			ReportingInstance:   o.ReportingInstance,
		}
	case *corev1.ConfigMap:
		o.ManagedFields = nil
	case *corev1.PersistentVolumeClaim:
		trimClaim(o)
	}
	return obj, nil
}

// revisionData is the part of a StatefulSet's ControllerRevision data
// (a patch of spec.template) the history shows.
type revisionData struct {
	Spec struct {
		Template struct {
			Spec struct {
				Containers     []nameImage `json:"containers,omitempty"`
				InitContainers []nameImage `json:"initContainers,omitempty"`
			} `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
}

type nameImage struct {
	Name  string `json:"name"`
	Image string `json:"image"`
}

func slimRevisionData(raw []byte) []byte {
	var d revisionData
	if json.Unmarshal(raw, &d) != nil {
		return nil
	}
	out, _ := json.Marshal(d)
	return out
}
