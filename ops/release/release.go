// Package release is the environments pipeline: the app × environment
// version matrix, promotion, rollout progress, pause/resume/restart/scale,
// history and rollback, promotion locks and freezes.
//
// It reads clusters through the ports in ports.go; integrations/kubernetes
// implements them. Everything the panes read (Matrix, Detail) comes from
// memory; every mutation checks the guard, freeze and lock, acts, and writes
// the journal.
package release

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilops/vigil/ops/config"
)

// Annotations vigil writes on a workload when it promotes it or rolls it
// back. A rollback sets AnnotationPromotedBy and AnnotationPromotedAt to its
// actor and time, AnnotationRolledBackFrom to the revision it replaced, and
// removes AnnotationPromotedFrom; AnnotationChangeCause names the images
// from and to. Both set AnnotationImages to the images they set
// (ImagesAnnotation): the controller copies a Deployment's annotations to
// the ReplicaSet of a later change made outside vigil, whose images differ.
const (
	AnnotationPromotedFrom   = "vigil.dev/promoted-from"
	AnnotationPromotedBy     = "vigil.dev/promoted-by"
	AnnotationPromotedAt     = "vigil.dev/promoted-at"
	AnnotationRolledBackFrom = "vigil.dev/rolled-back-from"
	AnnotationImages         = "vigil.dev/images"
	// AnnotationRevision is the revision number vigil's change makes (the
	// controller numbers it one above the highest): when the workload's
	// revision is higher, a change made since outside vigil kept vigil's
	// annotations (`kubectl rollout undo` copies them back), which no
	// longer describe it. Set by the Kubernetes adapter, Deployments only.
	AnnotationRevision    = "vigil.dev/revision"
	AnnotationChangeCause = "kubernetes.io/change-cause"
	// AnnotationHook on a workload names a suspended CronJob in the target
	// namespace whose job template runs before the workload is promoted there.
	AnnotationHook = "vigil.dev/promotion-hook"
)

// Env is one environment of the pipeline.
type Env struct {
	Name         string `json:"name"`
	Context      string `json:"context"` // kubeconfig context; "" for the current one
	Namespace    string `json:"namespace"`
	Protected    bool   `json:"protected"`
	AutoRollback bool   `json:"auto_rollback"`
	// Hooks names, by app, the promotion hook from config: the suspended
	// CronJob whose job template runs here before the app is promoted here.
	// It wins over the workloads' AnnotationHook.
	Hooks map[string]string `json:"hooks,omitempty"`
}

// Target is where an environment lives.
func (e Env) Target() Target { return Target{Context: e.Context, Namespace: e.Namespace} }

// EnvsFromConfig turns the configured pipeline into Envs, in order.
func EnvsFromConfig(k *config.Kubernetes) ([]Env, error) {
	if k == nil || len(k.Environments) == 0 {
		return nil, fmt.Errorf("kubernetes.environments is empty: list the environments in pipeline order, each with a name and a namespace")
	}
	seen := map[string]bool{}
	envs := make([]Env, 0, len(k.Environments))
	for i, e := range k.Environments {
		if e.Name == "" || e.Namespace == "" {
			return nil, fmt.Errorf("kubernetes.environments[%d]: name and namespace are required", i)
		}
		if seen[e.Name] {
			return nil, fmt.Errorf("kubernetes.environments[%d]: environment %q is listed twice", i, e.Name)
		}
		seen[e.Name] = true
		envs = append(envs, Env{Name: e.Name, Context: e.Context, Namespace: e.Namespace, Protected: e.Protected, AutoRollback: e.AutoRollback,
			Hooks: mergeHooks(k.PromotionHooks, e.PromotionHooks)})
	}
	return envs, nil
}

// mergeHooks returns the pipeline's hooks overridden by one environment's,
// nil when there are none.
func mergeHooks(pipeline, env map[string]string) map[string]string {
	if len(pipeline)+len(env) == 0 {
		return nil
	}
	out := maps.Clone(pipeline)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, env)
	return out
}

// Target is one namespace of one cluster (kubeconfig context).
type Target struct {
	Context   string `json:"context"`
	Namespace string `json:"namespace"`
}

// Kind of workload.
type Kind string

const (
	Deployment  Kind = "Deployment"
	StatefulSet Kind = "StatefulSet"
)

// Ref names one workload in one place.
type Ref struct {
	Target
	Kind Kind
	Name string
}

func (r Ref) String() string {
	ctx := r.Context
	if ctx != "" {
		ctx += "/"
	}
	return ctx + r.Namespace + "/" + strings.ToLower(string(r.Kind)) + "/" + r.Name
}

// Container is one container of a pod template.
type Container struct {
	Name  string `json:"name"`
	Image string `json:"image"`
	Init  bool   `json:"init,omitempty"`
}

// ImagesAnnotation is the value of AnnotationImages for containers:
// "name=image" joined by commas, init containers marked "init:name".
func ImagesAnnotation(cs []Container) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		if c.Init {
			parts[i] = "init:" + c.Name + "=" + c.Image
		} else {
			parts[i] = c.Name + "=" + c.Image
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// StaleProvenance reports whether vigil's annotations on a workload or
// revision numbered revision were made for an older revision (their
// AnnotationRevision, "" when absent: not stale by that test).
func StaleProvenance(a map[string]string, revision int64) bool {
	made, err := strconv.ParseInt(a[AnnotationRevision], 10, 64)
	return err == nil && revision > made
}

// ImagesMatch reports whether containers run every image an
// AnnotationImages value names; false for an empty one.
func ImagesMatch(annotation string, cs []Container) bool {
	if annotation == "" {
		return false
	}
	have := strings.Split(ImagesAnnotation(cs), ",")
	for _, set := range strings.Split(annotation, ",") {
		if !slices.Contains(have, set) {
			return false
		}
	}
	return true
}

// Condition is a workload condition (Available, Progressing, …).
type Condition struct {
	Type    string    `json:"type"`
	Status  string    `json:"status"` // True, False, Unknown
	Reason  string    `json:"reason,omitempty"`
	Message string    `json:"message,omitempty"`
	Updated time.Time `json:"updated"`
}

// Workload is what vigil keeps of a Deployment or a StatefulSet.
type Workload struct {
	Kind       Kind        `json:"kind"`
	Name       string      `json:"name"`
	Containers []Container `json:"containers"`
	// Desired is spec.replicas; Current counts pods of every revision.
	Desired   int32 `json:"desired"`
	Current   int32 `json:"current"`
	Updated   int32 `json:"updated"`
	Ready     int32 `json:"ready"`
	Available int32 `json:"available"`
	// OldReady and OldAvailable are the pods of older revisions (old
	// ReplicaSets) that Ready and Available count: a rollout's progress
	// counts only the current revision's.
	OldReady     int32 `json:"old_ready,omitempty"`
	OldAvailable int32 `json:"old_available,omitempty"`
	Paused       bool  `json:"paused,omitempty"`
	// Settled is false while the controller has not observed the latest
	// spec, or (StatefulSets) while the current and update revisions differ.
	Settled    bool        `json:"settled"`
	Revision   int64       `json:"revision"`
	Conditions []Condition `json:"conditions,omitempty"`
	// ChangedAt is when the current revision was created.
	ChangedAt    time.Time `json:"changed_at"`
	ChangeCause  string    `json:"change_cause,omitempty"`
	PromotedFrom string    `json:"promoted_from,omitempty"`
	PromotedBy   string    `json:"promoted_by,omitempty"`
	PromotedAt   time.Time `json:"promoted_at,omitzero"`
	// RolledBackFrom is the revision a vigil rollback replaced, 0 when the
	// current revision is no vigil rollback.
	RolledBackFrom int64  `json:"rolled_back_from,omitempty"`
	Hook           string `json:"hook,omitempty"`
	// Claims are a StatefulSet's PersistentVolumeClaims, one per pod and
	// volumeClaimTemplate, by template then ordinal.
	Claims []Claim `json:"claims,omitempty"`
}

// Claim is one PersistentVolumeClaim of a StatefulSet's pod.
type Claim struct {
	Name     string `json:"name"`
	Template string `json:"template"`
	Ordinal  int    `json:"ordinal"`
	// Size is the bound volume's capacity, else the size requested.
	Size         string `json:"size"`
	Status       string `json:"status"` // Bound, Pending, Lost, or ClaimNotCreated
	StorageClass string `json:"storage_class,omitempty"`
	Volume       string `json:"volume,omitempty"` // the PersistentVolume bound
}

// ClaimNotCreated is the status of a claim the StatefulSet's controller has
// not made yet (its pod does not exist yet).
const ClaimNotCreated = "not created"

// Version is the tag of the first container's image ("" when untagged),
// or its digest.
func (w *Workload) Version() string {
	for _, c := range w.Containers {
		if !c.Init {
			return ImageVersion(c.Image)
		}
	}
	return ""
}

// ImageVersion returns the tag or digest of an image reference.
func ImageVersion(image string) string {
	if _, d, ok := strings.Cut(image, "@"); ok {
		return d
	}
	slash := strings.LastIndexByte(image, '/')
	if i := strings.LastIndexByte(image, ':'); i > slash {
		return image[i+1:]
	}
	return "latest"
}

// Condition returns the condition of type t, if any.
func (w *Workload) Condition(t string) (Condition, bool) {
	for _, c := range w.Conditions {
		if c.Type == t {
			return c, true
		}
	}
	return Condition{}, false
}

// Health of a workload: the state every pane shows (see Assess).
type Health string

const (
	Healthy     Health = "healthy"
	Progressing Health = "progressing"
	Paused      Health = "paused"
	Degraded    Health = "degraded" // not all replicas available, no rollout running
	Stalled     Health = "stalled"  // ProgressDeadlineExceeded, or a pod of the new revision failing
	Alerting    Health = "alerting" // an alert fires on it
	Missing     Health = "missing"  // the environment has no such app
)

// Health is the workload's state from its own status alone: Assess
// without pods or alerts.
func (w *Workload) Health() Health { return Assess(w, Signals{}).Health }

// Freeze stops promotions into an environment until it expires.
type Freeze struct {
	Reason string    `json:"reason"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	Until  time.Time `json:"until"`
}

// Active reports whether the freeze still holds at now.
func (f *Freeze) Active(now time.Time) bool { return f != nil && now.Before(f.Until) }

// Conn is the state of the connection to one cluster (kubeconfig context).
type Conn struct {
	Context   string `json:"context"`
	Connected bool   `json:"connected"`
	// LastData is when data last came from the API server; while
	// disconnected, what is shown is this old.
	LastData time.Time `json:"last_data"`
	Err      string    `json:"error,omitempty"`
}
