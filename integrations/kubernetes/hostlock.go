package kubernetes

import (
	"context"
	"errors"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vigilops/vigil/ops/playbook"
	"github.com/vigilops/vigil/ops/release"
)

// HostLocks implements playbook.HostLocks with one Lease per host,
// vigil-host-NAME, in a namespace of a cluster that every vigil of the
// rotation reaches: the lock a run holds is seen from every bastion.
type HostLocks struct {
	Client    *Client
	Context   string // kubeconfig context; "" for the current one
	Namespace string
}

var _ playbook.HostLocks = (*HostLocks)(nil)

func (h *HostLocks) target() release.Target {
	return release.Target{Context: h.Context, Namespace: h.Namespace}
}

// hostLease names a host's Lease: a DNS label, whatever the host's name.
func hostLease(host string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(host) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	name := "vigil-host-" + b.String()
	return strings.TrimRight(name[:min(len(name), 63)], "-")
}

// LockHost implements playbook.HostLocks.
func (h *HostLocks) LockHost(ctx context.Context, host, holder string, ttl time.Duration) error {
	lh := release.ParseHolder(holder)
	lh.Action = "run on " + host
	err := h.Client.Lock(ctx, h.target(), hostLease(host), lh, ttl)
	var locked *release.LockedError
	if errors.As(err, &locked) {
		return &playbook.HostBusyError{Host: host, Holder: locked.Holder, Since: locked.Since, Until: locked.Until}
	}
	return err
}

// UnlockHost implements playbook.HostLocks.
func (h *HostLocks) UnlockHost(ctx context.Context, host, holder string) error {
	return h.Client.Unlock(ctx, h.target(), hostLease(host), holder)
}

// HostHolder implements playbook.HostLocks: a Lease past its time to live
// holds nothing.
func (h *HostLocks) HostHolder(ctx context.Context, host string) (string, bool, error) {
	cl, err := h.Client.cluster(h.Context)
	if err != nil {
		return "", false, err
	}
	l, err := cl.cs.CoordinationV1().Leases(h.Namespace).Get(ctx, hostLease(host), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	holder, until := leaseHolder(l)
	if holder == "" || time.Now().After(until) {
		return "", false, nil
	}
	return holder, true, nil
}
