package kubernetes

import (
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/vigilops/vigil/ops/release"
)

// A StatefulSet's PersistentVolumeClaims are those its controller makes
// from its volumeClaimTemplates, one per pod: TEMPLATE-STATEFULSET-ORDINAL.
// The namespace's claims are watched by one informer of the namespace (no
// cluster-wide watch), trimmed to what the Environments pane shows.

// slimClaimTemplates keeps a template's name, requested size and class.
func slimClaimTemplates(ts []corev1.PersistentVolumeClaim) []corev1.PersistentVolumeClaim {
	if len(ts) == 0 {
		return nil
	}
	out := make([]corev1.PersistentVolumeClaim, len(ts))
	for i, t := range ts {
		out[i] = corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: t.Name}, Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: t.Spec.StorageClassName, Resources: corev1.VolumeResourceRequirements{Requests: t.Spec.Resources.Requests},
		}}
	}
	return out
}

func trimClaim(o *corev1.PersistentVolumeClaim) {
	*o = corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace, ResourceVersion: o.ResourceVersion, CreationTimestamp: o.CreationTimestamp},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: o.Spec.StorageClassName, VolumeName: o.Spec.VolumeName,
			Resources: corev1.VolumeResourceRequirements{Requests: o.Spec.Resources.Requests},
		},
		Status: corev1.PersistentVolumeClaimStatus{Phase: o.Status.Phase, Capacity: o.Status.Capacity},
	}
}

// claimOf parses a claim's name against a StatefulSet's templates: the
// template and the pod's ordinal, or false.
func claimOf(name string, s *appsv1.StatefulSet) (template string, ordinal int, ok bool) {
	for _, t := range s.Spec.VolumeClaimTemplates {
		rest, found := strings.CutPrefix(name, t.Name+"-"+s.Name+"-")
		if !found {
			continue
		}
		if n, err := strconv.Atoi(rest); err == nil && n >= 0 {
			return t.Name, n, true
		}
	}
	return "", 0, false
}

// claims lists s's claims, by template then ordinal: those that exist, and
// for a pod that should have one and has none yet, the template's request.
func (sp *space) claims(s *appsv1.StatefulSet) []release.Claim {
	if len(s.Spec.VolumeClaimTemplates) == 0 {
		return nil
	}
	var out []release.Claim
	seen := map[string]bool{}
	if sp.pvc != nil {
		for _, o := range sp.pvc.GetStore().List() {
			pvc := o.(*corev1.PersistentVolumeClaim)
			t, n, ok := claimOf(pvc.Name, s)
			if !ok {
				continue
			}
			seen[pvc.Name] = true
			c := release.Claim{Name: pvc.Name, Template: t, Ordinal: n, Status: string(pvc.Status.Phase), Volume: pvc.Spec.VolumeName}
			if pvc.Spec.StorageClassName != nil {
				c.StorageClass = *pvc.Spec.StorageClassName
			}
			if q, ok := pvc.Status.Capacity[corev1.ResourceStorage]; ok {
				c.Size = q.String()
			} else if q, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; ok {
				c.Size = q.String()
			}
			if c.Status == "" {
				c.Status = "Pending"
			}
			out = append(out, c)
		}
	}
	for _, t := range s.Spec.VolumeClaimTemplates {
		for n := range int(replicas(s.Spec.Replicas)) {
			name := t.Name + "-" + s.Name + "-" + strconv.Itoa(n)
			if seen[name] {
				continue
			}
			c := release.Claim{Name: name, Template: t.Name, Ordinal: n, Status: release.ClaimNotCreated}
			if t.Spec.StorageClassName != nil {
				c.StorageClass = *t.Spec.StorageClassName
			}
			if q, ok := t.Spec.Resources.Requests[corev1.ResourceStorage]; ok {
				c.Size = q.String()
			}
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b release.Claim) int {
		if c := strings.Compare(a.Template, b.Template); c != 0 {
			return c
		}
		return a.Ordinal - b.Ordinal
	})
	return out
}

// claimOwner re-emits the StatefulSet a claim belongs to when the claim
// changes: its status or size shows in the workload.
func claimOwner(sts cache.SharedIndexInformer, emit func(any)) func(any) {
	return func(obj any) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		pvc, ok := obj.(*corev1.PersistentVolumeClaim)
		if !ok {
			return
		}
		for _, o := range sts.GetStore().List() {
			if s, ok := o.(*appsv1.StatefulSet); ok {
				if _, _, ok := claimOf(pvc.Name, s); ok {
					emit(s)
					return
				}
			}
		}
	}
}
