package prometheus

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilops/vigil/internal/labtest"
	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/rules"
)

type journal struct {
	mu      sync.Mutex
	actions []string
}

func (j *journal) Record(_ context.Context, _ access.Actor, action, target string, _ map[string]string, err error) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.actions = append(j.actions, fmt.Sprintf("%s %s %v", action, target, err != nil))
	return nil
}

// TestLabRules defines, edits away and deletes an alerting rule in the
// lab's vigil-owned rule file against the real Prometheus: the rule loads
// after the reload, a bad expression is refused with Prometheus's
// parser's message and the file untouched, a broken reload restores the
// file, a save from a stale read gets a diff, and a deleted rule leaves
// /api/v1/rules. The file is put back as it was.
func TestLabRules(t *testing.T) {
	env := labtest.Env(t, "VIGIL_LAB_PROMETHEUS_URL", "VIGIL_LAB_RULES_FILE")
	url, file := env["VIGIL_LAB_PROMETHEUS_URL"], env["VIGIL_LAB_RULES_FILE"]
	c, err := New(url)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	original, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.WriteFile(file, original, 0o644); err != nil {
			t.Error(err)
		}
		if err := c.Reload(context.Background()); err != nil {
			t.Error(err)
		}
	})
	j := &journal{}
	svc := rules.NewService([]string{file}, c, RuleParser{}, j, access.Guard{})
	admin := access.Actor{Name: "lab", Role: access.Admin}
	name := fmt.Sprintf("VigilLabLoadHigh%d", os.Getpid())
	load := rules.Definition{Name: name, Expr: `node_load1{job="droplets"}`, Op: ">", Threshold: 0.5, For: 10 * time.Second,
		Severity: "warning", Summary: "load is {{ $value }} on {{ $labels.droplet }}", RunbookURL: "https://runbooks.lab.local/LoadHigh"}

	read := func() *rules.Snapshot {
		t.Helper()
		s, err := svc.Read(file)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	loaded := func(name string) (rules.Loaded, bool) {
		t.Helper()
		ls, err := c.LoadedRules(ctx)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(ls, func(l rules.Loaded) bool { return l.Name == name })
		if i < 0 {
			return rules.Loaded{}, false
		}
		return ls[i], true
	}

	// "load > 0.5 for 10s": written, reloaded, loaded.
	stale := read()
	res, err := svc.Add(ctx, admin, read(), load)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("confirm to loaded: %s", res.Took)
	l, ok := loaded(name)
	if !ok || l.File != file || l.Group != rules.DefaultGroup || l.For != 10*time.Second || l.Expr != `node_load1{job="droplets"} > 0.5` {
		t.Fatalf("loaded %+v, %v", l, ok)
	}

	// A second save from a read made before the first: a diff, not an overwrite.
	other := load
	other.Name = name + "Other"
	after, _ := os.ReadFile(file)
	_, err = svc.Add(ctx, admin, stale, other)
	var conflict *rules.ConflictError
	if !errors.As(err, &conflict) || !strings.Contains(conflict.Diff, "alert: "+name) {
		t.Fatalf("stale save: %v", err)
	}
	if now, _ := os.ReadFile(file); string(now) != string(after) {
		t.Fatal("the stale save overwrote the file")
	}

	// Two administrators (two services, as two vigil processes) save at
	// once from the same read: one is written, the other gets a diff.
	both := read()
	first, second := load, load
	first.Name, second.Name = name+"First", name+"Second"
	other2 := rules.NewService([]string{file}, c, RuleParser{}, j, access.Guard{})
	errs := make([]error, 2)
	var wg sync.WaitGroup
	wg.Go(func() { _, errs[0] = svc.Add(ctx, admin, both, first) })
	wg.Go(func() { _, errs[1] = other2.Add(ctx, admin, both, second) })
	wg.Wait()
	won := -1
	for i, err := range errs {
		if err == nil {
			won = i
		} else if !errors.As(err, &conflict) {
			t.Fatalf("concurrent save %d: %v", i, err)
		}
	}
	if won < 0 || errs[1-won] == nil {
		t.Fatalf("concurrent saves: %v", errs)
	}
	winner := []string{first.Name, second.Name}[won]
	if _, ok := loaded(winner); !ok || !strings.Contains(conflict.Diff, "alert: "+winner) {
		t.Fatalf("winner %s not loaded, or not in the loser's diff:\n%s", winner, conflict.Diff)
	}
	if _, err := svc.Delete(ctx, admin, read(), winner); err != nil {
		t.Fatal(err)
	}
	after, _ = os.ReadFile(file)

	// A bad expression: Prometheus's parser's message, nothing written.
	bad := other
	bad.Expr = `rate(node_cpu_seconds_total{mode="idle"}[1m]`
	_, err = svc.Add(ctx, admin, read(), bad)
	var perr *rules.ParseError
	if !errors.As(err, &perr) || !strings.Contains(err.Error(), "could not parse expression: 1:") || !strings.Contains(err.Error(), "unclosed left parenthesis") {
		t.Fatalf("bad expression: %v", err)
	}
	if now, _ := os.ReadFile(file); string(now) != string(after) {
		t.Fatal("a bad expression changed the file")
	}

	// A reload that fails (the lifecycle endpoint behind a wrong path:
	// Prometheus answers 404) puts the file back; Prometheus keeps the rule.
	broken, err := New(url + "/broken")
	if err != nil {
		t.Fatal(err)
	}
	bsvc := rules.NewService([]string{file}, broken, RuleParser{}, j, access.Guard{})
	_, err = bsvc.Add(ctx, admin, read(), other)
	if err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "was restored") {
		t.Fatalf("broken reload: %v", err)
	}
	if now, _ := os.ReadFile(file); string(now) != string(after) {
		t.Fatalf("the file was not restored:\n%s", now)
	}
	if _, ok := loaded(name); !ok {
		t.Fatal("the first rule is gone after a failed reload")
	}

	// Delete: gone from Prometheus.
	res, err = svc.Delete(ctx, admin, read(), name)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("delete to unloaded: %s", res.Took)
	if _, ok := loaded(name); ok {
		t.Fatal("the deleted rule is still loaded")
	}
	want := []string{
		"add an alerting rule rule/" + name + " false",
		"add an alerting rule rule/" + other.Name + " true",
		// The winner is journaled first: the loser waited for its lock.
		"add an alerting rule rule/" + winner + " false",
		"add an alerting rule rule/" + []string{first.Name, second.Name}[1-won] + " true",
		"delete an alerting rule rule/" + winner + " false",
		"add an alerting rule rule/" + other.Name + " true",
		"add an alerting rule rule/" + other.Name + " true",
		"delete an alerting rule rule/" + name + " false",
	}
	if !slices.Equal(j.actions, want) {
		t.Errorf("journal %q, want %q", j.actions, want)
	}
}

// TestLabDefinedRuleFires: a rule defined through vigil ("up > 0.5 for
// 10s" on the lab's Prometheus, whose condition holds from the start)
// loads, goes pending, then fires in Prometheus once its for has passed;
// deleted, it leaves the alerts. The figures go to the README.
func TestLabDefinedRuleFires(t *testing.T) {
	env := labtest.Env(t, "VIGIL_LAB_PROMETHEUS_URL", "VIGIL_LAB_RULES_FILE")
	url, file := env["VIGIL_LAB_PROMETHEUS_URL"], env["VIGIL_LAB_RULES_FILE"]
	c, err := New(url)
	if err != nil {
		t.Fatal(err)
	}
	original, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.WriteFile(file, original, 0o644)
		c.Reload(context.Background())
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	svc := rules.NewService([]string{file}, c, RuleParser{}, nil, access.Guard{})
	admin := access.Actor{Name: "lab", Role: access.Admin}
	name := fmt.Sprintf("VigilLabUp%d", os.Getpid())
	base, err := svc.Read(file)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res, err := svc.Add(ctx, admin, base, rules.Definition{Name: name, Expr: `up{job="prometheus"}`, Op: ">", Threshold: 0.5,
		For: 10 * time.Second, Severity: "info", Summary: "vigil's lab test"})
	if err != nil {
		t.Fatal(err)
	}
	state := func() string {
		alerts, err := c.Alerts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range alerts {
			if a.Name == name {
				return string(a.State)
			}
		}
		return ""
	}
	var pending, firing time.Duration
	for firing == 0 {
		switch s := state(); {
		case s == "pending" && pending == 0:
			pending = time.Since(start)
		case s == "firing":
			firing = time.Since(start)
		}
		if ctx.Err() != nil {
			t.Fatalf("%s never fired (pending after %s)", name, pending)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if firing < 10*time.Second {
		t.Errorf("fired after %s, before its for of 10s", firing)
	}
	t.Logf("confirm to loaded %s, to pending %s, to firing %s", res.Took, pending, firing)
	base, err = svc.Read(file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Delete(ctx, admin, base, name); err != nil {
		t.Fatal(err)
	}
	if s := state(); s != "" {
		t.Errorf("deleted, the alert is still %s", s)
	}
}
