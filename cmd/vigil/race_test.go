package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/release"
)

// The vigil binary the race tests start as separate processes, built once
// per test binary into a directory removed by TestMain.
var vigilBin struct {
	once      sync.Once
	dir, path string
	err       error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if vigilBin.dir != "" {
		_ = os.RemoveAll(vigilBin.dir)
	}
	os.Exit(code)
}

// vigilBinary builds ./cmd/vigil (once) and returns its path.
func vigilBinary(t *testing.T) string {
	t.Helper()
	vigilBin.once.Do(func() {
		if vigilBin.dir, vigilBin.err = os.MkdirTemp("", "vigil-race-bin-"); vigilBin.err != nil {
			return
		}
		vigilBin.path = filepath.Join(vigilBin.dir, "vigil")
		out, err := exec.Command("go", "build", "-o", vigilBin.path, ".").CombinedOutput()
		if err != nil {
			vigilBin.err = fmt.Errorf("go build ./cmd/vigil: %v\n%s", err, out)
		}
	})
	if vigilBin.err != nil {
		t.Fatal(vigilBin.err)
	}
	return vigilBin.path
}

// raceLab is two environments of the lab's cluster in namespaces of this
// test alone (dev and test, deleted afterwards), each running the app web,
// and one bastion per actor: their own config and journal, as two people
// on two machines have.
type raceLab struct {
	dir, id, kubeconfig, kctx string
	ns                        map[string]string // environment → namespace
	cs                        *k8s.Clientset
	actors                    []string
}

const raceApp = "web"

func raceImage(version string) string { return "registry.lab.local/race/web:" + version }

func newRaceLab(t *testing.T, actors ...string) *raceLab {
	t.Helper()
	labtest.Env(t, "KUBECONFIG")
	lab, err := config.Load(filepath.Join(labtest.StateDir(), "vigil.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	k := lab.Kubernetes
	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix)
	l := &raceLab{dir: sandbox(t), id: "race-" + hex.EncodeToString(suffix), kubeconfig: k.Kubeconfig, kctx: k.Environments[0].Context, actors: actors}
	l.ns = map[string]string{"dev": l.id + "-dev", "test": l.id + "-test"}
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: l.kubeconfig}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: l.kctx}).ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	if l.cs, err = k8s.NewForConfig(rc); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, env := range []string{"dev", "test"} {
		ns := l.ns[env]
		if _, err := l.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	}
	labels := map[string]string{"app.kubernetes.io/name": raceApp, "app.kubernetes.io/part-of": l.id}
	one := int32(1)
	for env, version := range map[string]string{"dev": "1.1.0", "test": "1.0.0"} {
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: raceApp, Labels: labels},
			Spec: appsv1.DeploymentSpec{
				Replicas: &one,
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": raceApp}},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
					Containers: []corev1.Container{{Name: "app", Image: raceImage(version)}},
				}},
			},
		}
		if _, err := l.cs.AppsV1().Deployments(l.ns[env]).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range actors {
		var b strings.Builder
		fmt.Fprintf(&b, "identity: {name: %s, role: operator}\naudit: {path: %q}\nkubernetes:\n  kubeconfig: %q\n  app_selector: %q\n  environments:\n",
			name, l.journalPath(name), l.kubeconfig, "app.kubernetes.io/part-of="+l.id)
		for _, env := range []string{"dev", "test"} {
			fmt.Fprintf(&b, "    - {name: %s, context: %q, namespace: %s}\n", env, l.kctx, l.ns[env])
		}
		writeFile(t, l.configPath(name), b.String())
	}
	// A source still rolling out is asked about a second time, which no
	// terminal answers: start from a settled dev.
	l.waitSettled(t, "dev")
	return l
}

func (l *raceLab) configPath(actor string) string {
	return filepath.Join(l.dir, actor, "vigil.yaml")
}

func (l *raceLab) journalPath(actor string) string {
	return filepath.Join(l.dir, actor, "journal.db")
}

func (l *raceLab) deployment(t *testing.T, env string) *appsv1.Deployment {
	t.Helper()
	d, err := l.cs.AppsV1().Deployments(l.ns[env]).Get(context.Background(), raceApp, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// setImage changes web's image in env, as someone outside vigil would, and
// waits for the Deployment controller to see it (its ReplicaSet, a
// revision, exists then).
func (l *raceLab) setImage(t *testing.T, env, version string) {
	t.Helper()
	patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":%q}]}}}}`, raceImage(version))
	d, err := l.cs.AppsV1().Deployments(l.ns[env]).Patch(context.Background(), raceApp, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for d.Status.ObservedGeneration < d.Generation {
		if time.Now().After(deadline) {
			t.Fatalf("the Deployment controller never saw %s's image %s in %s", raceApp, version, env)
		}
		time.Sleep(50 * time.Millisecond)
		d = l.deployment(t, env)
	}
}

// waitSettled waits for web's rollout in env to be complete.
func (l *raceLab) waitSettled(t *testing.T, env string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		d := l.deployment(t, env)
		s := d.Status
		if s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == 1 && s.AvailableReplicas == 1 && s.Replicas == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s in %s never settled: %+v", raceApp, env, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// noLease fails when the lock of web's promotions in env is left behind.
func (l *raceLab) noLease(t *testing.T, round int, env string) {
	t.Helper()
	_, err := l.cs.CoordinationV1().Leases(l.ns[env]).Get(context.Background(), "vigil-promote-"+raceApp, metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("round %d: the lock of %s in %s is left behind (%v)", round, raceApp, env, err)
	}
}

// journal is everything actor's vigil journaled, oldest first.
func (l *raceLab) journal(t *testing.T, actor string) []audit.Entry {
	t.Helper()
	j, err := audit.Open(l.journalPath(actor))
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

// A vigil process's outcome.
type outcome struct {
	code int
	out  string // stdout, then stderr
}

// together starts one vigil process per actor, back to back, each with
// its own config and its args, and waits for them all.
func (l *raceLab) together(t *testing.T, args map[string][]string) map[string]outcome {
	t.Helper()
	bin := vigilBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	type proc struct {
		cmd         *exec.Cmd
		stdout, err bytes.Buffer
	}
	procs := map[string]*proc{}
	for _, actor := range l.actors {
		if args[actor] == nil {
			continue
		}
		p := &proc{cmd: exec.CommandContext(ctx, bin, append([]string{"--config", l.configPath(actor)}, args[actor]...)...)}
		p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.err
		procs[actor] = p
	}
	for actor, p := range procs {
		if err := p.cmd.Start(); err != nil {
			t.Fatalf("start %s's vigil: %v", actor, err)
		}
	}
	out := map[string]outcome{}
	for actor, p := range procs {
		err := p.cmd.Wait()
		if _, exited := err.(*exec.ExitError); err != nil && !exited {
			t.Fatalf("%s's vigil: %v", actor, err)
		}
		if ctx.Err() != nil {
			t.Fatalf("%s's vigil %q did not end within 2 minutes:\n%s%s", actor, args[actor], p.stdout.String(), p.err.String())
		}
		out[actor] = outcome{code: p.cmd.ProcessState.ExitCode(), out: p.stdout.String() + p.err.String()}
	}
	return out
}

// rawAPI is what the API server says of a lost race on a Lease: it must
// never reach a person, on screen or in the journal.
var rawAPI = []string{"leases.coordination", "Precondition", "StorageError", "not found", "Operation cannot be fulfilled", "the object has been modified"}

func checkNoRawAPI(t *testing.T, round int, who, text string) {
	t.Helper()
	for _, raw := range rawAPI {
		if strings.Contains(text, raw) {
			t.Fatalf("round %d: the API's words %q reached %s:\n%s", round, raw, who, text)
		}
	}
}

// entryText is everything an entry says, for checkNoRawAPI.
func entryText(e audit.Entry) string {
	s := e.Action + " " + e.Target + " " + e.Error
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range e.Parameters {
			if !yield(k) {
				return
			}
		}
	}) {
		s += " " + k + "=" + e.Parameters[k]
	}
	return s
}

// newEntries returns the entries of actor's journal after the first seen,
// and checks none of them carries the API's words.
func (l *raceLab) newEntries(t *testing.T, round int, actor string, seen map[string]int) []audit.Entry {
	t.Helper()
	all := l.journal(t, actor)
	fresh := all[seen[actor]:]
	seen[actor] = len(all)
	for _, e := range fresh {
		checkNoRawAPI(t, round, actor+"'s journal", entryText(e))
	}
	return fresh
}

// checkRefused checks a loser's refusal: exit 3, the holder named with
// their bastion and since when, on screen and in one journal entry
// recorded as refused.
func checkRefused(t *testing.T, round int, loser, winner string, o outcome, fresh []audit.Entry, action string) {
	t.Helper()
	holder := "locked by " + winner + " on "
	if o.code != release.ExitRefused || !strings.Contains(o.out, holder) || !strings.Contains(o.out, " since ") {
		t.Fatalf("round %d: %s was not refused naming %s and since when (exit %d):\n%s", round, loser, winner, o.code, o.out)
	}
	if len(fresh) != 1 || fresh[0].Result != audit.Refused || !strings.HasPrefix(fresh[0].Action, action) || !strings.Contains(fresh[0].Error, holder) {
		t.Fatalf("round %d: %s's journal has %+v, want one %q refused naming %s", round, loser, fresh, action, winner)
	}
}

// TestTwoPromoteProcessesAtOnce: alice and bob, each with vigil on their
// own bastion (their own config and journal), start `vigil promote --wait`
// of the same app into test at the same moment, as two processes, 50
// times: one promotes; the other is refused (exit 3, journaled as refused)
// naming the winner, their bastion and since when, or plans after the
// change and has nothing to do. Never the API's words, on screen or in a
// journal; never a lock left behind.
func TestTwoPromoteProcessesAtOnce(t *testing.T) {
	names := []string{"alice", "bob"}
	l := newRaceLab(t, names...)
	const rounds = 50
	refusals := 0
	seen := map[string]int{}
	args := []string{"promote", raceApp, "--to", "test", "--wait"}
	for round := range rounds {
		// test back on the old release: there is something to promote.
		l.setImage(t, "test", "1.0.0")
		outs := l.together(t, map[string][]string{"alice": args, "bob": args})
		winner, loser := names[0], names[1]
		if !strings.Contains(outs[winner].out, "promoted "+raceApp) {
			winner, loser = loser, winner
		}
		w, o := outs[winner], outs[loser]
		checkNoRawAPI(t, round, winner, w.out)
		checkNoRawAPI(t, round, loser, o.out)
		if w.code != 0 || !strings.Contains(w.out, "promoted "+raceApp+" to test") || !strings.Contains(w.out, "rollout of "+raceApp+" in test complete") {
			t.Fatalf("round %d: nobody promoted; alice: %d %s\nbob: %d %s", round, outs["alice"].code, outs["alice"].out, outs["bob"].code, outs["bob"].out)
		}
		won := l.newEntries(t, round, winner, seen)
		if len(won) != 1 || won[0].Result != audit.OK || won[0].Parameters["image.app"] != raceImage("1.0.0")+" -> "+raceImage("1.1.0") {
			t.Fatalf("round %d: %s's journal has %+v, want one promotion", round, winner, won)
		}
		lost := l.newEntries(t, round, loser, seen)
		if o.code == 0 {
			// Planned after the winner's change: nothing left to do, and
			// nothing journaled.
			if !strings.Contains(o.out, "nothing to promote") || strings.Contains(o.out, "promoted") || len(lost) != 0 {
				t.Fatalf("round %d: both promoted, or the loser did something: %s: %s\njournal %+v", round, loser, o.out, lost)
			}
		} else {
			checkRefused(t, round, loser, winner, o, lost, "promote")
			refusals++
		}
		if got := l.deployment(t, "test").Spec.Template.Spec.Containers[0].Image; got != raceImage("1.1.0") {
			t.Fatalf("round %d: test runs %s after the promotion", round, got)
		}
		l.noLease(t, round, "test")
	}
	if refusals == 0 {
		t.Fatalf("in %d rounds the two processes never met on the lock: the race was not run", rounds)
	}
	t.Logf("%d of %d rounds met on the lock", refusals, rounds)
}
