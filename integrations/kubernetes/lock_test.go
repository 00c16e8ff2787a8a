package kubernetes

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/vigilops/vigil/ops/release"
)

var leaseGR = schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}

func heldBy(holder string, ttl time.Duration) *coordv1.Lease {
	secs := int32(ttl / time.Second)
	now := metav1.NowMicro()
	return &coordv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "vigil-promote-web", Namespace: "test"},
		Spec: coordv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &secs, AcquireTime: &now, RenewTime: &now}}
}

// once makes the first verb on leases fail with err, as the other vigil's
// move between our read and our write makes it fail; later calls go through.
func once(cs *fake.Clientset, verb string, err error, before func()) {
	done := false
	cs.PrependReactor(verb, "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
		if done {
			return false, nil, nil
		}
		done = true
		if before != nil {
			before()
		}
		return true, nil, err
	})
}

// TestLockRaceOutcomes plays every interleaving of two vigils on one Lease
// (a narrow unit test: the lab test TestPromoteAgainstPromote50 plays the
// real race): each ends as taken or as a LockedError naming the holder,
// never as the API's error text.
func TestLockRaceOutcomes(t *testing.T) {
	ctx := context.Background()
	conflict := apierrors.NewConflict(leaseGR, "vigil-promote-web", errors.New("Precondition failed: UID in precondition"))
	gone := apierrors.NewNotFound(leaseGR, "vigil-promote-web")
	cases := []struct {
		name     string
		setup    func(cs *fake.Clientset)
		wantHeld string // "" = taken
	}{
		{"free", func(cs *fake.Clientset) {}, ""},
		{"held by bob", func(cs *fake.Clientset) {
			_, _ = cs.CoordinationV1().Leases("test").Create(ctx, heldBy("bob", time.Minute), metav1.CreateOptions{})
		}, "bob"},
		{"expired lease of bob", func(cs *fake.Clientset) {
			l := heldBy("bob", time.Second)
			old := metav1.NewMicroTime(time.Now().Add(-time.Hour))
			l.Spec.RenewTime = &old
			_, _ = cs.CoordinationV1().Leases("test").Create(ctx, l, metav1.CreateOptions{})
		}, ""},
		{"deleted between create and get", func(cs *fake.Clientset) {
			_, _ = cs.CoordinationV1().Leases("test").Create(ctx, heldBy("bob", time.Minute), metav1.CreateOptions{})
			once(cs, "get", gone, func() { _ = cs.Tracker().Delete(leaseGR.WithVersion("v1"), "test", "vigil-promote-web") })
		}, ""},
		{"taken by carol between get and update", func(cs *fake.Clientset) {
			l := heldBy("bob", time.Second)
			old := metav1.NewMicroTime(time.Now().Add(-time.Hour))
			l.Spec.RenewTime = &old
			_, _ = cs.CoordinationV1().Leases("test").Create(ctx, l, metav1.CreateOptions{})
			once(cs, "update", conflict, func() { _ = cs.Tracker().Update(leaseGR.WithVersion("v1"), heldBy("carol", time.Minute), "test") })
		}, "carol"},
		{"deleted between get and update", func(cs *fake.Clientset) {
			l := heldBy("bob", time.Second)
			old := metav1.NewMicroTime(time.Now().Add(-time.Hour))
			l.Spec.RenewTime = &old
			_, _ = cs.CoordinationV1().Leases("test").Create(ctx, l, metav1.CreateOptions{})
			once(cs, "update", gone, func() { _ = cs.Tracker().Delete(leaseGR.WithVersion("v1"), "test", "vigil-promote-web") })
		}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cs := fake.NewClientset()
			c.setup(cs)
			err := takeLease(ctx, cs.CoordinationV1().Leases("test"), "test", "vigil-promote-web", release.Holder{Actor: "alice"}, time.Minute)
			var locked *release.LockedError
			switch {
			case c.wantHeld == "" && err != nil:
				t.Fatalf("want the lock taken, got %v", err)
			case c.wantHeld != "" && (!errors.As(err, &locked) || locked.Holder != c.wantHeld):
				t.Fatalf("want a LockedError naming %s, got %T %v", c.wantHeld, err, err)
			case c.wantHeld != "" && (locked.Since.IsZero() || !strings.Contains(err.Error(), "since")):
				t.Fatalf("the refusal does not say since when: %v", err)
			case err != nil && strings.Contains(err.Error(), "Precondition"):
				t.Fatalf("the API's text reached the user: %v", err)
			}
			if c.wantHeld == "" {
				l, err := cs.CoordinationV1().Leases("test").Get(ctx, "vigil-promote-web", metav1.GetOptions{})
				if err != nil || *l.Spec.HolderIdentity != "alice" {
					t.Fatalf("after taking it: %+v, %v", l, err)
				}
			}
		})
	}

	// A lock that never settles is reported as held, not as an API error.
	cs := fake.NewClientset(heldBy("bob", time.Second))
	l, _ := cs.CoordinationV1().Leases("test").Get(ctx, "vigil-promote-web", metav1.GetOptions{})
	old := metav1.NewMicroTime(time.Now().Add(-time.Hour))
	l.Spec.RenewTime = &old
	_ = cs.Tracker().Update(leaseGR.WithVersion("v1"), l, "test")
	cs.PrependReactor("update", "leases", func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, conflict })
	err := takeLease(ctx, cs.CoordinationV1().Leases("test"), "test", "vigil-promote-web", release.Holder{Actor: "alice"}, time.Minute)
	var locked *release.LockedError
	if !errors.As(err, &locked) || strings.Contains(err.Error(), "Precondition") {
		t.Fatalf("a lock that keeps changing hands: %T %v", err, err)
	}
}

// TestLockNamesBastionAndAction: a lock stores its holder's actor, bastion
// and action (holderIdentity "actor on bastion", and an annotation each);
// whoever is refused is told all three, since and until when. An expired
// lock taken over carries its new holder's annotations only; a Lease of
// an older vigil, without annotations, still names the bastion in its ID.
func TestLockNamesBastionAndAction(t *testing.T) {
	ctx := context.Background()
	cs := fake.NewClientset()
	leases := cs.CoordinationV1().Leases("test")
	x := release.Holder{Actor: "alice", Bastion: "bastion-a", Action: "promote from dev"}
	y := release.Holder{Actor: "bob", Bastion: "bastion-b", Action: "roll back"}
	if err := takeLease(ctx, leases, "test", "vigil-promote-web", x, time.Minute); err != nil {
		t.Fatal(err)
	}
	l, err := leases.Get(ctx, "vigil-promote-web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *l.Spec.HolderIdentity != "alice on bastion-a" || l.Annotations[lockActor] != "alice" || l.Annotations[lockBastion] != "bastion-a" || l.Annotations[lockAction] != "promote from dev" {
		t.Fatalf("the Lease does not name its holder: %q %v", *l.Spec.HolderIdentity, l.Annotations)
	}
	err = takeLease(ctx, leases, "test", "vigil-promote-web", y, time.Minute)
	var locked *release.LockedError
	if !errors.As(err, &locked) || locked.Holder != "alice on bastion-a" || locked.Bastion != "bastion-a" || locked.Action != "promote from dev" {
		t.Fatalf("bob's refusal: %T %+v", err, locked)
	}
	for _, want := range []string{"locked by alice on bastion-a (promote from dev) since ", " until "} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("bob's refusal %q does not say %q", err, want)
		}
	}

	// alice's vigil dies: once her Lease has run out, bob takes it over.
	old := metav1.NewMicroTime(time.Now().Add(-time.Hour))
	l.Spec.RenewTime = &old
	if _, err := leases.Update(ctx, l, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	y.Action = ""
	if err := takeLease(ctx, leases, "test", "vigil-promote-web", y, time.Minute); err != nil {
		t.Fatalf("bob could not take an expired lock: %v", err)
	}
	l, _ = leases.Get(ctx, "vigil-promote-web", metav1.GetOptions{})
	if *l.Spec.HolderIdentity != "bob on bastion-b" || l.Annotations[lockActor] != "bob" || l.Annotations[lockBastion] != "bastion-b" || l.Annotations[lockAction] != "" {
		t.Fatalf("taken over, the Lease names %q %v", *l.Spec.HolderIdentity, l.Annotations)
	}

	// A Lease without annotations (an older vigil's): its ID names the bastion.
	cs = fake.NewClientset(heldBy("carol on bastion-c", time.Minute))
	err = takeLease(ctx, cs.CoordinationV1().Leases("test"), "test", "vigil-promote-web", x, time.Minute)
	if !errors.As(err, &locked) || locked.Bastion != "bastion-c" || locked.Action != "" || !strings.Contains(err.Error(), "locked by carol on bastion-c since") {
		t.Fatalf("a Lease without annotations: %v", err)
	}
}
