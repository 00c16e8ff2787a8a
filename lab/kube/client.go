package kube

import (
	"context"
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// FieldManager owns what the lab applies.
const FieldManager = "vigil-lab"

// Client connects to the cluster of kubeconfig, asking for protobuf and
// allowing the request rate the load mode needs.
func Client(kubeconfig string) (kubernetes.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("reading kubeconfig %s: %w", kubeconfig, err)
	}
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	cfg.QPS, cfg.Burst = 500, 1000
	return kubernetes.NewForConfig(cfg)
}

// Dynamic is a dynamic client of the cluster of kubeconfig, for kwok's
// own kinds.
func Dynamic(kubeconfig string) (dynamic.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("reading kubeconfig %s: %w", kubeconfig, err)
	}
	return dynamic.NewForConfig(cfg)
}

// Ready asks the API server's /readyz.
func Ready(ctx context.Context, cs kubernetes.Interface) error {
	body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil {
		return fmt.Errorf("kube-apiserver not ready: %w", err)
	}
	if string(body) != "ok" {
		return fmt.Errorf("kube-apiserver not ready: %s", body)
	}
	return nil
}

var force = true

// apply server-side applies obj (whose TypeMeta is set) as the lab.
func apply(ctx context.Context, cs kubernetes.Interface, obj any) error {
	data, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	opts := metav1.PatchOptions{FieldManager: FieldManager, Force: &force}
	switch o := obj.(type) {
	case *corev1.Namespace:
		_, err = cs.CoreV1().Namespaces().Patch(ctx, o.Name, types.ApplyPatchType, data, opts)
	case *appsv1.Deployment:
		_, err = cs.AppsV1().Deployments(o.Namespace).Patch(ctx, o.Name, types.ApplyPatchType, data, opts)
	case *appsv1.StatefulSet:
		_, err = cs.AppsV1().StatefulSets(o.Namespace).Patch(ctx, o.Name, types.ApplyPatchType, data, opts)
	default:
		return fmt.Errorf("apply: unsupported %T", obj)
	}
	return err
}
