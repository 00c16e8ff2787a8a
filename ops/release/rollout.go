package release

import (
	"context"
	"fmt"
	"sync"
)

// failingReasons are container states that mean a pod will not become
// ready by waiting.
var failingReasons = map[string]bool{
	"CrashLoopBackOff":           true,
	"ImagePullBackOff":           true,
	"ErrImagePull":               true,
	"InvalidImageName":           true,
	"CreateContainerConfigError": true,
	"CreateContainerError":       true,
	"RunContainerError":          true,
}

// failingPod says why a pod of d's current revision is failing, "" when
// none is.
func failingPod(d *Detail) string {
	for _, p := range d.Pods {
		if failingReasons[p.Reason] && (d.New == nil || p.Owner == d.New.Name || d.Workload.Kind == StatefulSet) {
			return fmt.Sprintf("pod %s is failing (%s, %d restarts)", p.Name, p.Reason, p.Restarts)
		}
	}
	return ""
}

// assess sets d's Assessment and Stall as the matrix weighs them, after
// recording what d's pods say (when it has them) for the matrix.
func (s *Service) assess(env string, d *Detail, pods bool) {
	i := s.store.idx[env]
	if pods {
		s.store.observe(env, d.Workload.Name, d.Workload.Revision, failingPod(d))
	}
	s.store.mu.Lock()
	sig := s.store.signals(i, &d.Workload)
	s.store.mu.Unlock()
	d.Assessment = Assess(&d.Workload, sig)
	d.Stall = ""
	if d.Assessment.Health == Stalled {
		d.Stall = d.Assessment.Reason
	}
}

// eventWatcher is ops/workload's EventWatcher, which the Kubernetes
// adapter implements beside Cluster.
type eventWatcher interface {
	WatchEvents(ctx context.Context, ref Ref, fn func([]Event)) error
}

// WatchRollout sends the live detail of app in env, pods included, now and
// after every change, until ctx ends. Only the latest detail waits in the
// channel: a slow reader skips to it. Detail.Stall is set when the rollout
// stalled; offer a rollback then.
func (s *Service) WatchRollout(ctx context.Context, app, env string) (<-chan Detail, error) {
	_, ref, _, err := s.ref(app, env)
	if err != nil {
		return nil, err
	}
	changes, cancel := s.Subscribe()
	wake := make(chan struct{}, 1)
	var mu sync.Mutex
	var pods []Pod
	err = s.cluster.WatchPods(ctx, ref, func(p []Pod) {
		mu.Lock()
		pods = p
		mu.Unlock()
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	if err != nil {
		cancel()
		return nil, err
	}
	// New events change no workload: a cluster that follows them wakes the
	// detail too, so that its events are live.
	if ew, ok := s.cluster.(eventWatcher); ok {
		if err := ew.WatchEvents(ctx, ref, func([]Event) {
			select {
			case wake <- struct{}{}:
			default:
			}
		}); err != nil {
			cancel()
			return nil, err
		}
	}
	out := make(chan Detail, 1)
	go func() {
		defer cancel()
		defer close(out)
		for {
			if d, ok := s.cluster.Detail(ref); ok {
				mu.Lock()
				d.Pods = pods
				mu.Unlock()
				s.assess(env, &d, true)
				select {
				case <-out: // drop the unread older detail
				default:
				}
				out <- d
			}
			select {
			case <-ctx.Done():
				return
			case <-changes:
			case <-wake:
			}
		}
	}()
	return out, nil
}
