package alerts

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/handover"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ui/common"
)

// From the Alerts pane, as a person would on a firing alert: :note adds a
// note to its incident, :export writes the incident with the note for the
// ticket, :handover journals the hand-over naming what fires.
func TestNoteExportAndHandoverFromThePalette(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	f := newFixtureWith(t, access.Operator, func(o *incident.Options) { o.JournalAlerts = true })
	threeAlerts(f)
	f.poll()
	a := f.m.current()
	if a == nil {
		t.Fatal("no alert under the cursor")
	}
	cmd, err := spec(t, f.m, "note").Run([]string{"rolled", "back", "api"})
	if err != nil {
		t.Fatal(err)
	}
	toasts := run(f.m, cmd)
	if len(toasts) != 1 || !strings.HasPrefix(toasts[0].(common.ToastMsg).Text, "noted on incident ") {
		t.Fatalf(":note said %v", toasts)
	}
	if _, err := spec(t, f.m, "note").Run(nil); err == nil || !strings.Contains(err.Error(), "note takes a text") {
		t.Fatalf(":note without a text: %v", err)
	}

	cmd, err = spec(t, f.m, "export").Run(nil)
	if err != nil {
		t.Fatal(err)
	}
	toasts = run(f.m, cmd)
	text := toasts[0].(common.ToastMsg).Text
	path := text[strings.LastIndex(text, " ")+1:]
	if !strings.HasPrefix(path, filepath.Join(os.Getenv("XDG_STATE_HOME"), "vigil", "exports")) || !strings.HasSuffix(path, ".md") {
		t.Fatalf(":export said %q", text)
	}
	md, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), a.Name) || !strings.Contains(string(md), "rolled back api") || !strings.Contains(string(md), "alice") {
		t.Fatalf("the export lacks the alert, the note or its author:\n%s", md)
	}

	cmd, err = spec(t, f.m, "handover").Run([]string{"api", "rolled", "back"})
	if err != nil {
		t.Fatal(err)
	}
	run(f.m, cmd)
	h, err := handover.Latest(f.journal)
	if err != nil || h.By != "alice" || h.Text != "api rolled back" || len(h.Firing) != 3 {
		t.Fatalf("hand-over %+v, %v", h, err)
	}
	es, _ := f.journal.Query(audit.Query{Actor: "alice"})
	var actions []string
	for _, e := range es {
		actions = append(actions, e.Action)
	}
	if !slices.Contains(actions, incident.NoteEntry) || !slices.Contains(actions, handover.Entry) {
		t.Fatalf("alice's journal: %v", actions)
	}
}
