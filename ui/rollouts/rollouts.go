// Package rollouts is the Rollouts pane: the rollouts of every environment,
// unsettled ones first, then the most recent; and the live detail of one
// (progress, ReplicaSets, conditions, pods, events, history), with
// rollback, pause/resume, restart, scale and freeze.
package rollouts

import (
	"context"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/vigilops/vigil/ops/release"
	wl "github.com/vigilops/vigil/ops/workload"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
)

// ActionTimeout bounds one action on a workload or an environment.
const ActionTimeout = time.Minute

// timeStep is how stale the ages in the detail may grow before it is redrawn.
const timeStep = time.Second

type matrixMsg struct{ matrix *release.Matrix }

// watchMsg carries the live detail feed of the open workload; gen tells
// it from the feeds of workloads opened before.
type watchMsg struct {
	gen    int
	feed   <-chan release.Detail
	cancel func()
	err    error
}

// DetailMsg is a new live detail of the open workload.
type DetailMsg struct {
	gen    int
	Detail release.Detail
}

type feedClosedMsg struct{ gen int }

// HistoryMsg carries the open workload's revisions, newest first.
type HistoryMsg struct {
	gen       int
	Revisions []release.Revision
	Err       error
}

// ActionMsg is the outcome of an action of the pane.
type ActionMsg struct {
	What string // e.g. "roll back api in prod"
	Err  error
}

// entry is one workload of the list.
type entry struct {
	env, app string
	envIdx   int
	cell     *release.Cell
}

// mode is what the keys do.
type mode int

const (
	listMode   mode = iota
	detailMode      // the live detail of one workload
	chooseMode      // choosing the revision to roll back to
)

// Model is the Rollouts pane.
type Model struct {
	components.Base
	svc  *release.Service
	keys KeyMap

	matrix *release.Matrix

	entries    []entry // every workload, unsettled first
	list       *components.Table[entry]
	narrow     bool // the list's narrow layout: glyphs for health
	filterText string

	mode mode
	// The open workload.
	gen      int
	app, env string
	stop     func() // ends the live feed
	feed     <-chan release.Detail
	detail   *release.Detail
	watchErr error
	history  []release.Revision
	histErr  error
	histRev  int64 // the revision the history was read at
	lines    []string
	built    time.Time // when lines were built: their ages change with time
	scroll   int
	choice   int  // index into history in chooseMode
	choosing bool // u was pressed before the history arrived
	jumped   bool // the detail was opened by a GotoMsg: esc goes back
	page     page // what the detail shows
	desc     *wl.Description
	descErr  error
}

// New returns the pane over the release service svc.
func New(ctx *common.Context, svc *release.Service, keys KeyMap) *Model {
	m := &Model{Base: components.NewBase(ctx, "Rollouts", keys), svc: svc, keys: keys}
	m.list = m.newList()
	m.bind()
	return m
}

// Init subscribes to the matrix's changes.
func (m *Model) Init() tea.Cmd {
	svc := m.svc
	changes, cancel := svc.Subscribe()
	return m.Subscribe(changes, cancel, func() tea.Msg { return matrixMsg{matrix: svc.Matrix()} })
}

// Close ends the subscriptions and the waits on them.
func (m *Model) Close() {
	if m.Feed.Closed() {
		return
	}
	m.Base.Close()
	m.closeDetail()
}

func feedCmd(gen int, feed <-chan release.Detail) tea.Cmd {
	return func() tea.Msg {
		d, ok := <-feed
		if !ok {
			return feedClosedMsg{gen: gen}
		}
		return DetailMsg{gen: gen, Detail: d}
	}
}

// Update handles the pane's messages and keys.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case matrixMsg:
		m.SetMatrix(msg.matrix)
		return m.Wait()
	case watchMsg:
		if msg.gen != m.gen || m.Feed.Closed() {
			if msg.cancel != nil {
				msg.cancel()
			}
			return nil
		}
		m.stop, m.feed, m.watchErr = msg.cancel, msg.feed, msg.err
		m.rebuild()
		if msg.err != nil {
			return nil
		}
		return feedCmd(msg.gen, msg.feed)
	case describedMsg:
		if msg.gen == m.gen {
			m.desc, m.descErr = &msg.desc, msg.err
			m.rebuild()
		}
	case DetailMsg:
		if msg.gen != m.gen {
			return nil
		}
		return tea.Batch(m.setDetail(msg.Detail), feedCmd(msg.gen, m.feed))
	case feedClosedMsg:
		return nil
	case HistoryMsg:
		if msg.gen != m.gen {
			return nil
		}
		m.history, m.histErr = msg.Revisions, msg.Err
		m.rebuild()
		if m.choosing {
			m.choosing = false
			return m.startChoose()
		}
		return nil
	case ActionMsg:
		return actionToast(msg)
	case common.GotoMsg:
		return m.goTo(msg.Target)
	case common.ThemeChangedMsg:
		m.rebuild()
	case tea.KeyPressMsg:
		return m.key(msg)
	}
	return nil
}

// SetMatrix lists mat's workloads: unsettled first, then by their last
// change, newest first.
func (m *Model) SetMatrix(mat *release.Matrix) {
	if mat == nil {
		return
	}
	m.matrix = mat
	m.entries = nil // the list keeps the last slice
	for ri := range mat.Rows {
		r := &mat.Rows[ri]
		for ci := range r.Cells {
			if c := &r.Cells[ci]; c.Workload != nil {
				m.entries = append(m.entries, entry{env: c.Env, envIdx: ci, app: r.App, cell: c})
			}
		}
	}
	slices.SortStableFunc(m.entries, func(a, b entry) int {
		ua, ub := a.cell.Health != release.Healthy, b.cell.Health != release.Healthy
		switch {
		case ua != ub:
			if ua {
				return -1
			}
			return 1
		case !a.cell.Workload.ChangedAt.Equal(b.cell.Workload.ChangedAt):
			return b.cell.Workload.ChangedAt.Compare(a.cell.Workload.ChangedAt)
		case a.app != b.app:
			return strings.Compare(a.app, b.app)
		}
		return a.envIdx - b.envIdx // pipeline order
	})
	m.list.SetRows(m.entries)
	if m.mode != listMode {
		m.rebuild() // the freeze and the connection show in the detail
	}
}

// SetFilter keeps the rollouts whose environment, app or version contains
// every word of s.
func (m *Model) SetFilter(s string) {
	m.filterText = s
	words := strings.Fields(strings.ToLower(s))
	if len(words) == 0 {
		m.list.SetFilter(nil)
		return
	}
	m.list.SetFilter(func(e entry) bool {
		text := strings.ToLower(e.env + "/" + e.app + " " + e.cell.Version + " " + string(e.cell.Health))
		for _, w := range words {
			if !strings.Contains(text, w) {
				return false
			}
		}
		return true
	})
}

// Filter is the current filter text.
func (m *Model) Filter() string { return m.filterText }

// FilterHint is the filter's syntax, shown in the empty filter bar.
func (m *Model) FilterHint() string { return `words of an environment, app or version` }

// Selected returns the rollout under the list's cursor.
func (m *Model) Selected() (entry, bool) { return m.list.Selected() }

// Open returns the workload whose detail is open.
func (m *Model) Open() (app, env string, ok bool) { return m.app, m.env, m.mode != listMode }

// goTo opens the detail of target: "env/app", or "namespace/app".
func (m *Model) goTo(target string) tea.Cmd {
	first, app, ok := strings.Cut(target, "/")
	if !ok {
		return common.ToastCmd(common.Error, "cannot open "+target+": name a workload as ENV/APP or NAMESPACE/APP")
	}
	env := ""
	if m.matrix != nil {
		for _, e := range m.matrix.Envs {
			if e.Name == first {
				env = e.Name
				break
			}
		}
		for _, e := range m.matrix.Envs {
			if env == "" && e.Namespace == first {
				env = e.Name
			}
		}
	}
	if env == "" {
		return common.ToastCmd(common.Error, "cannot open "+target+": "+first+" is no environment or namespace of the pipeline")
	}
	cmd := m.openDetail(app, env)
	m.jumped = true
	return cmd
}

// openDetail starts the live detail of app in env and reads its history.
// The list's cursor moves onto the workload, so that the list shows it
// selected once the detail closes.
func (m *Model) openDetail(app, env string) tea.Cmd {
	m.closeDetail()
	m.selectWorkload(app, env)
	m.jumped = false
	m.gen++
	m.app, m.env, m.mode, m.page = app, env, detailMode, livePage
	m.detail, m.watchErr, m.history, m.histErr, m.histRev, m.scroll = nil, nil, nil, nil, 0, 0
	m.rebuild()
	gen, svc, base := m.gen, m.svc, m.Ctx.Base
	watch := func() tea.Msg {
		ctx, cancel := context.WithCancel(base)
		feed, err := svc.WatchRollout(ctx, app, env)
		if err != nil {
			cancel()
			return watchMsg{gen: gen, err: err}
		}
		return watchMsg{gen: gen, feed: feed, cancel: cancel}
	}
	return tea.Batch(watch, m.historyCmd())
}

func (m *Model) historyCmd() tea.Cmd {
	gen, svc, app, env := m.gen, m.svc, m.app, m.env
	return func() tea.Msg {
		revs, err := svc.History(app, env)
		return HistoryMsg{gen: gen, Revisions: revs, Err: err}
	}
}

// selectWorkload puts the list's cursor on app in env, clearing a filter
// that hides it; the cursor stays when the list has no such workload.
func (m *Model) selectWorkload(app, env string) {
	if !m.list.Select(env+"/"+app) && m.filterText != "" {
		m.SetFilter("")
		m.list.Select(env + "/" + app)
	}
}

// closeDetail ends the open workload's live feed.
func (m *Model) closeDetail() {
	if m.stop != nil {
		m.stop()
		m.stop = nil
	}
	m.feed = nil
}

// setDetail shows d, and reads the history again when the revision moved.
func (m *Model) setDetail(d release.Detail) tea.Cmd {
	m.detail = &d
	m.rebuild()
	if m.history != nil && d.Workload.Revision != m.histRev {
		m.histRev = d.Workload.Revision
		return m.historyCmd()
	}
	if m.history == nil {
		m.histRev = d.Workload.Revision
	}
	return nil
}

// SetSize sets the cells the pane draws in.
func (m *Model) SetSize(width, height int) {
	m.Resize(width, height)
	m.layoutList()
	m.rebuild()
}

// layoutList sizes the list to the rows the prompt leaves, in its wide or
// narrow layout.
func (m *Model) layoutList() {
	h := m.Height - len(m.PromptLines())
	m.setNarrow(m.Width < wideWidth)
	m.list.SetSize(m.Width, max(h, 2))
}
