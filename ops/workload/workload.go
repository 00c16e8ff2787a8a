// Package workload is the triage reading of one workload: what it is made
// of (a describe, with its YAML) and what happened to it (the events of the
// workload, its ReplicaSets and its pods, live). Its pods are read by
// ops/release's PodWatcher (Service.WatchRollout), scoped to the workload.
//
// Nothing here reveals a value a Secret or an environment variable holds:
// environment variables are listed by name, with the Secret or ConfigMap
// key they come from, never with their values.
package workload

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigilops/vigil/ops/release"
)

// Describer reads the full description of one workload from the API server
// (not the caches, which keep only what the matrix shows).
type Describer interface {
	Describe(ctx context.Context, ref release.Ref) (Description, error)
}

// EventWatcher follows the events of one workload, its ReplicaSets (or a
// StatefulSet's revisions) and its pods.
type EventWatcher interface {
	// WatchEvents calls fn with every event of ref still held (Sorted), now
	// and after each change, from a goroutine of its own, until ctx ends.
	// It returns at once.
	WatchEvents(ctx context.Context, ref release.Ref, fn func([]release.Event)) error
}

// Cluster is what the workload service needs from Kubernetes.
type Cluster interface {
	Describer
	EventWatcher
	release.PodWatcher
}

// Locator finds an app's workload in an environment (release.Service).
type Locator interface {
	Ref(app, env string) (release.Ref, error)
}

var _ Locator = (*release.Service)(nil)

// Description is what `kubectl describe` tells of a workload, typed, and
// without a value of an environment variable or a Secret.
type Description struct {
	Ref     release.Ref       `json:"ref"`
	Created time.Time         `json:"created"`
	Labels  map[string]string `json:"labels,omitempty"`
	// Selector is the workload's pod selector, as kubectl writes it
	// ("app.kubernetes.io/name=api").
	Selector string `json:"selector"`
	// Strategy is how it replaces pods: "RollingUpdate (max surge 25%,
	// max unavailable 25%)", "Recreate", "OnDelete".
	Strategy   string              `json:"strategy"`
	Replicas   Replicas            `json:"replicas"`
	Containers []Container         `json:"containers"`
	Volumes    []Volume            `json:"volumes,omitempty"`
	Claims     []Claim             `json:"claims,omitempty"`
	Conditions []release.Condition `json:"conditions,omitempty"`
	// Owned is the owner chain below the workload: a Deployment's
	// current ReplicaSet and the old ones still holding pods (newest
	// first), or a StatefulSet's current and update revisions, each with
	// the pods it owns.
	Owned []Owned `json:"owned,omitempty"`
	// YAML is the object as the API server holds it, without managedFields,
	// kubectl's last-applied-configuration (a copy of the spec with its
	// values) and the values of environment variables.
	YAML string `json:"yaml"`
}

// Replicas are the workload's counts.
type Replicas struct {
	Desired   int32 `json:"desired"`
	Current   int32 `json:"current"`
	Updated   int32 `json:"updated"`
	Ready     int32 `json:"ready"`
	Available int32 `json:"available"`
}

// Container is one container of the pod template.
type Container struct {
	Name  string `json:"name"`
	Image string `json:"image"`
	Init  bool   `json:"init,omitempty"`
	// Ports as "http 8080/TCP".
	Ports []string `json:"ports,omitempty"`
	// Requests and Limits by resource name ("cpu": "100m").
	Requests map[string]string `json:"requests,omitempty"`
	Limits   map[string]string `json:"limits,omitempty"`

	Liveness  *Probe `json:"liveness,omitempty"`
	Readiness *Probe `json:"readiness,omitempty"`
	Startup   *Probe `json:"startup,omitempty"`

	// Env names the variables, never their values.
	Env []EnvVar `json:"env,omitempty"`
	// EnvFrom are whole Secrets or ConfigMaps imported as variables.
	EnvFrom []EnvSource `json:"env_from,omitempty"`
	Mounts  []Mount     `json:"mounts,omitempty"`
}

// Probe is a container's health check.
type Probe struct {
	// Kind is "http", "tcp", "grpc" or "exec".
	Kind string `json:"kind"`
	// Target is what it checks: "GET :8080/healthz", ":5432", "exec" (a
	// command is not shown: it may carry a password).
	Target  string        `json:"target"`
	Delay   time.Duration `json:"delay"`
	Period  time.Duration `json:"period"`
	Timeout time.Duration `json:"timeout"`
	Failure int32         `json:"failure_threshold"`
	Success int32         `json:"success_threshold"`
}

func (p Probe) String() string {
	return fmt.Sprintf("%s %s delay=%s timeout=%s period=%s #success=%d #failure=%d",
		p.Kind, p.Target, p.Delay, p.Timeout, p.Period, p.Success, p.Failure)
}

// EnvVar is one environment variable, by name: where its value comes from,
// never the value itself.
type EnvVar struct {
	Name string `json:"name"`
	// From is "" for a literal value (not shown), "secret NAME/KEY",
	// "configmap NAME/KEY", "field PATH" or "resource CONTAINER/RESOURCE".
	From string `json:"from,omitempty"`
}

// EnvSource is a Secret or ConfigMap whose keys all become variables.
type EnvSource struct {
	Kind   string `json:"kind"` // Secret, ConfigMap
	Name   string `json:"name"`
	Prefix string `json:"prefix,omitempty"`
}

// Mount is a volume mounted in a container.
type Mount struct {
	Volume   string `json:"volume"`
	Path     string `json:"path"`
	ReadOnly bool   `json:"read_only,omitempty"`
}

// Volume is one volume of the pod template.
type Volume struct {
	Name string `json:"name"`
	// Kind is the volume's source: Secret, ConfigMap, PersistentVolumeClaim,
	// EmptyDir, HostPath, Projected, DownwardAPI, … ("Other" for the rest).
	Kind string `json:"kind"`
	// Source names the Secret, ConfigMap, claim or path; "" when none.
	Source string `json:"source,omitempty"`
}

// Claim is a PersistentVolumeClaim the workload uses: one named by a
// volume, or made from a StatefulSet's claim template for one of its pods.
type Claim struct {
	Name string `json:"name"`
	// Template is the StatefulSet's claim template it comes from, "" for a
	// claim a volume names.
	Template     string   `json:"template,omitempty"`
	Phase        string   `json:"phase"` // Bound, Pending, Lost; "Missing" when it does not exist
	Volume       string   `json:"volume,omitempty"`
	Capacity     string   `json:"capacity,omitempty"`
	Requested    string   `json:"requested,omitempty"`
	StorageClass string   `json:"storage_class,omitempty"`
	AccessModes  []string `json:"access_modes,omitempty"`
}

// Owned is one link of the owner chain: a ReplicaSet (or StatefulSet
// revision) and its pods.
type Owned struct {
	Kind     string    `json:"kind"` // ReplicaSet, ControllerRevision
	Name     string    `json:"name"`
	Revision int64     `json:"revision"`
	Current  bool      `json:"current,omitempty"`
	Desired  int32     `json:"desired"`
	Ready    int32     `json:"ready"`
	Created  time.Time `json:"created"`
	Pods     []string  `json:"pods,omitempty"`
}

// Sort orders events as the detail shows them: warnings first, then the
// newest first (by their last time), ties by object.
func Sort(evs []release.Event) {
	slices.SortStableFunc(evs, func(a, b release.Event) int {
		wa, wb := a.Type == "Warning", b.Type == "Warning"
		switch {
		case wa && !wb:
			return -1
		case wb && !wa:
			return 1
		}
		if c := b.Last.Compare(a.Last); c != 0 {
			return c
		}
		return strings.Compare(a.Object, b.Object)
	})
}

// Service answers the workload detail's questions for every session.
type Service struct {
	apps    Locator
	cluster Cluster
}

// New returns the service; apps is the release service (Ref).
func New(apps Locator, cluster Cluster) *Service {
	return &Service{apps: apps, cluster: cluster}
}

// Describe reads the description of app in env from the API server.
func (s *Service) Describe(ctx context.Context, app, env string) (Description, error) {
	ref, err := s.apps.Ref(app, env)
	if err != nil {
		return Description{}, err
	}
	return s.cluster.Describe(ctx, ref)
}

// WatchEvents sends the events of app in env (Sort's order), now and after
// every change, until ctx ends; the channel is closed then. Only the latest
// list waits in the channel: a slow reader skips to it.
func (s *Service) WatchEvents(ctx context.Context, app, env string) (<-chan []release.Event, error) {
	ref, err := s.apps.Ref(app, env)
	if err != nil {
		return nil, err
	}
	return follow(ctx, func(fn func([]release.Event)) error { return s.cluster.WatchEvents(ctx, ref, fn) })
}

// WatchPods sends the pods of app in env (and only its own: a canary whose
// labels match its selector keeps its pods), now and after every change,
// until ctx ends, as WatchEvents does: a watch of those pods only, which
// ends with ctx.
func (s *Service) WatchPods(ctx context.Context, app, env string) (<-chan []release.Pod, error) {
	ref, err := s.apps.Ref(app, env)
	if err != nil {
		return nil, err
	}
	return follow(ctx, func(fn func([]release.Pod)) error { return s.cluster.WatchPods(ctx, ref, fn) })
}

// follow starts a watch that calls fn with each new value, and returns a
// channel holding the latest one not yet read, closed when ctx ends.
func follow[T any](ctx context.Context, watch func(fn func(T)) error) (<-chan T, error) {
	out := make(chan T, 1)
	wake := make(chan T, 1)
	err := watch(func(v T) {
		for {
			select {
			case wake <- v:
				return
			default:
			}
			select {
			case <-wake: // drop the unread older value
			default:
			}
		}
	})
	if err != nil {
		return nil, err
	}
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case v := <-wake:
				select {
				case <-out:
				default:
				}
				out <- v
			}
		}
	}()
	return out, nil
}
