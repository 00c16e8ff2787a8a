package release

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Assessment is the one state of a workload in an environment. Assess
// computes it, and the matrix, the Rollouts list, header, bars and
// banner, and `vigil status` all show it: none derives a state of its own.
type Assessment struct {
	Health Health `json:"health"`
	// The progress of the current revision, out of Desired: its pods, and
	// those of them ready and available. Pods of older revisions do not
	// count, so a rollout whose new pods never become ready never shows as
	// complete.
	Desired   int32 `json:"desired"`
	Updated   int32 `json:"updated"`
	Ready     int32 `json:"ready"`
	Available int32 `json:"available"`
	// RolledOut is true once every pod runs the current revision and is
	// available: the rollout is over, whatever the alerts say.
	RolledOut bool `json:"rolled_out"`
	// Reason says why the workload is not healthy: the stall, the failing
	// pod, the firing alerts; "" when healthy.
	Reason string `json:"reason,omitempty"`
	// Alerts are the alerts firing on the workload, most severe first.
	Alerts []FiringAlert `json:"alerts,omitempty"`
}

// Signals are what Assess weighs beside the workload's own status.
type Signals struct {
	// Failing says why a pod of the current revision is failing ("" when
	// none is seen failing); pods are known only while a rollout detail
	// watches them.
	Failing string
	// Alerts are the alerts firing on the workload.
	Alerts []FiringAlert
}

// Assess is the single place where a workload's state is decided.
func Assess(w *Workload, sig Signals) Assessment {
	a := Assessment{
		Desired:   w.Desired,
		Updated:   w.Updated,
		Ready:     min(max(w.Ready-w.OldReady, 0), w.Updated),
		Available: min(max(w.Available-w.OldAvailable, 0), w.Updated),
	}
	a.RolledOut = w.Settled && a.Updated >= a.Desired && w.Current <= a.Updated && a.Available >= a.Desired
	a.Health, a.Reason = health(w, &a, sig.Failing)
	if len(sig.Alerts) > 0 {
		a.Alerts = slices.Clone(sig.Alerts)
		slices.SortStableFunc(a.Alerts, func(x, y FiringAlert) int { return severityRank(y.Severity) - severityRank(x.Severity) })
		names := make([]string, 0, len(a.Alerts))
		for _, al := range a.Alerts {
			if !slices.Contains(names, al.Name) {
				names = append(names, al.Name)
			}
		}
		firing := "firing: " + strings.Join(names, ", ")
		// A stalled rollout stays stalled: its banner offers the rollback.
		// Otherwise the alert is what an on-call administrator must see.
		if a.Health == Stalled {
			a.Reason += "; " + firing
		} else {
			a.Health, a.Reason = Alerting, firing
		}
	}
	return a
}

// health decides the state from the workload's status and a failing pod.
func health(w *Workload, a *Assessment, failing string) (Health, string) {
	if !w.Settled {
		// Conditions are stale until the controller sees the spec.
		return Progressing, "the controller has not yet seen the latest change"
	}
	if c, ok := w.Condition("Progressing"); ok && c.Status == "False" && c.Reason == "ProgressDeadlineExceeded" {
		return Stalled, "progress deadline exceeded: " + c.Message
	}
	if failing != "" && !a.RolledOut {
		return Stalled, failing
	}
	if w.Paused {
		return Paused, "the rollout is paused"
	}
	if a.Updated < a.Desired || w.Current > a.Updated {
		return Progressing, fmt.Sprintf("%d of %d pods run the current revision, %d ready", a.Updated, a.Desired, a.Ready)
	}
	if c, ok := w.Condition("Available"); ok && c.Status == "False" {
		return Degraded, "not available: " + c.Message
	}
	if a.Available < a.Desired || a.Ready < a.Desired {
		return Degraded, fmt.Sprintf("%d of %d pods ready, %d available", a.Ready, a.Desired, a.Available)
	}
	return Healthy, ""
}

// FiringAlert is an alert firing on a workload, as release weighs it: its
// namespace and deployment (or statefulset) labels name the workload.
type FiringAlert struct {
	Name      string `json:"name"`
	Severity  string `json:"severity,omitempty"`
	Namespace string `json:"namespace"`
	Workload  string `json:"workload"`
	// Acked is true when someone acknowledged (silenced) it: it still fires.
	Acked bool `json:"acked,omitempty"`
}

func severityRank(s string) int {
	switch s {
	case "critical":
		return 4
	case "error":
		return 3
	case "warning":
		return 2
	case "info":
		return 1
	}
	return 0
}

// AlertSource tells release which alerts fire on which workloads;
// ops/incident implements it.
type AlertSource interface {
	// WatchFiring calls fn with every alert firing on a workload: once with
	// the current list before it returns, then from another goroutine
	// after each change, until ctx ends. fn must not block.
	WatchFiring(ctx context.Context, fn func([]FiringAlert))
}

// FollowAlerts makes the matrix weigh the alerts src reports, until ctx
// ends; the matrix holds the current ones when it returns. Call it once,
// after New.
func (s *Service) FollowAlerts(ctx context.Context, src AlertSource) {
	src.WatchFiring(ctx, s.store.Alerts)
	s.store.rebuild()
}
