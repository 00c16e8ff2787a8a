package runbook

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ops/release"
)

func book(t *testing.T, rs ...config.Runbook) *Book {
	t.Helper()
	for i := range rs {
		if rs[i].Role == "" {
			rs[i].Role = "operator"
		}
	}
	b, err := New(rs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func alert(name string, labels map[string]string) *incident.Alert {
	a := &incident.Alert{Name: name, Fingerprint: "fp1", Labels: labels}
	if ns, d := labels["namespace"], labels["deployment"]; ns != "" && d != "" {
		a.Workload = ns + "/" + d
	}
	a.Host = labels["instance"]
	return a
}

var envs = []release.Env{{Name: "preprod", Namespace: "shop-preprod"}, {Name: "prod", Namespace: "shop-prod", Protected: true}}

func TestMatching(t *testing.T) {
	three := 3
	b := book(t,
		config.Runbook{Name: "restart-api", Alert: "AppHighErrorRate", Labels: map[string]string{"namespace": "shop-(preprod|prod)"}, Kind: "restart"},
		config.Runbook{Name: "scale", Labels: map[string]string{"deployment": "api"}, Kind: "scale", Replicas: &three},
		config.Runbook{Name: "no-team", Alert: "AppHighErrorRate", Labels: map[string]string{"team": ""}, Kind: "rollback"},
	)
	names := func(a *incident.Alert) []string {
		var out []string
		for _, r := range b.For(a) {
			out = append(out, r.Name)
		}
		return out
	}
	tests := []struct {
		alert *incident.Alert
		want  []string
	}{
		{alert("AppHighErrorRate", map[string]string{"namespace": "shop-prod", "deployment": "api"}), []string{"restart-api", "scale", "no-team"}},
		// A regexp matches the whole value, as Alertmanager's =~ does.
		{alert("AppHighErrorRate", map[string]string{"namespace": "shop-prod-eu", "deployment": "api"}), []string{"scale", "no-team"}},
		{alert("AppHighErrorRate", map[string]string{"namespace": "shop-dev", "deployment": "api-v2", "team": "x"}), nil},
		{alert("HostDown", map[string]string{"namespace": "shop-prod", "deployment": "api"}), []string{"scale"}},
	}
	for _, tt := range tests {
		if got := names(tt.alert); !slices.Equal(got, tt.want) {
			t.Errorf("%s %v: runbooks %v, want %v", tt.alert.Name, tt.alert.Labels, got, tt.want)
		}
	}
	if _, err := b.Lookup(tests[3].alert, "restart-api"); err == nil || !strings.Contains(err.Error(), "its runbooks are scale") {
		t.Errorf("Lookup of a runbook that does not match: %v", err)
	}
}

func TestResolve(t *testing.T) {
	b := book(t,
		config.Runbook{Name: "restart", Alert: "A", Kind: "restart"},
		config.Runbook{Name: "nginx", Alert: "A", Kind: "playbook", Playbook: "restart-nginx.yml"},
		config.Runbook{Name: "look", Alert: "A", Kind: "command", Command: "rollout {env}/{app} {label:team}"},
	)
	a := alert("A", map[string]string{"namespace": "shop-prod", "deployment": "api", "team": "payments"})
	rs := b.For(a)
	tg, err := rs[0].Resolve(a, envs)
	if err != nil || tg.Env != "prod" || tg.App != "api" || tg.Workload != "shop-prod/api" {
		t.Fatalf("restart target %+v, %v", tg, err)
	}
	if got := rs[0].Describe(tg); got != "restart api in prod (shop-prod/api)" {
		t.Errorf("Describe = %q", got)
	}
	if _, err := rs[1].Resolve(a, envs); err == nil || !strings.Contains(err.Error(), "names none") {
		t.Errorf("a playbook for an alert without host: %v", err)
	}
	tg, err = rs[2].Resolve(a, envs)
	if err != nil || !slices.Equal(tg.Args, []string{"rollout", "prod/api", "payments"}) {
		t.Errorf("command %q, %v", tg.Args, err)
	}
	if _, err := rs[0].Resolve(alert("A", map[string]string{"namespace": "other", "deployment": "api"}), envs); err == nil || !strings.Contains(err.Error(), "no environment") {
		t.Errorf("a workload outside the pipeline: %v", err)
	}
}

// An alert's labels come from outside: a value that would add an argument,
// a flag, an option or an escape is refused, not passed on.
func TestFillRefusesInjection(t *testing.T) {
	words := []string{"run", "site.yml", "hosts:{host}", "{label:x}"}
	for _, bad := range []string{"web-1 all", "web-1,db-1", "--check", "a=b", "x\x1b]8;;", "'q'", "a\"b", "", "tab\there", "new\nline"} {
		got, err := Fill(words, Target{Host: "web-1"}, map[string]string{"x": bad})
		if err == nil {
			t.Errorf("label %q filled: %q", bad, got)
		}
		got, err = Fill(words, Target{Host: bad}, map[string]string{"x": "ok"})
		if err == nil {
			t.Errorf("host %q filled: %q", bad, got)
		}
	}
	got, err := Fill(words, Target{Host: "web-1.ams3"}, map[string]string{"x": "shop-prod/api"})
	if err != nil || !slices.Equal(got, []string{"run", "site.yml", "hosts:web-1.ams3", "shop-prod/api"}) {
		t.Errorf("Fill = %q, %v", got, err)
	}
}

type journal struct{ entries []string }

func (j *journal) Record(_ context.Context, actor access.Actor, action, target string, _ map[string]string, err error) error {
	res := "ok"
	if err != nil {
		res = "refused"
	}
	j.entries = append(j.entries, actor.Name+" "+action+" "+target+" "+res)
	return nil
}

func TestAccessAndCheck(t *testing.T) {
	b := book(t,
		config.Runbook{Name: "restart", Alert: "A", Kind: "restart"},
		config.Runbook{Name: "look", Alert: "A", Kind: "command", Command: "silences", Role: "viewer"},
		config.Runbook{Name: "admin-note", Alert: "A", Kind: "command", Command: "note fixing", Role: "admin", Confirm: true},
	)
	a := alert("A", map[string]string{"namespace": "shop-prod", "deployment": "api"})
	rs := b.For(a)
	if act := rs[0].Access(); !act.Dangerous || !act.Mutates || act.MinRole != access.Operator || !rs[0].Asks() {
		t.Errorf("a restart runbook is not dangerous as restart is: %+v", act)
	}
	if act := rs[1].Access(); act.Dangerous || act.Mutates || rs[1].Asks() {
		t.Errorf("a viewer's command runbook: %+v", act)
	}
	if act := rs[2].Access(); act.Dangerous || !rs[2].Asks() {
		t.Errorf("confirm without dangerous: %+v asks %v", act, rs[2].Asks())
	}
	j := &journal{}
	bob := access.Actor{Name: "bob", Role: access.Operator}
	tg, _ := rs[2].Resolve(a, envs)
	err := rs[2].Check(context.Background(), access.Guard{}, j, bob, tg)
	var denied *access.DeniedError
	if !errors.As(err, &denied) || !access.IsRefusal(err) {
		t.Fatalf("an operator runs an admin's runbook: %v", err)
	}
	if want := []string{"bob runbook admin-note alert/fp1 refused"}; !slices.Equal(j.entries, want) {
		t.Errorf("journal %q, want %q", j.entries, want)
	}
	if err := rs[1].Check(context.Background(), access.Guard{ReadOnly: true}, j, access.Actor{Name: "eve", Role: access.Viewer}, tg); err != nil {
		t.Errorf("a viewer's read-only runbook in read-only mode: %v", err)
	}
	if _, err := rs[1].Run(context.Background(), Services{}, bob, tg); !errors.Is(err, ErrNotHere) {
		t.Errorf("a command runbook runs in ops: %v", err)
	}
}
