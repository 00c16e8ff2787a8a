package smoke

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/vigilops/vigil/lab/kube"
	"github.com/vigilops/vigil/lab/podlogs"
)

// kubectlOut runs the cached kubectl against the lab and returns its
// output.
func kubectlOut(env map[string]string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(kube.CacheDir(), "kubectl"), append([]string{"--kubeconfig", env["KUBECONFIG"]}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// podOf returns the name of a pod of ns/app whose first container runs
// image and that satisfies ok.
func podOf(cs kubernetes.Interface, ns, app, image string, ok func(corev1.Pod) bool) (string, error) {
	pods, err := cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + app})
	if err != nil {
		return "", err
	}
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil && p.Spec.Containers[0].Image == image && ok(p) {
			return p.Name, nil
		}
	}
	return "", fmt.Errorf("no pod of %s/%s runs %s as wanted", ns, app, image)
}

// kubectl logs shows a running pod's requests as they come, at the
// modelled rate, with the lines' times within --since.
func TestPodLogsAccessLines(t *testing.T) {
	env := labEnv(t)
	t.Parallel()
	cs := clientset(t, env)
	const ns, app = "dev", "api"
	d, err := cs.AppsV1().Deployments(ns).Get(context.Background(), app, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	image := d.Spec.Template.Spec.Containers[0].Image
	pod, err := podOf(cs, ns, app, image, podReady)
	if err != nil {
		t.Fatal(err)
	}
	var out string
	waitUntil(t, 30*time.Second, "access lines of the last 10 s", func() error {
		if out, err = kubectlOut(env, "-n", ns, "logs", pod, "--since=10s", "--timestamps"); err != nil {
			return err
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		access := 0
		for _, l := range lines {
			ts, text, _ := strings.Cut(l, " ")
			at, err := time.Parse(time.RFC3339Nano, ts)
			if err != nil {
				return fmt.Errorf("line without a time: %q", l)
			}
			if age := time.Since(at); age > 15*time.Second || age < -2*time.Second {
				return fmt.Errorf("line %s old within --since=10s: %q", age, l)
			}
			if strings.Contains(text, podlogs.AccessMarker) {
				access++
			}
		}
		// 10 requests a second, give or take the ticks at the edges.
		if access < 70 || access > 130 {
			return fmt.Errorf("%d access lines in 10 s, want about 100:\n%s", access, out)
		}
		return nil
	})

	// Following: new lines arrive while the stream is open.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(kube.CacheDir(), "kubectl"), "--kubeconfig", env["KUBECONFIG"], "-n", ns, "logs", "-f", "--since=1s", pod)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	start := time.Now()
	sc := bufio.NewScanner(stdout)
	n := 0
	for sc.Scan() && time.Since(start) < 3*time.Second {
		if strings.Contains(sc.Text(), podlogs.AccessMarker) {
			n++
		}
	}
	if n < 20 {
		t.Fatalf("following for 3 s gave %d access lines, want about 30 (%v)", n, sc.Err())
	}
}

// A release tagged bad logs its failed requests: an error line with a
// stack-like message and a 500 in the access line.
func TestPodLogsBadReleaseErrors(t *testing.T) {
	env := labEnv(t)
	t.Parallel()
	cs := clientset(t, env)
	const ns, app = "test", "api"
	container, original, bad := retag(t, cs, ns, app, "-bad")
	restore(t, env, cs, ns, app, container, original)
	kubectl(t, env, "-n", ns, "set", "image", "deployment/"+app, container+"="+bad)
	var pod string
	waitUntil(t, time.Minute, "a ready pod of the bad release", func() (err error) {
		pod, err = podOf(cs, ns, app, bad, podReady)
		return err
	})
	waitUntil(t, 30*time.Second, "error lines of the bad release", func() error {
		out, err := kubectlOut(env, "-n", ns, "logs", pod)
		if err != nil {
			return err
		}
		var errs, fives, oks int
		for _, l := range strings.Split(out, "\n") {
			switch {
			case strings.Contains(l, podlogs.ErrorMarker) && strings.Contains(l, "status=500"):
				errs++
			case strings.Contains(l, podlogs.AccessMarker+"500 "):
				fives++
			case strings.Contains(l, podlogs.AccessMarker+"200 "):
				oks++
			}
		}
		if errs < 5 || errs != fives || oks < 2*errs {
			return fmt.Errorf("%d error lines, %d 500s, %d 200s: want about a fifth of the requests failed, each with its error line", errs, fives, oks)
		}
		if !strings.Contains(out, "\tat shop/api/store.(*Orders).Get") {
			return fmt.Errorf("no stack under the errors:\n%s", out)
		}
		return nil
	})
}

// A release tagged -broken crash-loops: its pod's log, current and
// previous, ends with the crash.
func TestPodLogsBrokenReleaseCrashes(t *testing.T) {
	env := labEnv(t)
	t.Parallel()
	cs := clientset(t, env)
	const ns, app = "test", "worker"
	container, original, broken := retag(t, cs, ns, app, "-broken")
	restore(t, env, cs, ns, app, container, original)
	kubectl(t, env, "-n", ns, "set", "image", "deployment/"+app, container+"="+broken)
	var pod string
	waitUntil(t, time.Minute, "a crash-looping pod of the broken release", func() (err error) {
		pod, err = podOf(cs, ns, app, broken, func(p corev1.Pod) bool {
			for _, c := range p.Status.ContainerStatuses {
				if c.State.Waiting != nil && c.State.Waiting.Reason == "CrashLoopBackOff" && c.RestartCount > 0 {
					return true
				}
			}
			return false
		})
		return err
	})
	for _, previous := range []bool{false, true} {
		waitUntil(t, 30*time.Second, fmt.Sprintf("the crash in the log (previous %v)", previous), func() error {
			out, err := kubectlOut(env, "-n", ns, "logs", pod, fmt.Sprintf("--previous=%v", previous))
			if err != nil {
				return err
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if !strings.Contains(out, podlogs.CrashMarker) || lines[len(lines)-1] != "exit status 1" || strings.Contains(out, podlogs.AccessMarker) {
				return fmt.Errorf("want a start, the crash and its exit, no requests:\n%s", out)
			}
			return nil
		})
	}
}
