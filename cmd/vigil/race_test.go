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
// per test binary into a directory removed by TestMain, with the
// environment the tests started with: a test's sandbox moves HOME, and
// with it Go's build and module caches.
var vigilBin struct {
	once      sync.Once
	env       []string
	dir, path string
	err       error
}

func TestMain(m *testing.M) {
	vigilBin.env = os.Environ()
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
		build := exec.Command("go", "build", "-o", vigilBin.path, ".")
		build.Env = vigilBin.env
		out, err := build.CombinedOutput()
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
	full := map[string][]string{}
	for actor, a := range args {
		full[actor] = append([]string{"--config", l.configPath(actor)}, a...)
	}
	return together(t, full)
}

// together starts one vigil process per name with its args, back to back,
// and waits for them all.
func together(t *testing.T, args map[string][]string) map[string]outcome {
	t.Helper()
	bin := vigilBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	type proc struct {
		cmd         *exec.Cmd
		stdout, err bytes.Buffer
	}
	procs := map[string]*proc{}
	for name, a := range args {
		p := &proc{cmd: exec.CommandContext(ctx, bin, a...)}
		p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.err
		procs[name] = p
	}
	for name, p := range procs {
		if err := p.cmd.Start(); err != nil {
			t.Fatalf("start %s's vigil: %v", name, err)
		}
	}
	out := map[string]outcome{}
	for name, p := range procs {
		err := p.cmd.Wait()
		if _, exited := err.(*exec.ExitError); err != nil && !exited {
			t.Fatalf("%s's vigil: %v", name, err)
		}
		if ctx.Err() != nil {
			t.Fatalf("%s's vigil %q did not end within 2 minutes:\n%s%s", name, args[name], p.stdout.String(), p.err.String())
		}
		out[name] = outcome{code: p.cmd.ProcessState.ExitCode(), out: p.stdout.String() + p.err.String()}
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

// checkRefused checks a loser's refusal: exit 3, on screen and in one
// journal entry recorded as refused, naming the winner: as the holder of
// the lock, with their bastion and since when, or, for a promotion planned
// before the winner's change and locked after it, in that change.
func checkRefused(t *testing.T, round int, loser, winner string, o outcome, fresh []audit.Entry, action string) {
	t.Helper()
	locked := "locked by " + winner + " on "
	const changed = "changed since this promotion was planned"
	says := func(text string) bool {
		return strings.Contains(text, locked) && strings.Contains(text, " since ") ||
			strings.Contains(text, changed) && strings.Contains(text, "vigil: "+winner+" ")
	}
	if o.code != release.ExitRefused || !says(o.out) {
		t.Fatalf("round %d: %s was not refused naming %s (exit %d):\n%s", round, loser, winner, o.code, o.out)
	}
	if len(fresh) != 1 || fresh[0].Result != audit.Refused || !strings.HasPrefix(fresh[0].Action, action) || !says(fresh[0].Error) {
		t.Fatalf("round %d: %s's journal has %+v, want one %q refused naming %s", round, loser, fresh, action, winner)
	}
	if strings.Contains(o.out, changed) {
		t.Logf("round %d: %s planned before %s's change and was refused after it", round, loser, winner)
	}
}

// TestTwoPromoteProcessesAtOnce: alice and bob, each with vigil on their
// own bastion (their own config and journal), start `vigil promote --wait`
// of the same app into test at the same moment, as two processes, 50
// times: one promotes; the other is refused (exit 3, journaled as refused)
// naming the winner, their bastion and since when (or, planned before the
// winner's change and locked after it, naming that change), or plans after
// the change and has nothing to do. Never the API's words, on screen or in a
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

// maxRevision is the highest revision among web's ReplicaSets in env: one
// more for every image change the Deployment controller saw.
func (l *raceLab) maxRevision(t *testing.T, env string) (int64, string) {
	t.Helper()
	rss, err := l.cs.AppsV1().ReplicaSets(l.ns[env]).List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + raceApp})
	if err != nil {
		t.Fatal(err)
	}
	var top int64
	image := ""
	for _, rs := range rss.Items {
		var n int64
		if _, err := fmt.Sscan(rs.Annotations["deployment.kubernetes.io/revision"], &n); err == nil && n > top {
			top, image = n, rs.Spec.Template.Spec.Containers[0].Image
		}
	}
	return top, image
}

// TestRollbackDuringAPromotionProcesses: alice promotes web into test
// (`vigil promote --wait`) while bob, on his own bastion, rolls it back
// there (`vigil rollback --wait --yes`), the two processes started
// together, 50 times. A rollback takes the promotion's lock: one of them
// changes the images and the other is refused naming them (exit 3,
// journaled as refused), or comes after the first's rollout and changes
// them from where the first left them. Never two image changes
// interleaved: the journaled changes chain from what test ran to what it
// runs, and test's revisions count exactly those changes.
func TestRollbackDuringAPromotionProcesses(t *testing.T) {
	l := newRaceLab(t, "alice", "bob")
	const rounds = 50
	refusals := map[string]int{}
	seen := map[string]int{}
	args := map[string][]string{
		"alice": {"promote", raceApp, "--to", "test", "--wait"},
		"bob":   {"rollback", raceApp, "--env", "test", "--wait", "--yes"},
	}
	actions := map[string]string{"alice": "promote", "bob": "roll back"}
	for round := range rounds {
		// test's previous revision runs 0.9.0 and its current one 1.0.0:
		// a rollback restores 0.9.0, a promotion brings 1.1.0.
		l.setImage(t, "test", "0.9.0")
		l.setImage(t, "test", "1.0.0")
		before, _ := l.maxRevision(t, "test")
		outs := l.together(t, args)
		var changes []audit.Entry
		for _, actor := range l.actors {
			o := outs[actor]
			checkNoRawAPI(t, round, actor, o.out)
			fresh := l.newEntries(t, round, actor, seen)
			switch o.code {
			case 0:
				if len(fresh) != 1 || fresh[0].Result != audit.OK || !strings.HasPrefix(fresh[0].Action, actions[actor]) {
					t.Fatalf("round %d: %s exit 0 but journaled %+v:\n%s", round, actor, fresh, o.out)
				}
				changes = append(changes, fresh[0])
			case release.ExitRefused:
				other := l.actors[0]
				if other == actor {
					other = l.actors[1]
				}
				checkRefused(t, round, actor, other, o, fresh, actions[actor])
				refusals[actor]++
			default:
				t.Fatalf("round %d: %s exit %d:\n%s", round, actor, o.code, o.out)
			}
		}
		if len(changes) == 0 {
			t.Fatalf("round %d: both refused: alice %s\nbob %s", round, outs["alice"].out, outs["bob"].out)
		}
		// The changes, in the order they were journaled, each start from
		// what the one before left.
		slices.SortFunc(changes, func(a, b audit.Entry) int { return a.Time.Compare(b.Time) })
		current := raceImage("1.0.0")
		for _, e := range changes {
			from, to, ok := strings.Cut(e.Parameters["image.app"], " -> ")
			if !ok || from != current {
				t.Fatalf("round %d: %s %s changed %q while test ran %s: two changes interleaved (journal %+v)", round, e.Actor, e.Action, e.Parameters["image.app"], current, changes)
			}
			current = to
		}
		live := l.deployment(t, "test").Spec.Template.Spec.Containers[0].Image
		after, newest := l.maxRevision(t, "test")
		if live != current || newest != current || after != before+int64(len(changes)) {
			t.Fatalf("round %d: test runs %s, its newest revision %d %s (was %d), after the journaled changes %+v", round, live, after, newest, before, changes)
		}
		l.noLease(t, round, "test")
	}
	if refusals["alice"]+refusals["bob"] == 0 {
		t.Fatalf("in %d rounds the promotion and the rollback never met on the lock: the race was not run", rounds)
	}
	t.Logf("%d of %d rounds met on the lock: promotion refused %d times, rollback %d", refusals["alice"]+refusals["bob"], rounds, refusals["alice"], refusals["bob"])
}

// TestPrepareDuringAPromotionProcesses: alice promotes web into test
// (`vigil promote --wait`) while bob, on his own bastion, prepares test
// (`vigil prepare test --yes`, one ConfigMap to copy), the two processes
// started together. A preparation while the promotion holds its
// lock is refused naming alice, her bastion and since when (exit 3,
// journaled as refused); one that checked before the promotion took its
// lock seeds test (a preparation only creates what test lacks, so it never
// touches the promoted Deployment). The promotion always goes through.
// 50 rounds.
func TestPrepareDuringAPromotionProcesses(t *testing.T) {
	l := newRaceLab(t, "alice", "bob")
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "web-config"}, Data: map[string]string{"LOG": "info"}}
	if _, err := l.cs.CoreV1().ConfigMaps(l.ns["dev"]).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	const rounds = 50
	refusals := 0
	seen := map[string]int{}
	args := map[string][]string{
		"alice": {"promote", raceApp, "--to", "test", "--wait"},
		"bob":   {"prepare", "test", "--yes"},
	}
	for round := range rounds {
		l.setImage(t, "test", "1.0.0")
		err := l.cs.CoreV1().ConfigMaps(l.ns["test"]).Delete(ctx, cm.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
		outs := l.together(t, args)
		a, b := outs["alice"], outs["bob"]
		checkNoRawAPI(t, round, "alice", a.out)
		checkNoRawAPI(t, round, "bob", b.out)
		promoted := l.newEntries(t, round, "alice", seen)
		if a.code != 0 || !strings.Contains(a.out, "promoted "+raceApp+" to test") || len(promoted) != 1 || promoted[0].Result != audit.OK {
			t.Fatalf("round %d: the promotion did not go through: exit %d:\n%s\njournal %+v", round, a.code, a.out, promoted)
		}
		prepared := l.newEntries(t, round, "bob", seen)
		_, err = l.cs.CoreV1().ConfigMaps(l.ns["test"]).Get(ctx, cm.Name, metav1.GetOptions{})
		switch b.code {
		case 0:
			if !strings.Contains(b.out, "prepared test from dev: 1 object created") || len(prepared) != 1 || prepared[0].Result != audit.OK || err != nil {
				t.Fatalf("round %d: bob's preparation: exit 0 but %v:\n%s\njournal %+v", round, err, b.out, prepared)
			}
		default:
			checkRefused(t, round, "bob", "alice", b, prepared, "prepare")
			if !strings.Contains(b.out, "a promotion into test is in flight") || !apierrors.IsNotFound(err) {
				t.Fatalf("round %d: bob's refused preparation: %v:\n%s", round, err, b.out)
			}
			refusals++
		}
		if got := l.deployment(t, "test").Spec.Template.Spec.Containers[0].Image; got != raceImage("1.1.0") {
			t.Fatalf("round %d: test runs %s after the promotion", round, got)
		}
		l.noLease(t, round, "test")
		if _, err := l.cs.CoordinationV1().Leases(l.ns["dev"]).Get(ctx, "vigil-prepare-test", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("round %d: the preparation's lock is left behind (%v)", round, err)
		}
	}
	if refusals == 0 {
		t.Fatalf("in %d rounds the preparation never met the promotion's lock: the race was not run", rounds)
	}
	t.Logf("%d of %d preparations refused during the promotion", refusals, rounds)
}

// TestTwoPrepareProcessesAtOnce: alice and bob, each on their own bastion,
// start `vigil prepare test --yes` at the same moment, 50 times, with one
// ConfigMap to copy: one copies it; the other is refused naming them
// (exit 3, journaled as refused), or, planned before the copy and locked
// after it, refused naming what exists now, or plans after the copy and
// has nothing to create. Never both told they created it.
func TestTwoPrepareProcessesAtOnce(t *testing.T) {
	names := []string{"alice", "bob"}
	l := newRaceLab(t, names...)
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "web-config"}, Data: map[string]string{"LOG": "info"}}
	if _, err := l.cs.CoreV1().ConfigMaps(l.ns["dev"]).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	const rounds = 50
	refusals, late := 0, 0
	seen := map[string]int{}
	args := []string{"prepare", "test", "--yes"}
	const created = "prepared test from dev: 1 object created"
	for round := range rounds {
		err := l.cs.CoreV1().ConfigMaps(l.ns["test"]).Delete(ctx, cm.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
		outs := l.together(t, map[string][]string{"alice": args, "bob": args})
		winner, loser := names[0], names[1]
		if !strings.Contains(outs[winner].out, created) {
			winner, loser = loser, winner
		}
		w, o := outs[winner], outs[loser]
		checkNoRawAPI(t, round, winner, w.out)
		checkNoRawAPI(t, round, loser, o.out)
		if w.code != 0 || !strings.Contains(w.out, created) {
			t.Fatalf("round %d: nobody prepared test; alice: %d %s\nbob: %d %s", round, outs["alice"].code, outs["alice"].out, outs["bob"].code, outs["bob"].out)
		}
		if won := l.newEntries(t, round, winner, seen); len(won) != 1 || won[0].Result != audit.OK {
			t.Fatalf("round %d: %s's journal has %+v, want one preparation", round, winner, won)
		}
		lost := l.newEntries(t, round, loser, seen)
		if o.code == 0 {
			if strings.Contains(o.out, created) || !strings.Contains(o.out, "nothing to create") || len(lost) != 0 {
				t.Fatalf("round %d: both prepared test, or the loser did something: %s: %s\njournal %+v", round, loser, o.out, lost)
			}
		} else if since := "test changed since this preparation was planned: ConfigMap/web-config exists now"; strings.Contains(o.out, since) {
			if o.code != release.ExitRefused || len(lost) != 1 || lost[0].Result != audit.Refused || !strings.Contains(lost[0].Error, since) {
				t.Fatalf("round %d: %s planned before the copy: exit %d:\n%s\njournal %+v", round, loser, o.code, o.out, lost)
			}
			late++
		} else {
			checkRefused(t, round, loser, winner, o, lost, "prepare")
			refusals++
		}
		if _, err := l.cs.CoordinationV1().Leases(l.ns["dev"]).Get(ctx, "vigil-prepare-test", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("round %d: the preparation's lock is left behind (%v)", round, err)
		}
	}
	if refusals == 0 {
		t.Fatalf("in %d rounds the two preparations never met on the lock: the race was not run", rounds)
	}
	t.Logf("%d of %d rounds met on the lock, %d planned before the other's copy and refused after it", refusals, rounds, late)
}
