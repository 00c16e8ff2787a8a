package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vigilops/vigil/ops/logs"
	"github.com/vigilops/vigil/ops/release"
)

// kubectlLogs returns what kubectl logs prints for the pod: the lab's
// kubectl when its cache has one, else client-go's GetLogs, as kubectl
// does.
func (l *releaseLab) kubectlLogs(t *testing.T, kubectl, ns, pod string, opts *corev1.PodLogOptions) string {
	t.Helper()
	if kubectl != "" {
		args := []string{"--kubeconfig", l.lab.Kubernetes.Kubeconfig, "-n", ns, "logs", pod, "--since=1h"}
		if opts.Timestamps {
			args = append(args, "--timestamps")
		}
		out, err := exec.Command(kubectl, args...).Output()
		if err != nil {
			t.Fatalf("kubectl %s: %v", strings.Join(args, " "), err)
		}
		return string(out)
	}
	b, err := l.cs.CoreV1().Pods(ns).GetLogs(pod, opts).DoRaw(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// vigil logs prints what kubectl logs prints for the same pod and window
// (kubectl asked after vigil, its output may have more lines at the end);
// without a terminal, no colour; --grep and --exclude filter; a bad regex
// is refused naming its flag.
func TestLogsEqualsKubectlLogs(t *testing.T) {
	var kubectl string
	if cache, err := os.UserCacheDir(); err == nil {
		if p := filepath.Join(cache, "vigil-lab", "bin", "kubectl"); fileExists(p) {
			kubectl = p
		}
	}
	if d := os.Getenv("VIGIL_LAB_BIN"); d != "" && fileExists(filepath.Join(d, "kubectl")) {
		kubectl = filepath.Join(d, "kubectl")
	}
	l := newReleaseLab(t)
	l.config(t, "viewer")
	ns := l.lab.Kubernetes.Environments[0].Namespace
	env := l.lab.Kubernetes.Environments[0].Name
	var pod string
	deadline := time.Now().Add(time.Minute)
	for {
		pods, err := l.cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + l.app})
		if err != nil {
			t.Fatal(err)
		}
		if len(pods.Items) == 1 {
			pod = pods.Items[0].Name
			if out := l.kubectlLogs(t, "", ns, pod, &corev1.PodLogOptions{}); strings.Count(out, "\n") >= 30 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pod of %s in %s with 30 lines of log within a minute", l.app, ns)
		}
		time.Sleep(500 * time.Millisecond)
	}

	for _, ts := range []bool{true, false} {
		args := []string{"logs", l.app, "--env", env, "--pod", pod, "--since", "1h", "--prefix=false"}
		if ts {
			args = append(args, "--timestamps")
		}
		code, out, errOut := cli(t, args...)
		if code != 0 {
			t.Fatalf("vigil %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		want := l.kubectlLogs(t, kubectl, ns, pod, &corev1.PodLogOptions{Timestamps: ts, SinceSeconds: ptr(int64(3600))})
		if strings.Count(out, "\n") < 30 || !strings.HasPrefix(want, out) {
			t.Fatalf("vigil logs (timestamps %v) is not what kubectl logs prints:\n--- vigil\n%s\n--- kubectl\n%s", ts, head(out, 5), head(want, 5))
		}
		if errOut != "+ "+pod+" › app\n" {
			t.Fatalf("stderr %q, want the pod added", errOut)
		}
	}

	code, out, _ := cli(t, "logs", l.app, "--env", env, "--since", "1h", "--grep", `" 200 `, "--exclude", "healthz|/cart")
	if code != 0 || strings.Count(out, "\n") < 10 {
		t.Fatalf("--grep: exit %d, %d lines", code, strings.Count(out, "\n"))
	}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if !strings.HasPrefix(line, pod+" app ") || !strings.Contains(line, `" 200 `) || strings.Contains(line, "healthz") || strings.Contains(line, "/cart") || strings.Contains(line, "\x1b") {
			t.Fatalf("a line --grep/--exclude should not give, or not as stern prints it: %q", line)
		}
	}

	code, _, errOut := cli(t, "logs", l.app, "--env", env, "--previous")
	if code != release.ExitFailed || !strings.Contains(errOut, "no container of "+l.app+" in "+env+" has restarted") {
		t.Fatalf("--previous of a pod never restarted: exit %d: %s", code, errOut)
	}

	code, _, errOut = cli(t, "logs", l.app, "--env", env, "--exclude", "a(b")
	if code != release.ExitUsage || !strings.Contains(errOut, `--exclude "a(b" is not a valid regular expression`) {
		t.Fatalf("a bad regex: exit %d: %s", code, errOut)
	}
}

func ptr[T any](v T) *T { return &v }

func head(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// The printer writes lines as stern does, colours only on request, events
// on stderr.
func TestLinePrinter(t *testing.T) {
	var out, errOut bytes.Buffer
	at := time.Date(2026, 11, 29, 14, 0, 0, 5000, time.UTC)
	ch := make(chan logs.Line, 4)
	ch <- logs.Line{Pod: "api-1", Container: "api", Kind: logs.KindPodAdded}
	ch <- logs.Line{Pod: "api-1", Container: "api", Time: at, Text: "GET / 200"}
	ch <- logs.Line{Pod: "api-1", Container: "api", Kind: logs.KindError, Text: "log of api-1/api interrupted"}
	ch <- logs.Line{Pod: "api-1", Container: "api", Kind: logs.KindPodGone}
	close(ch)
	p := &linePrinter{out: &out, errOut: &errOut, timestamps: true, prefix: true}
	if streams, failed := p.print(ch); streams != 1 || !failed {
		t.Fatalf("%d streams, failed %v: want 1 and the error line reported", streams, failed)
	}
	if want := "api-1 api 2026-11-29T14:00:00.000005000Z GET / 200\n"; out.String() != want {
		t.Fatalf("stdout %q, want %q", out.String(), want)
	}
	if want := "+ api-1 › api\n! log of api-1/api interrupted\n- api-1 › api\n"; errOut.String() != want {
		t.Fatalf("stderr %q, want %q", errOut.String(), want)
	}
	p.colour = true
	if got := p.paint(p.podColour("api-1"), "api-1"); !strings.HasPrefix(got, "\x1b[") || !strings.HasSuffix(got, "api-1\x1b[0m") {
		t.Fatalf("coloured pod %q", got)
	}
}
