package rules_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/integrations/prometheus"
	"github.com/vigilops/vigil/ops/access"
	. "github.com/vigilops/vigil/ops/rules"
)

// fakeProm loads the owned file on Reload as Prometheus would (through
// the same parser), or fails when told to.
type fakeProm struct {
	mu        sync.Mutex
	s         *Service
	file      string
	reloadErr error
	reloads   int
	loaded    []Loaded
	stale     bool // Reload succeeds but the loaded rules never change
}

func (p *fakeProm) Reload(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reloads++
	if p.reloadErr != nil {
		return p.reloadErr
	}
	if p.stale {
		return nil
	}
	snap, err := p.s.Read(p.file)
	if err != nil {
		return err
	}
	p.loaded = nil
	for _, o := range snap.Rules() {
		p.loaded = append(p.loaded, Loaded{File: p.file, Group: o.Group, Name: o.Rule.Alert, Expr: o.Rule.Expr})
	}
	return nil
}

func (p *fakeProm) LoadedRules(context.Context) ([]Loaded, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Loaded(nil), p.loaded...), nil
}

type entry struct {
	action, target string
	params         map[string]string
	err            error
}

type fakeJournal struct{ entries []entry }

func (j *fakeJournal) Record(_ context.Context, _ access.Actor, action, target string, params map[string]string, err error) error {
	j.entries = append(j.entries, entry{action, target, params, err})
	return nil
}

var (
	operator = access.Actor{Name: "ann", Role: access.Operator}
	viewer   = access.Actor{Name: "vic", Role: access.Viewer}
	highLoad = Definition{Name: "HighLoad", Expr: "node_load1", Op: ">", Threshold: 0.5, For: 10 * time.Second,
		Severity: "warning", Summary: "load is high", RunbookURL: "https://runbooks.example/HighLoad"}
)

func setup(t *testing.T) (*Service, *fakeProm, *fakeJournal, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "vigil-rules.yml")
	if err := os.WriteFile(file, []byte("groups: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, j := &fakeProm{file: file}, &fakeJournal{}
	s := NewService([]string{file}, p, prometheus.RuleParser{}, j, access.Guard{})
	p.s = s
	s.Poll = time.Millisecond
	return s, p, j, file
}

func read(t *testing.T, s *Service, file string) *Snapshot {
	t.Helper()
	snap, err := s.Read(file)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func TestAddEditDelete(t *testing.T) {
	s, p, j, file := setup(t)
	res, err := s.Add(context.Background(), operator, read(t, s, file), highLoad)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.loaded) != 1 || p.loaded[0].Name != "HighLoad" || p.loaded[0].Expr != "node_load1 > 0.5" {
		t.Fatalf("loaded %+v", p.loaded)
	}
	if !strings.Contains(res.Diff, "+      - alert: HighLoad") || !strings.Contains(res.Diff, "-groups: []") {
		t.Errorf("diff:\n%s", res.Diff)
	}
	e := j.entries[0]
	if e.action != ActAdd.Name || e.target != "rule/HighLoad" || e.err != nil || e.params["diff"] != res.Diff || e.params["file"] != file {
		t.Errorf("journal %+v", e)
	}
	snap := read(t, s, file)
	got, ok := snap.Find("HighLoad")
	if !ok || s.Definition(got) != withGroup(highLoad, DefaultGroup) {
		t.Fatalf("read back %+v, want %+v", s.Definition(got), highLoad)
	}

	edited := highLoad
	edited.Threshold, edited.Expr = 2, "sum by (instance) (node_load1) / 2"
	if _, err := s.Edit(context.Background(), operator, snap, "HighLoad", edited); err != nil {
		t.Fatal(err)
	}
	if p.loaded[0].Expr != "(sum by (instance) (node_load1) / 2) > 2" {
		t.Fatalf("loaded %+v", p.loaded)
	}
	back, _ := read(t, s, file).Find("HighLoad")
	if d := s.Definition(back); d.Expr != "sum by (instance) (node_load1) / 2" || d.Op != ">" || d.Threshold != 2 {
		t.Errorf("read back %+v", d)
	}

	if _, err := s.Delete(context.Background(), operator, read(t, s, file), "HighLoad"); err != nil {
		t.Fatal(err)
	}
	if len(p.loaded) != 0 {
		t.Fatalf("still loaded: %+v", p.loaded)
	}
	if b, _ := os.ReadFile(file); !strings.HasSuffix(string(b), "groups: []\n") {
		t.Errorf("file after delete:\n%s", b)
	}
	if len(j.entries) != 3 || j.entries[2].action != ActDelete.Name {
		t.Errorf("journal %+v", j.entries)
	}
}

func withGroup(d Definition, g string) Definition { d.Group = g; return d }

// A bad expression is refused with Prometheus's parser's message, its
// line and column; nothing is written, nothing reloaded.
func TestParseErrorWritesNothing(t *testing.T) {
	s, p, j, file := setup(t)
	bad := highLoad
	bad.Expr = "rate(node_cpu_seconds_total[5m]"
	_, err := s.Add(context.Background(), operator, read(t, s, file), bad)
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want a ParseError", err)
	}
	msg := err.Error()
	// rulefmt: line:column of the expression in the file, then the
	// PromQL parser's position inside it.
	for _, want := range []string{file + ": 7:15:", `group "vigil", rule 1, "HighLoad": could not parse expression: 1:`, "unclosed left parenthesis", "nothing was written"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if pe.Field() != "expr" {
		t.Errorf("field %q", pe.Field())
	}
	if b, _ := os.ReadFile(file); string(b) != "groups: []\n" || p.reloads != 0 {
		t.Errorf("file %q, %d reloads", b, p.reloads)
	}
	if len(j.entries) != 1 || j.entries[0].err == nil {
		t.Errorf("journal %+v", j.entries)
	}
}

// A reload that fails puts the previous content back and says so.
func TestReloadFailureRestores(t *testing.T) {
	s, p, j, file := setup(t)
	p.reloadErr = errors.New("prometheus http://x: reload: 500 Internal Server Error: error loading rules")
	_, err := s.Add(context.Background(), operator, read(t, s, file), highLoad)
	if err == nil || !strings.Contains(err.Error(), "error loading rules") || !strings.Contains(err.Error(), "was restored") {
		t.Fatalf("err = %v", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "groups: []\n" {
		t.Errorf("file not restored: %q", b)
	}
	if e := j.entries[0]; e.err == nil || !strings.Contains(e.params["attempted_diff"], "HighLoad") {
		t.Errorf("journal %+v", e)
	}
}

// Two saves from the same read: the second sees the file changed and
// gets a diff instead of overwriting.
func TestConcurrentSaveGetsDiff(t *testing.T) {
	s, _, j, file := setup(t)
	first, second := read(t, s, file), read(t, s, file)
	if _, err := s.Add(context.Background(), operator, first, highLoad); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(file)
	other := highLoad
	other.Name = "Other"
	_, err := s.Add(context.Background(), operator, second, other)
	var ce *ConflictError
	if !errors.As(err, &ce) || !access.IsRefusal(err) {
		t.Fatalf("err = %v, want a ConflictError", err)
	}
	if !strings.Contains(ce.Diff, "+      - alert: HighLoad") {
		t.Errorf("diff:\n%s", ce.Diff)
	}
	if b, _ := os.ReadFile(file); string(b) != string(after) {
		t.Error("the second save overwrote the first")
	}
	if len(j.entries) != 2 || j.entries[1].err == nil {
		t.Errorf("journal %+v", j.entries)
	}
}

func TestRefusals(t *testing.T) {
	s, p, j, file := setup(t)
	if _, err := s.Add(context.Background(), viewer, read(t, s, file), highLoad); !access.IsRefusal(err) {
		t.Errorf("viewer: %v", err)
	}
	other := filepath.Join(filepath.Dir(file), "rules.yml")
	os.WriteFile(other, []byte("groups: []\n"), 0o644)
	if _, err := s.Read(other); !errors.As(err, new(*NotOwnedError)) {
		t.Errorf("read of a file not owned: %v", err)
	}
	snap := &Snapshot{File: other, Content: []byte("groups: []\n"), Hash: Hash([]byte("groups: []\n"))}
	if _, err := s.Add(context.Background(), operator, snap, highLoad); !errors.As(err, new(*NotOwnedError)) || !access.IsRefusal(err) {
		t.Errorf("write of a file not owned: %v", err)
	}
	if _, err := s.Add(context.Background(), operator, read(t, s, file), highLoad); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(context.Background(), operator, read(t, s, file), highLoad); !access.IsRefusal(err) {
		t.Errorf("a second rule of the same name: %v", err)
	}
	if p.reloads != 1 || len(j.entries) != 4 {
		t.Errorf("%d reloads, journal %+v", p.reloads, j.entries)
	}
	if !DeleteConfirmation("HighLoad").Needed() {
		t.Error("delete is not confirmed")
	}
}

// A reload that does not show the rule ends with a clear timeout error.
func TestLoadTimeout(t *testing.T) {
	s, p, _, file := setup(t)
	p.stale = true
	s.LoadTimeout = 20 * time.Millisecond
	_, err := s.Add(context.Background(), operator, read(t, s, file), highLoad)
	if err == nil || !strings.Contains(err.Error(), "did not show the change to HighLoad within 20ms") {
		t.Fatalf("err = %v", err)
	}
}

func TestCondition(t *testing.T) {
	for _, c := range []struct {
		d    Definition
		want string
	}{
		{Definition{Expr: "up"}, "up"},
		{Definition{Expr: " node_load1 ", Op: ">", Threshold: 0.5}, "node_load1 > 0.5"},
		{Definition{Expr: "a / b", Op: "<=", Threshold: 1e6}, "(a / b) <= 1e+06"},
		{Definition{Expr: `rate(x{a="b c"}[5m])`, Op: "<", Threshold: 1}, `rate(x{a="b c"}[5m]) < 1`},
		{Definition{Expr: "a-b", Op: "==", Threshold: 0}, "(a-b) == 0"},
	} {
		if got := c.d.Condition(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.d, got, c.want)
		}
	}
}

func TestDurations(t *testing.T) {
	for _, c := range []struct {
		d time.Duration
		s string
	}{{0, ""}, {10 * time.Second, "10s"}, {90 * time.Second, "1m30s"}, {time.Hour + 250*time.Millisecond, "1h250ms"}} {
		if got := FormatDuration(c.d); got != c.s {
			t.Errorf("FormatDuration(%v) = %q, want %q", c.d, got, c.s)
		}
		if back, err := ParseDuration(c.s); err != nil || back != c.d {
			t.Errorf("ParseDuration(%q) = %v, %v", c.s, back, err)
		}
	}
	if d, err := ParseDuration("2d"); err != nil || d != 48*time.Hour {
		t.Errorf("2d = %v, %v", d, err)
	}
	for _, bad := range []string{"10", "s", "1.5s", "10x"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) accepted", bad)
		}
	}
}

// Two services on one file (two vigil processes), saving at once from the
// same read: exactly one writes, the other gets a diff.
func TestConcurrentServices(t *testing.T) {
	s1, _, _, file := setup(t)
	p2 := &fakeProm{file: file}
	s2 := NewService([]string{file}, p2, prometheus.RuleParser{}, &fakeJournal{}, access.Guard{})
	s2.Poll, p2.s = time.Millisecond, s2
	base := read(t, s1, file)
	other := highLoad
	other.Name = "Other"
	errs := make([]error, 2)
	var wg sync.WaitGroup
	wg.Go(func() { _, errs[0] = s1.Add(context.Background(), operator, base, highLoad) })
	wg.Go(func() { _, errs[1] = s2.Add(context.Background(), operator, base, other) })
	wg.Wait()
	conflicts := 0
	for _, err := range errs {
		if errors.As(err, new(*ConflictError)) {
			conflicts++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if conflicts != 1 {
		t.Fatalf("errors %v: want one conflict", errs)
	}
	if rules := read(t, s1, file).Rules(); len(rules) != 1 {
		t.Errorf("rules %+v", rules)
	}
}

// A file edited by hand keeps what vigil does not change: other groups
// with their interval, limit and labels, recording rules, annotations.
func TestRewriteKeepsTheRest(t *testing.T) {
	s, _, _, file := setup(t)
	hand := `groups:
  - name: node
    interval: 30s
    limit: 10
    query_offset: 1m
    labels:
      team: infra
    rules:
      - record: instance:node_load1:avg
        expr: avg by (instance) (node_load1)
      - alert: DiskFull
        expr: node_filesystem_avail_bytes / node_filesystem_size_bytes < 0.05
        for: 5m
        keep_firing_for: 1m
        labels:
          severity: critical
        annotations:
          summary: "{{ $labels.instance }} is out of disk"
`
	if err := os.WriteFile(file, []byte(hand), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(context.Background(), operator, read(t, s, file), highLoad); err != nil {
		t.Fatal(err)
	}
	snap := read(t, s, file)
	if len(snap.Groups.Groups) != 2 {
		t.Fatalf("groups %+v", snap.Groups.Groups)
	}
	g := snap.Groups.Groups[0]
	if g.Name != "node" || g.Interval != "30s" || g.Limit != 10 || g.QueryOffset != "1m" || g.Labels["team"] != "infra" || len(g.Rules) != 2 ||
		g.Rules[0].Record != "instance:node_load1:avg" || g.Rules[1].KeepFiringFor != "1m" || g.Rules[1].Annotations["summary"] != "{{ $labels.instance }} is out of disk" {
		t.Errorf("the hand-written group changed: %+v", g)
	}
	if d := s.Definition(snap.Rules()[0]); d.Name != "DiskFull" || d.Expr != "node_filesystem_avail_bytes / node_filesystem_size_bytes" || d.Op != "<" || d.Threshold != 0.05 || d.For != 5*time.Minute {
		t.Errorf("DiskFull read back as %+v", d)
	}
	// Deleting it leaves the recording rule.
	if _, err := s.Delete(context.Background(), operator, snap, "DiskFull"); err != nil {
		t.Fatal(err)
	}
	if snap = read(t, s, file); len(snap.Groups.Groups[0].Rules) != 1 {
		t.Errorf("after delete: %+v", snap.Groups.Groups)
	}
}

// A file that Prometheus's parser refuses as it is (edited by hand) is
// left alone.
func TestBrokenFileLeftAlone(t *testing.T) {
	s, p, _, file := setup(t)
	broken := "groups:\n  - name: x\n    rules:\n      - alert: A\n        expr: up ==\n"
	os.WriteFile(file, []byte(broken), 0o644)
	snap, err := s.Read(file)
	if err == nil || !strings.Contains(err.Error(), "could not parse expression") {
		t.Fatalf("read: %v", err)
	}
	_, err = s.Add(context.Background(), operator, snap, highLoad)
	if err == nil || !strings.Contains(err.Error(), "does not parse as it is, so vigil leaves it alone") {
		t.Fatalf("add: %v", err)
	}
	if b, _ := os.ReadFile(file); string(b) != broken || p.reloads != 0 {
		t.Errorf("file %q, %d reloads", b, p.reloads)
	}
}
