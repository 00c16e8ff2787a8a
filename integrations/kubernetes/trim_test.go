package kubernetes

import (
	"reflect"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/vigilops/vigil/ops/release"
)

func TestTrimKeepsWhatTheMatrixShows(t *testing.T) {
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{
			Name: "api", Labels: map[string]string{"a": "b"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
			Annotations: map[string]string{
				corev1.LastAppliedConfigAnnotation: "{...huge...}",
				revisionKey:                        "7",
				release.AnnotationPromotedBy:       "alice",
			},
		},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "api"}},
				Spec: corev1.PodSpec{
					InitContainers: []corev1.Container{{Name: "migrate", Image: "m:1", Command: []string{"migrate"}}},
					Containers:     []corev1.Container{{Name: "api", Image: "api:1", Env: []corev1.EnvVar{{Name: "X", Value: "y"}}}},
					Volumes:        []corev1.Volume{{Name: "v"}},
				},
			},
		},
	}
	out, err := trim(d)
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*appsv1.Deployment)
	if got.ManagedFields != nil || got.Labels != nil || len(got.Annotations) != 2 || got.Annotations[revisionKey] != "7" || got.Annotations[release.AnnotationPromotedBy] != "alice" {
		t.Errorf("metadata: %+v", got.ObjectMeta)
	}
	spec := got.Spec.Template.Spec
	if len(spec.Volumes) != 0 || !reflect.DeepEqual(spec.Containers, []corev1.Container{{Name: "api", Image: "api:1"}}) || !reflect.DeepEqual(spec.InitContainers, []corev1.Container{{Name: "migrate", Image: "m:1"}}) {
		t.Errorf("template: %+v", spec)
	}
	if got.Spec.Selector == nil {
		t.Error("the selector is needed to watch the pods of an open detail")
	}

	cr := &appsv1.ControllerRevision{Revision: 3, Data: runtime.RawExtension{Raw: []byte(
		`{"spec":{"template":{"$patch":"replace","metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"db","image":"pg:15.4","args":["-c","x"]}]}}}}`)}}
	out, _ = trim(cr)
	if cs := revisionContainers(out.(*appsv1.ControllerRevision).Data.Raw); len(cs) != 1 || cs[0] != (release.Container{Name: "db", Image: "pg:15.4"}) {
		t.Errorf("revision containers: %+v (data %s)", cs, out.(*appsv1.ControllerRevision).Data.Raw)
	}
}

func TestPodOf(t *testing.T) {
	ctrl := true
	exited := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "api-7f-x", Labels: map[string]string{appsv1.DefaultDeploymentUniqueLabelKey: "7f"},
			OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "api-7f", Controller: &ctrl}}},
		Spec: corev1.PodSpec{NodeName: "node-3", Containers: []corev1.Container{{Name: "api", Image: "api:1"}}},
		Status: corev1.PodStatus{
			Phase:      corev1.PodRunning,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}},
			ContainerStatuses: []corev1.ContainerStatus{
				{Name: "api", RestartCount: 5, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
					LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: 1, FinishedAt: metav1.NewTime(exited)}}},
				{Name: "proxy", Ready: true},
			},
		},
	}
	slim, _ := trimPod(p)
	got := podOf(slim.(*corev1.Pod))
	want := release.Pod{Name: "api-7f-x", Owner: "api-7f", Revision: "7f", Phase: "Running", Restarts: 5, Reason: "CrashLoopBackOff",
		Node: "node-3", Unready: []string{"api"}, LastExit: "Error, exit 1", LastExitAt: exited}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("podOf = %+v, want %+v", got, want)
	}
}

func TestParseFreeze(t *testing.T) {
	f := parseFreeze(&corev1.ConfigMap{Data: map[string]string{"reason": "launch", "by": "ada", "until": "2030-01-02T03:04:05Z"}})
	if f.Reason != "launch" || f.By != "ada" || f.Until.Year() != 2030 {
		t.Errorf("%+v", f)
	}
	if f := parseFreeze(&corev1.ConfigMap{Data: map[string]string{"until": "next week"}}); f.Until.Year() != 9999 {
		t.Errorf("an unreadable expiry should freeze for good, not lift the freeze: %+v", f)
	}
}
