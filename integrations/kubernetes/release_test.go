package kubernetes_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vigilops/vigil/integrations/kubernetes"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/release"
)

func TestPromoteThroughEveryEnvironment(t *testing.T) {
	f := newFixture(t, lab(t), "dev", "test", "preprod", "prod")
	for _, e := range f.envs {
		f.deploy(e.Name, "api", "1.0.0", 2)
	}
	f.start()
	f.waitHealthy("prod", "api", "1.0.0")
	f.release("dev", "api", "1.1.0")
	f.waitHealthy("dev", "api", "1.1.0")

	if c, _ := f.svc.Matrix().Cell("api", "test"); !c.Drift || c.DriftFrom != "1.1.0" || c.Version != "1.0.0" {
		t.Fatalf("test should drift from dev's 1.1.0: %+v", c)
	}
	for _, to := range []string{"test", "preprod", "prod"} {
		plan, err := f.svc.PlanPromote(alice, "api", "", to)
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Images) != 2 || !plan.Changes() {
			t.Fatalf("plan to %s should change the container and the init container: %+v", to, plan.Images)
		}
		for _, c := range plan.Images {
			if !strings.HasSuffix(c.From, ":1.0.0") || !strings.HasSuffix(c.To, ":1.1.0") {
				t.Fatalf("plan to %s: %+v", to, c)
			}
		}
		var out bytes.Buffer
		if code := f.svc.PromoteCLI(f.ctx, alice, &out, nil, "api", "", to, 0, true); code != release.ExitOK {
			t.Fatalf("promote to %s: exit %d\n%s", to, code, out.String())
		}
		if !strings.Contains(out.String(), "rollout of api in "+to+" complete") {
			t.Fatalf("promote output:\n%s", out.String())
		}
		d := f.live(to, "api")
		a := d.Annotations
		if a[release.AnnotationPromotedFrom] != plan.From.Name || a[release.AnnotationPromotedBy] != "alice" || a[release.AnnotationPromotedAt] == "" ||
			!strings.Contains(a[release.AnnotationChangeCause], "alice promoted api 1.1.0") {
			t.Fatalf("provenance annotations in %s: %v", to, a)
		}
		if got := d.Spec.Template.Spec.InitContainers[0].Image; !strings.HasSuffix(got, "-migrate:1.1.0") {
			t.Fatalf("init container in %s runs %s", to, got)
		}
		c, _ := f.svc.Matrix().Cell("api", to)
		if c.Health != release.Healthy || c.Drift || c.Workload.PromotedBy != "alice" || c.Workload.Available != 2 {
			t.Fatalf("matrix cell in %s after promotion: %+v %+v", to, c, c.Workload)
		}
	}
	if got := f.entries("promote"); len(got) != 2 {
		t.Fatalf("journal has %d promote entries, want 2 (test, preprod)", len(got))
	}
	prod := f.entries(release.ActPromoteProtected.Name)
	if len(prod) != 1 || prod[0].Result != audit.OK || prod[0].Target != "prod/api" || prod[0].Actor != "alice" {
		t.Fatalf("journal of the prod promotion: %+v", prod)
	}
	h, err := f.svc.History("api", "prod")
	if err != nil || len(h) != 2 || !h[0].Current || !strings.Contains(h[0].ChangeCause, "promoted api 1.1.0 from preprod") {
		t.Fatalf("prod history: %+v, %v", h, err)
	}
}

func TestBrokenReleaseStallsAndRollbackRestores(t *testing.T) {
	f := newFixture(t, lab(t), "dev", "test", "prod+auto")
	for _, e := range f.envs {
		f.deploy(e.Name, "web", "1.0.0", 2)
	}
	f.start()
	f.waitHealthy("test", "web", "1.0.0")
	f.waitHealthy("prod", "web", "1.0.0")
	f.release("dev", "web", "1.1.0-broken")
	waitFor(t, "the broken release in dev", func() bool { c, _ := f.svc.Matrix().Cell("web", "dev"); return c.Version == "1.1.0-broken" })

	// The live detail of dev's rollout sees its pods fail and calls it a stall.
	wctx, stop := context.WithTimeout(f.ctx, time.Minute)
	details, err := f.svc.WatchRollout(wctx, "web", "dev")
	if err != nil {
		t.Fatal(err)
	}
	var last release.Detail
	for d := range details {
		last = d
		if d.Stall != "" {
			break
		}
	}
	stop()
	crashing := 0
	for _, p := range last.Pods {
		if p.Reason == "CrashLoopBackOff" && p.Owner == last.New.Name && !p.Ready {
			crashing++
		}
	}
	if last.Stall == "" || crashing == 0 {
		t.Fatalf("no stall seen in dev's rollout: %q, pods %+v", last.Stall, last.Pods)
	}

	// Manual: the stall is detected and reported, rollback restores health.
	var out bytes.Buffer
	if code := f.svc.PromoteCLI(f.ctx, alice, &out, nil, "web", "", "test", 0, true); code != release.ExitFailed {
		t.Fatalf("promoting a broken release with --wait: exit %d, want %d\n%s", code, release.ExitFailed, out.String())
	}
	if !strings.Contains(out.String(), "stalled") || !strings.Contains(out.String(), "vigil rollback web --env test") {
		t.Fatalf("stall report:\n%s", out.String())
	}
	if c, _ := f.svc.Matrix().Cell("web", "test"); c.Health != release.Stalled {
		t.Fatalf("matrix shows %s for the stalled rollout", c.Health)
	}
	d, err := f.svc.Detail("web", "test")
	if err != nil || d.New == nil || len(d.Old) == 0 || !strings.HasSuffix(d.New.Containers[1].Image, "1.1.0-broken") || d.Old[0].Available != 2 {
		t.Fatalf("stalled detail: new %+v old %+v err %v", d.New, d.Old, err)
	}
	scaled := false
	for _, e := range d.Events {
		scaled = scaled || (e.Reason == "ScalingReplicaSet" && e.Object == "Deployment/web")
	}
	if !scaled {
		t.Fatalf("the detail's events should tell of the ReplicaSets being scaled: %+v", d.Events)
	}
	out.Reset()
	if code := f.svc.RollbackCLI(f.ctx, alice, &out, nil, "web", "test", 0, true); code != release.ExitOK {
		t.Fatalf("rollback: exit %d\n%s", code, out.String())
	}
	if c, _ := f.svc.Matrix().Cell("web", "test"); c.Health != release.Healthy || c.Version != "1.0.0" {
		t.Fatalf("after rollback: %s at %s", c.Health, c.Version)
	}

	// Automatic: prod's policy rolls back and says so.
	plan, err := f.svc.PlanPromote(alice, "web", "dev", "prod")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Promote(f.ctx, alice, plan); err != nil {
		t.Fatal(err)
	}
	err = f.svc.Wait(f.ctx, alice, "web", "prod", plan.Containers())
	var stalled *release.StalledError
	if !errors.As(err, &stalled) || stalled.RolledBackTo != 1 || !strings.Contains(err.Error(), "rolls back automatically") {
		t.Fatalf("auto rollback: %v", err)
	}
	f.waitHealthy("prod", "web", "1.0.0")
	rb := f.entries(release.ActRollback.Name)
	if len(rb) != 2 || rb[1].Target != "prod/web" || rb[1].Result != audit.OK {
		t.Fatalf("journal of the rollbacks: %+v", rb)
	}
}

func TestConcurrentPromotionsOneWins(t *testing.T) {
	f := newFixture(t, lab(t), "dev", "test")
	f.deploy("dev", "worker", "2.0.0", 1)
	f.deploy("test", "worker", "1.0.0", 1)
	f.start()
	start := make(chan struct{})
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, who := range []access.Actor{alice, bob} {
		plan, err := f.svc.PlanPromote(who, "worker", "", "test")
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = f.svc.Promote(f.ctx, who, plan)
		}()
	}
	close(start)
	wg.Wait()
	winner, loser := 0, 1
	if errs[0] != nil {
		winner, loser = 1, 0
	}
	names := []string{"alice", "bob"}
	var locked *release.LockedError
	if errs[winner] != nil || !errors.As(errs[loser], &locked) || !strings.HasPrefix(locked.Holder, names[winner]+" on ") || !strings.Contains(errs[loser].Error(), names[winner]) {
		t.Fatalf("want exactly one success and a lock error naming the holder; alice: %v, bob: %v", errs[0], errs[1])
	}
	if code := release.ExitCode(errs[loser]); code != release.ExitRefused {
		t.Fatalf("a lock refusal exits %d", code)
	}
	if by := f.live("test", "worker").Annotations[release.AnnotationPromotedBy]; by != names[winner] {
		t.Fatalf("promoted-by is %q, want the winner %s", by, names[winner])
	}
	results := map[string]audit.Result{}
	for _, e := range f.entries("promote") {
		results[e.Actor] = e.Result
	}
	if results[names[winner]] != audit.OK || results[names[loser]] != audit.Refused {
		t.Fatalf("journal results: %v", results)
	}
}

func TestFreezeRefusesPromotionUntilItExpires(t *testing.T) {
	f := newFixture(t, lab(t), "dev", "test")
	f.deploy("dev", "api", "2.0.0", 1)
	f.deploy("test", "api", "1.0.0", 1)
	f.start()
	admin := access.Actor{Name: "ada", Role: access.Admin}
	if err := f.svc.Freeze(f.ctx, admin, "test", "release train closed", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if code := f.svc.PromoteCLI(f.ctx, alice, &out, nil, "api", "", "test", 0, false); code != release.ExitRefused {
		t.Fatalf("promotion into a frozen env: exit %d\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "frozen by ada") || !strings.Contains(out.String(), "release train closed") {
		t.Fatalf("refusal says: %s", out.String())
	}
	waitFor(t, "the matrix to show the freeze", func() bool { return f.svc.Matrix().Envs[1].Freeze.Active(time.Now()) })
	if es := f.entries("promote"); len(es) != 1 || es[0].Result != audit.Refused || !strings.Contains(es[0].Error, "frozen") {
		t.Fatalf("the journal should hold the refusal: %+v", es)
	}

	// A freeze whose expiry has passed (as another vigil left it) no longer refuses.
	past := &release.Freeze{Reason: "old", By: "ada", At: time.Now().Add(-2 * time.Hour), Until: time.Now().Add(-time.Hour)}
	if err := f.client.PutFreeze(f.ctx, f.env("test").Target(), past); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := f.svc.PromoteCLI(f.ctx, alice, &out, nil, "api", "", "test", 0, false); code != release.ExitOK {
		t.Fatalf("promotion under an expired freeze: exit %d\n%s", code, out.String())
	}
	if err := f.svc.Unfreeze(f.ctx, admin, "test"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the matrix to drop the freeze", func() bool { return f.svc.Matrix().Envs[1].Freeze == nil })
}

func TestViewerIsRefusedByTheService(t *testing.T) {
	f := newFixture(t, lab(t), "dev", "test")
	f.deploy("dev", "api", "2.0.0", 1)
	f.deploy("test", "api", "1.0.0", 1)
	f.start()
	plan, err := f.svc.PlanPromote(viewer, "api", "", "test")
	if err != nil {
		t.Fatal(err)
	}
	var denied *access.DeniedError
	if err := f.svc.Promote(f.ctx, viewer, plan); !errors.As(err, &denied) {
		t.Fatalf("viewer promote: %v", err)
	}
	if _, err := f.svc.Rollback(f.ctx, viewer, "api", "test", 0); !errors.As(err, &denied) {
		t.Fatalf("viewer rollback: %v", err)
	}
	if err := f.svc.Scale(f.ctx, viewer, "api", "test", 5); !errors.As(err, &denied) {
		t.Fatalf("viewer scale: %v", err)
	}
	if err := f.svc.Freeze(f.ctx, viewer, "test", "no", time.Now().Add(time.Hour)); !errors.As(err, &denied) {
		t.Fatalf("viewer freeze: %v", err)
	}
	d := f.live("test", "api")
	if got := d.Spec.Template.Spec.Containers[0].Image; !strings.HasSuffix(got, ":1.0.0") || *d.Spec.Replicas != 1 {
		t.Fatalf("a refused viewer changed the workload: %s × %d", got, *d.Spec.Replicas)
	}
	es, _ := f.journal.Query(audit.Query{Actor: "victor"})
	if len(es) != 4 {
		t.Fatalf("journal holds %d of the viewer's 4 refusals", len(es))
	}
	for _, e := range es {
		if e.Result != audit.Refused {
			t.Fatalf("journal: %+v", e)
		}
	}
}

func TestPauseResumeRestartScale(t *testing.T) {
	f := newFixture(t, lab(t), "dev")
	f.deploy("dev", "api", "1.0.0", 1)
	f.start()
	if err := f.svc.Pause(f.ctx, alice, "api", "dev"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the pause", func() bool { c, _ := f.svc.Matrix().Cell("api", "dev"); return c.Health == release.Paused })
	if err := f.svc.Resume(f.ctx, alice, "api", "dev"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Scale(f.ctx, alice, "api", "dev", 3); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Restart(f.ctx, alice, "api", "dev"); err != nil {
		t.Fatal(err)
	}
	d := f.live("dev", "api")
	if d.Spec.Paused || *d.Spec.Replicas != 3 || d.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] == "" {
		t.Fatalf("paused=%v replicas=%d template annotations=%v", d.Spec.Paused, *d.Spec.Replicas, d.Spec.Template.Annotations)
	}
	f.waitHealthy("dev", "api", "1.0.0")
	if c, _ := f.svc.Matrix().Cell("api", "dev"); c.Workload.Available != 3 || c.Workload.Revision != 2 {
		t.Fatalf("after scale and restart: %+v", c.Workload)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// A lock whose holder vanished expires after its TTL; until then it names
// its holder; its holder may renew it, and only its holder frees it.
func TestPromotionLockLease(t *testing.T) {
	f := newFixture(t, lab(t), "dev")
	f.start()
	target := f.env("dev").Target()
	if err := f.client.Lock(f.ctx, target, "vigil-promote-api", release.Holder{Actor: "bob"}, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := f.client.Lock(f.ctx, target, "vigil-promote-api", release.Holder{Actor: "bob"}, 2*time.Second); err != nil {
		t.Fatalf("the holder could not renew its lock: %v", err)
	}
	var locked *release.LockedError
	if err := f.client.Lock(f.ctx, target, "vigil-promote-api", release.Holder{Actor: "alice"}, time.Minute); !errors.As(err, &locked) || locked.Holder != "bob" {
		t.Fatalf("alice took bob's lock: %v", err)
	}
	if err := f.client.Unlock(f.ctx, target, "vigil-promote-api", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := f.client.Lock(f.ctx, target, "vigil-promote-api", release.Holder{Actor: "carol"}, time.Minute); !errors.As(err, &locked) {
		t.Fatalf("alice's unlock freed bob's lock: %v", err)
	}
	// Once bob's 2 s have passed, his lock no longer refuses anyone.
	expires := time.Now().Add(2 * time.Second)
	for {
		err := f.client.Lock(f.ctx, target, "vigil-promote-api", release.Holder{Actor: "alice"}, time.Minute)
		if err == nil {
			break
		}
		if time.Now().After(expires.Add(10 * time.Second)) {
			t.Fatalf("an expired lock still refused 10 s after its expiry: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	lease, err := f.cs.CoordinationV1().Leases(target.Namespace).Get(f.ctx, "vigil-promote-api", metav1.GetOptions{})
	if err != nil || *lease.Spec.HolderIdentity != "alice" || *lease.Spec.LeaseDurationSeconds != 60 {
		t.Fatalf("lease: %+v %v", lease.Spec, err)
	}
	if err := f.client.Unlock(f.ctx, target, "vigil-promote-api", "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.cs.CoordinationV1().Leases(target.Namespace).Get(f.ctx, "vigil-promote-api", metav1.GetOptions{}); err == nil {
		t.Fatal("the holder's unlock left the lease")
	}
}

// TestPromotionAndRollbackNeverInterleave starts a promotion (alice) and a
// rollback (bob) of one workload together, 50 times: each time one
// changes the images and the other is refused naming the winner (exit 3),
// never both, never a raw API error; the winner's lock is freed once its
// rollout settles.
func TestPromotionAndRollbackNeverInterleave(t *testing.T) {
	f := newFixture(t, lab(t), "dev", "test")
	f.deploy("dev", "worker", "3.0.0", 1)
	f.deploy("test", "worker", "1.0.0", 1)
	f.start()
	target := f.env("test").Target()
	for round := range 50 {
		version := fmt.Sprintf("2.0.%d", round)
		f.release("test", "worker", version)
		f.waitHealthy("test", "worker", version)
		plan, err := f.svc.PlanPromote(alice, "worker", "", "test")
		if err != nil {
			t.Fatal(err)
		}
		start := make(chan struct{})
		errs := make([]error, 2)
		var wg sync.WaitGroup
		wg.Go(func() { <-start; errs[0] = f.svc.Promote(f.ctx, alice, plan) })
		wg.Go(func() { <-start; _, errs[1] = f.svc.Rollback(f.ctx, bob, "worker", "test", 0) })
		close(start)
		wg.Wait()
		names := []string{"alice", "bob"}
		won := -1
		for i, err := range errs {
			var locked *release.LockedError
			switch {
			case err == nil:
				if won >= 0 {
					t.Fatalf("round %d: the promotion and the rollback both changed the images", round)
				}
				won = i
			case !errors.As(err, &locked) || !strings.HasPrefix(locked.Holder, names[1-i]+" on ") || release.ExitCode(err) != release.ExitRefused:
				t.Fatalf("round %d: %s got %v, not a refusal naming %s", round, names[i], err, names[1-i])
			}
		}
		if won < 0 {
			t.Fatalf("round %d: neither the promotion nor the rollback ran: %v", round, errs)
		}
		// The winner frees the lock once its rollout settles.
		deadline := time.Now().Add(time.Minute)
		for f.client.Lock(f.ctx, target, "vigil-promote-worker", release.Holder{Actor: "probe"}, time.Minute) != nil {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: %s's lock was not freed after its rollout", round, names[won])
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err := f.client.Unlock(f.ctx, target, "vigil-promote-worker", "probe"); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range append(f.entries(release.ActRollback.Name), f.entries(release.ActPromote.Name)...) {
		if e.Result == audit.Failed {
			t.Errorf("journaled as failed, not refused: %+v", e)
		}
	}
}

// TestFreezeDuringAPromotion freezes test while alice's promotion of a
// broken release into it is still rolling out: the promotion in flight is
// not stopped (its images stay), the freeze's journal entry names it after
// the promotion's, and the next promotion is refused by the freeze.
func TestFreezeDuringAPromotion(t *testing.T) {
	f := newFixture(t, lab(t), "dev", "test")
	f.deploy("dev", "web", "1.0.0", 2)
	f.deploy("test", "web", "1.0.0", 2)
	f.start()
	f.waitHealthy("test", "web", "1.0.0")
	f.release("dev", "web", "1.1.0-broken")
	waitFor(t, "the broken release in dev", func() bool { c, _ := f.svc.Matrix().Cell("web", "dev"); return c.Version == "1.1.0-broken" })
	plan, err := f.svc.PlanPromote(alice, "web", "", "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Promote(f.ctx, alice, plan); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Freeze(f.ctx, bob, "test", "incident 42", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.svc.Unfreeze(context.Background(), bob, "test") })
	var order []string
	all, _ := f.journal.Query(audit.Query{})
	for _, e := range all {
		if e.Target == "test/web" || e.Target == "test" {
			order = append(order, e.Actor+" "+e.Action+" "+e.Parameters["in-flight"])
		}
	}
	if len(order) != 2 || !strings.HasPrefix(order[0], "alice promote") || !strings.HasPrefix(order[1], "bob freeze an environment web (alice on ") {
		t.Fatalf("journal order %q: want the promotion, then the freeze naming it in flight", order)
	}
	if img := f.live("test", "web").Spec.Template.Spec.Containers[0].Image; !strings.HasSuffix(img, ":1.1.0-broken") {
		t.Fatalf("the freeze stopped the promotion in flight: test runs %s", img)
	}
	f.release("dev", "web", "1.2.0")
	waitFor(t, "the next release in dev", func() bool { c, _ := f.svc.Matrix().Cell("web", "dev"); return c.Version == "1.2.0" })
	next, err := f.svc.PlanPromote(alice, "web", "", "test")
	if err == nil {
		err = f.svc.Promote(f.ctx, alice, next)
	}
	var frozen *release.FrozenError
	if !errors.As(err, &frozen) {
		t.Fatalf("a promotion into frozen test: %v", err)
	}
}

// TestPromoteAChosenRevision promotes an earlier revision of the source,
// picked from its history, instead of what the source runs now: the target
// gets that revision's images; a revision the source never had is refused
// with the ones it has.
func TestPromoteAChosenRevision(t *testing.T) {
	f := newFixture(t, lab(t), "dev", "test")
	f.deploy("dev", "api", "1.0.0", 1)
	f.deploy("test", "api", "0.9.0", 1)
	f.start()
	f.waitHealthy("dev", "api", "1.0.0")
	f.release("dev", "api", "1.1.0-bad")
	f.waitHealthy("dev", "api", "1.1.0-bad")
	var first int64
	waitFor(t, "dev's two revisions", func() bool {
		revs, err := f.svc.SourceRevisions("api", "dev")
		if err != nil || len(revs) != 2 {
			return false
		}
		first = revs[1].Number
		return true
	})
	if _, err := f.svc.PlanPromoteRevision(alice, "api", "", "test", 99); err == nil || !strings.Contains(err.Error(), "has no revision 99: choose one of") {
		t.Fatalf("a revision dev never had: %v", err)
	}
	var out strings.Builder
	if code := f.svc.PromoteCLI(f.ctx, alice, &out, nil, "api", "", "test", first, true); code != release.ExitOK {
		t.Fatalf("promote revision %d: exit %d\n%s", first, code, out.String())
	}
	if !strings.Contains(out.String(), fmt.Sprintf("promote api from dev (its revision %d) to test", first)) || !strings.Contains(out.String(), ":0.9.0 -> ") {
		t.Errorf("the plan printed:\n%s", out.String())
	}
	if img := f.live("test", "api").Spec.Template.Spec.Containers[0].Image; !strings.HasSuffix(img, ":1.0.0") {
		t.Fatalf("test runs %s, want revision %d's 1.0.0", img, first)
	}
	if c := f.live("test", "api").Annotations["kubernetes.io/change-cause"]; !strings.Contains(c, fmt.Sprintf("from dev (its revision %d)", first)) {
		t.Errorf("change-cause %q", c)
	}
}

// TestAPromotionPlannedBeforeARollbackIsRefused: alice previews a promotion
// of worker into test; meanwhile bob, on his own bastion (his own client
// and journal), rolls worker back there, and his rollout settles and frees
// the lock. alice then confirms: her promotion, planned from what test ran
// before bob's rollback, is refused (exit 3, journaled as refused) naming
// what test runs now and bob's rollback, and test keeps it; planned again,
// it promotes.
func TestAPromotionPlannedBeforeARollbackIsRefused(t *testing.T) {
	f := newFixture(t, lab(t), "dev", "test")
	f.deploy("dev", "worker", "3.0.0", 1)
	f.deploy("test", "worker", "1.0.0", 1)
	f.start()
	f.waitHealthy("test", "worker", "1.0.0")
	f.release("test", "worker", "2.0.0")
	f.waitHealthy("test", "worker", "2.0.0")
	f.waitHealthy("dev", "worker", "3.0.0")

	bobs, err := audit.Open(filepath.Join(t.TempDir(), "bob.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bobs.Close() })
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	bobSvc := release.New(f.envs, kubernetes.New(ctx, f.kubeconfig), bobs, release.Options{Selector: selector, LockTTL: time.Minute, Bastion: "bastion-2"})
	if err := bobSvc.Start(ctx); err != nil {
		t.Fatal(err)
	}

	plan, err := f.svc.PlanPromote(alice, "worker", "", "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bobSvc.Rollback(ctx, bob, "worker", "test", 0); err != nil {
		t.Fatal(err)
	}
	f.waitHealthy("test", "worker", "1.0.0")
	f.waitUnlocked("test", "worker")

	err = f.svc.Promote(f.ctx, alice, plan)
	var changed *release.ChangedError
	if !errors.As(err, &changed) || release.ExitCode(err) != release.ExitRefused || !strings.HasSuffix(changed.Now, ":1.0.0") ||
		!strings.Contains(err.Error(), "worker in test changed since this promotion was planned") || !strings.Contains(changed.Change, "vigil: bob rolled back worker from revision") {
		t.Fatalf("alice's promotion planned before bob's rollback: %v", err)
	}
	if live := f.live("test", "worker").Spec.Template.Spec; !strings.HasSuffix(live.Containers[0].Image, ":1.0.0") || !strings.HasSuffix(live.InitContainers[0].Image, ":1.0.0") {
		t.Fatalf("test runs %s after a refused promotion: bob's rollback undone", live.Containers[0].Image)
	}
	promoted := f.entries(release.ActPromote.Name)
	if len(promoted) != 1 || promoted[0].Result != audit.Refused || !strings.Contains(promoted[0].Error, "changed since this promotion was planned") {
		t.Fatalf("alice's journal: %+v", promoted)
	}
	for _, raw := range []string{"leases.coordination", "Precondition", "not found"} {
		if strings.Contains(promoted[0].Error, raw) {
			t.Fatalf("the API's words in the journal: %s", promoted[0].Error)
		}
	}

	waitFor(t, "alice's cache to see bob's rollback", func() bool {
		c, _ := f.svc.Matrix().Cell("worker", "test")
		return c.Version == "1.0.0"
	})
	if plan, err = f.svc.PlanPromote(alice, "worker", "", "test"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Promote(f.ctx, alice, plan); err != nil {
		t.Fatalf("promoting again, from what test runs: %v", err)
	}
	f.waitHealthy("test", "worker", "3.0.0")
	f.waitUnlocked("test", "worker")
}

// The matrix shows the locks held in each environment as the Leases come
// and go: holder, bastion and action; a lock whose holder died (its Lease
// left behind) leaves the matrix when it expires, without any event.
func TestMatrixShowsLocks(t *testing.T) {
	f := newFixture(t, lab(t), "dev")
	f.start()
	target := f.env("dev").Target()
	lockOf := func() *release.LockedError {
		for _, e := range f.svc.Matrix().Envs {
			if e.Name == "dev" {
				return e.LockOf("api")
			}
		}
		return nil
	}
	alice := release.Holder{Actor: "alice", Bastion: "bastion-a", Action: "promote from dev"}
	if err := f.client.Lock(f.ctx, target, "vigil-promote-api", alice, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the lock in the matrix", func() bool {
		l := lockOf()
		return l != nil && l.Holder == "alice on bastion-a" && l.Bastion == "bastion-a" && l.Action == "promote from dev" && !l.Since.IsZero()
	})
	l := lockOf()
	// alice's vigil dies: nothing frees the Lease, its expiry does.
	waitFor(t, "the expired lock to leave the matrix", func() bool { return lockOf() == nil })
	if late := time.Since(l.Until); late < 0 || late > 2*time.Second {
		t.Fatalf("the lock left the matrix %s after its expiry at %s", late, l.Until)
	}
	if _, err := f.cs.CoordinationV1().Leases(target.Namespace).Get(f.ctx, "vigil-promote-api", metav1.GetOptions{}); err != nil {
		t.Fatalf("the Lease should outlive its expiry: %v", err)
	}
	// Taken and freed: it comes and goes with the Lease.
	if err := f.client.Lock(f.ctx, target, "vigil-promote-api", release.Holder{Actor: "bob", Bastion: "bastion-b"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bob's lock in the matrix", func() bool { l := lockOf(); return l != nil && l.Bastion == "bastion-b" })
	if err := f.client.Unlock(f.ctx, target, "vigil-promote-api", "bob on bastion-b"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bob's freed lock to leave the matrix", func() bool { return lockOf() == nil })
}
