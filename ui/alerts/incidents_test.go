package alerts

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/uitest"
)

// From the Alerts pane, as a person would on a firing alert: :note adds a
// note to its incident, :export writes the incident with the note for the
// ticket (the shell's :handover is tested in ui/app).
func TestNoteAndExportFromThePalette(t *testing.T) {
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

	// Under vigil serve the file is the bastion's: the export also goes to
	// the administrator's clipboard, with OSC 52.
	f.m.Ctx.Actor.Source = "ssh"
	cmd, err = spec(t, f.m, "export").Run(nil)
	if err != nil {
		t.Fatal(err)
	}
	var clip uitest.Clipboard
	var said string
	for _, msg := range run(f.m, cmd) {
		switch msg := msg.(type) {
		case uitest.Clipboard:
			clip = msg
		case common.ToastMsg:
			said = msg.Text
		}
	}
	if !strings.HasSuffix(said, " on the bastion and copied to your clipboard (OSC 52: the terminal must allow it)") {
		t.Fatalf(":export over ssh said %q", said)
	}
	path = strings.TrimPrefix(said[:strings.Index(said, " on the bastion")], "incident ")
	path = path[strings.LastIndex(path, " ")+1:]
	if md, err := os.ReadFile(path); err != nil || string(clip) != string(md) {
		t.Fatalf("copied %d bytes, the file %s holds %d (%v)", len(clip), path, len(md), err)
	}
	f.m.Ctx.Actor.Source = ""

	es, _ := f.journal.Query(audit.Query{Actor: "alice"})
	var actions []string
	for _, e := range es {
		actions = append(actions, e.Action)
	}
	if !slices.Contains(actions, incident.NoteEntry) {
		t.Fatalf("alice's journal: %v", actions)
	}
}

// i lists the incidents the firing alerts opened, with their actions; enter
// opens one's timeline, whose firing entry jumps back to its alert; esc
// walks back to the alerts.
func TestIncidentsListAndTimeline(t *testing.T) {
	f := newFixtureWith(t, access.Operator, func(o *incident.Options) { o.JournalAlerts = true })
	threeAlerts(f)
	f.poll()
	a := f.m.current()
	cmd, err := spec(t, f.m, "note").Run([]string{"looking", "at", "it"})
	if err != nil {
		t.Fatal(err)
	}
	run(f.m, cmd)
	f.keys("i")
	if f.m.Mode() != "incidents" {
		t.Fatalf("i: mode %s", f.m.Mode())
	}
	view := ansi.Strip(f.m.View())
	for _, want := range []string{"STATE", "ACTIONS", "open", "HostDown", "AppHighErrorRate", "AppHighLatency"} {
		if !strings.Contains(view, want) {
			t.Fatalf("%q is not in the incident list:\n%s", want, view)
		}
	}
	if got := f.m.Status(); got != "incidents · 3 in 30 days" {
		t.Fatalf("status %q", got)
	}
	// The selected alert's incident, opened: its firing, then the note.
	for f.m.incidents.table.Len() > 0 {
		if i, _ := f.m.incidents.table.Selected(); strings.Contains(i.Title, a.Name) {
			break
		}
		f.keys("j")
	}
	f.keys("enter")
	view = ansi.Strip(f.m.View())
	if !strings.Contains(view, "firing") || !strings.Contains(view, "looking at it") || !strings.Contains(view, "alice") {
		t.Fatalf("the timeline lacks the firing or alice's note:\n%s", view)
	}
	msgs := f.keys("enter") // on the firing entry
	if len(msgs) != 1 || msgs[0] != (common.GotoMsg{Pane: common.AlertsPane, Target: a.Fingerprint}) || f.m.mode != listMode {
		t.Fatalf("enter on the firing entry: %v, mode %d, on %v", msgs, f.m.mode, f.m.current())
	}
	f.keys("i", "enter", "esc", "esc")
	if f.m.mode != listMode {
		t.Fatalf("esc twice left mode %d", f.m.mode)
	}
}

// The dialog's "until resolved" choice makes an acknowledgement the
// service holds while the alert fires.
func TestAckUntilResolvedFromTheDialog(t *testing.T) {
	f := newFixture(t, access.Operator)
	threeAlerts(f)
	f.poll()
	a := f.m.current()
	f.keys("a", "ctrl+u", "'on it", "tab", "right", "right", "right") // from 30m: 1h, 4h, until resolved
	if !strings.Contains(screen(f.m), "until resolved") {
		t.Fatalf("no until resolved choice:\n%s", screen(f.m))
	}
	msgs := f.keys("enter")
	if len(f.am.silences) != 1 || !strings.Contains(f.am.silences[0].Comment, incident.UntilResolvedMark) {
		t.Fatalf("silences %+v", f.am.silences)
	}
	if len(msgs) != 1 || !strings.Contains(msgs[0].(common.ToastMsg).Text, "acknowledged "+a.Name+" until it resolves") {
		t.Fatalf("the dialog said %v", msgs)
	}
}
