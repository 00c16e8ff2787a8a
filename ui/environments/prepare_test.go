package environments

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/uitest"
)

// seeder is a cluster that only plans and seeds; the pane needs nothing else
// of it for a prepare.
type seeder struct {
	release.Cluster
	seed    release.Seed
	planErr error
	seeded  []release.SeedObject
	calls   int
}

func (s *seeder) PlanSeed(_ context.Context, from, to release.Target, _ string) (release.Seed, error) {
	if from.Namespace != "dev" || to.Namespace != "test" {
		return release.Seed{}, errors.New("unexpected targets")
	}
	return s.seed, s.planErr
}

func (s *seeder) Seed(_ context.Context, _, _ release.Target, objects []release.SeedObject) error {
	s.calls++
	s.seeded = objects
	return nil
}

// Preparation's locks are tested with the Leases on the lab.
func (c *seeder) Lock(context.Context, release.Target, string, release.Holder, time.Duration) error {
	return nil
}
func (c *seeder) Unlock(context.Context, release.Target, string, string) error { return nil }
func (c *seeder) Held(context.Context, release.Target, string) ([]*release.LockedError, error) {
	return nil, nil
}

type journal struct{ entries []string }

func (j *journal) Record(_ context.Context, actor access.Actor, action, target string, _ map[string]string, err error) error {
	result := "ok"
	if err != nil {
		result = "refused"
	}
	j.entries = append(j.entries, string(actor.Role)+" "+action+" "+target+" "+result)
	return nil
}

// emptyTest is a matrix whose test environment holds no app.
func emptyTest() *release.Matrix {
	m := shopMatrix(true)
	m.Rows = []release.Row{row("api", "2.5.0", "", "", ""), row("db", "15.4", "", "", "")}
	return m
}

// prepareModel is the pane over a dev → test pipeline.
func prepareModel(t *testing.T, role access.Role, protected bool, mat *release.Matrix) (*Model, *seeder, *journal) {
	t.Helper()
	cl := &seeder{seed: release.Seed{
		Objects: []release.SeedObject{
			{Kind: "Deployment", Name: "api"},
			{Kind: "StatefulSet", Name: "db", Volumes: []string{"data"}},
			{Kind: "Service", Name: "api"},
			{Kind: "ConfigMap", Name: "api-config"},
			{Kind: "ConfigMap", Name: "shared", Exists: true},
		},
		Secrets: []string{"api-credentials"},
	}}
	envs := slices.Clone(pipeline[:2])
	envs[1].Protected = protected
	j := &journal{}
	svc := release.New(envs, cl, j, release.Options{Now: func() time.Time { return fixedNow }})
	m := New(testContext(t, role), svc, NewKeyMap())
	common.Restrict(m.Bindings(), m.Ctx.MayAct())
	m.SetSize(120, 40)
	m.SetMatrix(mat)
	return m, cl, j
}

// run runs cmd and hands its message back to m, as the shell does, until
// a message the pane does not own comes out.
func run(t *testing.T, m *Model, cmd tea.Cmd) tea.Msg {
	t.Helper()
	for cmd != nil {
		msg := cmd()
		switch msg.(type) {
		case PreparePlannedMsg, PreparedMsg:
			cmd = m.Update(msg)
		default:
			return msg
		}
	}
	return nil
}

func TestEmptyEnvironmentShows(t *testing.T) {
	m := newModel(t, access.Operator, emptyTest(), 120, 40)
	v := uitest.ASCII(t, m.View())
	for _, want := range []string{"test ∅", "∅ empty", "∅ test has no apps: P on its column or :prepare test seeds it from dev · namespace test absent or empty"} {
		if !strings.Contains(v, want) {
			t.Errorf("the view lacks %q:\n%s", want, v)
		}
	}
	// Only test may be prepared: preprod's previous environment is empty too.
	if strings.Contains(v, "preprod has no apps") || strings.Contains(v, "dev ∅") {
		t.Errorf("only test should be offered:\n%s", v)
	}
	viewer := newModel(t, access.Viewer, emptyTest(), 120, 40)
	if v := uitest.ASCII(t, viewer.View()); !strings.Contains(v, "∅ test has no apps: an operator can seed it from dev") {
		t.Errorf("a viewer is offered a key:\n%s", v)
	}
	for _, sz := range [][2]int{{80, 24}, {40, 10}, {200, 6}} {
		m.SetSize(sz[0], sz[1])
		if err := uitest.Fits(m.View(), sz[0], sz[1]); err != nil {
			t.Fatal(err)
		}
	}
	m.SetSize(120, 40)
	// An app arriving in test makes it a column like the others again,
	// and preprod the one to prepare.
	mat := emptyTest()
	mat.Rows[0] = row("api", "2.5.0", "2.5.0", "", "")
	m.SetMatrix(mat)
	v = uitest.ASCII(t, m.View())
	if strings.Contains(v, "test ∅") || strings.Contains(v, "test has no apps") || !strings.Contains(v, "∅ preprod has no apps") {
		t.Errorf("test still shows as empty, or preprod not:\n%s", v)
	}
}

func TestPrepareFlow(t *testing.T) {
	m, cl, j := prepareModel(t, access.Operator, false, emptyTest())
	press(m, "l")
	msg := run(t, m, press(m, "P"))
	req, ok := msg.(common.ConfirmMsg)
	if !ok {
		t.Fatalf("P led to %#v, want the confirm dialog", msg)
	}
	if req.Title != "Prepare test from dev?" || req.TypeName != "" {
		t.Fatalf("dialog %q, type %q", req.Title, req.TypeName)
	}
	for _, want := range []string{
		"create namespace test",
		"create 1 Deployment: api",
		"create 1 StatefulSet: db (volume claims data)",
		"create 1 Service: api",
		"create 1 ConfigMap: api-config",
		"already there, left alone: 1 ConfigMap shared",
		"⚠ dev uses Secrets that vigil does not copy: create api-credentials in namespace test",
	} {
		if !strings.Contains(req.Body, want) {
			t.Errorf("the preview lacks %q:\n%s", want, req.Body)
		}
	}
	if cl.calls != 0 {
		t.Fatal("the cluster was seeded before the confirmation")
	}
	toast, ok := run(t, m, req.OnYes).(common.ToastMsg)
	if !ok || toast.Level != common.Success || toast.Text != "prepared test from dev: 4 objects created; now create the Secrets api-credentials in test" {
		t.Fatalf("toast %#v", toast)
	}
	var got []string
	for _, o := range cl.seeded {
		got = append(got, o.Kind+"/"+o.Name)
	}
	if want := []string{"Deployment/api", "StatefulSet/db", "Service/api", "ConfigMap/api-config"}; !slices.Equal(got, want) {
		t.Fatalf("seeded %v, want %v", got, want)
	}
	if want := []string{"operator prepare an environment test ok"}; !slices.Equal(j.entries, want) {
		t.Fatalf("journal %v, want %v", j.entries, want)
	}
}

// A protected environment asks for its name; the palette command does
// what the key does.
func TestPrepareProtected(t *testing.T) {
	m, cl, _ := prepareModel(t, access.Admin, true, emptyTest())
	cmd, err := paletteRun(m, "prepare", "test")
	if err != nil {
		t.Fatal(err)
	}
	req, ok := run(t, m, cmd).(common.ConfirmMsg)
	if !ok || req.TypeName != "test" || !strings.HasSuffix(req.Body, "test is protected.") {
		t.Fatalf(":prepare test asks %#v", req)
	}
	if _, err := paletteRun(m, "prepare"); err == nil || !strings.Contains(err.Error(), "prepare takes an environment") {
		t.Fatalf(":prepare without an environment: %v", err)
	}
	cl.planErr = errors.New("cannot list the Deployments of dev: connection refused")
	toast, ok := run(t, m, m.PrepareCmd("test")).(common.ToastMsg)
	if !ok || toast.Level != common.Error || toast.Text != "cannot prepare test: cannot list the Deployments of dev: connection refused" {
		t.Fatalf("a failed preview: %#v", toast)
	}
	toast, ok = run(t, m, m.PrepareCmd("dev")).(common.ToastMsg)
	if !ok || toast.Level != common.Error || !strings.HasPrefix(toast.Text, "cannot prepare dev: ") {
		t.Fatalf("preparing the first environment: %#v", toast)
	}
}

// A viewer has no key, and the palette command reaches ops, which refuses
// and journals the attempt, without a dialog and without touching the
// cluster.
func TestViewerPrepareRefused(t *testing.T) {
	m, cl, j := prepareModel(t, access.Viewer, false, emptyTest())
	press(m, "l")
	if cmd := press(m, "P"); cmd != nil {
		t.Fatalf("a viewer's P did something: %#v", cmd())
	}
	cmd, err := paletteRun(m, "prepare", "test")
	if err != nil {
		t.Fatal(err)
	}
	toast, ok := run(t, m, cmd).(common.ToastMsg)
	if !ok || toast.Level != common.Error || !strings.HasPrefix(toast.Text, "refused: ") {
		t.Fatalf("a viewer's prepare: %#v", toast)
	}
	if cl.calls != 0 {
		t.Fatal("a viewer seeded the cluster")
	}
	if want := []string{"viewer prepare an environment test refused"}; !slices.Equal(j.entries, want) {
		t.Fatalf("journal %v, want %v", j.entries, want)
	}
}

func paletteRun(m *Model, name string, args ...string) (tea.Cmd, error) {
	for _, s := range m.Commands() {
		if s.Name == name {
			return s.Run(args)
		}
	}
	return nil, errors.New("no command " + name)
}
