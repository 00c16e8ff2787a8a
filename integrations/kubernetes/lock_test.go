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
			err := takeLease(ctx, cs.CoordinationV1().Leases("test"), "test", "vigil-promote-web", "alice", time.Minute)
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
	err := takeLease(ctx, cs.CoordinationV1().Leases("test"), "test", "vigil-promote-web", "alice", time.Minute)
	var locked *release.LockedError
	if !errors.As(err, &locked) || strings.Contains(err.Error(), "Precondition") {
		t.Fatalf("a lock that keeps changing hands: %T %v", err, err)
	}
}
