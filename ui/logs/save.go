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
