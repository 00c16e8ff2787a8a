package kubernetes

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/vigilops/vigil/ops/logs"
)

var _ logs.Source = (*Client)(nil)

// Backoff of a log stream that failed or ended while following: the first
// retry after logRetryMin, doubling up to logRetryMax. A container that
// restarts is resumed at once.
var (
	logRetryMin = time.Second
	logRetryMax = 30 * time.Second
)

// Follow implements logs.Source as stern does: the pods of w are found by
// its selector (a Deployment's or a StatefulSet's); with q.Follow a watch
// of those pods only, started here and stopped when ctx ends, adds each
// pod's containers as they start and ends the streams of deleted pods with
// a line saying so, while the others go on. Each container's stream asks
// for timestamps and q.Since; one that breaks (the API server down, say)
// says so once with the time of its last data, retries with a backoff, and
// says when it is back; it resumes from its last line, skipping the lines
// already given, as does a stream of a container that restarted.
func (c *Client) Follow(ctx context.Context, w logs.Workload, q logs.Query) (<-chan logs.Line, error) {
	cl, err := c.cluster(w.Context)
	if err != nil {
		return nil, err
	}
	sel, err := workloadSelector(ctx, cl.cs, w)
	if err != nil {
		return nil, err
	}
	var fsel string
	if q.Pod != "" {
		fsel = fields.OneTermEqualSelector("metadata.name", q.Pod).String()
	}
	f := &follow{ctx: ctx, cs: cl.cs, ns: w.Namespace, q: q, out: make(chan logs.Line, 256), pods: map[string]*followedPod{}}
	if q.Previous {
		q.Follow = false // a previous container's log is all written
		f.q = q
	}
	if !q.Follow {
		list, err := cl.cs.CoreV1().Pods(w.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String(), FieldSelector: fsel})
		if err != nil {
			return nil, fmt.Errorf("listing the pods of %s/%s: %w", w.Namespace, w.Name, err)
		}
		if q.Pod != "" && len(list.Items) == 0 {
			return nil, fmt.Errorf("%s/%s has no pod %s", w.Namespace, w.Name, q.Pod)
		}
		items := list.Items
		slices.SortFunc(items, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
		for i := range items {
			f.visit(ctx, &items[i])
		}
		go func() {
			f.wg.Wait()
			close(f.out)
		}()
		return f.out, nil
	}

	factory := informers.NewSharedInformerFactoryWithOptions(cl.cs, 0, informers.WithNamespace(w.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.LabelSelector = sel.String()
			o.FieldSelector = fsel
		}))
	inf := factory.Core().V1().Pods().Informer()
	if err := inf.SetTransform(trimLogPod); err != nil {
		return nil, err
	}
	// Broken watches are retried by the informer; the streams say the
	// API server is down.
	_ = inf.SetWatchErrorHandlerWithContext(func(context.Context, *cache.Reflector, error) {})
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { f.visit(ctx, o.(*corev1.Pod)) },
		UpdateFunc: func(_, o any) { f.visit(ctx, o.(*corev1.Pod)) },
		DeleteFunc: func(o any) {
			if t, ok := o.(cache.DeletedFinalStateUnknown); ok {
				o = t.Obj
			}
			if p, ok := o.(*corev1.Pod); ok {
				f.gone(p)
			}
		},
	}); err != nil {
		return nil, err
	}
	factory.Start(ctx.Done())
	go func() {
		<-ctx.Done()
		factory.Shutdown()
		f.mu.Lock()
		f.closed = true
		f.mu.Unlock()
		f.wg.Wait()
		close(f.out)
	}()
	return f.out, nil
}

// workloadSelector reads the selector of w, a Deployment or a StatefulSet.
func workloadSelector(ctx context.Context, cs kubernetes.Interface, w logs.Workload) (labels.Selector, error) {
	var sel *metav1.LabelSelector
	d, err := cs.AppsV1().Deployments(w.Namespace).Get(ctx, w.Name, metav1.GetOptions{})
	switch {
	case err == nil:
		sel = d.Spec.Selector
	case apierrors.IsNotFound(err):
		var s *appsv1.StatefulSet
		if s, err = cs.AppsV1().StatefulSets(w.Namespace).Get(ctx, w.Name, metav1.GetOptions{}); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("no Deployment or StatefulSet %s in namespace %s", w.Name, w.Namespace)
			}
			return nil, fmt.Errorf("reading %s/%s: %w", w.Namespace, w.Name, err)
		}
		sel = s.Spec.Selector
	default:
		return nil, fmt.Errorf("reading %s/%s: %w", w.Namespace, w.Name, err)
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil, fmt.Errorf("%s/%s has a bad selector: %w", w.Namespace, w.Name, err)
	}
	if s.Empty() {
		return nil, fmt.Errorf("%s/%s selects every pod: refusing to follow them all", w.Namespace, w.Name)
	}
	return s, nil
}

// trimLogPod keeps what a follow reads of a pod.
func trimLogPod(obj any) (any, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	cs := make([]corev1.Container, len(p.Spec.Containers))
	for i, c := range p.Spec.Containers {
		cs[i] = corev1.Container{Name: c.Name}
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, UID: p.UID, ResourceVersion: p.ResourceVersion},
		Spec:       corev1.PodSpec{Containers: cs},
		Status:     corev1.PodStatus{ContainerStatuses: p.Status.ContainerStatuses},
	}, nil
}

// follow is one Follow call's state.
type follow struct {
	ctx context.Context // the caller's: when it ends nobody reads out
	cs  kubernetes.Interface
	ns  string
	q   logs.Query
	out chan logs.Line

	mu     sync.Mutex
	closed bool // no stream starts once ctx ended
	wg     sync.WaitGroup
	pods   map[string]*followedPod // by name
}

type followedPod struct {
	uid     string
	ctx     context.Context // ends when the pod is deleted
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	streams map[string]*stream // by container
}

// stream is one container's log, read by one goroutine.
type stream struct {
	pod, container string
	instance       string        // container ID, or restart count: a change is a restart
	restarted      chan struct{} // wakes a stream that waits to resume
}

// visit starts the streams of p's containers that have a log and are not
// streamed yet, and wakes those whose container restarted.
func (f *follow) visit(ctx context.Context, p *corev1.Pod) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || ctx.Err() != nil {
		return
	}
	fp := f.pods[p.Name]
	if fp != nil && fp.uid != string(p.UID) {
		// A StatefulSet's pod back under its name: the old one is gone.
		f.endPod(p.Name, fp)
		fp = nil
	}
	for _, cs := range p.Status.ContainerStatuses {
		if f.q.Container != "" && cs.Name != f.q.Container {
			continue
		}
		if !hasLog(cs, f.q.Previous) {
			continue
		}
		if fp == nil {
			pctx, cancel := context.WithCancel(ctx)
			fp = &followedPod{uid: string(p.UID), ctx: pctx, cancel: cancel, streams: map[string]*stream{}}
			f.pods[p.Name] = fp
		}
		inst := instanceOf(cs)
		if s := fp.streams[cs.Name]; s != nil {
			if s.instance != inst {
				s.instance = inst
				select {
				case s.restarted <- struct{}{}:
				default:
				}
			}
			continue
		}
		s := &stream{pod: p.Name, container: cs.Name, instance: inst, restarted: make(chan struct{}, 1)}
		fp.streams[cs.Name] = s
		f.wg.Add(1)
		fp.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer fp.wg.Done()
			f.run(fp.ctx, s)
		}()
	}
}

// hasLog reports whether a container has a log to read: it runs or ran
// (for previous, it ran before its current instance). A container still
// being created has none yet. kwok's containers have no ID, so this looks
// at their states, not at the ID as stern does.
func hasLog(cs corev1.ContainerStatus, previous bool) bool {
	if previous {
		return cs.RestartCount > 0 || cs.LastTerminationState.Terminated != nil
	}
	switch {
	case cs.State.Running != nil, cs.State.Terminated != nil:
		return true
	case cs.State.Waiting != nil:
		// Crash-looping: the last instance's log is there.
		return cs.RestartCount > 0 || cs.LastTerminationState.Terminated != nil
	}
	return false
}

// instanceOf names the container's current instance.
func instanceOf(cs corev1.ContainerStatus) string {
	if cs.ContainerID != "" {
		return cs.ContainerID
	}
	return fmt.Sprint(cs.RestartCount)
}

// gone ends the streams of a deleted pod, then says so.
func (f *follow) gone(p *corev1.Pod) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fp := f.pods[p.Name]
	if fp == nil || fp.uid != string(p.UID) {
		return
	}
	f.endPod(p.Name, fp)
}

// endPod stops fp's streams and, once they have ended, sends a pod-gone
// line for each of its containers. f.mu is held.
func (f *follow) endPod(name string, fp *followedPod) {
	delete(f.pods, name)
	fp.cancel()
	containers := make([]string, 0, len(fp.streams))
	for c := range fp.streams {
		containers = append(containers, c)
	}
	slices.Sort(containers)
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		fp.wg.Wait()
		for _, c := range containers {
			f.send(logs.Line{Pod: name, Container: c, Time: time.Now(), Kind: logs.KindPodGone,
				Text: fmt.Sprintf("pod %s deleted: its %s log ends here", name, c)})
		}
	}()
}

// send hands l to the reader, unless the follow ended.
func (f *follow) send(l logs.Line) bool {
	select {
	case f.out <- l:
		return true
	case <-f.ctx.Done():
		return false
	}
}

// run reads one container's log until ctx ends (the pod was deleted or the
// follow ended) or, without Follow, to its end. While following, a stream
// that ends or breaks is resumed from its last line: at once when the
// container restarted, else after a backoff.
func (f *follow) run(ctx context.Context, s *stream) {
	f.send(logs.Line{Pod: s.pod, Container: s.container, Time: time.Now(), Kind: logs.KindPodAdded,
		Text: fmt.Sprintf("pod %s: following %s", s.pod, s.container)})
	opts := &corev1.PodLogOptions{Container: s.container, Follow: f.q.Follow, Timestamps: true, Previous: f.q.Previous}
	if f.q.Since > 0 {
		secs := int64(math.Ceil(f.q.Since.Seconds()))
		opts.SinceSeconds = &secs
	}
	var r resume
	wait := logRetryMin
	failing := false
	opened := func() {
		if failing {
			f.send(logs.Line{Pod: s.pod, Container: s.container, Time: time.Now(), Kind: logs.KindResumed,
				Text: fmt.Sprintf("log of %s/%s resumed", s.pod, s.container)})
			failing = false
		}
	}
	for {
		n, err := f.read(ctx, s, opts, &r, opened)
		if ctx.Err() != nil {
			return
		}
		if n > 0 {
			failing, wait = false, logRetryMin
		}
		switch {
		case err != nil && quiet(err):
			// The pod is being deleted (its pod-gone line follows), or
			// its restarted container is not up yet: nothing broke.
		case err != nil && !failing:
			last := "no data yet"
			if !r.last.IsZero() {
				last = "last data at " + r.last.Local().Format("15:04:05")
			}
			msg := fmt.Sprintf("log of %s/%s interrupted: %v (%s)", s.pod, s.container, err, last)
			if f.q.Follow {
				msg += "; retrying"
			}
			f.send(logs.Line{Pod: s.pod, Container: s.container, Time: time.Now(), Kind: logs.KindError, Text: msg})
			failing = true
		case err == nil:
			failing = false
		}
		if !f.q.Follow {
			return
		}
		if !r.last.IsZero() {
			// Resume after the last line: SinceTime has seconds only, so
			// the lines of that second already given are skipped.
			t := metav1.NewTime(r.last.Truncate(time.Second))
			opts.SinceTime, opts.SinceSeconds = &t, nil
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-s.restarted:
			timer.Stop()
		case <-timer.C:
			wait = min(2*wait, logRetryMax)
		}
	}
}

// quiet reports whether a stream's error is one of a pod's life, not of
// the API server: the pod is gone, or its container is waiting to start.
func quiet(err error) bool {
	if apierrors.IsNotFound(err) {
		return true
	}
	msg := err.Error()
	return apierrors.IsBadRequest(err) && (strings.Contains(msg, "waiting to start") || strings.Contains(msg, "ContainerCreating") || strings.Contains(msg, "PodInitializing"))
}

// resume is where a stream stopped: the time of its last line and how many
// lines it gave of that second (as stern's ResumeRequest).
type resume struct {
	last    time.Time
	seen    int // lines given with a time in last's second
	skip    int // lines of last's second still to skip on this read
	skipSec time.Time
}

// read streams the log once, calling opened once it is open and sending
// its lines, and returns how many it sent and the error that ended it (nil
// at the end of the log).
func (f *follow) read(ctx context.Context, s *stream, opts *corev1.PodLogOptions, r *resume, opened func()) (int, error) {
	if !r.last.IsZero() {
		r.skipSec, r.skip = r.last.Truncate(time.Second), r.seen
	}
	body, err := f.cs.CoreV1().Pods(f.ns).GetLogs(s.pod, opts).Stream(ctx)
	if err != nil {
		return 0, err
	}
	defer body.Close()
	opened()
	br := bufio.NewReaderSize(body, 32<<10)
	sent := 0
	for {
		line, err := readLine(br)
		if len(line) > 0 || (err == nil) {
			at, text := splitTimestamp(line)
			sec := at.Truncate(time.Second)
			if r.skip > 0 && sec.Equal(r.skipSec) {
				r.skip--
			} else {
				r.skip = 0
				if !at.IsZero() {
					if sec.Equal(r.last.Truncate(time.Second)) {
						r.seen++
					} else {
						r.seen = 1
					}
					r.last = at
				}
				if !f.send(logs.Line{Pod: s.pod, Container: s.container, Time: at, Text: text}) {
					return sent, nil
				}
				sent++
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return sent, nil
			}
			return sent, err
		}
	}
}

// readLine reads one line, of any length, without its newline.
func readLine(br *bufio.Reader) (string, error) {
	line, err := br.ReadSlice('\n')
	if err == nil {
		return string(line[:len(line)-1]), nil
	}
	if !errors.Is(err, bufio.ErrBufferFull) {
		return string(line), err
	}
	buf := append([]byte(nil), line...)
	for {
		line, err = br.ReadSlice('\n')
		buf = append(buf, line...)
		if !errors.Is(err, bufio.ErrBufferFull) {
			break
		}
	}
	if err == nil {
		buf = buf[:len(buf)-1]
	}
	return string(buf), err
}

// splitTimestamp splits the kubelet's RFC 3339 time off a line; a line
// without one is all text.
func splitTimestamp(line string) (time.Time, string) {
	i := strings.IndexByte(line, ' ')
	if i < 0 {
		i = len(line)
	}
	at, err := time.Parse(time.RFC3339Nano, line[:i])
	if err != nil {
		return time.Time{}, line
	}
	if i == len(line) {
		return at, ""
	}
	return at, line[i+1:]
}
