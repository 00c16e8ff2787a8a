package kubernetes_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/vigilops/vigil/ops/release"
)

func (f *fixture) cronJob(env, name string, edit func(*corev1.PodSpec, *batchv1.JobSpec)) {
	f.t.Helper()
	suspend := true
	backoff := int32(0)
	job := batchv1.JobSpec{
		BackoffLimit: &backoff,
		Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "api", Image: "registry.lab.local/test/api:0.0.0"}},
		}},
	}
	edit(&job.Template.Spec, &job)
	cj := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       batchv1.CronJobSpec{Schedule: "0 0 1 1 *", Suspend: &suspend, JobTemplate: batchv1.JobTemplateSpec{Spec: job}},
	}
	if _, err := f.cs.BatchV1().CronJobs(f.env(env).Namespace).Create(f.ctx, cj, metav1.CreateOptions{}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) annotate(env, app, key, value string) {
	f.t.Helper()
	patch := `{"metadata":{"annotations":{"` + key + `":"` + value + `"}}}`
	if _, err := f.cs.AppsV1().Deployments(f.env(env).Namespace).Patch(f.ctx, app, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		f.t.Fatal(err)
	}
}

func TestPromotionHooks(t *testing.T) {
	f := newFixture(t, lab(t), "dev", "test")
	f.deploy("dev", "api", "2.0.0", 1)
	f.deploy("test", "api", "1.0.0", 1)
	f.cronJob("test", "migrate", func(*corev1.PodSpec, *batchv1.JobSpec) {})
	// A job no node can run, with a short deadline: it fails.
	f.cronJob("test", "migrate-fails", func(p *corev1.PodSpec, j *batchv1.JobSpec) {
		p.NodeSelector = map[string]string{"vigil-test": "no-such-node"}
		deadline := int64(3)
		j.ActiveDeadlineSeconds = &deadline
	})
	f.annotate("test", "api", release.AnnotationHook, "migrate")
	f.start()

	plan, err := f.svc.PlanPromote(alice, "api", "", "test")
	if err != nil || plan.Hook != "migrate" {
		t.Fatalf("plan: hook %q, %v", plan.Hook, err)
	}
	if err := f.svc.Promote(f.ctx, alice, plan); err != nil {
		t.Fatal(err)
	}
	jobs, err := f.cs.BatchV1().Jobs(f.env("test").Namespace).List(f.ctx, metav1.ListOptions{})
	if err != nil || len(jobs.Items) != 1 {
		t.Fatalf("jobs: %v %v", jobs, err)
	}
	j := jobs.Items[0]
	if !strings.HasPrefix(j.Name, "migrate-") || j.Status.Succeeded != 1 || j.Spec.Template.Spec.Containers[0].Image != "registry.lab.local/test/api:2.0.0" {
		t.Fatalf("the hook job should have run the promoted image to completion: %s %+v %s", j.Name, j.Status, j.Spec.Template.Spec.Containers[0].Image)
	}
	f.waitHealthy("test", "api", "2.0.0")

	f.release("dev", "api", "3.0.0")
	f.annotate("test", "api", release.AnnotationHook, "migrate-fails")
	waitFor(t, "the new release and hook in the cache", func() bool {
		d, _ := f.svc.Matrix().Cell("api", "dev")
		c, _ := f.svc.Matrix().Cell("api", "test")
		return d.Version == "3.0.0" && c.Workload.Hook == "migrate-fails"
	})
	plan, err = f.svc.PlanPromote(alice, "api", "", "test")
	if err != nil {
		t.Fatal(err)
	}
	err = f.svc.Promote(f.ctx, alice, plan)
	var hook *release.HookError
	if !errors.As(err, &hook) || !strings.HasPrefix(hook.Job, "migrate-fails-") || !strings.Contains(err.Error(), "DeadlineExceeded") || hook.Logs == "" {
		t.Fatalf("a failed hook should stop the promotion with its logs: %v", err)
	}
	if img := f.live("test", "api").Spec.Template.Spec.Containers[0].Image; !strings.HasSuffix(img, ":2.0.0") {
		t.Fatalf("the promotion went on after its hook failed: %s", img)
	}
	// The failed promotion freed its lock.
	if err := f.client.Lock(f.ctx, f.env("test").Target(), "vigil-promote-api", release.Holder{Actor: "bob"}, 30*time.Second); err != nil {
		t.Fatalf("the lock stayed held after a failed hook: %v", err)
	}
}

// A hook named in config runs before the rollout, wins over the
// annotation, and a failing one stops the promotion with its logs.
func TestPromotionHooksFromConfig(t *testing.T) {
	f := newFixture(t, lab(t), "dev", "test")
	f.envs[1].Hooks = map[string]string{"api": "cfg-migrate", "web": "cfg-migrate-fails"}
	for _, app := range []string{"api", "web"} {
		f.deploy("dev", app, "2.0.0", 1)
		f.deploy("test", app, "1.0.0", 1)
	}
	f.cronJob("test", "cfg-migrate", func(*corev1.PodSpec, *batchv1.JobSpec) {})
	// A job no node can run, with a short deadline: it fails.
	f.cronJob("test", "cfg-migrate-fails", func(p *corev1.PodSpec, j *batchv1.JobSpec) {
		p.NodeSelector = map[string]string{"vigil-test": "no-such-node"}
		deadline := int64(3)
		j.ActiveDeadlineSeconds = &deadline
	})
	// Were the annotation obeyed, api's promotion would fail.
	f.annotate("test", "api", release.AnnotationHook, "cfg-migrate-fails")
	f.start()
	ns := f.env("test").Namespace

	plan, err := f.svc.PlanPromote(alice, "api", "", "test")
	if err != nil || plan.Hook != "cfg-migrate" || plan.HookFrom != release.HookFromConfig {
		t.Fatalf("plan: hook %q from %q, %v; want cfg-migrate from config", plan.Hook, plan.HookFrom, err)
	}
	if err := f.svc.Promote(f.ctx, alice, plan); err != nil {
		t.Fatal(err)
	}
	jobs, err := f.cs.BatchV1().Jobs(ns).List(f.ctx, metav1.ListOptions{})
	if err != nil || len(jobs.Items) != 1 {
		t.Fatalf("want the one config-named hook job, got %v %v", jobs, err)
	}
	j := jobs.Items[0]
	if !strings.HasPrefix(j.Name, "cfg-migrate-") || j.Status.Succeeded != 1 || j.Spec.Template.Spec.Containers[0].Image != "registry.lab.local/test/api:2.0.0" {
		t.Fatalf("the hook job should have run the promoted image to completion: %s %+v %s", j.Name, j.Status, j.Spec.Template.Spec.Containers[0].Image)
	}
	// The rollout began after the hook completed: the ReplicaSet of the
	// promoted image is no older than the job's completion.
	// The deployment controller creates that ReplicaSet shortly after
	// Promote returns: wait for it.
	var promoted *metav1.Time
	for deadline := time.Now().Add(30 * time.Second); promoted == nil && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		rss, err := f.cs.AppsV1().ReplicaSets(ns).List(f.ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=api"})
		if err != nil {
			t.Fatal(err)
		}
		for _, rs := range rss.Items {
			if rs.Spec.Template.Spec.Containers[0].Image == "registry.lab.local/test/api:2.0.0" {
				promoted = &rs.CreationTimestamp
			}
		}
	}
	if promoted == nil || j.Status.CompletionTime == nil || promoted.Before(j.Status.CompletionTime) {
		t.Fatalf("the rollout should start after the hook completed: ReplicaSet created %v, job completed %v", promoted, j.Status.CompletionTime)
	}
	f.waitHealthy("test", "api", "2.0.0")
	if e := f.entries("promote"); len(e) != 1 || e[0].Parameters["hook"] != "cfg-migrate" || e[0].Error != "" {
		t.Errorf("journal: %+v, want one successful promotion naming its hook", e)
	}

	plan, err = f.svc.PlanPromote(alice, "web", "", "test")
	if err != nil || plan.Hook != "cfg-migrate-fails" {
		t.Fatalf("plan: hook %q, %v", plan.Hook, err)
	}
	err = f.svc.Promote(f.ctx, alice, plan)
	var hook *release.HookError
	if !errors.As(err, &hook) || !strings.HasPrefix(hook.Job, "cfg-migrate-fails-") || !strings.Contains(err.Error(), "DeadlineExceeded") || hook.Logs == "" {
		t.Fatalf("a failed config-named hook should stop the promotion with its logs: %v", err)
	}
	if img := f.live("test", "web").Spec.Template.Spec.Containers[0].Image; !strings.HasSuffix(img, ":1.0.0") {
		t.Fatalf("the promotion went on after its hook failed: %s", img)
	}
	if e := f.entries("promote"); len(e) != 2 || e[1].Target != "test/web" || !strings.Contains(e[1].Error, "promotion hook job cfg-migrate-fails-") {
		t.Errorf("journal: %+v, want the failed promotion of web with the hook's error", e)
	}
}
