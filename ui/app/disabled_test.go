package app

import (
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ui/common"
)

// viewerShell is a viewer's session with the Environments and Rollouts panes.
func viewerShell(t *testing.T) *Model {
	t.Helper()
	envs := []release.Env{{Name: "dev", Namespace: "dev"}, {Name: "prod", Namespace: "prod", Protected: true}}
	svc := release.New(envs, nil, nil, release.Options{Now: func() time.Time { return fixedNow }})
	return newShell(t, nil, func(o *Options) {
		o.Actor = access.Actor{Name: "victor", Role: access.Viewer, Source: "local"}
		o.Services = &common.Services{Release: svc}
	})
}

// Issue 12, point 4: a disabled binding says why when pressed, and help
// lists it with its reason.
func TestDisabledBindingSaysWhy(t *testing.T) {
	m := viewerShell(t)
	drive(m, m.focusKey(common.EnvironmentsPane))
	if m.Pane().Title() != "Environments" {
		t.Fatalf("focused %s", m.Pane().Title())
	}
	_, cmd := m.Update(keyMsg("p"))
	drive(m, cmd)
	if got := strings.Join(m.toasts.Texts(), "\n"); !strings.Contains(got, "viewers may not promote to the next environment") {
		t.Fatalf("p as a viewer says %q", got)
	}
	if !strings.Contains(screen(m), "viewers may not promote") {
		t.Fatalf("the reason is not on screen:\n%s", screen(m))
	}
	_, cmd = m.Update(keyMsg("?"))
	drive(m, cmd)
	if s := screen(m); !strings.Contains(s, "Not allowed") || !strings.Contains(s, "viewers may not promote to the next environment") {
		t.Fatalf("help does not say what is not allowed and why:\n%s", s)
	}
}

// Issue 12, point 4: a long message wraps; it is never cut.
func TestLongToastWraps(t *testing.T) {
	m := newShell(t, nil, nil)
	text := "refused: victor is a viewer and may not promote to a protected environment (prod): ask an operator, or an admin, to promote api from preprod to prod for you, then watch it in Rollouts lastword"
	_, cmd := m.Update(common.ToastMsg{Level: common.Error, Text: text})
	drive(m, cmd)
	s := screen(m)
	if strings.Contains(s, "…") {
		t.Fatalf("the message is cut:\n%s", s)
	}
	for _, w := range strings.Fields(text) {
		if !strings.Contains(s, w) {
			t.Fatalf("%q of the message is not on screen:\n%s", w, s)
		}
	}
}

// Issue 12, point 10: help explains the matrix's glyphs, and the pane
// carries a one-line hint of them.
func TestHelpHasTheMatrixLegend(t *testing.T) {
	m := viewerShell(t)
	drive(m, m.focusKey(common.EnvironmentsPane))
	resize(m, 120, 40)
	_, cmd := m.Update(keyMsg("?"))
	drive(m, cmd)
	s := screen(m)
	for _, want := range []string{"Legend", "◂  drift: the version differs from the environment before", "⛨  protected"} {
		if !strings.Contains(s, want) {
			t.Fatalf("help lacks %q:\n%s", want, s)
		}
	}
}

// Bindings are data: every binding that mutates, and so is declared with
// the ops actions it triggers, carries its handler, in every pane.
func TestEveryMutatingBindingHasItsHandler(t *testing.T) {
	m, _ := healthShell(t)
	checked := 0
	for _, s := range m.slots {
		for _, b := range s.pane.Bindings() {
			if b.Mutates {
				checked++
				if b.Do == nil {
					t.Errorf("%s: %s mutates but has no handler", s.pane.Title(), b.Name)
				}
			}
		}
	}
	if checked < 8 {
		t.Fatalf("only %d mutating bindings in %d panes", checked, len(m.slots))
	}
}
