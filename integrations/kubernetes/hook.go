package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/vigilops/vigil/ops/release"
)

// RunHook implements release.Hooks. The job template is the jobTemplate of
// a CronJob (usually suspended) in the target namespace, as with
// `kubectl create job --from=cronjob/NAME`; containers named like the
// promoted ones run the promoted images.
func (c *Client) RunHook(ctx context.Context, t release.Target, template string, images []release.Container) error {
	cl, err := c.cluster(t.Context)
	if err != nil {
		return err
	}
	cj, err := cl.cs.BatchV1().CronJobs(t.Namespace).Get(ctx, template, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("cannot read the promotion hook template cronjob/%s in %s: %w", template, t.Namespace, err)
	}
	spec := cj.Spec.JobTemplate.Spec.DeepCopy()
	for _, img := range images {
		list := spec.Template.Spec.Containers
		if img.Init {
			list = spec.Template.Spec.InitContainers
		}
		for i := range list {
			if list[i].Name == img.Name {
				list[i].Image = img.Image
			}
		}
	}
	name := template + "-" + strconv.FormatInt(time.Now().Unix(), 36)
	if len(name) > 63 {
		name = name[len(name)-63:]
	}
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: t.Namespace, Labels: cj.Spec.JobTemplate.Labels, Annotations: map[string]string{"cronjob.kubernetes.io/instantiate": "vigil"}},
		Spec:       *spec,
	}
	jobs := cl.cs.BatchV1().Jobs(t.Namespace)
	if _, err := jobs.Create(ctx, job, metav1.CreateOptions{FieldManager: "vigil"}); err != nil {
		return fmt.Errorf("cannot start the promotion hook job from cronjob/%s: %w", template, err)
	}
	w, err := jobs.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	if err != nil {
		return fmt.Errorf("cannot watch the promotion hook job %s: %w", name, err)
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		if ev.Type == watch.Error {
			continue
		}
		j, ok := ev.Object.(*batchv1.Job)
		if !ok {
			continue
		}
		for _, cond := range j.Status.Conditions {
			if cond.Status != corev1.ConditionTrue {
				continue
			}
			switch cond.Type {
			case batchv1.JobComplete:
				return nil
			case batchv1.JobFailed:
				return &release.HookError{Job: name, Logs: c.jobLogs(context.WithoutCancel(ctx), cl, t.Namespace, name), Err: errors.New(cond.Reason + ": " + cond.Message)}
			}
		}
	}
	if ctx.Err() != nil {
		return fmt.Errorf("stopped waiting for the promotion hook job %s: %w", name, ctx.Err())
	}
	return fmt.Errorf("lost the watch of the promotion hook job %s: check it with kubectl -n %s get job %s", name, t.Namespace, name)
}

// jobLogs gathers the logs of a job's pods, or says why it could not.
func (c *Client) jobLogs(ctx context.Context, cl *cluster, ns, job string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	pods, err := cl.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + job})
	if err != nil {
		return "cannot list the job's pods: " + err.Error()
	}
	if len(pods.Items) == 0 {
		return "the job left no pods to read logs from (see `kubectl -n " + ns + " describe job " + job + "`)"
	}
	var b strings.Builder
	for _, p := range pods.Items {
		for _, ct := range p.Spec.Containers {
			fmt.Fprintf(&b, "== pod %s, container %s ==\n", p.Name, ct.Name)
			tail := int64(200)
			out, err := cl.cs.CoreV1().Pods(ns).GetLogs(p.Name, &corev1.PodLogOptions{Container: ct.Name, TailLines: &tail}).DoRaw(ctx)
			if err != nil {
				fmt.Fprintf(&b, "(no logs: %v)\n", err)
				continue
			}
			b.Write(out)
		}
	}
	return b.String()
}
