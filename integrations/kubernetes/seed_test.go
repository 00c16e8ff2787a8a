package kubernetes

import (
	"errors"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestNamedListsTheNamesOfAnyList(t *testing.T) {
	svcs := &corev1.ServiceList{Items: []corev1.Service{{ObjectMeta: metav1.ObjectMeta{Name: "api"}}, {ObjectMeta: metav1.ObjectMeta{Name: "web"}}}}
	got, err := named(svcs, nil)
	if err != nil || len(got) != 2 || got[0].Name != "api" || got[1].Name != "web" || got[0].Kind != "" {
		t.Fatalf("named(Services) = %+v, %v; want api and web", got, err)
	}
	if got, err := named(&appsv1.DeploymentList{}, nil); err != nil || len(got) != 0 {
		t.Fatalf("named(no Deployments) = %+v, %v; want none", got, err)
	}
	refused := errors.New("forbidden")
	if got, err := named(&corev1.ConfigMapList{}, refused); !errors.Is(err, refused) || got != nil {
		t.Fatalf("named after an error = %+v, %v; want the error", got, err)
	}
}
