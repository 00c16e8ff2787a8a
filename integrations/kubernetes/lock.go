package kubernetes

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordclient "k8s.io/client-go/kubernetes/typed/coordination/v1"

	"github.com/vigilops/vigil/ops/release"
)

// GetFreeze implements release.Freezer: a freeze is the ConfigMap
// vigil-freeze in the environment's namespace. It reads the live object.
func (c *Client) GetFreeze(ctx context.Context, t release.Target) (*release.Freeze, error) {
	cl, err := c.cluster(t.Context)
	if err != nil {
		return nil, err
	}
	cm, err := cl.cs.CoreV1().ConfigMaps(t.Namespace).Get(ctx, freezeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return parseFreeze(cm), nil
}

// PutFreeze implements release.Freezer.
func (c *Client) PutFreeze(ctx context.Context, t release.Target, f *release.Freeze) error {
	cl, err := c.cluster(t.Context)
	if err != nil {
		return err
	}
	cms := cl.cs.CoreV1().ConfigMaps(t.Namespace)
	if f == nil {
		err := cms.Delete(ctx, freezeName, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("cannot lift the freeze of %s: %w", t.Namespace, err)
		}
		return nil
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: freezeName, Labels: map[string]string{"app.kubernetes.io/managed-by": "vigil"}},
		Data: map[string]string{
			"reason": f.Reason,
			"by":     f.By,
			"at":     f.At.UTC().Format(time.RFC3339),
			"until":  f.Until.UTC().Format(time.RFC3339),
		},
	}
	_, err = cms.Update(ctx, cm, metav1.UpdateOptions{FieldManager: "vigil"})
	if apierrors.IsNotFound(err) {
		_, err = cms.Create(ctx, cm, metav1.CreateOptions{FieldManager: "vigil"})
	}
	if err != nil {
		return fmt.Errorf("cannot freeze %s: %w", t.Namespace, err)
	}
	return nil
}

// Lock implements release.Locker with a coordination.k8s.io Lease whose
// holderIdentity is the holder's ID ("actor on bastion"), and whose
// annotations name the actor, the bastion and the action apart (the
// lockActor, lockBastion and lockAction keys). Creating the Lease, or
// updating it at the resourceVersion read, is atomic: of two actors at
// once, one wins.
func (c *Client) Lock(ctx context.Context, t release.Target, name string, holder release.Holder, ttl time.Duration) error {
	cl, err := c.cluster(t.Context)
	if err != nil {
		return err
	}
	return takeLease(ctx, cl.cs.CoordinationV1().Leases(t.Namespace), t.Namespace, name, holder, ttl)
}

// The annotations of a lock's Lease naming its holder: a kubectl describe
// of the Lease says who, through which bastion, for what.
const (
	lockActor   = "vigil.dev/lock-actor"
	lockBastion = "vigil.dev/lock-bastion"
	lockAction  = "vigil.dev/lock-action"
)

// holderAnnotations are the annotations of a Lease held by h.
func holderAnnotations(h release.Holder) map[string]string {
	a := map[string]string{lockActor: h.Actor}
	if h.Bastion != "" {
		a[lockBastion] = h.Bastion
	}
	if h.Action != "" {
		a[lockAction] = h.Action
	}
	return a
}

// lockedBy is the *release.LockedError of the Lease l, named lockName.
func lockedBy(l *coordv1.Lease, lockName string) *release.LockedError {
	h, until := leaseHolder(l)
	e := &release.LockedError{Lock: lockName, Holder: h, Until: until}
	if l.Annotations[lockActor] != "" {
		e.Bastion, e.Action = l.Annotations[lockBastion], l.Annotations[lockAction]
	} else {
		// Taken by a vigil that wrote no annotations: the ID alone.
		e.Bastion = release.ParseHolder(h).Bastion
	}
	if l.Spec.AcquireTime != nil {
		e.Since = l.Spec.AcquireTime.Time
	}
	return e
}

// leaseTries bounds how often a lock that changes hands under our feet is
// tried again before it is reported as held.
const leaseTries = 4

// takeLease takes the Lease name for holder. Every outcome of a race with
// another vigil (created, updated or deleted between our read and our
// write) ends as taken, or as a *release.LockedError naming the holder:
// the API's own words for a lost race never reach the user.
func takeLease(ctx context.Context, leases coordclient.LeaseInterface, ns, name string, h release.Holder, ttl time.Duration) error {
	secs := int32(ttl / time.Second)
	lockName := name + " in " + ns
	holder := h.ID()
	held := func(l *coordv1.Lease) error { return lockedBy(l, lockName) }
	for range leaseTries {
		now := metav1.NowMicro()
		spec := coordv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &secs, AcquireTime: &now, RenewTime: &now}
		meta := metav1.ObjectMeta{Name: name, Annotations: holderAnnotations(h)}
		_, err := leases.Create(ctx, &coordv1.Lease{ObjectMeta: meta, Spec: spec}, metav1.CreateOptions{FieldManager: "vigil"})
		if err == nil {
			return nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("cannot take the lock %s: %w", lockName, err)
		}
		cur, err := leases.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue // freed since our create: try again
		}
		if err != nil {
			return fmt.Errorf("cannot read the lock %s: %w", lockName, err)
		}
		if h, until := leaseHolder(cur); h != "" && h != holder && time.Now().Before(until) {
			return held(cur)
		}
		if h, _ := leaseHolder(cur); h == holder && cur.Spec.AcquireTime != nil {
			spec.AcquireTime = cur.Spec.AcquireTime // a renewal keeps its start
		}
		cur.Spec = spec
		if cur.Annotations == nil {
			cur.Annotations = map[string]string{}
		}
		for _, k := range []string{lockActor, lockBastion, lockAction} {
			delete(cur.Annotations, k)
		}
		maps.Copy(cur.Annotations, holderAnnotations(h))
		_, err = leases.Update(ctx, cur, metav1.UpdateOptions{FieldManager: "vigil"})
		switch {
		case err == nil:
			return nil
		case apierrors.IsConflict(err) || apierrors.IsNotFound(err):
			// Changed or deleted between our read and our write (a
			// deleted and re-created Lease fails the UID precondition
			// as a conflict): look again.
			continue
		default:
			return fmt.Errorf("cannot take the lock %s: %w", lockName, err)
		}
	}
	// Still changing hands after every try: whoever holds it now, holds it.
	if cur, err := leases.Get(ctx, name, metav1.GetOptions{}); err == nil {
		if h, _ := leaseHolder(cur); h != "" && h != holder {
			return held(cur)
		}
	}
	return &release.LockedError{Lock: lockName, Holder: "another vigil (the lock kept changing hands)", Until: time.Now().Add(ttl)}
}

func leaseHolder(l *coordv1.Lease) (string, time.Time) {
	if l.Spec.HolderIdentity == nil || l.Spec.RenewTime == nil || l.Spec.LeaseDurationSeconds == nil {
		return "", time.Time{}
	}
	return *l.Spec.HolderIdentity, l.Spec.RenewTime.Add(time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second)
}

// Unlock implements release.Locker.
func (c *Client) Unlock(ctx context.Context, t release.Target, name, holder string) error {
	cl, err := c.cluster(t.Context)
	if err != nil {
		return err
	}
	leases := cl.cs.CoordinationV1().Leases(t.Namespace)
	cur, err := leases.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if h, _ := leaseHolder(cur); h != holder {
		return nil
	}
	rv := cur.ResourceVersion
	err = leases.Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &rv}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}

// Held implements release.Locker: the Leases of t named prefix… whose
// holder's time has not run out.
func (c *Client) Held(ctx context.Context, t release.Target, prefix string) ([]*release.LockedError, error) {
	cl, err := c.cluster(t.Context)
	if err != nil {
		return nil, err
	}
	leases, err := cl.cs.CoordinationV1().Leases(t.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("cannot read the locks of %s: %w", t.Namespace, err)
	}
	var out []*release.LockedError
	for i := range leases.Items {
		l := &leases.Items[i]
		h, until := leaseHolder(l)
		if !strings.HasPrefix(l.Name, prefix) || h == "" || time.Now().After(until) {
			continue
		}
		out = append(out, lockedBy(l, l.Name+" in "+t.Namespace))
	}
	return out, nil
}
