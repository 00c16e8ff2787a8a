package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ui/logs"
)

// logsLab is the lab's pipeline in namespaces of one test's own, with one
// app of that test's label deployed at a version per environment, and the
// config that shows only them.
type logsLab struct {
	app        string
	namespaces map[string]string
	config     string
	journal    string // the config's audit journal
}

// newLogsLab deploys app (named prefix-ID) with replicas pods at versions
// by environment name. A lab whose pods serve no logs skips the test (or
// fails it under VIGIL_LAB_REQUIRED).
func newLogsLab(t *testing.T, prefix string, replicas int32, versions map[string]string) *logsLab {
	t.Helper()
	env := labtest.Env(t, "KUBECONFIG", "VIGIL_CONFIG")
	if _, err := os.Stat(filepath.Join(labtest.StateDir(), "podlogs")); err != nil {
		msg := "this lab's pods serve no logs (it predates kwok's Logs in the lab): bring up a lab since, e.g. VIGIL_LAB_STATE=/tmp/some-lab"
		if os.Getenv("VIGIL_LAB_REQUIRED") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rc, err := clientcmd.BuildConfigFromFlags("", env["KUBECONFIG"])
	if err != nil {
		t.Fatal(err)
	}
	kube, err := k8s.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix)
	id := hex.EncodeToString(suffix)
	l := &logsLab{app: prefix + "-" + id, namespaces: map[string]string{}}
	partOf := "vigil-e2e-" + prefix + "-" + id

	data, err := os.ReadFile(env["VIGIL_CONFIG"])
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	kcfg, _ := cfg["kubernetes"].(map[string]any)
	envs, _ := kcfg["environments"].([]any)
	for _, e := range envs {
		em := e.(map[string]any)
		name := fmt.Sprint(em["name"])
		ns := "vl-" + id + "-" + name
		em["namespace"] = ns
		l.namespaces[name] = ns
		if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = kube.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	}
	kcfg["app_selector"] = "app.kubernetes.io/part-of=" + partOf
	l.journal = filepath.Join(t.TempDir(), "journal.db")
	cfg["audit"] = map[string]any{"path": l.journal}
	delete(cfg, "serve")
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l.config = string(out)
	for name, version := range versions {
		labels := map[string]string{"app.kubernetes.io/name": l.app, "app.kubernetes.io/part-of": partOf}
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: l.app, Labels: labels},
			Spec: appsv1.DeploymentSpec{
				Replicas: &replicas,
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": l.app}},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
					Containers: []corev1.Container{{Name: "app", Image: "registry.lab.local/test/" + prefix + ":" + version}},
				}},
			},
		}
		if _, err := kube.AppsV1().Deployments(l.namespaces[name]).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// TestE2EAlertToErrorLinesOnTheLab is issue 13's drill in tmux: with a bad
// release in prod, AppHighErrorRate fires; from the alert on screen, l and
// e show the error lines of the api's pods in the logs view: 2 keys (the
// goal is 3), the lines counted on screen.
func TestE2EAlertToErrorLinesOnTheLab(t *testing.T) {
	needTmux(t)
	bin := vigilBinary(t)
	l := newLogsLab(t, "logs", 2, map[string]string{"dev": "1.0.0", "test": "1.0.0", "preprod": "1.0.0", "prod": "1.1.0-bad"})

	s := newSandbox(t, l.config)
	tm := startTmux(t, s.env(), 160, 45)
	tm.respawn(consoleArgv(bin, s)...)
	tm.waitText(20*time.Second, "4 Alerts", "7 Logs")
	tm.keys("4", "/")
	tm.typeText(fmt.Sprintf(`namespace=%q`, l.namespaces["prod"]))
	tm.keys("Enter")
	tm.waitText(20*time.Second, fmt.Sprintf(`· filter namespace=%q`, l.namespaces["prod"]))
	tm.waitFor("AppHighErrorRate on prod", 3*time.Minute, func(screen string) bool {
		for _, line := range strings.Split(screen, "\n") { // the workload's name may be cut
			if strings.Contains(line, "AppHighErrorRate") && strings.Contains(line, l.namespaces["prod"]+"/") && strings.Contains(line, "firing") {
				return true
			}
		}
		return false
	})

	keys := 0
	press := func(k string) { keys++; tm.keys(k) }
	press("l")
	tm.waitText(20*time.Second, "prod/"+l.app+" · 2 pods", "● following")
	press("e")
	screen := tm.waitFor("error lines", time.Minute, func(screen string) bool {
		return strings.Contains(screen, "· errors ") && strings.Contains(screen, "level=error")
	})
	if keys > 3 {
		t.Fatalf("%d keys from the alert to its error lines", keys)
	}
	errs := 0
	var others []string
	body := false
	for _, line := range strings.Split(screen, "\n") {
		text := strings.Trim(line, "│ ")
		switch {
		case strings.Contains(line, "· errors "):
			body = true
		case !body || strings.HasPrefix(strings.TrimSpace(line), "╰"):
			body = false
		case text == "" || strings.HasPrefix(text, "+ "+l.app+"-"):
		case strings.Contains(text, "level=error"):
			errs++
		case !logs.IsError(text):
			others = append(others, text)
		}
	}
	if errs == 0 || len(others) > 0 {
		t.Fatalf("%d error lines and %d others on screen: %q\n%s", errs, len(others), others, screen)
	}
	t.Logf("%d keys from AppHighErrorRate to %d error lines of %s on screen", keys, errs, l.app)

	// c puts the error lines on the terminal's clipboard with OSC 52,
	// which tmux (set-clipboard on) keeps as its buffer.
	tm.run("set-option", "-g", "set-clipboard", "on")
	tm.keys("f", "c")
	screen = tm.waitText(10*time.Second, "to the clipboard")
	copied := strings.TrimSpace(tm.run("show-buffer"))
	if copied == "" {
		t.Fatal("c put nothing on the clipboard")
	}
	for _, line := range strings.Split(copied, "\n") {
		if !logs.IsError(line) && !strings.Contains(line, "level=error") {
			t.Fatalf("copied a line that is not an error line: %q\n%s", line, copied)
		}
		// POD CONTAINER TEXT; the screen leaves out the one container's name.
		f := strings.SplitN(line, " ", 3)
		if len(f) < 3 {
			t.Fatalf("copied %q: not POD CONTAINER TEXT", line)
		}
		if head := f[0] + " " + f[2][:min(len(f[2]), 40)]; !strings.Contains(screen, head) {
			t.Fatalf("copied a line that is not on screen: %q\n%s", head, screen)
		}
	}
	t.Logf("c copied %d error lines", strings.Count(copied, "\n")+1)
	tm.keys("q")
	if st := tm.exitStatus(10 * time.Second); st != 0 {
		t.Fatalf("vigil exited %d", st)
	}
}

// TestE2ELogsKeypressUnderLoadOnTheLab follows three pods logging 2,000
// lines a second in all (the lab's "chatty" tag) in the real console and
// times keys to their frame: f pauses and follows again, each change
// awaited on the tmux screen (its capture's own latency included).
func TestE2ELogsKeypressUnderLoadOnTheLab(t *testing.T) {
	needTmux(t)
	bin := vigilBinary(t)
	l := newLogsLab(t, "chatty", 3, map[string]string{"prod": "1.0.0-chatty"})

	s := newSandbox(t, l.config)
	tm := startTmux(t, s.env(), 160, 45)
	tm.respawn(consoleArgv(bin, s)...)
	tm.waitText(20*time.Second, "2 Environments", "7 Logs")
	tm.keys("2")
	tm.waitFor("the app ready in prod", 90*time.Second, func(screen string) bool {
		return strings.Contains(screen, l.app) && strings.Contains(screen, "3/3 ✓")
	})
	tm.keys("l", "l", "l", "L") // the prod cell
	tm.waitText(20*time.Second, "prod/"+l.app+" · 3 pods", "● following")
	time.Sleep(3 * time.Second) // the buffer fills at the full rate

	var took []time.Duration
	for range 30 {
		for _, step := range []struct{ key, want string }{{"f", "‖ paused"}, {"f", "● following"}} {
			start := time.Now()
			tm.keys(step.key)
			tm.waitText(5*time.Second, step.want)
			took = append(took, time.Since(start))
		}
	}
	screen := tm.capture()
	slices.Sort(took)
	p50, p99, worst := took[len(took)/2], took[len(took)*99/100], took[len(took)-1]
	t.Logf("%d keys to their frame while following 2,000 lines/s: p50 %v, p99 %v, max %v; %s", len(took), p50, p99, worst,
		strings.TrimSpace(strings.SplitN(strings.SplitN(screen, "Logs · ", 2)[1], "─", 2)[0]))
	if p99 > 500*time.Millisecond {
		t.Fatalf("keypress to frame p99 %v", p99)
	}
	tm.keys("q")
	if st := tm.exitStatus(10 * time.Second); st != 0 {
		t.Fatalf("vigil exited %d", st)
	}
}
