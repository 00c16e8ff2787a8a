package kubernetes_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/vigilops/vigil/integrations/kubernetes"
	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ops/workload"
)

// waitFor polls cond every 100ms until it holds or d passes.
func pollUntil(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, got := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; last: %s", what, d, got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestDescribeTheShop describes the lab's shop as it runs: prod/api's
// owner chain down to its three pods, prod/db's revision and pods, and
// their YAML without managedFields.
func TestDescribeTheShop(t *testing.T) {
	kubeconfig := lab(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var envs []release.Env
	for _, e := range []string{"dev", "test", "preprod", "prod"} {
		envs = append(envs, release.Env{Name: e, Namespace: e, Protected: e == "prod"})
	}
	client := kubernetes.New(ctx, kubeconfig)
	svc := release.New(envs, client, nil, release.Options{Selector: "app.kubernetes.io/part-of=shop"})
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	wl := workload.New(svc, client)

	api, err := wl.Describe(ctx, "api", "prod")
	if err != nil {
		t.Fatal(err)
	}
	if api.Selector != "app.kubernetes.io/name=api" || !strings.HasPrefix(api.Strategy, "RollingUpdate (max surge ") {
		t.Errorf("prod/api selector %q strategy %q", api.Selector, api.Strategy)
	}
	if len(api.Containers) != 1 || !strings.HasPrefix(api.Containers[0].Image, "registry.lab.local/shop/api:") || !slices.Contains(api.Containers[0].Ports, "http 8080/TCP") {
		t.Errorf("prod/api containers %+v", api.Containers)
	}
	if len(api.Owned) == 0 || !api.Owned[0].Current || api.Owned[0].Kind != "ReplicaSet" || int32(len(api.Owned[0].Pods)) != api.Replicas.Current {
		t.Errorf("prod/api owner chain %+v, replicas %+v", api.Owned, api.Replicas)
	}
	for _, p := range api.Owned[0].Pods {
		if !strings.HasPrefix(p, api.Owned[0].Name+"-") {
			t.Errorf("pod %s under ReplicaSet %s", p, api.Owned[0].Name)
		}
	}
	if !strings.Contains(api.YAML, "kind: Deployment") || strings.Contains(api.YAML, "managedFields") || !strings.Contains(api.YAML, "name: api") {
		t.Errorf("prod/api YAML:\n%s", api.YAML)
	}
	if !slices.ContainsFunc(api.Conditions, func(c release.Condition) bool { return c.Type == "Available" }) {
		t.Errorf("prod/api conditions %+v", api.Conditions)
	}

	db, err := wl.Describe(ctx, "db", "prod")
	if err != nil {
		t.Fatal(err)
	}
	if db.Ref.Kind != release.StatefulSet || len(db.Owned) == 0 || db.Owned[0].Kind != "ControllerRevision" || !db.Owned[0].Current {
		t.Fatalf("prod/db owner chain %+v", db.Owned)
	}
	var pods []string
	for _, o := range db.Owned {
		pods = append(pods, o.Pods...)
	}
	slices.Sort(pods)
	if want := []string{"db-0", "db-1", "db-2"}; !slices.Equal(pods, want) {
		t.Errorf("prod/db pods %v, want %v", pods, want)
	}
	if !strings.Contains(db.YAML, "kind: StatefulSet") || strings.Contains(db.YAML, "managedFields") {
		t.Errorf("prod/db YAML:\n%s", db.YAML)
	}
}

// TestDescribeNeverShowsSecretValues describes a workload that reads a
// Secret every way a pod can (a key as a variable, the whole Secret, a
// volume) and carries a literal password (also in kubectl's
// last-applied copy): neither value appears in the description, its JSON
// or its YAML; the variables are named with their sources.
func TestDescribeNeverShowsSecretValues(t *testing.T) {
	f := newFixture(t, lab(t), "dev")
	ns := f.env("dev").Namespace
	secretValue := fmt.Sprintf("s3cr3t-%d", time.Now().UnixNano())
	literal := fmt.Sprintf("literal-pw-%d", time.Now().UnixNano())
	if _, err := f.cs.CoreV1().Secrets(ns).Create(f.ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db-creds"},
		StringData: map[string]string{"password": secretValue}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.cs.CoreV1().ConfigMaps(ns).Create(f.ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "app-config"},
		Data: map[string]string{"mode": "fast"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app.kubernetes.io/name": "shopapi", "app.kubernetes.io/part-of": partOf}
	two := int32(2)
	c := corev1.Container{
		Name: "shopapi", Image: "registry.lab.local/test/shopapi:1.0.0",
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
		Env: []corev1.EnvVar{
			{Name: "LITERAL_TOKEN", Value: literal},
			{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "db-creds"}, Key: "password"}}},
			{Name: "MODE", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "app-config"}, Key: "mode"}}},
			{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		},
		EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "db-creds"}}, Prefix: "DB_"}},
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")},
		},
		ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}}, PeriodSeconds: 5},
		LivenessProbe:  &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("http")}}, InitialDelaySeconds: 10},
		VolumeMounts:   []corev1.VolumeMount{{Name: "creds", MountPath: "/etc/creds", ReadOnly: true}, {Name: "scratch", MountPath: "/tmp"}},
	}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "shopapi", Labels: labels, Annotations: map[string]string{
			"kubectl.kubernetes.io/last-applied-configuration": `{"spec":{"template":{"spec":{"containers":[{"env":[{"name":"LITERAL_TOKEN","value":"` + literal + `"}]}]}}}}`}},
		Spec: appsv1.DeploymentSpec{
			Replicas: &two,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": "shopapi"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{c}, Volumes: []corev1.Volume{
					{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "db-creds"}}},
					{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "app-config"}}}},
					{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				}},
			},
		},
	}
	if _, err := f.cs.AppsV1().Deployments(ns).Create(f.ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A StatefulSet with a claim template: the claim waits for a volume
	// the lab has no provisioner for.
	dbLabels := map[string]string{"app.kubernetes.io/name": "shopdb", "app.kubernetes.io/part-of": partOf}
	one := int32(1)
	if _, err := f.cs.AppsV1().StatefulSets(ns).Create(f.ctx, &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "shopdb", Labels: dbLabels},
		Spec: appsv1.StatefulSetSpec{Replicas: &one, ServiceName: "shopdb",
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": "shopdb"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: dbLabels}, Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "db", Image: "registry.lab.local/test/db:15", VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/var/lib/db"}}}},
			}},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}, Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			}}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.start()
	wl := workload.New(f.svc, f.client)

	var desc workload.Description
	pollUntil(t, time.Minute, "shopapi described with its 2 pods", func() (bool, string) {
		var err error
		desc, err = wl.Describe(f.ctx, "shopapi", "dev")
		if err != nil {
			return false, err.Error()
		}
		return len(desc.Owned) == 1 && len(desc.Owned[0].Pods) == 2, fmt.Sprintf("%+v", desc.Owned)
	})
	js, _ := json.Marshal(desc)
	for _, leak := range []string{secretValue, literal, base64.StdEncoding.EncodeToString([]byte(secretValue))} {
		if strings.Contains(string(js), leak) || strings.Contains(desc.YAML, leak) {
			t.Fatalf("the description shows %q:\n%s\n%s", leak, js, desc.YAML)
		}
	}
	if strings.Contains(desc.YAML, "managedFields") || strings.Contains(desc.YAML, "last-applied-configuration") || !strings.Contains(desc.YAML, "DB_PASSWORD") || !strings.Contains(desc.YAML, kubernetes.HiddenValue) {
		t.Errorf("YAML:\n%s", desc.YAML)
	}
	got := desc.Containers[0]
	wantEnv := []workload.EnvVar{{Name: "LITERAL_TOKEN"}, {Name: "DB_PASSWORD", From: "secret db-creds/password"}, {Name: "MODE", From: "configmap app-config/mode"}, {Name: "POD_NAME", From: "field metadata.name"}}
	if !slices.Equal(got.Env, wantEnv) || !slices.Equal(got.EnvFrom, []workload.EnvSource{{Kind: "Secret", Name: "db-creds", Prefix: "DB_"}}) {
		t.Errorf("env %+v from %+v", got.Env, got.EnvFrom)
	}
	if got.Requests["cpu"] != "100m" || got.Requests["memory"] != "64Mi" || got.Limits["memory"] != "128Mi" {
		t.Errorf("resources %v %v", got.Requests, got.Limits)
	}
	if got.Readiness == nil || got.Readiness.Kind != "http" || got.Readiness.Target != "GET :8080/healthz" || got.Readiness.Period != 5*time.Second ||
		got.Liveness == nil || got.Liveness.Kind != "tcp" || got.Liveness.Target != ":http" || got.Liveness.Delay != 10*time.Second {
		t.Errorf("probes %+v %+v", got.Readiness, got.Liveness)
	}
	wantVols := []workload.Volume{{Name: "creds", Kind: "Secret", Source: "db-creds"}, {Name: "config", Kind: "ConfigMap", Source: "app-config"}, {Name: "scratch", Kind: "EmptyDir"}}
	if !slices.Equal(desc.Volumes, wantVols) || len(got.Mounts) != 2 || got.Mounts[0] != (workload.Mount{Volume: "creds", Path: "/etc/creds", ReadOnly: true}) {
		t.Errorf("volumes %+v mounts %+v", desc.Volumes, got.Mounts)
	}
	if desc.Selector != "app.kubernetes.io/name=shopapi" || desc.Strategy != "RollingUpdate (max surge 25%, max unavailable 25%)" || desc.Replicas.Desired != 2 {
		t.Errorf("selector %q strategy %q replicas %+v", desc.Selector, desc.Strategy, desc.Replicas)
	}

	var db workload.Description
	pollUntil(t, time.Minute, "shopdb's claim", func() (bool, string) {
		var err error
		db, err = wl.Describe(f.ctx, "shopdb", "dev")
		if err != nil {
			return false, err.Error()
		}
		return len(db.Claims) == 1 && db.Claims[0].Phase != "Missing", fmt.Sprintf("%+v", db.Claims)
	})
	if cl := db.Claims[0]; cl.Name != "data-shopdb-0" || cl.Template != "data" || cl.Requested != "1Gi" || !slices.Equal(cl.AccessModes, []string{"ReadWriteOnce"}) {
		t.Errorf("claim %+v", cl)
	}
	if len(db.Owned) != 1 || !slices.Equal(db.Owned[0].Pods, []string{"shopdb-0"}) || !strings.Contains(db.YAML, "volumeClaimTemplates") {
		t.Errorf("shopdb owned %+v", db.Owned)
	}
}

// TestWorkloadEventsLive follows the events of one workload: the
// controllers' own, then a warning about one of its pods, first in the
// list as soon as it is posted; a canary's pods (whose labels match the
// workload's selector), another workload and a Service of the same name
// stay out, of the events and of the pods. The watch ends with its ctx.
func TestWorkloadEventsLive(t *testing.T) {
	f := newFixture(t, lab(t), "dev")
	ns := f.env("dev").Namespace
	f.deploy("dev", "evapp", "1.0.0", 2)
	f.deploy("dev", "other", "1.0.0", 1)
	canary := map[string]string{"app.kubernetes.io/name": "evapp", "track": "canary"}
	one := int32(1)
	if _, err := f.cs.AppsV1().Deployments(ns).Create(f.ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "evapp-canary"},
		Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: canary},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: canary},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "evapp", Image: "registry.lab.local/test/evapp:1.1.0"}}}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.start()
	f.waitHealthy("dev", "evapp", "1.0.0")
	f.waitHealthy("dev", "other", "1.0.0")
	wl := workload.New(f.svc, f.client)

	// The pods of evapp only, not the canary's.
	pctx, pcancel := context.WithCancel(f.ctx)
	defer pcancel()
	pods, err := wl.WatchPods(pctx, "evapp", "dev")
	if err != nil {
		t.Fatal(err)
	}
	var evappPods []release.Pod
	pollUntil(t, 30*time.Second, "evapp's two pods", func() (bool, string) {
		for {
			select {
			case evappPods = <-pods:
				continue
			default:
			}
			break
		}
		return len(evappPods) == 2, fmt.Sprintf("%+v", evappPods)
	})
	for _, p := range evappPods {
		if strings.HasPrefix(p.Name, "evapp-canary") {
			t.Errorf("the canary's pod %s among evapp's", p.Name)
		}
	}
	pcancel()

	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	ch, err := wl.WatchEvents(ctx, "evapp", "dev")
	if err != nil {
		t.Fatal(err)
	}
	var last []release.Event
	next := func(what string, cond func([]release.Event) bool) {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for {
			select {
			case evs, ok := <-ch:
				if !ok {
					t.Fatalf("%s: the channel closed", what)
				}
				last = evs
				if cond(evs) {
					return
				}
			case <-timeout:
				t.Fatalf("%s: not seen; last: %+v", what, last)
			}
		}
	}
	has := func(evs []release.Event, object, reason string) bool {
		return slices.ContainsFunc(evs, func(e release.Event) bool {
			return strings.HasPrefix(e.Object, object) && e.Reason == reason
		})
	}
	next("the controllers' events", func(evs []release.Event) bool {
		return has(evs, "Deployment/evapp", "ScalingReplicaSet") && has(evs, "ReplicaSet/evapp-", "SuccessfulCreate")
	})
	for _, e := range last {
		if strings.HasPrefix(e.Object, "Deployment/evapp-canary") || strings.HasPrefix(e.Object, "ReplicaSet/evapp-canary") ||
			strings.HasPrefix(e.Object, "Pod/evapp-canary") || strings.Contains(e.Object, "other") {
			t.Errorf("an event of another workload: %+v", e)
		}
		if e.Object == "Deployment/evapp" && e.Source != "deployment-controller" {
			t.Errorf("source of %+v", e)
		}
	}

	details, err := f.svc.WatchRollout(ctx, "evapp", "dev")
	if err != nil {
		t.Fatal(err)
	}
	// Let the detail settle: nothing about the workload changes after.
	for quiet := false; !quiet; {
		select {
		case <-details:
		case <-time.After(1500 * time.Millisecond):
			quiet = true
		}
	}

	now := time.Now()
	post := func(kind, name, typ, reason string) {
		t.Helper()
		ev := &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{GenerateName: "vigil-test-", Namespace: ns},
			InvolvedObject: corev1.ObjectReference{Kind: kind, Name: name, Namespace: ns, APIVersion: "v1"},
			Type:           typ, Reason: reason, Message: reason + " from the test",
			Source: corev1.EventSource{Component: "vigil-lab-test", Host: "node-t"},
			Count:  3, FirstTimestamp: metav1.NewTime(now.Add(-time.Minute)), LastTimestamp: metav1.NewTime(now),
		}
		if _, err := f.cs.CoreV1().Events(ns).Create(f.ctx, ev, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	post("Service", "evapp", corev1.EventTypeWarning, "ServiceTrouble")
	post("Pod", "other-abc12-xyz12", corev1.EventTypeWarning, "OtherTrouble")
	post("Pod", evappPods[0].Name, corev1.EventTypeWarning, "BackOff")
	next("the pod's warning, first", func(evs []release.Event) bool { return len(evs) > 0 && evs[0].Reason == "BackOff" })
	w := last[0]
	if w.Object != "Pod/"+evappPods[0].Name || w.Count != 3 || w.Source != "vigil-lab-test, node-t" || !w.First.Before(w.Last) {
		t.Errorf("warning %+v", w)
	}
	for i, e := range last {
		if e.Reason == "ServiceTrouble" || e.Reason == "OtherTrouble" {
			t.Errorf("event %d is not evapp's: %+v", i, e)
		}
		if i > 1 && e.Type == last[i-1].Type && e.Last.After(last[i-1].Last) {
			t.Errorf("events %d and %d not newest first: %v after %v", i-1, i, last[i-1].Last, e.Last)
		}
	}

	// The rollout detail's events are live too: the warning wakes it.
	timeout := time.After(30 * time.Second)
	for seen := false; !seen; {
		select {
		case d := <-details:
			seen = slices.ContainsFunc(d.Events, func(e release.Event) bool { return e.Reason == "BackOff" })
		case <-timeout:
			t.Fatal("the rollout detail did not show the new warning")
		}
	}

	cancel()
	timeout = time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if ok {
				continue
			}
			return
		case <-timeout:
			t.Fatal("the events channel stayed open after its ctx ended")
		}
	}
}

// TestDescribeOwnerChainAfterARollout: once a release has rolled out, the
// owner chain is the new ReplicaSet with every pod; the old one, scaled to
// nothing, is left out as kubectl describe leaves it.
func TestDescribeOwnerChainAfterARollout(t *testing.T) {
	f := newFixture(t, lab(t), "dev")
	f.deploy("dev", "rollme", "1.0.0", 2)
	f.start()
	f.waitHealthy("dev", "rollme", "1.0.0")
	f.release("dev", "rollme", "1.1.0")
	f.waitHealthy("dev", "rollme", "1.1.0")
	wl := workload.New(f.svc, f.client)
	var d workload.Description
	pollUntil(t, time.Minute, "the old ReplicaSet emptied", func() (bool, string) {
		var err error
		d, err = wl.Describe(f.ctx, "rollme", "dev")
		if err != nil {
			return false, err.Error()
		}
		return len(d.Owned) == 1 && len(d.Owned[0].Pods) == 2, fmt.Sprintf("%+v", d.Owned)
	})
	if o := d.Owned[0]; !o.Current || o.Revision != 2 || o.Desired != 2 || o.Ready != 2 {
		t.Fatalf("owner chain %+v", d.Owned)
	}
	if c := d.Containers[len(d.Containers)-1]; c.Image != fmt.Sprintf(image, "rollme", "1.1.0") || !d.Containers[0].Init {
		t.Fatalf("containers %+v", d.Containers)
	}
}
