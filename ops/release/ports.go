package release

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vigilops/vigil/ops/access"
)

// Sink receives what a Watcher sees. Its methods are called from the
// watcher's goroutines and must not block.
type Sink interface {
	// Workload reports a workload added or changed in env.
	Workload(env string, w Workload)
	// WorkloadGone reports a workload deleted from env.
	WorkloadGone(env string, kind Kind, name string)
	// Freeze reports env's freeze, nil when it has none.
	Freeze(env string, f *Freeze)
	// Conn reports the connection state of a kube context.
	Conn(c Conn)
}

// LockSink is a Sink that is also told of the locks held in each
// environment's namespace (a Watcher that can see them tells it).
type LockSink interface {
	// Lock reports the lock named name in env, as a Lock of it would be
	// refused (expired ones too: the sink drops them); nil when it is gone.
	Lock(env, name string, l *LockedError)
}

// Watcher feeds a Sink from a cache shared by the whole process.
type Watcher interface {
	// Watch registers sink for the environments' apps (those matching
	// selector, or all workloads when it is empty) and returns at once;
	// the sink gets the current state, then every change, until ctx ends.
	Watch(ctx context.Context, envs []Env, selector string, sink Sink) error
}

// Inspector reads the detail of one workload from the cache (no IO).
type Inspector interface {
	// Detail returns the rollout detail of ref; ok is false when the cache
	// does not hold it.
	Detail(ref Ref) (d Detail, ok bool)
	// History returns ref's revisions, newest first.
	History(ref Ref) ([]Revision, error)
}

// PodWatcher watches the pods of one workload, only while its detail is
// open: the matrix needs no pods, the counts are in the workload's status.
type PodWatcher interface {
	// WatchPods calls fn with ref's pods now and after every change, until
	// ctx ends.
	WatchPods(ctx context.Context, ref Ref, fn func([]Pod)) error
}

// Pod is one pod of a workload, as the rollout detail shows it.
type Pod struct {
	Name     string    `json:"name"`
	Owner    string    `json:"owner"` // ReplicaSet (or StatefulSet) name
	Revision string    `json:"revision,omitempty"`
	Phase    string    `json:"phase"`
	Ready    bool      `json:"ready"`
	Restarts int32     `json:"restarts"`
	Reason   string    `json:"reason,omitempty"` // why a container waits or ended, e.g. CrashLoopBackOff
	Created  time.Time `json:"created"`
	Node     string    `json:"node,omitempty"`
	// Unready names the containers not ready.
	Unready []string `json:"unready,omitempty"`
	// LastExit is how a container of the pod last ended before its
	// restart ("Error, exit 1"; "OOMKilled, exit 137"), and when.
	LastExit   string    `json:"last_exit,omitempty"`
	LastExitAt time.Time `json:"last_exit_at,omitzero"`
}

// Mutator changes workloads.
type Mutator interface {
	// SetImages sets the images of the named containers and the given
	// annotations on the workload and its pod template's owner.
	SetImages(ctx context.Context, ref Ref, images []Container, annotations map[string]string) error
	// Rollback restores revision (0: the one before the current) exactly as
	// `kubectl rollout undo --to-revision` does, and returns the revision
	// restored as it was before (the controller then renumbers it). Before
	// it changes anything it calls annotate with the current revision and
	// the one it restores, and sets the annotations annotate returns on the
	// workload (and on a Deployment's restored ReplicaSet) over those the
	// restored revision carries; an empty value removes the annotation.
	// When the current template already matches, it changes nothing and
	// does not call annotate.
	Rollback(ctx context.Context, ref Ref, revision int64, annotate Annotator) (Revision, error)
	SetPaused(ctx context.Context, ref Ref, paused bool) error
	// Restart sets kubectl's restartedAt annotation on the pod template.
	Restart(ctx context.Context, ref Ref, at time.Time) error
	Scale(ctx context.Context, ref Ref, replicas int32) error
}

// Annotator returns the annotations of a rollback from the revision from
// to the revision to.
type Annotator func(from, to Revision) map[string]string

// Freezer stores environment freezes in the cluster, so every vigil sees them.
type Freezer interface {
	GetFreeze(ctx context.Context, t Target) (*Freeze, error)
	// PutFreeze stores f, or removes the freeze when f is nil.
	PutFreeze(ctx context.Context, t Target, f *Freeze) error
}

// Locker holds named locks in the cluster with a TTL.
type Locker interface {
	// Lock takes the lock name in t for holder, or returns a *LockedError
	// naming the other holder: who, through which bastion, for what.
	// Taking a lock one already holds (the same Holder.ID) renews it.
	Lock(ctx context.Context, t Target, name string, holder Holder, ttl time.Duration) error
	// Unlock frees the lock if holder (a Holder.ID) still holds it.
	Unlock(ctx context.Context, t Target, name, holder string) error
	// Held lists the locks held in t whose names start with prefix, each
	// as the *LockedError a Lock of it would return.
	Held(ctx context.Context, t Target, prefix string) ([]*LockedError, error)
}

// Hooks runs promotion hooks.
type Hooks interface {
	// RunHook runs the job template named template in t, with the images of
	// containers of the same names replaced by images, and waits for it. A
	// failed job returns a *HookError carrying its logs.
	RunHook(ctx context.Context, t Target, template string, images []Container) error
}

// Seeder copies an environment's objects into a new one.
type Seeder interface {
	// PlanSeed lists, from the live clusters, what seeding to from from
	// would create: apps matching selector, Services and ConfigMaps; and the
	// Secrets, which are never copied.
	PlanSeed(ctx context.Context, from, to Target, selector string) (Seed, error)
	// Seed creates to's namespace if needed, then copies objects from from,
	// skipping those that exist in to by then.
	Seed(ctx context.Context, from, to Target, objects []SeedObject) error
}

// Seed is what preparing an environment finds.
type Seed struct {
	NamespaceExists bool         `json:"namespace_exists"`
	Objects         []SeedObject `json:"objects"`
	Secrets         []string     `json:"secrets,omitempty"` // in the source; must be provided in the target
}

// SeedObject is one object of a seed.
type SeedObject struct {
	Kind string `json:"kind"` // Deployment, StatefulSet, Service, ConfigMap
	Name string `json:"name"`
	// Exists is true when the target already has it: it is left alone.
	Exists bool `json:"exists,omitempty"`
	// Volumes names a StatefulSet's volume claim templates.
	Volumes []string `json:"volumes,omitempty"`
}

// LiveReader reads a workload's containers and change-cause from the API
// server, not from the cache. A promotion, once it holds its lock, checks
// with it that the target still runs what the plan was made from; with a
// Cluster that is not a LiveReader, it checks against the cache.
type LiveReader interface {
	LiveContainers(ctx context.Context, ref Ref) (containers []Container, changeCause string, err error)
}

// Cluster is everything release needs from Kubernetes.
type Cluster interface {
	Watcher
	Inspector
	Mutator
	Freezer
	Locker
	Hooks
	Seeder
	PodWatcher
}

// Journal is the audit journal as release uses it.
type Journal interface {
	Record(ctx context.Context, actor access.Actor, action, target string, params map[string]string, err error) error
}

// ReplicaSet is one ReplicaSet (or StatefulSet revision) of a workload.
type ReplicaSet struct {
	Name       string      `json:"name"`
	Revision   int64       `json:"revision"`
	Containers []Container `json:"containers"`
	Desired    int32       `json:"desired"`
	Ready      int32       `json:"ready"`
	Available  int32       `json:"available"`
	Created    time.Time   `json:"created"`
}

// Event is a Kubernetes event about a workload or what it owns.
type Event struct {
	Type    string    `json:"type"` // Normal, Warning
	Reason  string    `json:"reason"`
	Object  string    `json:"object"` // kind/name
	Message string    `json:"message"`
	Count   int32     `json:"count"`
	Last    time.Time `json:"last"`
	// First is when it was first seen (its count then 1); zero when the
	// event does not say.
	First time.Time `json:"first,omitzero"`
	// Source is what reported it: the component (and host) of a core
	// event, or the reporting controller ("deployment-controller",
	// "kubelet, node-1").
	Source string `json:"source,omitempty"`
}

// Detail is the live rollout detail of one workload.
type Detail struct {
	Workload Workload `json:"workload"`
	// New is the ReplicaSet of the current revision; Old are the others
	// still holding pods.
	New    *ReplicaSet  `json:"new,omitempty"`
	Old    []ReplicaSet `json:"old,omitempty"`
	Events []Event      `json:"events,omitempty"` // newest last
	// Pods are set by Service.WatchRollout only.
	Pods []Pod `json:"pods,omitempty"`
	// Assessment is the workload's one state, the same the matrix shows
	// (set by Service.Detail and Service.WatchRollout).
	Assessment Assessment `json:"assessment"`
	// Stall says why the rollout stopped progressing, "" while it is fine:
	// the Assessment's reason when it is Stalled.
	Stall string `json:"stall,omitempty"`
}

// Revision is one entry of a workload's history.
type Revision struct {
	Number      int64       `json:"revision"`
	Containers  []Container `json:"containers"`
	ChangeCause string      `json:"change_cause,omitempty"`
	Created     time.Time   `json:"created"`
	Current     bool        `json:"current,omitempty"`
	// By and At are vigil's AnnotationPromotedBy and AnnotationPromotedAt
	// on the revision, when vigil promoted or restored it (they stay when
	// someone else restores it later: compare At with Since).
	By string    `json:"by,omitempty"`
	At time.Time `json:"at,omitzero"`
	// Images is vigil's AnnotationImages on the revision.
	Images string `json:"images,omitempty"`
	// Stale is true when vigil's annotations on the revision were made
	// for another revision (AnnotationRevision): `kubectl rollout undo`
	// brought them back with it.
	Stale bool `json:"stale,omitempty"`
	// Restored is true when the revision is an older one brought back
	// (by a rollback or `kubectl rollout undo`): Created is then when it
	// first ran, and Since when it came back.
	Restored bool `json:"restored,omitempty"`
	// Since is when the revision last became the workload's: Created, or
	// for a restored revision the newest of At and the time its
	// ReplicaSet was scaled up again (from the events, while they last).
	Since time.Time `json:"since"`
}

// madeSlack is how far apart the time vigil stamps on a change and the
// time its revision appears may be: the controller's delay, or a clock.
const madeSlack = 2 * time.Minute

// ByVigil reports whether the revision's annotations say that vigil made
// it: a promoter or rollbacker, the very images vigil set, and vigil's
// time within a couple of minutes of Since. Annotations the controller
// copied from the Deployment onto a later change made outside vigil fail
// on the images, or on the time.
func (r *Revision) ByVigil() bool {
	if r.By == "" || r.At.IsZero() || r.Stale || !ImagesMatch(r.Images, r.Containers) {
		return false
	}
	d := r.Since.Sub(r.At)
	return d > -madeSlack && d < madeSlack
}

// Holder is who takes a lock: the actor, the bastion (the vigil) they act
// through, and the action the lock covers. A lock stores all three, so
// that whoever is refused is told who holds it, where, and for what.
type Holder struct {
	Actor   string
	Bastion string // empty: unknown (a lock taken by an older vigil)
	Action  string // what the lock covers ("promote", "roll back", ...); may be empty
}

// ID is the holder's identity in a lock: "actor on bastion". Two vigils
// of one actor on two bastions are two holders.
func (h Holder) ID() string {
	if h.Bastion == "" {
		return h.Actor
	}
	return h.Actor + " on " + h.Bastion
}

// ParseHolder reads an ID back ("actor on bastion", or an actor alone):
// what a lock taken without its annotations still says.
func ParseHolder(id string) Holder {
	actor, bastion, _ := strings.Cut(id, " on ")
	return Holder{Actor: actor, Bastion: bastion}
}

// LockedError says another actor holds a promotion lock.
type LockedError struct {
	Lock string `json:"lock"`
	// Holder is the holder's ID ("actor on bastion"); Bastion and Action
	// are its parts, when the lock names them.
	Holder  string    `json:"holder"`
	Bastion string    `json:"bastion,omitempty"`
	Action  string    `json:"action,omitempty"`
	Since   time.Time `json:"since,omitzero"` // when the holder took it; zero when unknown
	Until   time.Time `json:"until"`
}

// Who says who holds the lock, through which bastion and for what:
// "alice on bastion-a (promote)".
func (e *LockedError) Who() string {
	who := e.Holder
	if e.Action != "" {
		who += " (" + e.Action + ")"
	}
	return who
}

// Refused marks a held lock as a refusal (access.Refusal).
func (e *LockedError) Refused() bool { return true }

func (e *LockedError) Error() string {
	since := ""
	if !e.Since.IsZero() {
		since = " since " + e.Since.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("%s is locked by %s%s until %s: wait for their change (a promotion, rollback or preparation) to settle, or ask them", e.Lock, e.Who(), since, e.Until.UTC().Format(time.RFC3339))
}

// ChangedError refuses a promotion whose target changed between its plan
// and its lock: another actor's promotion or rollback, or a release from
// outside vigil, came first. Applying the plan would undo that change
// unseen, so nothing is done.
type ChangedError struct {
	App, Env, Container string
	Planned, Now        string // the container's image when planned, and now
	// Change is the current revision's change-cause, when known.
	Change string
}

// Refused marks a changed target as a refusal (access.Refusal): nothing
// was done, exit 3 on the command line.
func (e *ChangedError) Refused() bool { return true }

func (e *ChangedError) Error() string {
	change := ""
	if e.Change != "" {
		change = " (" + e.Change + ")"
	}
	return fmt.Sprintf("%s in %s changed since this promotion was planned: container %s runs %s now%s, not %s: nothing was done; look at it again and promote anew",
		e.App, e.Env, e.Container, e.Now, change, e.Planned)
}

// HookError says a promotion hook's job failed; Logs holds what it printed.
type HookError struct {
	Job  string
	Logs string
	Err  error
}

func (e *HookError) Error() string {
	return fmt.Sprintf("promotion hook job %s failed: %v; the promotion stopped before the rollout (see the job's logs)", e.Job, e.Err)
}

func (e *HookError) Unwrap() error { return e.Err }
