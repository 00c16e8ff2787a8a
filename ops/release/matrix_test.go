package release

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/internal/testclock"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/config"
)

// epoch is the tests' now; fixedNow the clock that reads it.
var epoch = testclock.Epoch()

func fixedNow() time.Time { return epoch }

var pipeline = []Env{
	{Name: "dev", Namespace: "dev"},
	{Name: "test", Namespace: "test"},
	{Name: "preprod", Namespace: "preprod"},
	{Name: "prod", Namespace: "prod", Protected: true},
}

func healthy(name, version string, n int32) Workload {
	return Workload{
		Kind: Deployment, Name: name, Settled: true,
		Containers: []Container{{Name: name, Image: "reg.example/" + name + ":" + version}},
		Desired:    n, Current: n, Updated: n, Ready: n, Available: n,
		Conditions: []Condition{{Type: "Available", Status: "True"}, {Type: "Progressing", Status: "True", Reason: "NewReplicaSetAvailable"}},
	}
}

func TestHealth(t *testing.T) {
	stalled := healthy("api", "1", 3)
	stalled.Updated, stalled.Available = 1, 2
	stalled.Conditions[1] = Condition{Type: "Progressing", Status: "False", Reason: "ProgressDeadlineExceeded"}
	unobserved := stalled
	unobserved.Settled = false
	rolling := healthy("api", "1", 3)
	rolling.Updated, rolling.Current = 1, 4
	paused := rolling
	paused.Paused = true
	degraded := healthy("api", "1", 3)
	degraded.Available = 2
	unavailable := healthy("api", "1", 3)
	unavailable.Conditions[0].Status = "False"
	cases := []struct {
		name string
		w    Workload
		want Health
	}{
		{"healthy", healthy("api", "1", 3), Healthy},
		{"deadline exceeded", stalled, Stalled},
		{"spec not yet observed: old conditions do not count", unobserved, Progressing},
		{"rolling", rolling, Progressing},
		{"paused", paused, Paused},
		{"fewer available", degraded, Degraded},
		{"Available=False", unavailable, Degraded},
		{"scaled to zero", healthy("api", "1", 0), Healthy},
	}
	for _, c := range cases {
		if got := c.w.Health(); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

func TestImageVersion(t *testing.T) {
	for in, want := range map[string]string{
		"nginx":                         "latest",
		"nginx:1.25":                    "1.25",
		"localhost:5000/shop/api":       "latest",
		"localhost:5000/shop/api:2.5.0": "2.5.0",
		"reg.io/api@sha256:abcd":        "sha256:abcd",
	} {
		if got := ImageVersion(in); got != want {
			t.Errorf("ImageVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEnvsFromConfig(t *testing.T) {
	envs, err := EnvsFromConfig(&config.Kubernetes{Environments: []config.Environment{
		{Name: "dev", Namespace: "dev"}, {Name: "prod", Namespace: "prod", Context: "big", Protected: true, AutoRollback: true},
	}})
	if err != nil || len(envs) != 2 || !reflect.DeepEqual(envs[1], Env{Name: "prod", Namespace: "prod", Context: "big", Protected: true, AutoRollback: true}) {
		t.Fatalf("%+v %v", envs, err)
	}
	// An environment's hook for an app wins over the pipeline's.
	k := &config.Kubernetes{
		PromotionHooks: map[string]string{"api": "migrate", "web": "web-migrate"},
		Environments: []config.Environment{
			{Name: "dev", Namespace: "dev"},
			{Name: "prod", Namespace: "prod", PromotionHooks: map[string]string{"api": "migrate-prod", "db": "db-migrate"}},
		},
	}
	envs, err = EnvsFromConfig(k)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"api": "migrate", "web": "web-migrate"}; !maps.Equal(envs[0].Hooks, want) {
		t.Errorf("dev hooks = %v, want %v", envs[0].Hooks, want)
	}
	if want := map[string]string{"api": "migrate-prod", "web": "web-migrate", "db": "db-migrate"}; !maps.Equal(envs[1].Hooks, want) {
		t.Errorf("prod hooks = %v, want %v", envs[1].Hooks, want)
	}
	if k.PromotionHooks["api"] != "migrate" {
		t.Errorf("merging changed the config: %v", k.PromotionHooks)
	}
	for _, bad := range [][]config.Environment{
		nil,
		{{Name: "dev"}},
		{{Name: "dev", Namespace: "a"}, {Name: "dev", Namespace: "b"}},
	} {
		if _, err := EnvsFromConfig(&config.Kubernetes{Environments: bad}); err == nil {
			t.Errorf("%+v should be refused", bad)
		}
	}
}

func TestMatrixRowsDriftAndDeletes(t *testing.T) {
	s := newStore(pipeline, fixedNow)
	for i, e := range pipeline {
		v := "2.5.0"
		if e.Name == "prod" {
			v = "2.4.1"
		}
		s.Workload(e.Name, healthy("api", v, int32(i+1)))
	}
	s.Workload("dev", healthy("web", "1.9.0", 2))
	s.Workload("prod", healthy("web", "1.8.3", 2))
	s.Workload("elsewhere", healthy("ghost", "1", 1)) // not in the pipeline: ignored
	s.rebuild()
	m := s.cur.Load()
	if len(m.Rows) != 2 || m.Rows[0].App != "api" || m.Rows[1].App != "web" {
		t.Fatalf("rows: %+v", m.Rows)
	}
	api, _ := m.Row("api")
	for i, c := range api.Cells {
		wantDrift := i == 3
		if c.Drift != wantDrift || c.Health != Healthy {
			t.Errorf("api in %s: drift %v health %s", c.Env, c.Drift, c.Health)
		}
	}
	if api.Cells[3].DriftFrom != "2.5.0" || api.Cells[3].Version != "2.4.1" {
		t.Errorf("prod cell: %+v", api.Cells[3])
	}
	// A gap in the pipeline is no drift: the environment before has no web.
	if c, ok := m.Cell("web", "prod"); !ok || c.Drift {
		t.Errorf("web in prod: %+v", c)
	}
	if c, ok := m.Cell("web", "test"); ok || c.Health != Missing {
		t.Errorf("web in test should be missing: %+v", c)
	}

	s.WorkloadGone("dev", Deployment, "web")
	s.WorkloadGone("prod", StatefulSet, "web") // wrong kind: kept
	s.rebuild()
	if c, ok := s.cur.Load().Cell("web", "prod"); !ok {
		t.Fatalf("web in prod was dropped by a delete of another kind: %+v", c)
	}
	s.WorkloadGone("prod", Deployment, "web")
	s.rebuild()
	if _, ok := s.cur.Load().Row("web"); ok {
		t.Fatal("an app gone from every environment should leave the matrix")
	}
	// The previous snapshot is untouched: panes may still be drawing it.
	if _, ok := m.Row("web"); !ok {
		t.Fatal("an old matrix changed under its readers")
	}
}

func TestMatrixEnvStateAndSubscribe(t *testing.T) {
	s := newStore(pipeline, fixedNow)
	ch, cancel := s.subscribe()
	defer cancel()
	until := epoch.Add(time.Hour)
	s.Freeze("prod", &Freeze{Reason: "launch", Until: until})
	s.Conn(Conn{Context: "", Connected: true, LastData: epoch})
	s.rebuild()
	select {
	case <-ch:
	default:
		t.Fatal("no notification after a change")
	}
	m := s.cur.Load()
	if !m.Built.Equal(epoch) {
		t.Errorf("matrix built at %v, want the store's clock %v", m.Built, epoch)
	}
	if !m.Envs[3].Freeze.Active(epoch) || !m.Envs[0].Conn.Connected || m.Envs[0].Freeze != nil {
		t.Fatalf("env states: %+v", m.Envs)
	}
	s.rebuild() // nothing changed: same matrix, no notification
	if s.cur.Load() != m {
		t.Fatal("a rebuild without changes made a new matrix")
	}
	select {
	case <-ch:
		t.Fatal("notified without a change")
	default:
	}
}

// Changes from many goroutines while rebuilds run: none is lost.
func TestMatrixConcurrentChanges(t *testing.T) {
	s := newStore(pipeline, fixedNow)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				s.Workload(pipeline[i%4].Name, healthy(fmt.Sprintf("app%d-%d", g, i/4), "1", 1))
				if i%17 == 0 {
					s.rebuild()
				}
			}
		}()
	}
	wg.Wait()
	s.rebuild()
	if n := len(s.cur.Load().Rows); n != 8*50 {
		t.Fatalf("%d rows, want 400", n)
	}
	for _, r := range s.cur.Load().Rows {
		for _, c := range r.Cells {
			if c.Workload == nil {
				t.Fatalf("%s lost its %s cell", r.App, c.Env)
			}
		}
	}
}

func newTestService(opt Options) *Service {
	if opt.Now == nil {
		opt.Now = fixedNow
	}
	s := New(pipeline, nil, nil, opt)
	for _, e := range pipeline {
		v := "2.5.0"
		if e.Name == "prod" {
			v = "2.4.1"
		}
		w := healthy("api", v, 3)
		w.Containers = append([]Container{{Name: "migrate", Image: "reg.example/migrate:" + v, Init: true}}, w.Containers...)
		s.store.Workload(e.Name, w)
	}
	s.store.Workload("dev", healthy("web", "1.9.0", 2))
	s.store.Workload("prod", healthy("web", "1.8.3", 2))
	s.store.rebuild()
	return s
}

func TestPlanPromote(t *testing.T) {
	s := newTestService(Options{})
	alice := access.Actor{Name: "alice", Role: access.Operator}
	p, err := s.PlanPromote(alice, "api", "", "prod")
	if err != nil {
		t.Fatal(err)
	}
	if p.From.Name != "preprod" || !p.To.Protected || !p.Changes() || len(p.Images) != 2 {
		t.Fatalf("plan: %+v", p)
	}
	if p.Images[0] != (ImageChange{Container: "migrate", Init: true, From: "reg.example/migrate:2.4.1", To: "reg.example/migrate:2.5.0"}) {
		t.Errorf("init container change: %+v", p.Images[0])
	}
	if p.Annotations[AnnotationPromotedFrom] != "preprod" || p.Annotations[AnnotationPromotedBy] != "alice" ||
		p.Annotations[AnnotationPromotedAt] != epoch.Format(time.RFC3339) ||
		!strings.Contains(p.Annotations[AnnotationChangeCause], "alice promoted api 2.5.0 from preprod") {
		t.Errorf("annotations: %v", p.Annotations)
	}
	if p, _ := s.PlanPromote(alice, "api", "dev", "test"); p.Changes() {
		t.Errorf("same images should change nothing: %+v", p.Images)
	}
	for _, c := range []struct{ app, from, to, want string }{
		{"api", "", "dev", "first environment"},
		{"api", "prod", "prod", "to itself"},
		{"api", "", "staging", `no environment "staging"`},
		{"web", "", "preprod", `test has no app "web": nothing to promote from`},
		{"web", "dev", "test", "prepare the environment first"},
	} {
		if _, err := s.PlanPromote(alice, c.app, c.from, c.to); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("PlanPromote(%s, %q, %s): %v, want %q", c.app, c.from, c.to, err, c.want)
		}
	}
	// A "not found" says whether the cluster answered.
	s.store.Conn(Conn{Context: s.Matrix().Envs[1].Context, Connected: true})
	s.store.rebuild()
	if _, err := s.PlanPromote(alice, "web", "dev", "test"); err == nil || !strings.Contains(err.Error(), `test has no app "web" (its cluster answers)`) {
		t.Errorf("cluster up: %v", err)
	}
	s.store.Conn(Conn{Context: s.Matrix().Envs[1].Context, Err: "dial tcp 127.0.0.1:6443: connection refused"})
	s.store.rebuild()
	if _, err := s.PlanPromote(alice, "web", "dev", "test"); err == nil ||
		!strings.Contains(err.Error(), `cannot tell whether test has app "web": its cluster is unreachable (dial tcp 127.0.0.1:6443: connection refused)`) {
		t.Errorf("cluster down: %v", err)
	}
}

func TestPlanPromoteHook(t *testing.T) {
	alice := access.Actor{Name: "alice", Role: access.Operator}
	cases := []struct {
		name               string
		config, src, dst   string
		wantHook, wantFrom string
	}{
		{"none", "", "", "", "", ""},
		{"annotation on the source", "", "src-hook", "", "src-hook", HookFromAnnotation},
		{"annotation on the target wins over the source", "", "src-hook", "dst-hook", "dst-hook", HookFromAnnotation},
		{"config wins over annotations", "cfg-hook", "src-hook", "dst-hook", "cfg-hook", HookFromConfig},
		{"config alone", "cfg-hook", "", "", "cfg-hook", HookFromConfig},
	}
	for _, c := range cases {
		envs := []Env{{Name: "dev", Namespace: "dev"}, {Name: "test", Namespace: "test", Hooks: map[string]string{"web": "web-hook"}}}
		if c.config != "" {
			envs[1].Hooks["api"] = c.config
		}
		s := New(envs, nil, nil, Options{})
		src, dst := healthy("api", "2.0.0", 1), healthy("api", "1.0.0", 1)
		src.Hook, dst.Hook = c.src, c.dst
		s.store.Workload("dev", src)
		s.store.Workload("test", dst)
		s.store.rebuild()
		p, err := s.PlanPromote(alice, "api", "", "test")
		if err != nil {
			t.Fatal(err)
		}
		if p.Hook != c.wantHook || p.HookFrom != c.wantFrom {
			t.Errorf("%s: hook %q from %q, want %q from %q", c.name, p.Hook, p.HookFrom, c.wantHook, c.wantFrom)
		}
	}
}

func TestExitCodes(t *testing.T) {
	denied := &access.DeniedError{Actor: access.Actor{Name: "v", Role: access.Viewer}, Action: ActPromote}
	for err, want := range map[error]int{
		nil:                                          ExitOK,
		fmt.Errorf("promote: %w", denied):            ExitRefused,
		access.ErrReadOnly:                           ExitRefused,
		&FrozenError{Env: "prod"}:                    ExitRefused,
		&LockedError{Holder: "bob"}:                  ExitRefused,
		&StalledError{App: "a", Env: "b"}:            ExitFailed,
		errors.New("connection refused"):             ExitFailed,
		&HookError{Job: "j", Err: errString("boom")}: ExitFailed,
	} {
		if got := ExitCode(err); got != want {
			t.Errorf("ExitCode(%v) = %d, want %d", err, got, want)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// BenchmarkMatrixBuild builds the whole matrix of 500 apps × 4
// environments, as after the first sync.
func BenchmarkMatrixBuild(b *testing.B) {
	ws := make([]Workload, 500)
	for i := range ws {
		ws[i] = healthy(fmt.Sprintf("app-%03d", i), "1.0.0", 3)
	}
	b.ReportAllocs()
	for b.Loop() {
		s := newStore(pipeline, fixedNow)
		for _, e := range pipeline {
			for _, w := range ws {
				s.Workload(e.Name, w)
			}
		}
		s.rebuild()
	}
}

// BenchmarkMatrixUpdate is one workload changing in a built 500 × 4 matrix.
func BenchmarkMatrixUpdate(b *testing.B) {
	s := newStore(pipeline, fixedNow)
	for _, e := range pipeline {
		for i := range 500 {
			s.Workload(e.Name, healthy(fmt.Sprintf("app-%03d", i), "1.0.0", 3))
		}
	}
	s.rebuild()
	w := healthy("app-250", "1.0.1", 3)
	b.ReportAllocs()
	for b.Loop() {
		s.Workload("test", w)
		s.rebuild()
	}
}

func TestWriteStatus(t *testing.T) {
	s := newTestService(Options{})
	s.store.Freeze("prod", &Freeze{Reason: "launch", Until: epoch.Add(time.Hour)})
	s.store.Conn(Conn{Connected: true})
	s.store.rebuild()
	var text strings.Builder
	if err := s.WriteStatus(&text, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"prod (protected) (frozen)", "2.4.1 3/3 healthy (drift from 2.5.0)", "web"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, text.String())
		}
	}
	if strings.Contains(text.String(), "disconnected") {
		t.Errorf("a connected cluster shows as disconnected:\n%s", text.String())
	}
	var js strings.Builder
	if err := s.WriteStatus(&js, true); err != nil {
		t.Fatal(err)
	}
	var m struct {
		Envs []struct {
			Name   string `json:"name"`
			Freeze *struct{ Reason string }
		} `json:"environments"`
		Apps []struct {
			App   string `json:"app"`
			Cells []struct {
				Env     string `json:"env"`
				Version string `json:"version"`
				Drift   bool   `json:"drift"`
			} `json:"cells"`
		} `json:"apps"`
	}
	if err := json.Unmarshal([]byte(js.String()), &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Envs) != 4 || m.Envs[3].Freeze == nil || m.Envs[3].Freeze.Reason != "launch" || len(m.Apps) != 2 || m.Apps[0].App != "api" ||
		m.Apps[0].Cells[3].Version != "2.4.1" || !m.Apps[0].Cells[3].Drift {
		t.Fatalf("status --json: %+v", m)
	}
}

// The locks a watcher reports are in their environment's state, naming
// holder, bastion and action, until they run out or are freed; a lock
// whose Lease outlives its dead holder leaves the matrix at its expiry.
func TestMatrixLocks(t *testing.T) {
	s := newStore(pipeline, fixedNow)
	now := fixedNow()
	held := &LockedError{Lock: lockName("web") + " in shop-test", Holder: "alice on bastion-a", Bastion: "bastion-a", Action: "promote from dev",
		Since: now.Add(-time.Minute), Until: now.Add(9 * time.Minute)}
	expired := &LockedError{Lock: lockName("api") + " in shop-test", Holder: "bob on bastion-b", Bastion: "bastion-b", Until: now.Add(-time.Second)}
	prep := &LockedError{Lock: prepareLock("prod") + " in shop-preprod", Holder: "carol on bastion-c", Bastion: "bastion-c", Until: now.Add(time.Minute)}
	s.Lock("test", "vigil-promote-web", held)
	s.Lock("test", "vigil-promote-api", expired)
	s.Lock("preprod", "vigil-prepare-prod", prep)
	s.Lock("elsewhere", "vigil-promote-web", held) // not in the pipeline: ignored
	s.rebuild()
	m := s.cur.Load()
	var test, preprod EnvState
	for _, e := range m.Envs {
		switch e.Name {
		case "test":
			test = e
		case "preprod":
			preprod = e
		}
	}
	if len(test.Locks) != 1 || test.LockOf("web") != held || test.LockOf("api") != nil || test.LockOf("we") != nil {
		t.Fatalf("test's locks: %+v", test.Locks)
	}
	if got := test.LockSubject(held); got != "web in test" {
		t.Errorf("the subject of web's lock: %q", got)
	}
	if len(preprod.Locks) != 1 || preprod.LockSubject(prep) != "the preparation of prod" {
		t.Fatalf("preprod's locks: %+v", preprod.Locks)
	}
	if s.expiry == nil {
		t.Fatal("no rebuild is due when the first lock runs out")
	}
	s.Lock("test", "vigil-promote-web", nil)
	s.rebuild()
	for _, e := range s.cur.Load().Envs {
		if e.Name == "test" && len(e.Locks) != 0 {
			t.Fatalf("a freed lock is still shown: %+v", e.Locks)
		}
	}
	if len(m.Envs) == 0 || m.Envs[1].LockOf("web") != held {
		t.Fatal("an old matrix changed under its readers")
	}
	if !strings.Contains(held.Error(), "locked by alice on bastion-a (promote from dev) since ") {
		t.Errorf("the refusal: %v", held)
	}
	s.mu.Lock()
	s.expireAt(now, time.Time{}) // no timer left behind
	s.mu.Unlock()
}
