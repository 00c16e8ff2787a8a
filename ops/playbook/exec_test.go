package playbook

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/inventory"
)

func TestParseExec(t *testing.T) {
	for _, c := range []struct {
		in      string
		cmd     string
		target  Target
		wantErr string
	}{
		{in: "uptime on web-1,web-2", cmd: "uptime", target: Target{Kind: TargetHosts, Hosts: []string{"web-1", "web-2"}}},
		{in: "  df -h /  on tag:web ", cmd: "df -h /", target: Target{Kind: TargetTag, Name: "web"}},
		{in: "echo turn on the lights on group:region_fra1", cmd: "echo turn on the lights", target: Target{Kind: TargetGroup, Name: "region_fra1"}},
		{in: "systemctl restart nginx", cmd: "systemctl restart nginx"},
		{in: "uptime on web-1,,web-1", cmd: "uptime", target: Target{Kind: TargetHosts, Hosts: []string{"web-1"}}},
		{in: "", wantErr: "no command"},
		{in: "uptime on", wantErr: "on which hosts"},
		{in: "uptime on web-1, web-2", wantErr: "without spaces"},
		{in: "uptime on tag:", wantErr: "name no host"},
		{in: "uptime on ,", wantErr: "name no host"},
	} {
		req, err := ParseExec(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%q: %v, want %q", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil || req.Command != c.cmd || req.Target.Kind != c.target.Kind || req.Target.Name != c.target.Name || !slices.Equal(req.Target.Hosts, c.target.Hosts) {
			t.Errorf("%q: %+v, %v; want %q on %+v", c.in, req, err, c.cmd, c.target)
		}
	}
}

func FuzzParseExec(f *testing.F) {
	for _, s := range []string{"uptime on web-1,web-2", "df on tag:web", "x on group:g", "on on on", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		req, err := ParseExec(s)
		if err != nil {
			return
		}
		if strings.TrimSpace(req.Command) != req.Command || req.Command == "" {
			t.Fatalf("command %q from %q", req.Command, s)
		}
		for _, h := range req.Target.Hosts {
			if h == "" || strings.ContainsAny(h, ", \t") {
				t.Fatalf("host %q from %q", h, s)
			}
		}
	})
}

// adhoc answers ad-hoc commands: each host exits with its rc, once release
// is closed.
type adhoc struct {
	replay
	rc      map[string]int
	release chan struct{}
	specs   chan AdHocSpec
}

func (a *adhoc) RunAdHoc(ctx context.Context, spec AdHocSpec) ([]HostOutput, error) {
	a.specs <- spec
	<-a.release
	var out []HostOutput
	for _, h := range spec.Limit {
		o := HostOutput{Host: h, RC: a.rc[h], Status: StatusChanged, Stdout: "out of " + h}
		if o.RC != 0 {
			o.Status = StatusFailed
		}
		out = append(out, o)
	}
	return out, nil
}

func TestExecHoldsItsHostsShowsWhileRunningAndJournals(t *testing.T) {
	dir := t.TempDir()
	j, err := audit.Open(filepath.Join(dir, "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	h, err := OpenHistory(filepath.Join(dir, "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := os.WriteFile(filepath.Join(dir, "site.yml"), []byte("- hosts: all\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &adhoc{rc: map[string]int{"b": 2}, release: make(chan struct{}), specs: make(chan AdHocSpec, 1)}
	svc, err := New(r, j, h, Options{PlaybookDir: dir, Hosts: func() []inventory.Host { return hosts }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	req := ExecRequest{Command: "uptime", Target: Target{Kind: TargetTag, Name: "web"}}
	if c, err := svc.ExecConfirmation(req); err != nil || c.Title != "Run `uptime` on a and b?" || !c.Needed() {
		t.Fatalf("confirmation %+v, %v", c, err)
	}
	if _, err := svc.ExecConfirmation(ExecRequest{Command: "uptime"}); err == nil {
		t.Fatal("a command on no named hosts was offered")
	}
	if _, err := svc.Exec(ctx, viewer, req); !access.IsRefusal(err) {
		t.Fatalf("a viewer: %v", err)
	}

	done := make(chan error, 1)
	var e Exec
	go func() {
		var err error
		e, err = svc.Exec(ctx, ops, req)
		done <- err
	}()
	spec := <-r.specs
	if spec.Command != "uptime" || !slices.Equal(spec.Limit, []string{"a", "b"}) || spec.Timeout != DefaultExecTimeout || !bytes.Contains(spec.Inventory, []byte("127.0.80.3")) {
		t.Fatalf("spec %+v", spec)
	}
	if l := svc.Execs(); len(l) != 1 || !l[0].Running() || !slices.Equal(l[0].Hosts, []string{"a", "b"}) {
		t.Fatalf("while running: %+v", l)
	}
	// Its hosts are held: a playbook run on them is refused.
	var busy *HostBusyError
	if _, err := svc.Start(ctx, ops, Request{Playbook: "site.yml", Target: Target{Kind: TargetHosts, Hosts: []string{"b"}}}); !errors.As(err, &busy) || !strings.Contains(busy.Holder, "olga, command ") {
		t.Fatalf("a run on a held host: %v", err)
	}
	close(r.release)
	if err := <-done; !errors.Is(err, ErrExecFailed) || !strings.HasSuffix(err.Error(), ": b") {
		t.Fatalf("exec: %v", err)
	}
	if l := svc.Execs(); len(l) != 1 || l[0].Running() || len(l[0].Results) != 2 || l[0].Results[1].RC != 2 || e.Failed()[0] != "b" {
		t.Fatalf("after: %+v", l)
	}
	es, _ := j.Query(audit.Query{})
	var got []string
	for _, en := range es {
		got = append(got, en.Actor+" "+en.Action+" "+en.Target+" "+string(en.Result)+" "+en.Parameters["result.a"]+" "+en.Parameters["result.b"])
	}
	want := []string{"vic run a command on hosts tag/web refused  ", "olga run playbook playbook/site.yml refused  ", "olga run a command on hosts tag/web failed rc 0 rc 2"}
	if !slices.Equal(got, want) {
		t.Fatalf("journal\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
