package logs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/internal/testclock"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/config"
	oplogs "github.com/vigilops/vigil/ops/logs"
	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/uitest"
)

var t0 = testclock.Epoch()

// FakeSource is a logs.Source whose follows the test feeds by hand. A
// follow's channel closes once its context ends, as the real one's does.
type FakeSource struct {
	mu      sync.Mutex
	follows []*FakeFollow
}

// FakeFollow is one follow a view started.
type FakeFollow struct {
	W   oplogs.Workload
	Q   oplogs.Query
	Ctx context.Context
	mu  sync.Mutex
	ch  chan oplogs.Line
}

var _ oplogs.Source = (*FakeSource)(nil)

// Follow records the follow; the workload "missing" does not exist.
func (s *FakeSource) Follow(ctx context.Context, w oplogs.Workload, q oplogs.Query) (<-chan oplogs.Line, error) {
	if w.Name == "missing" {
		return nil, errors.New(`deployment "missing" not found in ` + w.Namespace)
	}
	f := &FakeFollow{W: w, Q: q, Ctx: ctx, ch: make(chan oplogs.Line, 256)}
	go func() {
		<-ctx.Done()
		f.mu.Lock() // no send under way
		close(f.ch)
		f.mu.Unlock()
	}()
	s.mu.Lock()
	s.follows = append(s.follows, f)
	s.mu.Unlock()
	return f.ch, nil
}

// Follows returns the follows started, oldest first.
func (s *FakeSource) Follows() []*FakeFollow {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*FakeFollow(nil), s.follows...)
}

// Last is the latest follow, failing the test without one.
func (s *FakeSource) Last(t testing.TB) *FakeFollow {
	t.Helper()
	fs := s.Follows()
	if len(fs) == 0 {
		t.Fatal("no follow started")
	}
	return fs[len(fs)-1]
}

// Live counts the follows whose context has not ended.
func (s *FakeSource) Live() int {
	n := 0
	for _, f := range s.Follows() {
		if f.Ctx.Err() == nil {
			n++
		}
	}
	return n
}

// Send hands lines to the view, unless the follow ended; it reports
// whether they all went.
func (f *FakeFollow) Send(lines ...oplogs.Line) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range lines {
		select {
		case <-f.Ctx.Done():
			return false
		default:
		}
		select {
		case f.ch <- l:
		case <-f.Ctx.Done():
			return false
		}
	}
	return true
}

// Added, Line, Gone and Failed make the lines of pod's container c.
func Added(pod, c string) oplogs.Line {
	return oplogs.Line{Pod: pod, Container: c, Time: t0, Kind: oplogs.KindPodAdded, Text: "pod " + pod + ": following " + c}
}

func Text(pod, c string, i int, text string) oplogs.Line {
	return oplogs.Line{Pod: pod, Container: c, Time: t0.Add(time.Duration(i) * 10 * time.Millisecond), Text: text}
}

func Gone(pod, c string) oplogs.Line {
	return oplogs.Line{Pod: pod, Container: c, Time: t0, Kind: oplogs.KindPodGone, Text: "pod " + pod + " deleted: its " + c + " log ends here"}
}

func Failed(pod, c, last string) oplogs.Line {
	return oplogs.Line{Pod: pod, Container: c, Time: t0, Kind: oplogs.KindError,
		Text: fmt.Sprintf("log of %s/%s interrupted: Get \"https://127.0.0.1:6443/api/v1/namespaces/shop-prod/pods/%s/log\": connection refused (last data at %s); retrying", pod, c, pod, last)}
}

// Access is a lab-like access line; Error a lab-like error line.
func Access(i int) string {
	return fmt.Sprintf(`10.0.%d.%d - - "GET /api/orders/%d HTTP/1.1" 200 %d %dms`, i%4, 2+i%250, 1000+i, 200+i%4000, 5+i%60)
}

func Error(i int) string {
	return fmt.Sprintf(`level=error msg="handler failed" method=GET path=/api/orders/%d status=500 err="runtime error: invalid memory address or nil pointer dereference"`, 1000+i)
}

// Envs are the pipeline of the tests.
func Envs() []release.Env {
	return []release.Env{{Name: "dev", Namespace: "shop-dev"}, {Name: "prod", Namespace: "shop-prod", Protected: true}}
}

// NewTestService is a logs service over src with buffers of capacity lines.
func NewTestService(src *FakeSource, capacity int) *oplogs.Service {
	return oplogs.New(src, Envs(), oplogs.Options{BufferLines: capacity})
}

type env struct {
	m   *Model
	src *FakeSource
	ctx *common.Context
	uitest.Driver
}

func setup(t testing.TB, capacity, w, h int) *env {
	t.Helper()
	src := &FakeSource{}
	svc := NewTestService(src, capacity)
	ctx := &common.Context{Config: config.Default(), Actor: access.Actor{Name: "alice", Role: access.Viewer, Source: "local"},
		Services: &common.Services{Logs: svc}, Base: context.Background(), Now: func() time.Time { return t0 }}
	ctx.SetTheme(uitest.Theme(t))
	e := &env{m: New(ctx, svc, NewKeyMap()), src: src, ctx: ctx}
	e.Driver.Update = e.m.Update
	e.m.SetSize(w, h)
	t.Cleanup(e.m.Close)
	e.Drive(e.m.Init())
	return e
}

// open jumps to target as another pane would, and waits for its follow.
func (e *env) open(t testing.TB, target string) *FakeFollow {
	t.Helper()
	n := len(e.src.Follows())
	e.jump(target)
	e.waitFor(t, "the follow of "+target, func() bool { return len(e.src.Follows()) > n })
	return e.src.Last(t)
}

// jump hands the pane a GotoMsg (the driver keeps those for the shell).
func (e *env) jump(target string) {
	e.Drive(e.m.Update(common.GotoMsg{Pane: common.LogsPane, Target: target}))
}

// send feeds lines through f and waits until the view holds them.
func (e *env) send(t testing.TB, f *FakeFollow, lines ...oplogs.Line) {
	t.Helper()
	want := e.m.received + len(lines)
	if !f.Send(lines...) {
		t.Fatal("the follow ended")
	}
	e.waitFor(t, fmt.Sprintf("%d lines received", want), func() bool { return e.m.received == want })
}

// waitFor drives the pane until cond holds, or fails after 10s.
func (e *env) waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 10s; the pane shows:\n%s", what, e.m.View())
		}
		e.Drive(nil)
	}
}

func last[T any](e *env) (T, bool) { return uitest.Last[T](&e.Driver) }
