package monitoring

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/internal/testclock"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ops/playbook"
)

type fakeProm struct {
	mu      sync.Mutex
	targets []Target
	groups  []RuleGroup
	err     error
}

func (f *fakeProm) Targets(context.Context) ([]Target, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.targets, f.err
}
func (f *fakeProm) RuleGroups(context.Context) ([]RuleGroup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.groups, f.err
}
func (f *fakeProm) Instant(context.Context, string, time.Time) (Result, error) { return Result{}, nil }
func (f *fakeProm) RangeQuery(context.Context, string, Range) (Result, error)  { return Result{}, nil }
func (f *fakeProm) MetricNames(context.Context) ([]string, error)              { return nil, nil }
func (f *fakeProm) LabelNames(context.Context) ([]string, error)               { return nil, nil }

type fakeInv struct{ st *inventory.State }

func (f fakeInv) State() *inventory.State { return f.st }

type fakeRuns struct {
	mu    sync.Mutex
	reqs  []playbook.Request
	state playbook.State
	done  chan struct{}
}

func (f *fakeRuns) Start(_ context.Context, actor access.Actor, req playbook.Request) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, req)
	return "r1", nil
}
func (f *fakeRuns) Done(string) <-chan struct{} { return f.done }
func (f *fakeRuns) Run(id string) (playbook.Run, error) {
	return playbook.Run{ID: id, State: f.state}, nil
}

type entry struct {
	action, target string
	params         map[string]string
	err            error
}

type fakeJournal struct {
	mu      sync.Mutex
	entries []entry
}

func (j *fakeJournal) Record(_ context.Context, _ access.Actor, action, target string, params map[string]string, err error) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries = append(j.entries, entry{action, target, params, err})
	return nil
}

func (j *fakeJournal) all() []entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]entry(nil), j.entries...)
}

func target(job, host, instance string, h Health, lastErr string) Target {
	labels := map[string]string{"job": job, "instance": instance}
	if host != "" {
		labels[HostLabel] = host
	}
	return Target{Job: job, Instance: instance, Health: h, LastError: lastErr, Labels: labels}
}

func hosts() []inventory.Host {
	// Sorted by name, as inventory.State has them.
	return []inventory.Host{
		{Name: "bare", Status: "active", PublicIPv4: "10.0.0.5"},
		{Name: "off-1", Status: "off", PublicIPv4: "10.0.0.4"},
		{Name: "web-1", Status: "active", PublicIPv4: "10.0.0.1"},
		{Name: "web-2", Status: "active", PublicIPv4: "10.0.0.2"},
		{Name: "web-3", Status: "active", PublicIPv4: "10.0.0.3"},
	}
}

func TestCorrelate(t *testing.T) {
	targets := []Target{
		target("droplets", "web-1", "10.0.0.1:9100", Up, ""),
		target("droplets", "web-2", "10.0.0.2:9100", Down, "connection refused"),
		target("static", "", "10.0.0.3:9100", Up, ""), // found by address
		target("droplets", "gone", "10.0.0.9:9100", Down, "no route"),
		target("prometheus", "", "127.0.0.1:9090", Up, ""),
	}
	got := Correlate(hosts(), targets)
	var lines []string
	for _, f := range got {
		lines = append(lines, string(f.Flag)+" "+f.Host+" "+f.Address+" "+f.Reason)
	}
	want := []string{
		"not scraped bare 10.0.0.5 no target",
		"not scraped web-2 10.0.0.2 down: connection refused",
		"stale gone 10.0.0.9:9100 no host gone in the inventory",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

func TestRefreshKeepsDataOnError(t *testing.T) {
	now := testclock.Epoch()
	prom := &fakeProm{targets: []Target{target("droplets", "web-1", "10.0.0.1:9100", Up, "")}}
	inv := fakeInv{st: &inventory.State{Hosts: hosts(), Fetched: now}}
	clock := now
	s, err := New(Options{Prometheus: prom, Inventory: inv, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	snap := s.Snapshot()
	if !snap.Correlated || len(snap.Flagged) != 3 || !snap.Fetched.Equal(now) {
		t.Fatalf("%+v", snap)
	}
	prom.mu.Lock()
	prom.err = errors.New("connection refused")
	prom.mu.Unlock()
	clock = now.Add(time.Minute)
	if err := s.Refresh(context.Background()); err == nil {
		t.Fatal("no error")
	}
	snap = s.Snapshot()
	if len(snap.Targets) != 1 || !snap.Fetched.Equal(now) || snap.Err == nil || !snap.ErrAt.Equal(clock) {
		t.Fatalf("the last data should stay with the error: %+v", snap)
	}
}

func TestInstall(t *testing.T) {
	now := testclock.Epoch()
	dir := t.TempDir()
	sd := filepath.Join(dir, "vigil-monitoring.json")
	// An entry of another host stays; one of web-2 is replaced.
	os.WriteFile(sd, []byte(`[{"targets":["10.0.0.1:9100"],"labels":{"droplet":"web-1"}},{"targets":["1.2.3.4:9100"],"labels":{"droplet":"web-2"}}]`), 0o644)
	runs := &fakeRuns{state: playbook.Succeeded, done: make(chan struct{})}
	j := &fakeJournal{}
	inv := fakeInv{st: &inventory.State{Hosts: hosts(), Fetched: now}}
	s, err := New(Options{Prometheus: &fakeProm{}, Inventory: inv, Runs: runs, Journal: j, FileSD: sd, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	viewer := access.Actor{Name: "vera", Role: access.Viewer}
	if _, err := s.Install(context.Background(), viewer, "web-2"); !access.IsRefusal(err) {
		t.Fatalf("a viewer installed: %v", err)
	}
	if e := j.all(); len(e) != 1 || e[0].action != ActInstall.Name || e[0].err == nil || len(runs.reqs) != 0 {
		t.Fatalf("the refusal is not journaled, or a run started: %+v %+v", e, runs.reqs)
	}
	op := access.Actor{Name: "olga", Role: access.Operator}
	id, err := s.Install(context.Background(), op, "web-2")
	if err != nil || id != "r1" {
		t.Fatal(id, err)
	}
	if r := runs.reqs[0]; r.Playbook != InstallPlaybook || r.Target.Kind != playbook.TargetHosts || r.Target.Hosts[0] != "web-2" || r.Mode != playbook.Apply {
		t.Fatalf("%+v", r)
	}
	if _, err := s.Install(context.Background(), op, "web-2"); !access.IsRefusal(err) {
		t.Fatalf("a second install at once: %v", err)
	}
	if _, ok := s.Installing("web-2"); !ok {
		t.Fatal("not installing")
	}
	ch, cancel := s.Subscribe()
	defer cancel()
	close(runs.done)
	deadline := time.After(5 * time.Second)
	for {
		if _, ok := s.Installing("web-2"); !ok {
			break
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatal("the install did not end")
		}
	}
	e := j.all()
	if len(e) != 2 || e[1].err != nil || e[1].target != "host/web-2" || e[1].params["run"] != "r1" {
		t.Fatalf("%+v", e)
	}
	var groups []playbook.SDGroup
	data, _ := os.ReadFile(sd)
	if err := json.Unmarshal(data, &groups); err != nil || len(groups) != 2 ||
		groups[1].Targets[0] != "10.0.0.2:9100" || groups[1].Labels["droplet"] != "web-2" || groups[0].Labels["droplet"] != "web-1" {
		t.Fatalf("file_sd: %s", data)
	}
}

func TestInstallFailedRunRegistersNothing(t *testing.T) {
	now := testclock.Epoch()
	sd := filepath.Join(t.TempDir(), "sd.json")
	runs := &fakeRuns{state: playbook.Failed, done: make(chan struct{})}
	close(runs.done)
	j := &fakeJournal{}
	s, _ := New(Options{Prometheus: &fakeProm{}, Inventory: fakeInv{st: &inventory.State{Hosts: hosts(), Fetched: now}},
		Runs: runs, Journal: j, FileSD: sd, Now: func() time.Time { return now }})
	if _, err := s.Install(context.Background(), access.Actor{Name: "o", Role: access.Operator}, "bare"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(j.all()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if e := j.all(); len(e) != 1 || e[0].err == nil || !strings.Contains(e[0].err.Error(), "failed") {
		t.Fatalf("%+v", e)
	}
	if _, err := os.Stat(sd); !os.IsNotExist(err) {
		t.Fatal("a failed run listed the host")
	}
}
