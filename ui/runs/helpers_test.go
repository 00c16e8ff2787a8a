package runs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/internal/testclock"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ops/playbook"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/uitest"
)

var t0 = testclock.Epoch()

// runner plays a scripted Ansible run: tasks on every host of the spec,
// failing on hosts whose name starts with "flaky" at task 2. With gate set,
// it waits for a value on it before each task.
type runner struct {
	tasks int
	hosts []string // every host, for a run without a limit; default three
	gate  chan struct{}
	task  string // the tasks' names, before their number; "task" when empty
	mu    sync.Mutex
	specs []playbook.Spec
}

func (r *runner) Run(ctx context.Context, spec playbook.Spec, emit func(playbook.Event)) error {
	r.mu.Lock()
	r.specs = append(r.specs, spec)
	r.mu.Unlock()
	hosts := spec.Limit
	if len(hosts) == 0 {
		hosts = r.hosts
	}
	if len(hosts) == 0 {
		hosts = []string{"flaky-01", "web-01", "web-02"}
	}
	recap := map[string]playbook.Recap{}
	failed := map[string]bool{}
	emit(playbook.Event{Kind: playbook.KindPlay, Play: "base", Time: t0})
	for i := 1; i <= r.tasks; i++ {
		if r.gate != nil {
			select {
			case <-r.gate:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		name := r.task
		if name == "" {
			name = "task"
		}
		task := fmt.Sprintf("%s %02d", name, i)
		emit(playbook.Event{Kind: playbook.KindTask, Task: task, TaskID: fmt.Sprint(i), Time: t0})
		for _, h := range hosts {
			if failed[h] {
				continue
			}
			e := playbook.Event{Kind: playbook.KindResult, Task: task, Host: h, Action: "ansible.builtin.copy", Status: playbook.StatusOK, Time: t0}
			rc := recap[h]
			switch {
			case strings.HasPrefix(h, "flaky") && i == 2:
				e.Status, e.Msg, e.Stderr = playbook.StatusFailed, "flaky host refuses", "exit 1 on "+h
				failed[h] = true
				rc.Failed++
			case i == 1:
				e.Status, e.Diff = playbook.StatusChanged, "--- before\n+++ after\n+motd"
				rc.OK++
				rc.Changed++
			default:
				e.Stdout = "fine"
				rc.OK++
			}
			recap[h] = rc
			emit(e)
		}
	}
	emit(playbook.Event{Kind: playbook.KindStats, Recap: recap, Time: t0})
	if len(failed) > 0 {
		return fmt.Errorf("%w: %d", playbook.ErrHostsFailed, len(failed))
	}
	return nil
}

func (r *runner) lastSpec() playbook.Spec {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.specs[len(r.specs)-1]
}

type env struct {
	m       *Model
	svc     *playbook.Service
	run     *runner
	ctx     *common.Context
	journal *audit.Journal
	uitest.Driver
}

func hostsNamed(names ...string) []inventory.Host {
	out := make([]inventory.Host, len(names))
	for i, n := range names {
		out[i] = inventory.Host{ID: i + 1, Name: n, Status: "active", PublicIPv4: fmt.Sprintf("127.0.2.%d", i+1), Tags: []string{"shop"}}
	}
	return out
}

// NewScriptedRunner and NewTestService serve the shell tests of runs_test.
func NewScriptedRunner(tasks int) *runner { return &runner{tasks: tasks} }

// NewTestService is a playbook service over r with base.yml and flaky.yml,
// running on hosts, with its journal; change adjusts its options.
func NewTestService(t testing.TB, r *runner, hosts []inventory.Host, change ...func(*playbook.Options)) (*playbook.Service, *audit.Journal) {
	t.Helper()
	dir := t.TempDir()
	for _, pb := range []string{"base.yml", "flaky.yml"} {
		if err := os.WriteFile(filepath.Join(dir, pb), []byte("- hosts: all\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	j, err := audit.Open(filepath.Join(dir, "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	hist, err := playbook.OpenHistory(filepath.Join(dir, "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return t0 }
	j.Now = now
	opt := playbook.Options{PlaybookDir: dir, Hosts: func() []inventory.Host { return hosts }, Now: now}
	for _, c := range change {
		c(&opt)
	}
	svc, err := playbook.New(r, j, hist, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, r := range svc.Runs() {
			if r.State == playbook.Running {
				svc.Cancel(context.Background(), access.Actor{Name: "test", Role: access.Admin}, r.ID)
				<-svc.Done(r.ID)
			}
		}
		hist.Close()
		j.Close()
	})
	return svc, j
}

// HostsNamed are active hosts with an address, tagged shop.
func HostsNamed(names ...string) []inventory.Host { return hostsNamed(names...) }

func setup(t testing.TB, r *runner, hosts []inventory.Host, w, h int, change ...func(*playbook.Options)) *env {
	t.Helper()
	svc, j := NewTestService(t, r, hosts, change...)
	th := uitest.Theme(t)
	ctx := &common.Context{Config: config.Default(), Actor: access.Actor{Name: "alice", Role: access.Operator, Source: "local"},
		Journal: j, Services: &common.Services{Playbook: svc}, Base: context.Background(), Now: func() time.Time { return t0 }}
	ctx.SetTheme(th)
	e := &env{svc: svc, run: r, ctx: ctx, journal: j, m: New(ctx, svc, NewKeyMap())}
	e.Driver.Update = e.m.Update
	e.m.SetSize(w, h)
	t.Cleanup(e.m.Close)
	e.Drive(e.m.Init())
	return e
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

// RunAdHoc plays an ad-hoc command: it exits 0 with "up 3 days" on each
// host, but 1 with "boom" on stderr on those whose name starts with
// "flaky"; a host whose name starts with "down" is unreachable. With gate
// set, it waits for a value on it first.
func (r *runner) RunAdHoc(ctx context.Context, spec playbook.AdHocSpec) ([]playbook.HostOutput, error) {
	if r.gate != nil {
		select {
		case <-r.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	var out []playbook.HostOutput
	for _, h := range spec.Limit {
		o := playbook.HostOutput{Host: h, Status: playbook.StatusChanged, RC: 0, Stdout: spec.Command + ": up 3 days\n", Duration: 800 * time.Millisecond}
		switch {
		case strings.HasPrefix(h, "flaky"):
			o.Status, o.RC, o.Stdout, o.Stderr, o.Msg = playbook.StatusFailed, 1, "", "boom\n", "non-zero return code"
		case strings.HasPrefix(h, "down"):
			o.Status, o.RC, o.Stdout, o.Msg = playbook.StatusUnreachable, -1, "", "Failed to connect to the host via ssh: Connection refused"
		}
		out = append(out, o)
	}
	return out, nil
}
