package kubernetes

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestRedactedYAML(t *testing.T) {
	d := &appsv1.Deployment{
		TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "api", Annotations: map[string]string{lastApplied: `{"env":"hunter2"}`, "team": "shop"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "migrate", Env: []corev1.EnvVar{{Name: "DSN", Value: "postgres://u:hunter2@db"}}}},
			Containers: []corev1.Container{{Name: "api", Env: []corev1.EnvVar{
				{Name: "TOKEN", Value: "hunter2"},
				{Name: "PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "pw"}}},
			}}},
		}}},
	}
	y, err := redactedYAML(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{"hunter2", "managedFields", "last-applied"} {
		if strings.Contains(y, gone) {
			t.Errorf("YAML holds %q:\n%s", gone, y)
		}
	}
	for _, kept := range []string{"kind: Deployment", "team: shop", "name: TOKEN", "name: DSN", "value: " + HiddenValue, "name: creds", "key: pw"} {
		if !strings.Contains(y, kept) {
			t.Errorf("YAML lacks %q:\n%s", kept, y)
		}
	}
}

func TestProbeOf(t *testing.T) {
	svc := "health"
	for _, c := range []struct {
		p    corev1.ProbeHandler
		kind string
		tgt  string
	}{
		{corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromString("http"), Scheme: corev1.URISchemeHTTPS}}, "http", "https GET :http/ready"},
		{corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(5432)}}, "tcp", ":5432"},
		{corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9000, Service: &svc}}, "grpc", ":9000 health"},
		{corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"sh", "-c", "PGPASSWORD=hunter2 psql"}}}, "exec", "exec"},
	} {
		got := probeOf(&corev1.Probe{ProbeHandler: c.p, PeriodSeconds: 10, TimeoutSeconds: 1, FailureThreshold: 3, SuccessThreshold: 1})
		if got.Kind != c.kind || got.Target != c.tgt || got.Period != 10*time.Second || got.Failure != 3 {
			t.Errorf("%+v, want %s %s", got, c.kind, c.tgt)
		}
	}
	if probeOf(nil) != nil {
		t.Error("no probe described as one")
	}
}

func TestEnvFromNamesTheSource(t *testing.T) {
	for _, c := range []struct {
		s    *corev1.EnvVarSource
		want string
	}{
		{nil, ""},
		{&corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "mode"}}, "configmap cfg/mode"},
		{&corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory"}}, "resource limits.memory"},
		{&corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "api", Resource: "limits.cpu"}}, "resource api/limits.cpu"},
	} {
		if got := envFrom(c.s); got != c.want {
			t.Errorf("%q, want %q", got, c.want)
		}
	}
}
