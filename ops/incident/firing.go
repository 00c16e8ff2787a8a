package incident

import (
	"context"
	"strings"

	"github.com/vigilops/vigil/ops/release"
)

// The release matrix learns from here which workloads have alerts firing.
var _ release.AlertSource = (*Service)(nil)

// WatchFiring implements release.AlertSource: fn gets the alerts firing on
// a workload (acknowledged or silenced ones too: they still fire), now and
// after every new snapshot, until ctx ends.
func (s *Service) WatchFiring(ctx context.Context, fn func([]release.FiringAlert)) {
	ch, stop := s.Subscribe()
	fn(FiringOnWorkloads(s.Snapshot()))
	go func() {
		defer stop()
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-ch:
				if !ok {
					return
				}
				fn(FiringOnWorkloads(s.Snapshot()))
			}
		}
	}()
}

// FiringOnWorkloads lists the snapshot's alerts that fire on a workload
// (their namespace and deployment or statefulset labels name it), in the
// snapshot's order.
func FiringOnWorkloads(snap *Snapshot) []release.FiringAlert {
	if snap == nil {
		return nil
	}
	var out []release.FiringAlert
	for _, a := range snap.Alerts {
		if a.Workload == "" {
			continue
		}
		switch a.State {
		case Firing, Acknowledged, Silenced:
		default:
			continue
		}
		ns, name, _ := strings.Cut(a.Workload, "/")
		out = append(out, release.FiringAlert{Name: a.Name, Severity: string(a.Severity), Namespace: ns, Workload: name,
			Acked: a.State != Firing})
	}
	return out
}
