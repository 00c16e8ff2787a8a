package logs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ui/common"
)

// SavedMsg is the outcome of saving the shown lines: the file, and how
// many lines it holds.
type SavedMsg struct {
	Path  string
	Lines int
	Err   error
}

// ExcerptDir is where excerpts are saved: $XDG_STATE_HOME/vigil/excerpts,
// ~/.local/state/vigil/excerpts when it is unset or not absolute.
func ExcerptDir() string { return filepath.Join(config.StateDir(), "vigil", "excerpts") }

// save writes the lines the view shows (those its filter keeps, as drawn,
// without colour) to ENV-APP-TIME.log in ExcerptDir. Under vigil serve the
// file would land on the bastion, not with the administrator: it is for
// the local console.
func (m *Model) save() tea.Cmd {
	if m.Ctx.Actor.Source == "ssh" {
		return common.ToastCmd(common.Info, "saving lines is for the local console: under vigil serve the file would be written on the bastion")
	}
	lines := m.Lines()
	if len(lines) == 0 {
		return common.ToastCmd(common.Info, "nothing to save: no line is shown")
	}
	name := fmt.Sprintf("%s-%s-%s.log", safe(m.target.Env), safe(m.target.App), m.Ctx.Now().UTC().Format("20060102T150405Z"))
	data := strings.Join(lines, "\n") + "\n"
	return func() tea.Msg {
		dir := ExcerptDir()
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return SavedMsg{Err: err}
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			return SavedMsg{Err: err}
		}
		return SavedMsg{Path: path, Lines: len(lines)}
	}
}

// safe keeps a name to one path element.
func safe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == os.PathSeparator || r < 0x20 {
			return '_'
		}
		return r
	}, s)
}

// copyLimit bounds what one copy sends: terminals drop longer OSC 52
// sequences (xterm's default is about 100 kB once in base64).
const copyLimit = 64 << 10

// copyShown puts the lines on screen, as drawn without colour, on the
// clipboard of the administrator's terminal with OSC 52: the escape
// travels with the frame, so it reaches their machine over SSH too.
func (m *Model) copyShown() tea.Cmd {
	lines := m.onScreen()
	if len(lines) == 0 {
		return common.ToastCmd(common.Info, "nothing to copy: no line is shown")
	}
	size, n := 0, 0
	for _, l := range lines {
		if size+len(l)+1 > copyLimit {
			break
		}
		size += len(l) + 1
		n++
	}
	if n == 0 {
		return common.ToastCmd(common.Info, "nothing copied: the first line on screen is longer than the 64 kB a copy may hold; s saves it to a file")
	}
	msg := fmt.Sprintf("copied %d lines to the clipboard (OSC 52: the terminal must allow it)", n)
	if n < len(lines) {
		msg = fmt.Sprintf("copied the first %d of %d lines to the clipboard (64 kB at most; OSC 52: the terminal must allow it)", n, len(lines))
	}
	return tea.Batch(tea.SetClipboard(strings.Join(lines[:n], "\n")+"\n"), common.ToastCmd(common.Info, msg))
}

// onScreen is the plain text of the lines the view draws now, oldest
// first: the page shown, whether it follows the tail or is paused.
func (m *Model) onScreen() []string {
	n := m.count()
	if !m.open || n == 0 {
		return nil
	}
	rows := m.bodyRows()
	from, to := m.first(rows), m.first(rows)
	for used := 0; to < n && used < rows; to++ {
		used += m.r.height(m, to)
	}
	loc := m.Ctx.Now().Location()
	out := make([]string, 0, to-from)
	for v := from; v < to; v++ {
		out = append(out, m.r.plain(m.line(v), m.prefix, m.timestamps, loc))
	}
	return out
}
