package smoke

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/vigilops/vigil/lab/kube"
)

func clientset(t *testing.T, env map[string]string) kubernetes.Interface {
	t.Helper()
	cs, err := kube.Client(env["KUBECONFIG"])
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// waitUntil retries check every second until it returns nil or timeout
// passes, then fails with its last error.
func waitUntil(t *testing.T, timeout time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(time.Second)
	}
}

func getJSON(u string, into any) error {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(into)
}

func TestNodesAndShopReady(t *testing.T) {
	env := labEnv(t)
	cs := clientset(t, env)
	ctx := context.Background()
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes.Items) < 3 {
		t.Fatalf("%d nodes, want at least 3", len(nodes.Items))
	}
	for _, n := range nodes.Items {
		if !nodeReady(n) {
			t.Errorf("node %s not Ready", n.Name)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := kube.WaitReady(ctx, cs, "shop", len(kube.Shop()), nil); err != nil {
		t.Fatal(err)
	}
	for _, w := range kube.Shop() {
		labels := fmt.Sprintf("app.kubernetes.io/part-of=shop,app.kubernetes.io/name=%s", w.Name)
		pods, err := cs.CoreV1().Pods(w.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labels})
		if err != nil {
			t.Fatal(err)
		}
		ready := 0
		for _, p := range pods.Items {
			if podReady(p) {
				ready++
			}
		}
		if ready < int(w.Replicas) {
			t.Errorf("%s/%s: %d ready pods, want %d", w.Namespace, w.Name, ready, w.Replicas)
		}
	}
}

func nodeReady(n corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func podReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

type targets struct {
	Data struct {
		ActiveTargets []struct {
			Labels    map[string]string `json:"labels"`
			Health    string            `json:"health"`
			LastError string            `json:"lastError"`
		} `json:"activeTargets"`
	} `json:"data"`
}

// Every Prometheus target is up: Prometheus, Alertmanager, the lab exporter
// and every active droplet (other tests may be powering droplets off or
// destroying them meanwhile); and the exporter serves every shop workload.
func TestPrometheusTargetsUp(t *testing.T) {
	env := labEnv(t)
	prom := env["VIGIL_LAB_PROMETHEUS_URL"]
	waitUntil(t, 30*time.Second, "all targets up", func() error {
		var ts targets
		if err := getJSON(prom+"/api/v1/targets?state=active", &ts); err != nil {
			return err
		}
		status, err := dropletStatus(env)
		if err != nil {
			return err
		}
		jobs := map[string]bool{}
		var down []string
		for _, tg := range ts.Data.ActiveTargets {
			jobs[tg.Labels["job"]] = true
			// Job vigil is vigil serve, which runs outside the lab.
			if tg.Health != "up" && tg.Labels["job"] != "vigil" && (tg.Labels["job"] != "droplets" || status[tg.Labels["droplet"]] == "active") {
				down = append(down, fmt.Sprintf("%s %s: %s %s", tg.Labels["job"], tg.Labels["instance"], tg.Health, tg.LastError))
			}
		}
		for _, job := range []string{"prometheus", "alertmanager", "lab-exporter"} {
			if !jobs[job] {
				return fmt.Errorf("no target of job %s", job)
			}
		}
		if len(down) > 0 {
			return fmt.Errorf("targets not up: %s", strings.Join(down, "; "))
		}
		return nil
	})
	waitUntil(t, 30*time.Second, "exporter series for every shop workload", func() error {
		var res struct {
			Data struct {
				Result []struct {
					Value [2]any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		q := url.QueryEscape(`count(lab_http_requests_total{namespace=~"dev|test|preprod|prod",deployment=~"api|web|worker|db"})`)
		if err := getJSON(prom+"/api/v1/query?query="+q, &res); err != nil {
			return err
		}
		if len(res.Data.Result) != 1 || res.Data.Result[0].Value[1] != fmt.Sprint(len(kube.Shop())) {
			return fmt.Errorf("series of lab_http_requests_total for the shop: %v, want %d", res.Data.Result, len(kube.Shop()))
		}
		return nil
	})
}

// dropletStatus returns the emulator's droplets' status by name.
func dropletStatus(env map[string]string) (map[string]string, error) {
	req, err := http.NewRequest(http.MethodGet, strings.TrimSuffix(env["DIGITALOCEAN_API_URL"], "/")+"/v2/droplets?per_page=200", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+env["DIGITALOCEAN_ACCESS_TOKEN"])
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("listing droplets: %s", resp.Status)
	}
	var list struct {
		Droplets []struct {
			Name   string `json:"name"`
			Status string `json:"status"`
		} `json:"droplets"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return nil, err
	}
	status := map[string]string{}
	for _, d := range list.Droplets {
		status[d.Name] = d.Status
	}
	return status, nil
}

// kubectl runs the cached kubectl against the lab.
func kubectl(t *testing.T, env map[string]string, args ...string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(kube.CacheDir(), "kubectl"), append([]string{"--kubeconfig", env["KUBECONFIG"]}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// retag returns the deployment's first container's image with tag suffixed.
func retag(t *testing.T, cs kubernetes.Interface, ns, name, suffix string) (container, original, image string) {
	t.Helper()
	d, err := cs.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := d.Spec.Template.Spec.Containers[0]
	return c.Name, c.Image, c.Image + suffix
}

// restore puts the image back and waits for the deployment to be ready, so
// that a failing test leaves the lab as it found it.
func restore(t *testing.T, env map[string]string, cs kubernetes.Interface, ns, name, container, image string) {
	t.Cleanup(func() {
		kubectl(t, env, "-n", ns, "set", "image", "deployment/"+name, container+"="+image)
		waitUntil(t, time.Minute, ns+"/"+name+" restored", func() error { return deploymentDone(cs, ns, name) })
	})
}

func deploymentDone(cs kubernetes.Interface, ns, name string) error {
	d, err := cs.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	want := *d.Spec.Replicas
	if d.Status.ObservedGeneration < d.Generation || d.Status.UpdatedReplicas != want ||
		d.Status.AvailableReplicas != want || d.Status.Replicas != want {
		return fmt.Errorf("%d/%d updated, %d available, %d in all", d.Status.UpdatedReplicas, want, d.Status.AvailableReplicas, d.Status.Replicas)
	}
	return nil
}

type amAlert struct {
	Labels map[string]string `json:"labels"`
	Status struct {
		State string `json:"state"`
	} `json:"status"`
}

// firing lists the alerts named alertname for ns/deployment in Alertmanager.
func firing(am, alertname, ns, deployment string) ([]amAlert, error) {
	q := url.Values{"filter": {
		fmt.Sprintf("alertname=%q", alertname), fmt.Sprintf("namespace=%q", ns), fmt.Sprintf("deployment=%q", deployment),
	}}
	var alerts []amAlert
	err := getJSON(am+"/api/v2/alerts?"+q.Encode(), &alerts)
	return alerts, err
}

// A bad release promoted to prod fires AppHighErrorRate in Alertmanager;
// rolling it back resolves the alert.
func TestBadReleaseFiresAndRollbackResolves(t *testing.T) {
	env := labEnv(t)
	t.Parallel()
	cs := clientset(t, env)
	am := env["VIGIL_LAB_ALERTMANAGER_URL"]
	const ns, name = "prod", "api"
	container, original, bad := retag(t, cs, ns, name, "-bad")
	if alerts, err := firing(am, "AppHighErrorRate", ns, name); err != nil || len(alerts) > 0 {
		t.Fatalf("before the bad release: alerts %v, error %v", alerts, err)
	}
	restore(t, env, cs, ns, name, container, original)

	start := time.Now()
	kubectl(t, env, "-n", ns, "set", "image", "deployment/"+name, container+"="+bad)
	waitUntil(t, 2*time.Minute, "AppHighErrorRate for prod/api in Alertmanager", func() error {
		alerts, err := firing(am, "AppHighErrorRate", ns, name)
		if err != nil {
			return err
		}
		if len(alerts) != 1 || alerts[0].Labels["severity"] != "critical" || alerts[0].Status.State != "active" {
			return fmt.Errorf("alerts: %+v", alerts)
		}
		return nil
	})
	t.Logf("AppHighErrorRate reached Alertmanager %s after the bad release", time.Since(start).Round(time.Second))

	start = time.Now()
	kubectl(t, env, "-n", ns, "rollout", "undo", "deployment/"+name)
	waitUntil(t, 2*time.Minute, "AppHighErrorRate resolved", func() error {
		alerts, err := firing(am, "AppHighErrorRate", ns, name)
		if err != nil {
			return err
		}
		if len(alerts) > 0 {
			return fmt.Errorf("still firing: %+v", alerts)
		}
		return nil
	})
	t.Logf("resolved %s after rollout undo", time.Since(start).Round(time.Second))
	d, err := cs.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Spec.Template.Spec.Containers[0].Image; got != original {
		t.Fatalf("after rollout undo the image is %s, want %s", got, original)
	}
}

// A release whose image tag ends in -broken never becomes ready: the
// rollout stalls with ProgressDeadlineExceeded while the old pods serve.
func TestBrokenReleaseStalls(t *testing.T) {
	env := labEnv(t)
	t.Parallel()
	cs := clientset(t, env)
	const ns, name = "dev", "web"
	container, original, broken := retag(t, cs, ns, name, "-broken")
	restore(t, env, cs, ns, name, container, original)

	kubectl(t, env, "-n", ns, "set", "image", "deployment/"+name, container+"="+broken)
	var d *appsv1.Deployment
	waitUntil(t, time.Duration(kube.ProgressDeadline+60)*time.Second, "ProgressDeadlineExceeded", func() error {
		var err error
		if d, err = cs.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{}); err != nil {
			return err
		}
		for _, c := range d.Status.Conditions {
			if c.Type == appsv1.DeploymentProgressing {
				if c.Reason == "ProgressDeadlineExceeded" && c.Status == corev1.ConditionFalse {
					return nil
				}
				return fmt.Errorf("Progressing is %s (%s): %s", c.Status, c.Reason, c.Message)
			}
		}
		return fmt.Errorf("no Progressing condition")
	})
	if d.Status.UpdatedReplicas == 0 || d.Status.AvailableReplicas != *d.Spec.Replicas {
		t.Fatalf("stalled rollout: %d updated, %d of %d available; want new pods unready and the old ones serving",
			d.Status.UpdatedReplicas, d.Status.AvailableReplicas, *d.Spec.Replicas)
	}
	pods, err := cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + name})
	if err != nil {
		t.Fatal(err)
	}
	brokenPods := 0
	for _, p := range pods.Items {
		if p.Spec.Containers[0].Image == broken {
			brokenPods++
			if podReady(p) {
				t.Errorf("pod %s of the broken image is Ready", p.Name)
			}
		}
	}
	if brokenPods == 0 {
		t.Fatal("no pod of the broken image was created")
	}
}
