package kubernetes_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/vigilops/vigil/ops/release"
)

// labBin is where the lab keeps the Kubernetes binaries it built.
func labBin(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("VIGIL_LAB_BIN")
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(cache, "vigil-lab", "bin")
	}
	if _, err := os.Stat(filepath.Join(dir, "kubectl")); err != nil {
		t.Fatalf("the lab's binaries are not in %s (%v): run `make lab-up` to build them", dir, err)
	}
	return dir
}

func kubectl(t *testing.T, kubeconfig string, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(labBin(t), "kubectl"), append([]string{"--kubeconfig", kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// A vigil rollback leaves the same history as `kubectl rollout undo` on an
// identical workload.
func TestRollbackMatchesKubectlUndo(t *testing.T) {
	kubeconfig := lab(t)
	f := newFixture(t, kubeconfig, "dev")
	ns := f.env("dev").Namespace
	twins := []string{"twin-one", "twin-two"}
	for _, app := range twins {
		f.deploy("dev", app, "1.0.0", 1)
	}
	f.start()
	for _, v := range []string{"1.1.0", "1.2.0"} {
		for _, app := range twins {
			f.release("dev", app, v)
		}
		for _, app := range twins {
			f.waitHealthy("dev", app, v)
		}
	}
	rev, err := f.svc.Rollback(f.ctx, alice, "twin-one", "dev", 1)
	if err != nil {
		t.Fatal(err)
	}
	if rev.Number != 1 || !strings.HasSuffix(rev.Containers[1].Image, ":1.0.0") {
		t.Fatalf("rolled back to %+v", rev)
	}
	kubectl(t, kubeconfig, "-n", ns, "rollout", "undo", "deployment/twin-two", "--to-revision=1")
	// vigil also records why (kubectl has no flag for it): the same cause,
	// given by hand, reaches twin-two's restored ReplicaSet as vigil's does.
	cause := f.live("dev", "twin-one").Annotations[release.AnnotationChangeCause]
	if !strings.HasPrefix(cause, "vigil: alice rolled back twin-one from revision 3 to revision 1") {
		t.Fatalf("vigil's rollback recorded the change-cause %q", cause)
	}
	kubectl(t, kubeconfig, "-n", ns, "annotate", "--overwrite", "deployment/twin-two", release.AnnotationChangeCause+"="+strings.ReplaceAll(cause, "twin-one", "twin-two"))
	for _, app := range twins {
		f.waitHealthy("dev", app, "1.0.0")
	}
	waitFor(t, "the change-cause on twin-two's ReplicaSet", func() bool {
		return strings.Contains(kubectl(t, kubeconfig, "-n", ns, "rollout", "history", "deployment/twin-two"), "vigil: alice rolled back")
	})
	for _, args := range [][]string{{}, {"--revision=4"}, {"--revision=3"}} {
		one := kubectl(t, kubeconfig, append([]string{"-n", ns, "rollout", "history", "deployment/twin-one"}, args...)...)
		two := kubectl(t, kubeconfig, append([]string{"-n", ns, "rollout", "history", "deployment/twin-two"}, args...)...)
		if normal(two) != normal(one) {
			t.Errorf("kubectl rollout history %v differs:\nafter vigil rollback:\n%s\nafter kubectl rollout undo:\n%s", args, one, two)
		}
		if len(args) == 0 && (!strings.Contains(one, "\n4 ") || strings.Contains(one, "\n1 ")) {
			t.Errorf("revision 1 should have become 4:\n%s", one)
		}
	}
	one, two := f.live("dev", "twin-one"), f.live("dev", "twin-two")
	if one.Annotations["deployment.kubernetes.io/revision"] != "4" || one.Annotations[release.AnnotationChangeCause] != strings.ReplaceAll(two.Annotations[release.AnnotationChangeCause], "twin-two", "twin-one") {
		t.Errorf("annotations: vigil %v, kubectl %v", one.Annotations, two.Annotations)
	}
	h, err := f.svc.History("twin-one", "dev")
	if err != nil || len(h) != 3 || h[0].Number != 4 || !h[0].Current || !strings.HasSuffix(h[0].Containers[1].Image, ":1.0.0") {
		t.Fatalf("history after rollback: %+v %v", h, err)
	}
}

// The same for StatefulSets, whose history is in ControllerRevisions.
func TestStatefulSetRollbackMatchesKubectlUndo(t *testing.T) {
	kubeconfig := lab(t)
	f := newFixture(t, kubeconfig, "dev")
	ns := f.env("dev").Namespace
	twins := []string{"sts-one", "sts-two"}
	for _, app := range twins {
		f.statefulSet("dev", app, "15.0")
	}
	f.start()
	for _, app := range twins {
		f.waitHealthy("dev", app, "15.0")
	}
	for _, v := range []string{"15.1", "15.2"} {
		for _, app := range twins {
			f.release("dev", app, v)
		}
		for _, app := range twins {
			f.waitHealthy("dev", app, v)
		}
	}
	rev, err := f.svc.Rollback(f.ctx, alice, "sts-one", "dev", 1)
	if err != nil || rev.Number != 1 {
		t.Fatalf("rollback: %+v %v", rev, err)
	}
	kubectl(t, kubeconfig, "-n", ns, "rollout", "undo", "statefulset/sts-two", "--to-revision=1")
	for _, app := range twins {
		f.waitHealthy("dev", app, "15.0")
	}
	for _, args := range [][]string{{}, {"--revision=4"}} {
		one := kubectl(t, kubeconfig, append([]string{"-n", ns, "rollout", "history", "statefulset/sts-one"}, args...)...)
		two := kubectl(t, kubeconfig, append([]string{"-n", ns, "rollout", "history", "statefulset/sts-two"}, args...)...)
		if strings.ReplaceAll(two, "sts-two", "sts-one") != one {
			t.Errorf("kubectl rollout history %v differs:\nafter vigil rollback:\n%s\nafter kubectl rollout undo:\n%s", args, one, two)
		}
	}
	h, err := f.svc.History("sts-one", "dev")
	if err != nil || len(h) != 3 || h[0].Number != 4 || !h[0].Current || !strings.HasSuffix(h[0].Containers[1].Image, ":15.0") {
		t.Fatalf("history after rollback: %+v %v", h, err)
	}
}

// Killing the API server shows as a disconnection with the age of the last
// data, the data stays, and everything recovers by itself once it is back.
// This runs on a throwaway kwok cluster, not on the shared lab.
func TestAPIServerLossAndRecovery(t *testing.T) {
	lab(t)
	bin := labBin(t)
	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix)
	name := "vigil-loss-" + hex.EncodeToString(suffix)
	work := t.TempDir()
	kwokctl := func(args ...string) {
		t.Helper()
		cmd := exec.Command(filepath.Join(bin, "kwokctl"), append(args, "--name", name)...)
		// kwokctl adds its context to $KUBECONFIG: keep the lab's file out of it.
		cmd.Env = append(os.Environ(), "KWOK_WORKDIR="+work, "KUBECONFIG="+filepath.Join(work, "kubeconfig"), "PATH="+bin+":"+os.Getenv("PATH"))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kwokctl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// Without leader election, a slow moment of the machine cannot make the
	// controller manager give up and exit.
	config := filepath.Join(work, "kwokctl.yaml")
	if err := os.WriteFile(config, []byte(noLeaderElection), 0o644); err != nil {
		t.Fatal(err)
	}
	kwokctl("create", "cluster", "--config", config, "--runtime", "binary", "--wait", "2m",
		"--etcd-binary", filepath.Join(bin, "etcd"),
		"--kube-apiserver-binary", filepath.Join(bin, "kube-apiserver"),
		"--kube-controller-manager-binary", filepath.Join(bin, "kube-controller-manager"),
		"--kube-scheduler-binary", filepath.Join(bin, "kube-scheduler"),
		"--kwok-controller-binary", filepath.Join(bin, "kwok"))
	t.Cleanup(func() { kwokctl("delete", "cluster") })
	kwokctl("scale", "node", "--replicas", "1")
	kubeconfig := filepath.Join(work, "clusters", name, "kubeconfig.yaml")

	f := newFixture(t, kubeconfig, "dev")
	f.deploy("dev", "api", "1.0.0", 1)
	f.start()
	f.waitHealthy("dev", "api", "1.0.0")
	if c := f.svc.Matrix().Envs[0].Conn; !c.Connected {
		t.Fatalf("connection after start: %+v", c)
	}
	// At idle vigil only watches: no list request reaches the API server
	// (on this private cluster, nobody else lists either).
	lists := listRequests(t, f)
	time.Sleep(3 * time.Second)
	if again := listRequests(t, f); again != lists {
		t.Errorf("%.0f list requests at idle", again-lists)
	}

	kwokctl("stop", "cluster")
	stopped := time.Now()
	waitFor(t, "the disconnection to show", func() bool { return !f.svc.Matrix().Envs[0].Conn.Connected })
	c := f.svc.Matrix().Envs[0].Conn
	if c.Err == "" || c.LastData.After(stopped) || c.LastData.IsZero() {
		t.Fatalf("disconnected state: %+v", c)
	}
	if cell, ok := f.svc.Matrix().Cell("api", "dev"); !ok || cell.Version != "1.0.0" {
		t.Fatalf("the last known data should stay: %+v", cell)
	}
	var out strings.Builder
	if err := f.svc.WriteStatus(&out, false); err != nil || !strings.Contains(out.String(), "dev (disconnected)") {
		t.Fatalf("status while disconnected (%v):\n%s", err, out.String())
	}

	kwokctl("start", "cluster")
	waitFor(t, "the connection to come back", func() bool { return f.svc.Matrix().Envs[0].Conn.Connected })
	// The watches resumed: a change made now reaches the matrix.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	patch := []byte(`{"spec":{"replicas":2}}`)
	for {
		_, err := f.cs.AppsV1().Deployments(f.env("dev").Namespace).Patch(ctx, "api", types.MergePatchType, patch, metav1.PatchOptions{})
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
	}
	waitFor(t, "the change made after recovery", func() bool {
		c, _ := f.svc.Matrix().Cell("api", "dev")
		return c.Workload.Desired == 2
	})
}

var podTemplateHash = regexp.MustCompile(`pod-template-hash=[a-z0-9]+`)

// normal makes the twins' outputs comparable: their names and pod template
// hashes (a hash of a template that holds the name) differ.
func normal(s string) string {
	return podTemplateHash.ReplaceAllString(strings.ReplaceAll(s, "twin-two", "twin-one"), "pod-template-hash=HASH")
}

const noLeaderElection = `apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
componentsPatches:
- name: kube-controller-manager
  extraArgs:
  - key: leader-elect
    value: "false"
- name: kube-scheduler
  extraArgs:
  - key: leader-elect
    value: "false"
`

// listRequests sums the API server's LIST requests from its metrics.
func listRequests(t *testing.T, f *fixture) float64 {
	t.Helper()
	raw, err := f.cs.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "apiserver_request_total{") && strings.Contains(line, `verb="LIST"`) {
			if f := strings.Fields(line); len(f) == 2 {
				v, _ := strconv.ParseFloat(f[1], 64)
				n += v
			}
		}
	}
	if n == 0 {
		t.Fatal("no LIST requests in the API server's metrics: cannot tell idle from broken")
	}
	return n
}
