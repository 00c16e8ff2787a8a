// Package podlogs gives the lab's pods real log lines. kwok serves a pod's
// logs (kubectl logs, the API's pods/log) from the files a kwok Logs object
// of the same name and namespace names; the Writer creates one per pod, as
// pods appear, and appends to its files what the pod's app would print:
// a line per request at the lab exporter's modelled rate, an error with a
// stack-like message for each failed request of a release tagged "bad", and
// a crash before each restart of an image tagged "-broken" (the lab's kwok
// stages keep those crash-looping). Files are rotated at MaxBytes, as a
// container runtime does, so the lab's disk use stays bounded however long
// it runs.
package podlogs

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// LogsResource is kwok's Logs kind (kwokctl create cluster --enable-crds Logs).
var LogsResource = schema.GroupVersionResource{Group: "kwok.x-k8s.io", Version: "v1alpha1", Resource: "logs"}

const (
	// RequestsPerSecond is what each ready replica serves (the exporter's
	// RequestsPerReplica).
	RequestsPerSecond = 10.0
	// ChattyRequestsPerSecond is what each ready replica of a tag
	// containing "chatty" logs: three of them, 2,000 lines a second, the
	// load the logs view is measured under.
	ChattyRequestsPerSecond = 2000.0 / 3
	// BadErrorRatio is the share of failed requests of a "bad" release
	// (the exporter's BadErrorRatio).
	BadErrorRatio = 0.2
	// DefaultMaxBytes is the size at which a log file is rotated: at
	// about 1.6 kB/s per replica, some 20 minutes of lines, more than
	// vigil logs' default --since.
	DefaultMaxBytes = 2 << 20
	// DefaultTick is how often the lines of the requests served are
	// written: a line is at most that late in its file.
	DefaultTick = 100 * time.Millisecond
	// Selector leaves out the load mode's thousands of pods.
	Selector = "app.kubernetes.io/part-of!=load"
)

// Writer writes the pods' log files under Dir until Run's ctx ends.
type Writer struct {
	Dir      string
	Client   kubernetes.Interface
	Dynamic  dynamic.Interface
	MaxBytes int64            // 0: DefaultMaxBytes
	Tick     time.Duration    // how often access lines are appended; 0: DefaultTick
	Now      func() time.Time // nil: time.Now
	Logf     func(format string, args ...any)

	mu          sync.Mutex
	pods        map[string]*pod // by namespace/name
	lastTraffic time.Time
}

type pod struct {
	ns, name string
	uid      string
	dir      string
	ready    bool
	lines    *Lines
	bad      bool
	broken   bool
	rate     float64 // requests a second while ready
	first    string  // the container that serves requests
	files    map[string]*file
	restarts map[string]int32
	due      float64   // requests owed but not yet written (fractions)
	last     time.Time // time of the last line written
}

type file struct {
	f    *os.File
	size int64
}

// Run watches the pods and writes their lines until ctx ends. It returns
// once the pods are listed.
func (w *Writer) Run(ctx context.Context) error {
	if w.MaxBytes <= 0 {
		w.MaxBytes = DefaultMaxBytes
	}
	if w.Tick <= 0 {
		w.Tick = DefaultTick
	}
	if w.Now == nil {
		w.Now = time.Now
	}
	if w.Logf == nil {
		w.Logf = func(string, ...any) {}
	}
	if _, err := w.Dynamic.Resource(LogsResource).List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
		if apierrors.IsNotFound(err) {
			// A cluster created before the lab enabled the CRD.
			w.Logf("pod logs: the cluster has no kwok Logs kind (created by an older vigil-lab: run vigil-lab down, then up): pods have no logs")
			return nil
		}
		return fmt.Errorf("pod logs: %w", err)
	}
	// Files of a previous run belong to pods that may be gone.
	if err := os.RemoveAll(w.Dir); err != nil {
		return err
	}
	if err := os.MkdirAll(w.Dir, 0o755); err != nil {
		return err
	}
	w.pods = map[string]*pod{}
	f := informers.NewSharedInformerFactoryWithOptions(w.Client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = Selector }))
	inf := f.Core().V1().Pods().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { w.update(ctx, o) },
		UpdateFunc: func(_, o any) { w.update(ctx, o) },
		DeleteFunc: func(o any) { w.remove(o) },
	}); err != nil {
		return err
	}
	f.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return errors.New("pod logs: the pods' cache did not sync")
	}
	go func() {
		t := time.NewTicker(w.Tick)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				w.closeAll()
				return
			case <-t.C:
				w.traffic()
			}
		}
	}()
	return nil
}

func (w *Writer) update(ctx context.Context, o any) {
	p, ok := o.(*corev1.Pod)
	if !ok || len(p.Spec.Containers) == 0 {
		return
	}
	key := p.Namespace + "/" + p.Name
	w.mu.Lock()
	st := w.pods[key]
	if st != nil && st.uid != string(p.UID) {
		w.forget(key) // a StatefulSet's pod came back under the same name
		st = nil
	}
	if st == nil {
		var err error
		if st, err = w.add(p); err != nil {
			w.mu.Unlock()
			w.Logf("pod logs of %s: %v", key, err)
			return
		}
		w.pods[key] = st
		w.mu.Unlock()
		if err := w.createLogs(ctx, p, st); err != nil {
			w.Logf("pod logs of %s: %v", key, err)
		}
		w.mu.Lock()
	}
	st.ready = podReady(p)
	for _, cs := range p.Status.ContainerStatuses {
		if cs.RestartCount > st.restarts[cs.Name] {
			st.restarts[cs.Name] = cs.RestartCount
			if err := w.restart(st, cs.Name); err != nil {
				w.Logf("pod logs of %s: %v", key, err)
			}
		}
	}
	w.mu.Unlock()
}

// add starts the files of a pod first seen: each container has printed
// its start (and a broken one its crash).
func (w *Writer) add(p *corev1.Pod) (*pod, error) {
	c := p.Spec.Containers[0]
	app := p.Labels["app.kubernetes.io/name"]
	if app == "" {
		app = c.Name
	}
	tag := tagOf(c.Image)
	h := fnv.New64a()
	h.Write([]byte(p.UID))
	st := &pod{
		ns: p.Namespace, name: p.Name, uid: string(p.UID),
		dir:   filepath.Join(w.Dir, p.Namespace, p.Name),
		lines: NewLines(app, tag, h.Sum64()),
		bad:   strings.Contains(tag, "bad"), broken: strings.HasSuffix(c.Image, "-broken"),
		rate:  RequestsPerSecond,
		first: c.Name, files: map[string]*file{}, restarts: map[string]int32{},
		last: w.Now(),
	}
	if strings.Contains(tag, "chatty") {
		st.rate = ChattyRequestsPerSecond
	}
	if err := os.MkdirAll(st.dir, 0o755); err != nil {
		return nil, err
	}
	for _, c := range p.Spec.Containers {
		if err := w.open(st, c.Name); err != nil {
			return nil, err
		}
		if err := w.write(st, c.Name, entries("stdout", w.start(st)), false); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// start is what a container prints from its start: a broken one crashes.
func (w *Writer) start(st *pod) []string {
	if st.broken {
		return st.lines.Crash()
	}
	return st.lines.Boot()
}

// restart ends a container (its last words already written if it crashed)
// and starts the next: the current file becomes the previous one.
func (w *Writer) restart(st *pod, container string) error {
	if !st.broken {
		if err := w.write(st, container, entries("stderr", []string{"level=error msg=\"terminated\" signal=SIGKILL"}), false); err != nil {
			return err
		}
	}
	if f := st.files[container]; f != nil {
		f.f.Close()
		delete(st.files, container)
	}
	cur := filepath.Join(st.dir, container+".log")
	if err := os.Rename(cur, filepath.Join(st.dir, container+".previous.log")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := w.open(st, container); err != nil {
		return err
	}
	return w.write(st, container, entries("stdout", w.start(st)), false)
}

func (w *Writer) open(st *pod, container string) error {
	path := filepath.Join(st.dir, container+".log")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	st.files[container] = &file{f: f, size: fi.Size()}
	return nil
}

// entry is one line and its stream.
type entry struct{ stream, text string }

func entries(stream string, lines []string) []entry {
	out := make([]entry, len(lines))
	for i, l := range lines {
		out[i] = entry{stream, l}
	}
	return out
}

// write appends lines to a container's file, and rotates the file when it
// is over MaxBytes. Spread, the lines are spread evenly from the last line
// written to now (requests served since); else they are a burst a
// millisecond apart, ending now (a start, a crash).
func (w *Writer) write(st *pod, container string, es []entry, spread bool) error {
	f := st.files[container]
	if f == nil || len(es) == 0 {
		return nil
	}
	now := w.Now()
	step := time.Millisecond
	if spread {
		step = now.Sub(st.last) / time.Duration(len(es)+1)
	} else if from := now.Add(-time.Duration(len(es)) * step); from.After(st.last) {
		st.last = from
	}
	if step <= 0 {
		step = time.Microsecond
	}
	var b []byte
	for _, e := range es {
		st.last = st.last.Add(step)
		b = CRI(b, st.last, e.stream, e.text)
	}
	n, err := f.f.Write(b)
	f.size += int64(n)
	if err != nil {
		return err
	}
	if f.size > w.MaxBytes {
		return w.rotate(st, container)
	}
	return nil
}

// rotate starts a new file, as a container runtime does: kwok, like the
// kubelet, follows the new file once it is created.
func (w *Writer) rotate(st *pod, container string) error {
	if f := st.files[container]; f != nil {
		f.f.Close()
		delete(st.files, container)
	}
	if err := os.Remove(filepath.Join(st.dir, container+".log")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return w.open(st, container)
}

// traffic appends the requests served since the last tick by every ready
// pod.
func (w *Writer) traffic() {
	w.mu.Lock()
	defer w.mu.Unlock()
	// The requests of the time since the last tick, however late this one
	// is (a busy machine), up to a few seconds.
	now := w.Now()
	elapsed := w.Tick
	if !w.lastTraffic.IsZero() {
		elapsed = min(now.Sub(w.lastTraffic), 5*time.Second)
	}
	w.lastTraffic = now
	for key, st := range w.pods {
		if !st.ready || st.broken {
			st.due = 0
			continue
		}
		st.due += st.rate * elapsed.Seconds()
		n := int(math.Floor(st.due))
		st.due -= float64(n)
		var es []entry
		for range n {
			failed := st.bad && st.lines.rnd.Float64() < BadErrorRatio
			ls := st.lines.Request(failed)
			// An error and its stack go to stderr, access lines to stdout.
			for i, l := range ls {
				stream := "stdout"
				if i < len(ls)-1 {
					stream = "stderr"
				}
				es = append(es, entry{stream, l})
			}
		}
		if err := w.write(st, st.first, es, true); err != nil {
			w.Logf("pod logs of %s: %v", key, err)
		}
	}
}

func (w *Writer) remove(o any) {
	if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
		o = t.Obj
	}
	p, ok := o.(*corev1.Pod)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if st := w.pods[p.Namespace+"/"+p.Name]; st != nil && st.uid == string(p.UID) {
		w.forget(p.Namespace + "/" + p.Name)
	}
}

// forget closes and removes a pod's files; its Logs object goes with the
// pod (it is owned by it).
func (w *Writer) forget(key string) {
	st := w.pods[key]
	if st == nil {
		return
	}
	for _, f := range st.files {
		f.f.Close()
	}
	_ = os.RemoveAll(st.dir)
	_ = os.Remove(filepath.Dir(st.dir)) // the namespace's, once empty
	delete(w.pods, key)
}

func (w *Writer) closeAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, st := range w.pods {
		for _, f := range st.files {
			f.f.Close()
		}
		st.files = map[string]*file{}
	}
}

// createLogs points kwok at the pod's files, with a Logs object of the
// pod's name that the pod owns (so it goes when the pod does).
func (w *Writer) createLogs(ctx context.Context, p *corev1.Pod, st *pod) error {
	var logs []any
	for _, c := range p.Spec.Containers {
		logs = append(logs, map[string]any{
			"containers":       []any{c.Name},
			"logsFile":         filepath.Join(st.dir, c.Name+".log"),
			"previousLogsFile": filepath.Join(st.dir, c.Name+".previous.log"),
			"follow":           true,
		})
	}
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kwok.x-k8s.io/v1alpha1",
		"kind":       "Logs",
		"metadata": map[string]any{
			"name":      p.Name,
			"namespace": p.Namespace,
			"ownerReferences": []any{map[string]any{
				"apiVersion": "v1", "kind": "Pod", "name": p.Name, "uid": string(p.UID),
			}},
		},
		"spec": map[string]any{"logs": logs},
	}}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res := w.Dynamic.Resource(LogsResource).Namespace(p.Namespace)
	_, err := res.Create(rctx, obj, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		// Left by a previous run, or by a former pod of that name.
		old, gerr := res.Get(rctx, p.Name, metav1.GetOptions{})
		if gerr != nil {
			return gerr
		}
		obj.SetResourceVersion(old.GetResourceVersion())
		_, err = res.Update(rctx, obj, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("creating its kwok Logs object: %w", err)
	}
	return nil
}

func podReady(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// tagOf is the tag of an image reference ("" when it has none).
func tagOf(image string) string {
	if i := strings.IndexByte(image, '@'); i >= 0 {
		image = image[:i]
	}
	i := strings.LastIndexByte(image, ':')
	if i < 0 || strings.ContainsRune(image[i:], '/') {
		return ""
	}
	return image[i+1:]
}
