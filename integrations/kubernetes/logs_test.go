package kubernetes_test

import (
	"context"
	"io"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vigilops/vigil/integrations/kubernetes"
	"github.com/vigilops/vigil/ops/logs"
)

// The lab's pods log an access line per request, 10 a second (lab/podlogs).
const accessMarker = `HTTP/1.1" `

// collector reads a follow's lines in the background.
type collector struct {
	mu     sync.Mutex
	lines  []logs.Line
	closed bool
	done   chan struct{}
}

func collect(ch <-chan logs.Line) *collector {
	c := &collector{done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for l := range ch {
			c.mu.Lock()
			c.lines = append(c.lines, l)
			c.mu.Unlock()
		}
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
	}()
	return c
}

func (c *collector) snapshot() []logs.Line {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]logs.Line(nil), c.lines...)
}

// waitLines waits until cond holds on the lines so far.
func (c *collector) waitLines(t *testing.T, what string, timeout time.Duration, cond func([]logs.Line) bool) []logs.Line {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ls := c.snapshot()
		if cond(ls) {
			return ls
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; %d lines, the last: %v", what, timeout, len(ls), tail(ls, 5))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func tail(ls []logs.Line, n int) []logs.Line {
	if len(ls) > n {
		return ls[len(ls)-n:]
	}
	return ls
}

func count(ls []logs.Line, pod string, kind logs.Kind, text string) int {
	n := 0
	for _, l := range ls {
		if (pod == "" || l.Pod == pod) && l.Kind == kind && strings.Contains(l.Text, text) {
			n++
		}
	}
	return n
}

func (f *fixture) pods(env, app string) []corev1.Pod {
	f.t.Helper()
	list, err := f.cs.CoreV1().Pods(f.env(env).Namespace).List(f.ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + app})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

// inOrder checks that each container's lines only go forward in time: no
// line twice, none out of order.
func inOrder(t *testing.T, ls []logs.Line) {
	t.Helper()
	last := map[string]time.Time{}
	for _, l := range ls {
		if l.Kind != logs.KindLine {
			continue
		}
		k := l.Pod + "/" + l.Container
		if !l.Time.After(last[k]) {
			t.Fatalf("%s: a line at %s after one at %s (a line twice, or out of order): %q", k, l.Time, last[k], l.Text)
		}
		last[k] = l.Time
	}
}

// Following a workload: every pod's lines, a pod the Deployment adds is
// followed, a deleted one ends with a line saying so while the others go
// on, and the channel closes when ctx ends.
func TestFollowAWorkloadsPods(t *testing.T) {
	f := newFixture(t, lab(t), "dev")
	f.deploy("dev", "api", "1.0.0", 2)
	f.start()
	f.waitHealthy("dev", "api", "1.0.0")
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	dev := f.env("dev")
	goroutines := runtime.NumGoroutine()
	ch, err := f.client.Follow(ctx, logs.Workload{Namespace: dev.Namespace, Name: "api"}, logs.Query{Follow: true, Since: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	c := collect(ch)
	first := f.pods("dev", "api")
	c.waitLines(t, "access lines of both pods", 30*time.Second, func(ls []logs.Line) bool {
		for _, p := range first {
			if count(ls, p.Name, logs.KindPodAdded, "") != 1 || count(ls, p.Name, logs.KindLine, accessMarker) < 10 {
				return false
			}
		}
		return true
	})

	// Scale up: the new pod is followed.
	if _, err := f.cs.AppsV1().Deployments(dev.Namespace).Patch(f.ctx, "api", types.MergePatchType, []byte(`{"spec":{"replicas":3}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	var added string
	c.waitLines(t, "the new pod's lines", 30*time.Second, func(ls []logs.Line) bool {
		for _, p := range f.pods("dev", "api") {
			if p.Name != first[0].Name && p.Name != first[1].Name && count(ls, p.Name, logs.KindLine, accessMarker) > 5 {
				added = p.Name
				return true
			}
		}
		return false
	})

	// Delete one: its log ends with a line saying so, the others go on.
	gone := first[0].Name
	if err := f.cs.CoreV1().Pods(dev.Namespace).Delete(f.ctx, gone, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	ls := c.waitLines(t, "the deleted pod's end", 30*time.Second, func(ls []logs.Line) bool {
		return count(ls, gone, logs.KindPodGone, "deleted") == 1
	})
	at := len(ls)
	c.waitLines(t, "the other pods' lines after the deletion", 30*time.Second, func(ls []logs.Line) bool {
		after := ls[at:]
		return count(after, first[1].Name, logs.KindLine, accessMarker) > 10 && count(after, added, logs.KindLine, accessMarker) > 10
	})
	for _, l := range c.snapshot()[at:] {
		if l.Pod == gone {
			t.Fatalf("a line of the deleted pod after its end: %+v", l)
		}
	}
	cancel()
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the channel was not closed after ctx ended")
	}
	inOrder(t, c.snapshot())
	// The pod watch and the streams are gone with the follow.
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > goroutines {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines after the follow ended, %d before it:\n%s", runtime.NumGoroutine(), goroutines, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Without Follow, one pod's lines of the window are read and the channel
// closes; the previous container of a crash-looping pod holds its crash.
func TestReadOnePodAndAPreviousContainer(t *testing.T) {
	f := newFixture(t, lab(t), "dev")
	f.deploy("dev", "api", "1.0.0", 2)
	f.start()
	f.waitHealthy("dev", "api", "1.0.0")
	dev := f.env("dev")
	time.Sleep(2 * time.Second) // some requests
	pod := f.pods("dev", "api")[1].Name
	ctx, cancel := context.WithTimeout(f.ctx, 30*time.Second)
	defer cancel()
	ch, err := f.client.Follow(ctx, logs.Workload{Namespace: dev.Namespace, Name: "api"}, logs.Query{Pod: pod, Since: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var ls []logs.Line
	for l := range ch {
		ls = append(ls, l)
	}
	if ctx.Err() != nil {
		t.Fatal("the channel of a read without Follow did not close")
	}
	if n := count(ls, pod, logs.KindLine, accessMarker); n < 10 || count(ls, "", logs.KindLine, "") != len(ls)-1 {
		t.Fatalf("%d access lines of %s, and lines of other pods or events: %v", n, pod, tail(ls, 5))
	}
	if _, err := f.client.Follow(ctx, logs.Workload{Namespace: dev.Namespace, Name: "api"}, logs.Query{Pod: "api-nope"}); err == nil || !strings.Contains(err.Error(), "has no pod api-nope") {
		t.Fatalf("a pod the workload does not have: %v", err)
	}
	if _, err := f.client.Follow(ctx, logs.Workload{Namespace: dev.Namespace, Name: "nope"}, logs.Query{}); err == nil || !strings.Contains(err.Error(), "no Deployment or StatefulSet nope") {
		t.Fatalf("a workload that does not exist: %v", err)
	}

	f.release("dev", "api", "1.0.1-broken")
	var broken string
	waitFor(t, "a crash-looping pod", func() bool {
		for _, p := range f.pods("dev", "api") {
			for _, cs := range p.Status.ContainerStatuses {
				if cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff" {
					broken = p.Name
					return true
				}
			}
		}
		return false
	})
	ch, err = f.client.Follow(ctx, logs.Workload{Namespace: dev.Namespace, Name: "api"}, logs.Query{Pod: broken, Previous: true, Follow: true, Since: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ls = nil
	for l := range ch {
		ls = append(ls, l)
	}
	if count(ls, broken, logs.KindLine, "panic: config:") != 1 || ls[len(ls)-1].Text != "exit status 1" {
		t.Fatalf("the previous container's log of %s does not end with its crash: %v", broken, ls)
	}
}

// proxy forwards TCP connections to the API server until down is called;
// then it refuses them (and cuts those open) until up.
type proxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	l      net.Listener
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target}
	p.up()
	t.Cleanup(p.down)
	return p
}

func (p *proxy) up() {
	addr := p.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.l, p.addr = l, l.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(s, c); s.Close() }()
			go func() { _, _ = io.Copy(c, s); c.Close() }()
		}
	}()
}

func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.l != nil {
		p.l.Close()
		p.l = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// The API server out of reach: each stream says so once, with the time of
// its last data, and resumes by itself once it is back, from where it
// stopped: no line lost (the lab's pods log every 0.1 s) and none twice.
func TestFollowSurvivesTheAPIServerGoingAway(t *testing.T) {
	f := newFixture(t, lab(t), "dev")
	f.deploy("dev", "api", "1.0.0", 1)
	f.start()
	f.waitHealthy("dev", "api", "1.0.0")
	dev := f.env("dev")

	cfg, err := clientcmd.LoadFromFile(f.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cluster := cfg.Clusters[cfg.Contexts[cfg.CurrentContext].Cluster]
	target := strings.TrimPrefix(cluster.Server, "https://")
	p := newProxy(t, target)
	cluster.Server = "https://" + p.addr
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, kubeconfig); err != nil {
		t.Fatal(err)
	}
	client := kubernetes.New(f.ctx, kubeconfig)
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	ch, err := client.Follow(ctx, logs.Workload{Namespace: dev.Namespace, Name: "api"}, logs.Query{Follow: true, Since: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	c := collect(ch)
	c.waitLines(t, "lines before the outage", 30*time.Second, func(ls []logs.Line) bool { return count(ls, "", logs.KindLine, accessMarker) > 10 })
	p.down()
	ls := c.waitLines(t, "the interruption", 30*time.Second, func(ls []logs.Line) bool { return count(ls, "", logs.KindError, "last data at") == 1 })
	time.Sleep(3 * time.Second) // the outage goes on; retries fail quietly
	if n := count(c.snapshot(), "", logs.KindError, ""); n != 1 {
		t.Fatalf("%d error lines for one outage of one stream", n)
	}
	at := len(ls)
	p.up()
	after := c.waitLines(t, "lines after the outage", 60*time.Second, func(ls []logs.Line) bool {
		return count(ls[at:], "", logs.KindLine, accessMarker) > 50
	})[at:]
	if after[0].Kind != logs.KindResumed || count(after, "", logs.KindResumed, "resumed") != 1 {
		t.Fatalf("after the outage, want one resumed line first: %v", tail(after[:min(3, len(after))], 3))
	}
	all := c.snapshot()
	inOrder(t, all)
	// No gap: the lines written while the API server was away came after.
	var prev time.Time
	for _, l := range all {
		if l.Kind != logs.KindLine {
			continue
		}
		if !prev.IsZero() && l.Time.Sub(prev) > 2*time.Second {
			t.Fatalf("%s of lines missing before %q", l.Time.Sub(prev), l.Text)
		}
		prev = l.Time
	}
	cancel()
	<-c.done
}
