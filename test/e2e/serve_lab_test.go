package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/release"
)

// The lab's shop runs worker 3.1.0 in dev and 3.0.2 in test: promoting it
// from dev to test changes a non-protected environment only.
const (
	labApp  = "worker"
	labFrom = "dev"
	labTo   = "test"
)

// serveLab is a `vigil serve` over a copy of the lab's config (its
// dev/test/preprod/prod pipeline, prod protected) with a journal of its own,
// an operator and a viewer, and a client-go view of the lab's cluster.
type serveLab struct {
	t              *testing.T
	bin            string
	s              sandbox
	srv            *serveProc
	operator       serveUser
	viewer         serveUser
	kube           k8s.Interface
	fromImg, toImg string // the app's image in labFrom and in labTo when the test began
}

func newServeLab(t *testing.T) *serveLab {
	t.Helper()
	needTmux(t)
	labtest.Tool(t, "ssh", "openssh-client")
	env := labtest.Env(t, "KUBECONFIG", "VIGIL_CONFIG")
	l := &serveLab{t: t, bin: vigilBinary(t)}
	dir := t.TempDir()
	l.operator = newServeUser(t, dir, "olga", "operator")
	l.viewer = newServeUser(t, dir, "victor", "viewer")

	rc, err := clientcmd.BuildConfigFromFlags("", env["KUBECONFIG"])
	if err != nil {
		t.Fatal(err)
	}
	if l.kube, err = k8s.NewForConfig(rc); err != nil {
		t.Fatal(err)
	}
	from, to := l.deployment(labFrom), l.deployment(labTo)
	l.fromImg, l.toImg = image(from), image(to)
	if l.fromImg == l.toImg {
		t.Fatalf("the lab's %s runs %s in both %s and %s, so there is nothing to promote: restore the lab (make lab-down lab-up)",
			labApp, l.fromImg, labFrom, labTo)
	}

	port := freePort(t)
	l.s = newSandbox(t, l.config(env["VIGIL_CONFIG"], port, filepath.Join(dir, "journal.db")))
	l.srv = startServe(t, l.bin, l.s, port)
	return l
}

// config is the lab's config with its own journal and a serve section for
// the operator and the viewer.
func (l *serveLab) config(labConfig, port, journal string) string {
	l.t.Helper()
	data, err := os.ReadFile(labConfig)
	if err != nil {
		l.t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		l.t.Fatalf("%s: %v", labConfig, err)
	}
	user := func(u serveUser) map[string]any {
		return map[string]any{"name": u.name, "role": u.role, "keys": []string{u.authorizedLine(l.t)}}
	}
	cfg["audit"] = map[string]any{"path": journal}
	// The lab's serve section holds the webhook token Alertmanager sends.
	serve, _ := cfg["serve"].(map[string]any)
	if serve == nil {
		serve = map[string]any{}
	}
	serve["listen"] = "127.0.0.1:" + port
	serve["users"] = []any{user(l.operator), user(l.viewer)}
	cfg["serve"] = serve
	out, err := yaml.Marshal(cfg)
	if err != nil {
		l.t.Fatal(err)
	}
	return string(out)
}

func (l *serveLab) deployment(ns string) *appsv1.Deployment {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := l.kube.AppsV1().Deployments(ns).Get(ctx, labApp, metav1.GetOptions{})
	if err != nil {
		l.t.Fatalf("the lab's %s in %s: %v (is the lab up? make lab-up)", labApp, ns, err)
	}
	return d
}

func image(d *appsv1.Deployment) string { return d.Spec.Template.Spec.Containers[0].Image }

// tag is an image's tag: the version the matrix shows.
func tag(image string) string { return image[strings.LastIndex(image, ":")+1:] }

// waitRolledOut waits until the app in ns runs img on all its replicas.
func (l *serveLab) waitRolledOut(ns, img string, timeout time.Duration) {
	l.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		d := l.deployment(ns)
		st, want := d.Status, int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		if image(d) == img && st.ObservedGeneration >= d.Generation &&
			st.UpdatedReplicas == want && st.AvailableReplicas == want && st.Replicas == want {
			return
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("%s in %s has not rolled out %s after %v: image %s, status %+v", labApp, ns, img, timeout, image(d), st)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// restoreOnCleanup puts the app in labTo back as it was: its image, the
// annotations a promotion sets, and no promotion lock of the operator's.
// Other tests on the lab find the shop as the lab made it.
func (l *serveLab) restoreOnCleanup() {
	before := l.deployment(labTo)
	l.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		annotations := map[string]any{}
		for _, k := range []string{release.AnnotationPromotedFrom, release.AnnotationPromotedBy, release.AnnotationPromotedAt, release.AnnotationChangeCause} {
			if v, ok := before.Annotations[k]; ok {
				annotations[k] = v
			} else {
				annotations[k] = nil // a strategic merge patch deletes it
			}
		}
		patch, _ := json.Marshal(map[string]any{
			"metadata": map[string]any{"annotations": annotations},
			"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
				"containers": []any{map[string]any{"name": before.Spec.Template.Spec.Containers[0].Name, "image": image(before)}},
			}}},
		})
		if _, err := l.kube.AppsV1().Deployments(labTo).Patch(ctx, labApp, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
			l.t.Errorf("restoring %s/%s to %s: %v", labTo, labApp, image(before), err)
			return
		}
		leases := l.kube.CoordinationV1().Leases(labTo)
		lease, err := leases.Get(ctx, "vigil-promote-"+labApp, metav1.GetOptions{})
		if err == nil && lease.Spec.HolderIdentity != nil && *lease.Spec.HolderIdentity == l.operator.name {
			err = leases.Delete(ctx, lease.Name, metav1.DeleteOptions{})
		}
		if err != nil && !apierrors.IsNotFound(err) {
			l.t.Errorf("freeing the promotion lock of %s in %s: %v", labApp, labTo, err)
		}
		l.waitRolledOut(labTo, image(before), 60*time.Second)
	})
}

// connect opens u's console with the real OpenSSH client in a tmux of its
// own, and waits for the Environments pane to show the app's row.
func (l *serveLab) connect(u serveUser) *tmux {
	l.t.Helper()
	tm := startTmux(l.t, l.s.env(), 120, 36)
	tm.respawn(l.srv.sshArgv(u.key, u.name, "-tt")...)
	tm.waitText(15*time.Second, u.name+" · "+u.role)
	tm.keys("2")
	tm.waitFor("the shop's matrix", 30*time.Second, func(s string) bool {
		return strings.Contains(s, "Environments") && matrixRow(s, "api") != "" && matrixRow(s, labApp) != ""
	})
	// The filter leaves the app alone in the matrix, under the cursor.
	tm.keys("/")
	tm.typeText(labApp)
	tm.keys("Enter")
	tm.waitText(5*time.Second, "1 of ", "filter "+labApp)
	return tm
}

// matrixRow is the matrix's line for app, or "". A cursor mark may come
// before the app's name.
func matrixRow(screen, app string) string {
	re := regexp.MustCompile(`(?m)^│[^\w│]*` + regexp.QuoteMeta(app) + `\s+\S+.*$`)
	return re.FindString(screen)
}

// stop quits tm's session with q, then stops the server with SIGTERM and
// returns the journal as `vigil audit --json` prints it.
func (l *serveLab) stop(tm *tmux) []audit.Entry {
	l.t.Helper()
	tm.keys("q")
	if status := tm.exitStatus(10 * time.Second); status != 0 {
		l.t.Errorf("ssh exited %d; screen:\n%s", status, tm.capture())
	}
	if err := l.srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		l.t.Fatal(err)
	}
	select {
	case err := <-l.srv.done:
		l.srv.done <- err // for the cleanup
		if err != nil {
			l.t.Errorf("vigil serve exited with %v; stderr:\n%s", err, l.srv.stderr)
		}
	case <-time.After(40 * time.Second):
		l.t.Fatalf("vigil serve did not stop on SIGTERM; stderr:\n%s", l.srv.stderr)
	}
	cmd := exec.Command(l.bin, "--config", l.s.config, "audit", "--json")
	cmd.Env = l.s.env()
	out, err := cmd.Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			l.t.Fatalf("vigil audit --json: %v\n%s", err, exit.Stderr)
		}
		l.t.Fatalf("vigil audit --json: %v", err)
	}
	var entries []audit.Entry
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var e audit.Entry
		if err := dec.Decode(&e); err == io.EOF {
			return entries
		} else if err != nil {
			l.t.Fatalf("vigil audit --json: %v\n%s", err, out)
		}
		entries = append(entries, e)
	}
}

// promotions are the journal's promote entries.
func promotions(entries []audit.Entry) []audit.Entry {
	var out []audit.Entry
	for _, e := range entries {
		if e.Action == "promote" {
			out = append(out, e)
		}
	}
	return out
}

// TestE2EServeLabPromote: an operator connected with OpenSSH promotes the
// shop's worker from dev to test through the Environments pane and its
// preview dialog; the lab's cluster rolls the new image out, and the
// journal names the operator and their key.
func TestE2EServeLabPromote(t *testing.T) {
	l := newServeLab(t)
	l.restoreOnCleanup()
	tm := l.connect(l.operator)

	// The cursor is on the app's dev cell: p previews the promotion to test.
	tm.keys("p")
	screen := tm.waitText(10*time.Second, fmt.Sprintf("Promote %s from %s to %s?", labApp, labFrom, labTo), "y confirm")
	flat := strings.Join(strings.Fields(strings.ReplaceAll(screen, "│", " ")), " ")
	for _, want := range []string{l.toImg + " → " + l.fromImg, release.AnnotationPromotedBy + "=" + l.operator.name} {
		if !strings.Contains(flat, want) {
			t.Errorf("the preview lacks %q:\n%s", want, screen)
		}
	}
	confirmed := time.Now()
	tm.keys("y")
	tm.waitText(10*time.Second, "promoted "+labApp+" to "+labTo)

	// The cluster runs the new image, and the matrix shows it.
	l.waitRolledOut(labTo, l.fromImg, 90*time.Second)
	t.Logf("confirm → %s rolled out in %s: %v", l.fromImg, labTo, time.Since(confirmed).Round(time.Millisecond))
	version := tag(l.fromImg)
	tm.waitFor("the promoted version in "+labTo, 15*time.Second, func(s string) bool {
		return strings.Count(matrixRow(s, labApp), version) >= 2
	})
	if by := l.deployment(labTo).Annotations[release.AnnotationPromotedBy]; !strings.HasPrefix(by, l.operator.name) {
		t.Errorf("%s/%s is annotated %s=%q", labTo, labApp, release.AnnotationPromotedBy, by)
	}

	entries := l.stop(tm)
	p := promotions(entries)
	if len(p) != 1 {
		t.Fatalf("%d promote entries in the journal, want 1: %+v", len(p), entries)
	}
	e := p[0]
	if e.Actor != l.operator.name || e.Role != "operator" || e.Key != l.operator.fingerprint ||
		e.Result != audit.OK || e.Target != labTo+"/"+labApp || e.Parameters["from"] != labFrom {
		t.Errorf("the promotion is journaled as %+v, want %s (operator, key %s) promoting %s/%s from %s, ok",
			e, l.operator.name, l.operator.fingerprint, labTo, labApp, labFrom)
	}
	if got, want := e.Parameters["image."+l.deployment(labTo).Spec.Template.Spec.Containers[0].Name], l.toImg+" -> "+l.fromImg; got != want {
		t.Errorf("the journal records the image change %q, want %q", got, want)
	}
}

// TestE2EServeLabViewer: a viewer connected with OpenSSH sees the shop's
// matrix; the promote key does nothing, and `:promote` is refused on screen
// and journaled as refused with the viewer's name and key; the cluster is
// unchanged.
func TestE2EServeLabViewer(t *testing.T) {
	l := newServeLab(t)
	generation := l.deployment(labTo).Generation
	tm := l.connect(l.viewer)
	// The viewer sees the app's versions in dev and in test.
	row := matrixRow(tm.capture(), labApp)
	for _, img := range []string{l.fromImg, l.toImg} {
		if v := tag(img); !strings.Contains(row, v) {
			t.Errorf("the viewer's matrix row lacks version %s: %q", v, row)
		}
	}

	// p does nothing: ? after it opens help, and no dialog came between;
	// help lists p only among what the viewer may not do, saying why.
	tm.keys("p", "?")
	screen := tm.waitText(10*time.Second, "Help · Environments")
	if strings.Contains(screen, "Promote ") || !strings.Contains(screen, "p viewers may not promote to the next environment") {
		t.Errorf("a viewer's promote key acted, or help does not say why it is not allowed:\n%s", screen)
	}
	tm.keys("Escape")
	tm.waitFor("help closed", 5*time.Second, func(s string) bool { return !strings.Contains(s, "Help · Environments") })

	tm.keys(":")
	tm.typeText(fmt.Sprintf("promote %s %s", labApp, labTo))
	tm.keys("Enter")
	tm.waitText(10*time.Second, "refused: "+l.viewer.name+" is a viewer and may not promote")

	entries := l.stop(tm)
	p := promotions(entries)
	if len(p) != 1 {
		t.Fatalf("%d promote entries in the journal, want 1: %+v", len(p), entries)
	}
	if e := p[0]; e.Actor != l.viewer.name || e.Role != "viewer" || e.Key != l.viewer.fingerprint ||
		e.Result != audit.Refused || e.Target != labTo+"/"+labApp {
		t.Errorf("the viewer's promote is journaled as %+v, want %s (viewer, key %s) refused on %s/%s",
			e, l.viewer.name, l.viewer.fingerprint, labTo, labApp)
	}
	for _, e := range entries {
		if e.Actor == l.viewer.name && e.Result == audit.OK && e.Action != "session.open" && e.Action != "session.close" {
			t.Errorf("the viewer changed something: %+v", e)
		}
	}
	d := l.deployment(labTo)
	if d.Generation != generation || image(d) != l.toImg {
		t.Errorf("%s/%s changed after a viewer's promote: generation %d → %d, image %s → %s",
			labTo, labApp, generation, d.Generation, l.toImg, image(d))
	}
}
