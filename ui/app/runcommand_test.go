package app

import (
	"strings"
	"testing"

	"github.com/vigilops/vigil/ui/common"
)

// A pane's RunCommandMsg runs the palette command with its words as given:
// a value holding a blank stays one argument.
func TestRunCommandMsg(t *testing.T) {
	m := newShell(t, nil, nil)
	_, cmd := m.Update(common.RunCommandMsg{Args: []string{"theme", "light"}})
	drive(m, cmd)
	if m.ctx.Theme.Name != "light" {
		t.Fatalf("theme %s after RunCommandMsg theme light", m.ctx.Theme.Name)
	}
	_, cmd = m.Update(common.RunCommandMsg{Args: []string{"theme", "dark extra"}})
	drive(m, cmd)
	if s := screen(m); m.ctx.Theme.Name != "light" || !strings.Contains(s, "dark extra") {
		t.Errorf("theme %s; the screen does not refuse the one word %q:\n%s", m.ctx.Theme.Name, "dark extra", s)
	}
	_, cmd = m.Update(common.RunCommandMsg{Args: []string{"nope"}})
	drive(m, cmd)
	if s := screen(m); !strings.Contains(s, `unknown command "nope"`) {
		t.Errorf("no toast for an unknown command:\n%s", s)
	}
}
