package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/release"
)

// releaseLab deploys an app of this test only in the lab's environments,
// at versions (default: dev 1.1.0 and test 1.0.0), deleted afterwards, and
// writes configs that watch it alone through the lab's pipeline.
type releaseLab struct {
	dir, app, selector string
	lab                *config.Config
	cs                 *k8s.Clientset
}

func newReleaseLab(t *testing.T, versions ...string) *releaseLab {
	t.Helper()
	labtest.Env(t, "KUBECONFIG")
	lab, err := config.Load(filepath.Join(labtest.StateDir(), "vigil.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix)
	l := &releaseLab{dir: sandbox(t), app: "cli-" + hex.EncodeToString(suffix), lab: lab}
	partOf := "vigil-cli-test-" + hex.EncodeToString(suffix)
	l.selector = "app.kubernetes.io/part-of=" + partOf
	k := lab.Kubernetes
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: k.Kubeconfig}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: k.Environments[0].Context}).ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	cs, err := k8s.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	l.cs = cs
	ctx := context.Background()
	if len(versions) == 0 {
		versions = []string{"1.1.0", "1.0.0"}
	}
	for i, version := range versions {
		ns := k.Environments[i].Namespace
		labels := map[string]string{"app.kubernetes.io/name": l.app, "app.kubernetes.io/part-of": partOf}
		one := int32(1)
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: l.app, Labels: labels},
			Spec: appsv1.DeploymentSpec{
				Replicas: &one,
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": l.app}},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
					Containers: []corev1.Container{{Name: "app", Image: "registry.lab.local/test/cli:" + version}},
				}},
			},
		}
		if _, err := cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cs.AppsV1().Deployments(ns).Delete(ctx, l.app, metav1.DeleteOptions{})
			_ = cs.CoordinationV1().Leases(ns).Delete(ctx, "vigil-promote-"+l.app, metav1.DeleteOptions{})
		})
	}
	return l
}

// image is the image of the app's container in env's namespace.
func (l *releaseLab) image(t *testing.T, env string) string {
	t.Helper()
	for _, e := range l.lab.Kubernetes.Environments {
		if e.Name == env {
			d, err := l.cs.AppsV1().Deployments(e.Namespace).Get(context.Background(), l.app, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return d.Spec.Template.Spec.Containers[0].Image
		}
	}
	t.Fatalf("the lab has no environment %s", env)
	return ""
}

// config writes a config for role and points VIGIL_CONFIG at it.
func (l *releaseLab) config(t *testing.T, role string) {
	t.Helper()
	var b strings.Builder
	k := l.lab.Kubernetes
	fmt.Fprintf(&b, "identity: {name: alice, role: %s}\naudit: {path: %q}\nkubernetes:\n  kubeconfig: %q\n  app_selector: %q\n  environments:\n",
		role, filepath.Join(l.dir, "journal.db"), k.Kubeconfig, l.selector)
	for _, e := range k.Environments {
		fmt.Fprintf(&b, "    - {name: %s, context: %q, namespace: %s, protected: %v}\n", e.Name, e.Context, e.Namespace, e.Protected)
	}
	path := filepath.Join(l.dir, role+".yaml")
	writeFile(t, path, b.String())
	t.Setenv("VIGIL_CONFIG", path)
}

func (l *releaseLab) journal(t *testing.T) []audit.Entry {
	t.Helper()
	j, err := audit.Open(filepath.Join(l.dir, "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	entries, err := j.Query(audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// TestReleaseVerbsOnTheLab runs status, promote and rollback against the
// lab's control plane, and checks that the exit codes tell success (0),
// failure (1) and refusal (3) apart.
func TestReleaseVerbsOnTheLab(t *testing.T) {
	l := newReleaseLab(t)
	l.config(t, "operator")

	// The deployments become healthy within seconds on kwok.
	deadline := time.Now().Add(60 * time.Second)
	var m release.Matrix
	for {
		code, out, errOut := cli(t, "status", "--json")
		if code != 0 {
			t.Fatalf("status --json: exit %d: %s", code, errOut)
		}
		m = release.Matrix{}
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("status --json: %v\n%s", err, out)
		}
		d, _ := m.Cell(l.app, "dev")
		c, _ := m.Cell(l.app, "test")
		if d.Health == release.Healthy && c.Health == release.Healthy {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never healthy in dev and test:\n%s", l.app, out)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if c, _ := m.Cell(l.app, "test"); c.Version != "1.0.0" || !c.Drift || c.DriftFrom != "1.1.0" {
		t.Fatalf("test cell %+v", c)
	}
	code, out, _ := cli(t, "status")
	if code != 0 || !strings.Contains(out, "prod (protected)") || !strings.Contains(out, l.app+"  1.1.0 1/1 healthy") {
		t.Fatalf("status: exit %d:\n%s", code, out)
	}

	code, out, _ = cli(t, "promote", l.app, "--to", "test", "--wait")
	if code != 0 || !strings.Contains(out, "container app:  registry.lab.local/test/cli:1.0.0 -> registry.lab.local/test/cli:1.1.0") ||
		!strings.Contains(out, "rollout of "+l.app+" in test complete") {
		t.Fatalf("promote: exit %d:\n%s", code, out)
	}
	code, out, _ = cli(t, "rollback", l.app, "--env", "test", "--to-revision", "1", "--wait", "--yes")
	if code != 0 || !strings.Contains(out, "back to revision 1") || !strings.Contains(out, "complete") {
		t.Fatalf("rollback: exit %d:\n%s", code, out)
	}
	code, out, _ = cli(t, "promote", "no-such-app", "--to", "test")
	if code != release.ExitFailed || !strings.Contains(out, `no app "no-such-app"`) {
		t.Fatalf("promote of a missing app: exit %d:\n%s", code, out)
	}
	code, out, _ = cli(t, "--read-only", "rollback", l.app, "--env", "test")
	if code != release.ExitRefused {
		t.Fatalf("read-only rollback: exit %d:\n%s", code, out)
	}

	l.config(t, "viewer")
	code, out, _ = cli(t, "promote", l.app, "--to", "test")
	if code != release.ExitRefused {
		t.Fatalf("viewer promote: exit %d:\n%s", code, out)
	}
	var results []string
	for _, e := range l.journal(t) {
		results = append(results, e.Role+" "+e.Action+" "+string(e.Result))
	}
	want := "operator promote ok|operator roll back ok|operator roll back refused|viewer promote refused"
	if got := strings.Join(results, "|"); got != want {
		t.Fatalf("journal %q, want %q", got, want)
	}
}

// A bad command line of promote or rollback exits 2, before any cluster is
// read, and says what is wrong.
func TestReleaseVerbUsage(t *testing.T) {
	sandbox(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"promote"}, "promote takes one app"},
		{[]string{"promote", "api"}, "promote needs --to"},
		{[]string{"promote", "api", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"rollback", "api", "web", "--env", "test"}, "rollback takes one app"},
		{[]string{"rollback", "api"}, "rollback needs --env"},
		{[]string{"rollback", "api", "--env", "test", "--to-revision", "-1"}, "invalid --to-revision -1"},
	} {
		code, _, errOut := cli(t, c.args...)
		if code != release.ExitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", c.args, code, errOut, c.want)
		}
	}
}

// TestProtectedOnTheLab promotes into the lab's protected prod and rolls
// back there, as a person would: with no terminal and no --yes, refused
// (exit 3, prod untouched, said how to proceed); on a terminal, a wrong
// name refused and prod typed promotes; --yes acts without asking. Every
// refusal is journaled as refused.
func TestProtectedOnTheLab(t *testing.T) {
	l := newReleaseLab(t, "1.1.0", "1.0.0", "1.1.0", "1.0.0")
	l.config(t, "operator")
	const before, after = "registry.lab.local/test/cli:1.0.0", "registry.lab.local/test/cli:1.1.0"
	if got := l.image(t, "prod"); got != before {
		t.Fatalf("prod runs %s before the test", got)
	}

	code, out, _ := cli(t, "promote", l.app, "--to", "prod")
	if code != release.ExitRefused || !strings.Contains(out, "container app:  "+before+" -> "+after) || strings.Contains(out, "promoted") ||
		!strings.Contains(out, "vigil promote: promote to a protected environment prod/"+l.app+": not confirmed, there is no terminal to ask on: nothing was done; type prod when asked on a terminal, or pass --yes") {
		t.Fatalf("promote to prod with no terminal: exit %d:\n%s", code, out)
	}
	if got := l.image(t, "prod"); got != before {
		t.Fatalf("a refused promotion changed prod to %s", got)
	}

	prompt := "Promote " + l.app + " from preprod to prod? Type prod to confirm: "
	promote := func(tty io.ReadWriter) int {
		return run([]string{"promote", l.app, "--to", "prod", "--wait"}, tty, tty, tty)
	}
	code, shown := onTerminal(t, prompt, "prd", promote)
	if code != release.ExitRefused || !strings.Contains(shown, "not confirmed: nothing was done") || strings.Contains(shown, "promoted") {
		t.Fatalf("promote to prod answered prd: exit %d; the terminal shows:\n%s", code, shown)
	}
	if got := l.image(t, "prod"); got != before {
		t.Fatalf("a promotion answered with a wrong name changed prod to %s", got)
	}
	code, shown = onTerminal(t, prompt, "prod", promote)
	if code != 0 || !strings.Contains(shown, "promoted "+l.app+" to prod") || !strings.Contains(shown, "rollout of "+l.app+" in prod complete") {
		t.Fatalf("promote to prod answered prod: exit %d; the terminal shows:\n%s", code, shown)
	}
	if got := l.image(t, "prod"); got != after {
		t.Fatalf("prod runs %s after a confirmed promotion", got)
	}

	code, out, _ = cli(t, "rollback", l.app, "--env", "prod")
	if code != release.ExitRefused || strings.Contains(out, "rolled") ||
		!strings.Contains(out, "vigil rollback: roll back prod/"+l.app+": not confirmed, there is no terminal to ask on: nothing was done; type prod when asked on a terminal, or pass --yes") {
		t.Fatalf("rollback in prod with no terminal: exit %d:\n%s", code, out)
	}
	if got := l.image(t, "prod"); got != after {
		t.Fatalf("a refused rollback changed prod to %s", got)
	}
	code, out, _ = cli(t, "rollback", l.app, "--env", "prod", "--yes", "--wait")
	if code != 0 || !strings.Contains(out, "rolled "+l.app+" in prod back to revision") {
		t.Fatalf("rollback in prod --yes: exit %d:\n%s", code, out)
	}
	if got := l.image(t, "prod"); got != before {
		t.Fatalf("prod runs %s after rollback --yes", got)
	}

	var results []string
	for _, e := range l.journal(t) {
		results = append(results, e.Action+" "+e.Target+" "+string(e.Result))
	}
	p := "promote to a protected environment prod/" + l.app
	r := "roll back prod/" + l.app
	want := []string{p + " refused", p + " refused", p + " ok", r + " refused", r + " ok"}
	if !slices.Equal(results, want) {
		t.Fatalf("journal %q, want %q", results, want)
	}
}
