package environments

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ui/components"
)

// The storage view: each environment's StatefulSets with their
// PersistentVolumeClaims (size, status, storage class), from the matrix.

// claimLine is one line of the storage view, styled when drawn.
type claimLine struct {
	kind   int // lineEnv, lineSet, lineClaim, lineNone
	text   string
	status string // a claim's status, for its colour
}

const (
	lineEnv = iota
	lineSet
	lineClaim
	lineNone
)

// buildClaims lays the storage view out from the matrix, when it changes
// or the view opens.
func (m *Model) buildClaims() {
	m.claims = m.claims[:0]
	if m.matrix == nil {
		return
	}
	for i, e := range m.matrix.Envs {
		m.claims = append(m.claims, claimLine{kind: lineEnv, text: e.Name + "  (" + e.Namespace + ")"})
		sets := 0
		for _, r := range m.matrix.Rows {
			if i >= len(r.Cells) || r.Cells[i].Workload == nil || r.Cells[i].Workload.Kind != release.StatefulSet {
				continue
			}
			w := r.Cells[i].Workload
			sets++
			m.claims = append(m.claims, claimLine{kind: lineSet, text: fmt.Sprintf("  %s  %d/%d ready  %s", w.Name, w.Ready, w.Desired, r.Cells[i].Version)})
			if len(w.Claims) == 0 {
				m.claims = append(m.claims, claimLine{kind: lineNone, text: "    no volumeClaimTemplate: its data lives in its pods"})
			}
			for _, c := range w.Claims {
				class := c.StorageClass
				if class == "" {
					class = "(default class)"
				}
				text := fmt.Sprintf("    %s  %s  %s  %s", components.Cell(c.Name, 24), components.Cell(c.Size, 7), components.Cell(c.Status, 11), class)
				if c.Volume != "" {
					text += "  " + c.Volume
				}
				m.claims = append(m.claims, claimLine{kind: lineClaim, text: text, status: c.Status})
			}
		}
		if sets == 0 {
			m.claims = append(m.claims, claimLine{kind: lineNone, text: "  no StatefulSet"})
		}
	}
	m.claimsOff = min(m.claimsOff, max(len(m.claims)-1, 0))
}

// toggleClaims opens or closes the storage view.
func (m *Model) toggleClaims() tea.Cmd {
	m.showClaims = !m.showClaims
	if m.showClaims {
		m.claimsOff = 0
		m.buildClaims()
	}
	return nil
}

// claimsKey handles a key while the storage view is open.
func (m *Model) claimsKey(k tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(k, m.keys.Back.Binding, m.keys.Claims.Binding):
		m.showClaims = false
	case key.Matches(k, m.keys.Down.Binding):
		m.claimsOff = min(m.claimsOff+1, max(len(m.claims)-1, 0))
	case key.Matches(k, m.keys.Up.Binding):
		m.claimsOff = max(m.claimsOff-1, 0)
	case key.Matches(k, m.keys.Top.Binding):
		m.claimsOff = 0
	}
	return nil
}

// claimsView draws the storage view in the pane.
func (m *Model) claimsView() string {
	st := m.Ctx.Styles
	lines := []string{st.TableHeader.Render(ansi.Truncate("StatefulSets and their PersistentVolumeClaims: name, size, status, storage class, volume", m.Width, "…"))}
	for _, l := range m.claims[m.claimsOff:] {
		if len(lines) >= m.Height-1 {
			break
		}
		text := ansi.Truncate(l.text, m.Width, "…")
		switch l.kind {
		case lineEnv:
			text = st.Title.Render(text)
		case lineNone:
			text = st.Muted.Render(text)
		case lineClaim:
			switch l.status {
			case "Bound":
				text = st.StatusOK.Render(text)
			case "Lost":
				text = st.StatusCrit.Render(text)
			default:
				text = st.StatusWarn.Render(text)
			}
		}
		lines = append(lines, text)
	}
	for len(lines) < m.Height-1 {
		lines = append(lines, "")
	}
	lines = append(lines, st.Muted.Render(ansi.Truncate("esc/"+m.keys.Claims.Help().Key+": back to the matrix · j/k scroll", m.Width, "…")))
	return strings.Join(lines, "\n")
}
