package alerts

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/incident"
	"github.com/vigilops/vigil/ui/components"
)

// incidentCommands are the palette's commands on incidents: a note on the
// incident in focus and its export for the ticket (the shell has the
// hand-over's).
func (m *Model) incidentCommands() []components.Spec {
	return []components.Spec{
		{Name: "note", Args: "TEXT…", Help: "add a note to the selected alert's incident (journaled, in its timeline and export)", Run: m.runNote},
		{Name: "export", Args: "[ID] [json]", Help: "write the selected alert's incident (or incident ID) as Markdown for the ticket; json for JSON", Run: m.runExport},
	}
}

// current is the alert a key or a command acts on: the open one, or the
// one under the cursor.
func (m *Model) current() *incident.Alert {
	if m.mode == detailMode && m.detail != nil {
		return m.detail.alert
	}
	return m.Selected()
}

func (m *Model) runNote(args []string) (tea.Cmd, error) {
	text := strings.TrimSpace(strings.Join(args, " "))
	if text == "" {
		return nil, errors.New("note takes a text: :note rolled back api, waiting for the error rate to fall")
	}
	a := m.current()
	if a == nil {
		return nil, errors.New("no alert selected: a note goes to the incident of the alert under the cursor in the Alerts pane (4)")
	}
	svc, base, actor, fp := m.svc, m.Ctx.Base, m.Ctx.Actor, a.Fingerprint
	return func() tea.Msg {
		ctx, cancel := contextTimeout(base)
		defer cancel()
		inc, err := svc.IncidentFor(fp)
		if err != nil {
			return actionDoneMsg{what: "note", err: err}
		}
		return actionDoneMsg{what: "noted on incident " + inc.ID, err: svc.Note(ctx, actor, inc.ID, text)}
	}, nil
}

func (m *Model) runExport(args []string) (tea.Cmd, error) {
	format, id := incident.FormatMarkdown, ""
	for _, a := range args {
		if a == incident.FormatJSON || a == incident.FormatMarkdown {
			format = a
		} else {
			id = a
		}
	}
	fp := ""
	if id == "" {
		a := m.current()
		if a == nil {
			return nil, errors.New("no alert selected: :export ID, or select an alert of the incident (vigil incident list shows them)")
		}
		fp = a.Fingerprint
	}
	svc, base, now, remote := m.svc, m.Ctx.Base, m.Ctx.Now, m.Ctx.Actor.Source == "ssh"
	return func() tea.Msg {
		ctx, cancel := contextTimeout(base)
		defer cancel()
		if id == "" {
			inc, err := svc.IncidentFor(fp)
			if err != nil {
				return actionDoneMsg{what: "export", err: err}
			}
			id = inc.ID
		}
		inc, err := svc.Incident(ctx, id)
		if err != nil {
			return actionDoneMsg{what: "export", err: err}
		}
		path, err := incident.ExportFile(exportDir(), inc, format, now())
		if err != nil || !remote {
			return actionDoneMsg{what: "incident " + inc.ID + " written to " + path, err: err}
		}
		return copyExport(inc.ID, path)
	}, nil
}

// copyLimit bounds an export sent to the clipboard: terminals drop longer
// OSC 52 sequences.
const copyLimit = 64 << 10

// copyExport, under vigil serve, where the file is the bastion's, also
// puts the export on the administrator's clipboard with OSC 52, which
// travels with the frame over SSH.
func copyExport(id, path string) tea.Msg {
	done := actionDoneMsg{what: "incident " + id + " written to " + path + " on the bastion"}
	data, err := os.ReadFile(path)
	switch {
	case err != nil:
		done.err = err
	case len(data) > copyLimit:
		done.what += fmt.Sprintf(" (%d kB, more than the 64 kB a copy may hold: fetch it with scp)", len(data)>>10)
	default:
		done.what += " and copied to your clipboard (OSC 52: the terminal must allow it)"
		return tea.BatchMsg{tea.SetClipboard(string(data)), func() tea.Msg { return done }}
	}
	return done
}

// exportDir is where :export writes: vigil's state directory, on the
// machine vigil runs on (the bastion, under vigil serve).
func exportDir() string { return filepath.Join(config.StateDir(), "vigil", "exports") }
