package kubernetes

import (
	"context"
	"fmt"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
// holder is the actor. Creating the Lease, or updating it at the
// resourceVersion read, is atomic: of two actors at once, one wins.
func (c *Client) Lock(ctx context.Context, t release.Target, name, holder string, ttl time.Duration) error {
	cl, err := c.cluster(t.Context)
	if err != nil {
		return err
	}
	leases := cl.cs.CoordinationV1().Leases(t.Namespace)
	secs := int32(ttl / time.Second)
	now := metav1.NowMicro()
	spec := coordv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &secs, AcquireTime: &now, RenewTime: &now}
	_, err = leases.Create(ctx, &coordv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}, metav1.CreateOptions{FieldManager: "vigil"})
	if err == nil || !apierrors.IsAlreadyExists(err) {
		return err
	}
	cur, err := leases.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if h, until := leaseHolder(cur); h != "" && h != holder && time.Now().Before(until) {
		return &release.LockedError{Lock: name + " in " + t.Namespace, Holder: h, Until: until}
	}
	cur.Spec = spec
	_, err = leases.Update(ctx, cur, metav1.UpdateOptions{FieldManager: "vigil"})
	if apierrors.IsConflict(err) {
		// Someone else took it between our read and our write.
		if now, gerr := leases.Get(ctx, name, metav1.GetOptions{}); gerr == nil {
			h, until := leaseHolder(now)
			return &release.LockedError{Lock: name + " in " + t.Namespace, Holder: h, Until: until}
		}
	}
	return err
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
