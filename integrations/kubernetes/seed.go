package kubernetes

import (
	"context"
	"fmt"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"

	"github.com/vigilops/vigil/ops/release"
)

// Objects every namespace gets from Kubernetes or vigil: never seeded.
var notSeeded = map[string]bool{"kube-root-ca.crt": true, freezeName: true, "kubernetes": true}

// named is the seed objects a List call returned, known by their names.
func named(list runtime.Object, err error) ([]release.SeedObject, error) {
	if err != nil {
		return nil, err
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil, err
	}
	out := make([]release.SeedObject, len(items))
	for i, o := range items {
		a, err := meta.Accessor(o)
		if err != nil {
			return nil, err
		}
		out[i].Name = a.GetName()
	}
	return out, nil
}

// PlanSeed implements release.Seeder.
func (c *Client) PlanSeed(ctx context.Context, from, to release.Target, selector string) (release.Seed, error) {
	src, err := c.cluster(from.Context)
	if err != nil {
		return release.Seed{}, err
	}
	dst, err := c.cluster(to.Context)
	if err != nil {
		return release.Seed{}, err
	}
	var seed release.Seed
	_, err = dst.cs.CoreV1().Namespaces().Get(ctx, to.Namespace, metav1.GetOptions{})
	switch {
	case err == nil:
		seed.NamespaceExists = true
	case !apierrors.IsNotFound(err):
		return seed, fmt.Errorf("cannot read namespace %s: %w", to.Namespace, err)
	}
	csOf := func(t release.Target) kubernetes.Interface {
		if t == to {
			return dst.cs
		}
		return src.cs
	}
	apps := metav1.ListOptions{LabelSelector: selector}
	list := func(kind string, names func(release.Target, metav1.ListOptions) ([]release.SeedObject, error), opts metav1.ListOptions) error {
		objs, err := names(from, opts)
		if err != nil {
			return fmt.Errorf("cannot list the %ss of %s: %w", kind, from.Namespace, err)
		}
		have := map[string]bool{}
		if seed.NamespaceExists {
			existing, err := names(to, metav1.ListOptions{})
			if err != nil {
				return fmt.Errorf("cannot list the %ss of %s: %w", kind, to.Namespace, err)
			}
			for _, o := range existing {
				have[o.Name] = true
			}
		}
		for _, o := range objs {
			if notSeeded[o.Name] {
				continue
			}
			o.Kind, o.Exists = kind, have[o.Name]
			seed.Objects = append(seed.Objects, o)
		}
		return nil
	}
	if err := list("Deployment", func(t release.Target, o metav1.ListOptions) ([]release.SeedObject, error) {
		return named(csOf(t).AppsV1().Deployments(t.Namespace).List(ctx, o))
	}, apps); err != nil {
		return seed, err
	}
	if err := list("StatefulSet", func(t release.Target, o metav1.ListOptions) ([]release.SeedObject, error) {
		l, err := csOf(t).AppsV1().StatefulSets(t.Namespace).List(ctx, o)
		if err != nil {
			return nil, err
		}
		out := make([]release.SeedObject, len(l.Items))
		for i, s := range l.Items {
			out[i].Name = s.Name
			for _, v := range s.Spec.VolumeClaimTemplates {
				out[i].Volumes = append(out[i].Volumes, v.Name)
			}
		}
		return out, nil
	}, apps); err != nil {
		return seed, err
	}
	if err := list("Service", func(t release.Target, o metav1.ListOptions) ([]release.SeedObject, error) {
		return named(csOf(t).CoreV1().Services(t.Namespace).List(ctx, o))
	}, metav1.ListOptions{}); err != nil {
		return seed, err
	}
	if err := list("ConfigMap", func(t release.Target, o metav1.ListOptions) ([]release.SeedObject, error) {
		return named(csOf(t).CoreV1().ConfigMaps(t.Namespace).List(ctx, o))
	}, metav1.ListOptions{}); err != nil {
		return seed, err
	}
	secrets, err := src.cs.CoreV1().Secrets(from.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return seed, fmt.Errorf("cannot list the Secrets of %s: %w", from.Namespace, err)
	}
	for _, s := range secrets.Items {
		if s.Type != corev1.SecretTypeServiceAccountToken {
			seed.Secrets = append(seed.Secrets, s.Name)
		}
	}
	slices.Sort(seed.Secrets)
	return seed, nil
}

// seedMeta is what a copy keeps of the source's metadata: no identity,
// no history, no provenance of the source environment.
func seedMeta(m metav1.ObjectMeta, ns string) metav1.ObjectMeta {
	out := metav1.ObjectMeta{Name: m.Name, Namespace: ns, Labels: m.Labels}
	for k, v := range m.Annotations {
		if notCopied[k] {
			continue
		}
		if out.Annotations == nil {
			out.Annotations = map[string]string{}
		}
		out.Annotations[k] = v
	}
	return out
}

var notCopied = map[string]bool{
	corev1.LastAppliedConfigAnnotation: true,
	revisionKey:                        true,
	release.AnnotationChangeCause:      true,
	release.AnnotationPromotedFrom:     true,
	release.AnnotationPromotedBy:       true,
	release.AnnotationPromotedAt:       true,
	release.AnnotationRolledBackFrom:   true,
	release.AnnotationImages:           true,
	release.AnnotationRevision:         true,
}

// Seed implements release.Seeder.
func (c *Client) Seed(ctx context.Context, from, to release.Target, objects []release.SeedObject) error {
	src, err := c.cluster(from.Context)
	if err != nil {
		return err
	}
	dst, err := c.cluster(to.Context)
	if err != nil {
		return err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: to.Namespace, Labels: map[string]string{"app.kubernetes.io/managed-by": "vigil"}}}
	if _, err := dst.cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{FieldManager: "vigil"}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("cannot create namespace %s: %w", to.Namespace, err)
	}
	create := metav1.CreateOptions{FieldManager: "vigil"}
	get := metav1.GetOptions{}
	for _, o := range objects {
		var err error
		switch o.Kind {
		case "Deployment":
			var d *appsv1.Deployment
			if d, err = src.cs.AppsV1().Deployments(from.Namespace).Get(ctx, o.Name, get); err == nil {
				_, err = dst.cs.AppsV1().Deployments(to.Namespace).Create(ctx, &appsv1.Deployment{ObjectMeta: seedMeta(d.ObjectMeta, to.Namespace), Spec: d.Spec}, create)
			}
		case "StatefulSet":
			var s *appsv1.StatefulSet
			if s, err = src.cs.AppsV1().StatefulSets(from.Namespace).Get(ctx, o.Name, get); err == nil {
				spec := s.Spec
				for i := range spec.VolumeClaimTemplates {
					spec.VolumeClaimTemplates[i].Status = corev1.PersistentVolumeClaimStatus{}
				}
				_, err = dst.cs.AppsV1().StatefulSets(to.Namespace).Create(ctx, &appsv1.StatefulSet{ObjectMeta: seedMeta(s.ObjectMeta, to.Namespace), Spec: spec}, create)
			}
		case "Service":
			var s *corev1.Service
			if s, err = src.cs.CoreV1().Services(from.Namespace).Get(ctx, o.Name, get); err == nil {
				spec := s.Spec
				// Addresses and node ports belong to the source; the cluster assigns new ones.
				spec.ClusterIP, spec.ClusterIPs, spec.HealthCheckNodePort = "", nil, 0
				for i := range spec.Ports {
					spec.Ports[i].NodePort = 0
				}
				_, err = dst.cs.CoreV1().Services(to.Namespace).Create(ctx, &corev1.Service{ObjectMeta: seedMeta(s.ObjectMeta, to.Namespace), Spec: spec}, create)
			}
		case "ConfigMap":
			var cm *corev1.ConfigMap
			if cm, err = src.cs.CoreV1().ConfigMaps(from.Namespace).Get(ctx, o.Name, get); err == nil {
				_, err = dst.cs.CoreV1().ConfigMaps(to.Namespace).Create(ctx, &corev1.ConfigMap{ObjectMeta: seedMeta(cm.ObjectMeta, to.Namespace), Data: cm.Data, BinaryData: cm.BinaryData}, create)
			}
		default:
			err = fmt.Errorf("vigil does not seed %ss", o.Kind)
		}
		if apierrors.IsAlreadyExists(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("cannot copy %s/%s from %s to %s: %w (what was copied before it stays; prepare again to finish)", o.Kind, o.Name, from.Namespace, to.Namespace, err)
		}
	}
	return nil
}
