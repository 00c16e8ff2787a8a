package kube

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Environments are the pipeline's namespaces, in promotion order.
var Environments = []string{"dev", "test", "preprod", "prod"}

// Workload is one app of a product in one environment.
type Workload struct {
	Namespace string
	Name      string
	Product   string // app.kubernetes.io/part-of
	Version   string // image tag
	Replicas  int32
	Stateful  bool // a StatefulSet rather than a Deployment
}

// Image is where the workload's (never pulled) image would come from.
func (w Workload) Image() string {
	return fmt.Sprintf("registry.lab.local/%s/%s:%s", w.Product, w.Name, w.Version)
}

// ProgressDeadline is short so that a stalled rollout is reported soon.
const ProgressDeadline = 30

// Shop is the demo product: each environment runs it at its own versions;
// prod lags behind on api and worker and runs more replicas.
func Shop() []Workload {
	type row struct {
		name     string
		stateful bool
		versions [4]string // dev, test, preprod, prod
		replicas [4]int32
	}
	rows := []row{
		{"api", false, [4]string{"2.5.0", "2.5.0", "2.5.0", "2.4.1"}, [4]int32{3, 3, 3, 3}},
		{"web", false, [4]string{"1.9.0", "1.9.0", "1.8.3", "1.8.3"}, [4]int32{2, 2, 2, 4}},
		{"worker", false, [4]string{"3.1.0", "3.0.2", "3.0.2", "3.0.2"}, [4]int32{1, 1, 1, 2}},
		{"db", true, [4]string{"15.4", "15.4", "15.4", "15.4"}, [4]int32{1, 1, 1, 3}},
	}
	var out []Workload
	for i, env := range Environments {
		for _, r := range rows {
			out = append(out, Workload{
				Namespace: env, Name: r.name, Product: "shop", Version: r.versions[i],
				Replicas: r.replicas[i], Stateful: r.stateful,
			})
		}
	}
	return out
}

// Object is the workload as a Deployment or StatefulSet.
func (w Workload) Object() any {
	labels := map[string]string{
		"app.kubernetes.io/name":    w.Name,
		"app.kubernetes.io/part-of": w.Product,
	}
	meta := metav1.ObjectMeta{Name: w.Name, Namespace: w.Namespace, Labels: labels}
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": w.Name}}
	replicas := w.Replicas
	template := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name:  w.Name,
				Image: w.Image(),
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
			}},
		},
	}
	if w.Stateful {
		return &appsv1.StatefulSet{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"},
			ObjectMeta: meta,
			Spec: appsv1.StatefulSetSpec{
				Replicas: &replicas, Selector: selector, Template: template, ServiceName: w.Name,
				PodManagementPolicy: appsv1.ParallelPodManagement,
			},
		}
	}
	deadline := int32(ProgressDeadline)
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: meta,
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas, Selector: selector, Template: template,
			ProgressDeadlineSeconds: &deadline,
		},
	}
}

// ApplyNamespaces creates the environments' namespaces.
func ApplyNamespaces(ctx context.Context, cs kubernetes.Interface) error {
	for _, env := range Environments {
		ns := &corev1.Namespace{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
			ObjectMeta: metav1.ObjectMeta{Name: env, Labels: map[string]string{"vigil.dev/environment": env}},
		}
		if err := apply(ctx, cs, ns); err != nil {
			return fmt.Errorf("namespace %s: %w", env, err)
		}
	}
	return nil
}

// Apply applies the workloads with up to parallel requests at once.
func Apply(ctx context.Context, cs kubernetes.Interface, ws []Workload, parallel int) error {
	sem := make(chan struct{}, parallel)
	errs := make(chan error, len(ws))
	for _, w := range ws {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			if err := apply(ctx, cs, w.Object()); err != nil {
				errs <- fmt.Errorf("%s/%s: %w", w.Namespace, w.Name, err)
			}
		}()
	}
	for range parallel {
		sem <- struct{}{}
	}
	close(errs)
	return <-errs // the first error, or nil
}

// WaitReady waits until every workload of product in the environments has
// all its replicas ready and updated, reporting progress to report.
func WaitReady(ctx context.Context, cs kubernetes.Interface, product string, want int, report func(ready, total int)) error {
	sel := metav1.ListOptions{LabelSelector: "app.kubernetes.io/part-of=" + product}
	for {
		ready, total := 0, 0
		for _, ns := range Environments {
			deps, err := cs.AppsV1().Deployments(ns).List(ctx, sel)
			if err != nil {
				return err
			}
			for _, d := range deps.Items {
				total++
				if d.Spec.Replicas != nil && d.Status.ObservedGeneration >= d.Generation &&
					d.Status.UpdatedReplicas == *d.Spec.Replicas && d.Status.AvailableReplicas == *d.Spec.Replicas {
					ready++
				}
			}
			sts, err := cs.AppsV1().StatefulSets(ns).List(ctx, sel)
			if err != nil {
				return err
			}
			for _, s := range sts.Items {
				total++
				if s.Spec.Replicas != nil && s.Status.ObservedGeneration >= s.Generation &&
					s.Status.ReadyReplicas == *s.Spec.Replicas && s.Status.UpdatedReplicas == *s.Spec.Replicas {
					ready++
				}
			}
		}
		if report != nil {
			report(ready, total)
		}
		if total >= want && ready == total {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d %s workloads ready: %w", ready, total, product, ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

// LoadProduct labels the load mode's apps.
const LoadProduct = "load"

// Load is the load mode's workloads: apps Deployments in every environment,
// each with replicas replicas.
func Load(apps int, replicas int32) []Workload {
	out := make([]Workload, 0, apps*len(Environments))
	for _, env := range Environments {
		for i := range apps {
			out = append(out, Workload{
				Namespace: env, Name: fmt.Sprintf("app-%04d", i), Product: LoadProduct,
				Version: "1.0.0", Replicas: replicas,
			})
		}
	}
	return out
}
