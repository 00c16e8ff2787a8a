// Package runs is the Runs pane: the history of playbook runs, a live run
// with each host's progress, the recap, a drill-down into task results
// filtered to changed or failed ones, rerun-failed, cancel, and masked
// prompts for the vault and become passwords.
package runs

import (
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ops/playbook"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
	"github.com/vigilops/vigil/ui/styles"
)

// view is what the pane shows.
type view int

const (
	listView   view = iota // the history
	runView                // one run: progress and recap per host
	eventsView             // its task results
	eventView              // one result: msg, stdout, stderr, diff
	execsView              // the ad-hoc commands (:exec)
	execView               // one: each host's rc, stdout, stderr
)

// results filters of the drill-down, cycled by the filter key.
var results = []struct {
	name   string
	filter playbook.Filter
}{
	{"all results", playbook.Filter{Results: true}},
	{"changed", playbook.Filter{Results: true, Changed: true}},
	{"failed", playbook.Filter{Results: true, Failed: true}},
}

// MaxEvents bounds the results the drill-down lists. The list holds them
// without their outputs; one result's outputs are read when it is opened,
// so that huge outputs stay on disk.
const MaxEvents = 2000

// changedMsg says runs changed.
type changedMsg struct{}

// Model is the Runs pane.
type Model struct {
	components.Base
	svc  *playbook.Service
	keys KeyMap

	runs    []playbook.Run                  // newest first
	history *components.Table[playbook.Run] // the list of runs
	started string                          // the STARTED column's time format

	view     view
	open     playbook.Run // the run shown in runView and below
	live     bool
	progress playbook.Progress
	head     []string // runView's header lines
	hosts    []string // runView's rows: host names, sorted
	hostRows []string
	hostList components.Cursor // over hosts

	filter  int              // index into results
	events  []playbook.Event // without outputs
	full    playbook.Event   // the open result, whole
	evRows  []string
	evErr   error
	evList  components.Cursor // over events
	detail  []string
	detOff  int
	loading bool

	execs     []playbook.Exec // newest first
	execTable *components.Table[playbook.Exec]
	execID    string   // the command execView shows
	execLines []string // execView's lines
	execOff   int
	awaitExec string // the newest command when :exec jumped here: the next one opens
	awaiting  bool
	jumped    bool // a GotoMsg opened the commands: esc goes back

	vault  []byte
	become []byte
	target string // from the Inventory pane, for the next run
	last   string // the last run asked for in this session, as typed
}

// New returns the pane over the playbook service.
func New(ctx *common.Context, svc *playbook.Service, keys KeyMap) *Model {
	m := &Model{Base: components.NewBase(ctx, "Runs", keys), svc: svc, keys: keys, started: wideTime}
	keys.Run.Do = m.askRun
	keys.VaultPassword.Do = func() tea.Cmd { return m.askPassword("Vault password (empty: forget it)", &m.vault) }
	keys.BecomePassword.Do = func() tea.Cmd { return m.askPassword("Become (sudo) password (empty: forget it)", &m.become) }
	keys.Cancel.Do = m.onCurrent(func(r playbook.Run) tea.Cmd { return m.CancelRun(r.ID) })
	keys.RerunFailed.Do = m.onCurrent(m.RerunFailed)
	keys.Execs.Do = m.toggleExecs
	loc := ctx.Now().Location()
	m.history = &components.Table[playbook.Run]{
		Columns: []components.Column[playbook.Run]{
			{Title: "STARTED", Value: func(r playbook.Run) string { return r.Started.In(loc).Format(m.started) }, Min: len(wideTime), Max: len(wideTime)},
			{Title: "PLAYBOOK", Value: func(r playbook.Run) string { return r.Playbook }, Min: 8},
			{Title: "TARGET", Value: func(r playbook.Run) string { return r.Target.String() }, Min: 6, Flex: 1},
			{Title: "MODE", Value: func(r playbook.Run) string { return string(r.Mode) }, Min: 5, Max: 5},
			{Title: "ACTOR", Value: func(r playbook.Run) string { return r.Actor }, Min: 5, Max: 12, Prio: -1}, // left out first
			{Title: "STATE", Value: func(r playbook.Run) string { return string(r.State) }, Min: 9, Max: 10,
				Style: func(r playbook.Run, _ *styles.Styles) lipgloss.Style { return m.stateStyle(r.State) }},
			{Title: "RECAP", Value: func(r playbook.Run) string { return recapLine(r.Recap) }, Min: 10, Max: 24},
		},
		Key: func(r playbook.Run) string { return r.ID },
	}
	m.execTable = m.newExecTable()
	return m
}

// The STARTED column's formats: with the date when the pane is wide enough.
const (
	wideTime   = "01-02 15:04:05"
	narrowTime = "15:04:05"
)

// Init subscribes to the runs' changes and shows the history.
func (m *Model) Init() tea.Cmd {
	changes, cancel := m.svc.Subscribe()
	return m.Subscribe(changes, cancel, func() tea.Msg { return changedMsg{} })
}

// Close ends the subscription and forgets the passwords.
func (m *Model) Close() {
	m.Base.Close()
	clear(m.vault)
	clear(m.become)
}

// Update handles the service's messages, results and keys.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case changedMsg:
		m.refresh()
		return m.Wait()
	case common.ThemeChangedMsg:
		m.rebuild()
	case common.GotoMsg:
		if t, ok := strings.CutPrefix(msg.Target, ExecsTarget); ok && (t == "" || t[0] == ':') {
			m.refreshExecs()
			m.showExecs(t != "", strings.TrimPrefix(t, ":"))
			m.jumped = true
			return nil
		}
		if t, ok := strings.CutPrefix(msg.Target, "hosts:"); ok && t != "" {
			m.target = "hosts:" + t
			return m.askRun()
		}
	case playbooksMsg:
		return m.onPlaybooks(msg)
	case startedMsg:
		return m.onStarted(msg)
	case eventMsg:
		if msg.run == m.open.ID {
			m.full, m.evErr = msg.event, msg.err
			m.rebuildDetail()
		}
	case eventsMsg:
		m.loading = false
		if msg.run == m.open.ID && msg.filter == m.filter {
			m.events, m.evErr = msg.events, msg.err
			m.evList.Pos = min(m.evList.Pos, max(len(m.events)-1, 0))
			m.rebuildEvents()
		}
	case tea.KeyPressMsg:
		return m.key(msg)
	}
	return nil
}

// refresh reads the runs and the open run's progress; the service's
// getters copy and do no IO.
func (m *Model) refresh() {
	m.runs = m.svc.Runs()
	m.history.SetRows(m.runs)
	if m.view != listView && m.view != execsView && m.view != execView {
		m.load(m.open.ID)
	}
	m.refreshExecs()
	m.rebuild()
}

// load reads run id into the run view's state.
func (m *Model) load(id string) {
	if p, ok := m.svc.Progress(id); ok {
		m.open, m.progress, m.live = p.Run, p, true
		return
	}
	m.live = false
	if i := slices.IndexFunc(m.runs, func(r playbook.Run) bool { return r.ID == id }); i >= 0 {
		m.open = m.runs[i]
	}
}

// Selected returns the run under the cursor in the history.
func (m *Model) Selected() (playbook.Run, bool) { return m.history.Selected() }

// Open returns the run the pane shows, if any.
func (m *Model) Open() (playbook.Run, bool) { return m.open, m.view != listView }

// Events returns the task results the drill-down shows.
func (m *Model) Events() []playbook.Event { return m.events }

func (m *Model) key(k tea.KeyPressMsg) tea.Cmd {
	if ok, cmd := m.PromptKey(k, m.keys.Submit, m.keys.Close); ok {
		return cmd
	}
	if cmd, ok := common.Handle(k, m.Bindings()...); ok {
		return cmd
	}
	switch m.view {
	case listView:
		return m.listKey(k)
	case runView:
		return m.runKey(k)
	case eventsView:
		return m.eventsKey(k)
	case execsView:
		return m.execsKey(k)
	case execView:
		return m.execKey(k)
	default:
		return m.eventKey(k)
	}
}

// current is the run a key acts on: the open one, or the one under the cursor.
func (m *Model) current() (playbook.Run, bool) {
	if m.view == execsView || m.view == execView {
		return playbook.Run{}, false
	}
	if m.view != listView {
		return m.open, true
	}
	return m.Selected()
}

// onCurrent is a handler acting on the current run, if any.
func (m *Model) onCurrent(act func(playbook.Run) tea.Cmd) func() tea.Cmd {
	return func() tea.Cmd {
		if r, ok := m.current(); ok {
			return act(r)
		}
		return nil
	}
}

func (m *Model) listKey(k tea.KeyPressMsg) tea.Cmd {
	if m.history.KeyPress(k, m.keys.Nav()) {
		return nil
	}
	if key.Matches(k, m.keys.Open.Binding) {
		if r, ok := m.Selected(); ok {
			m.openRun(r.ID)
		}
	}
	return nil
}

// openRun shows run id.
func (m *Model) openRun(id string) {
	m.view, m.hostList.Pos, m.hostList.Offset = runView, 0, 0
	m.load(id)
	m.rebuild()
}

func (m *Model) runKey(k tea.KeyPressMsg) tea.Cmd {
	h := m.Height - len(m.head) - 1
	if m.hostList.Key(k, m.keys.Nav(), len(m.hosts), h) {
		return nil
	}
	switch {
	case key.Matches(k, m.keys.Back.Binding):
		m.view = listView
	case key.Matches(k, m.keys.Open.Binding):
		m.view, m.evList.Pos, m.evList.Offset = eventsView, 0, 0
		return m.loadEvents()
	case key.Matches(k, m.keys.Filter.Binding):
		m.view, m.evList.Pos, m.evList.Offset = eventsView, 0, 0
		m.filter = (m.filter + 1) % len(results)
		return m.loadEvents()
	}
	return nil
}

func (m *Model) eventsKey(k tea.KeyPressMsg) tea.Cmd {
	h := m.Height - 1
	if m.evList.Key(k, m.keys.Nav(), len(m.events), h) {
		return nil
	}
	switch {
	case key.Matches(k, m.keys.Back.Binding):
		m.view = runView
	case key.Matches(k, m.keys.Filter.Binding):
		m.filter = (m.filter + 1) % len(results)
		m.evList.Pos, m.evList.Offset = 0, 0
		return m.loadEvents()
	case key.Matches(k, m.keys.Reload.Binding):
		return m.loadEvents()
	case key.Matches(k, m.keys.Open.Binding):
		if len(m.events) > 0 {
			m.view, m.detOff = eventView, 0
			m.rebuildDetail()
			return m.loadEvent(m.events[m.evList.Pos].Seq)
		}
	}
	return nil
}

func (m *Model) eventKey(k tea.KeyPressMsg) tea.Cmd {
	if key.Matches(k, m.keys.Back.Binding) {
		m.view = eventsView
	}
	m.detOff, _ = m.keys.Nav().Scroll(k, m.detOff, len(m.detail), m.Height)
	return nil
}

// SetSize sets the cells the pane draws in.
func (m *Model) SetSize(width, height int) {
	resized := m.Resize(width, height)
	m.started = wideTime
	if width < 100 {
		m.started = narrowTime
	}
	sc := &m.history.Columns[0]
	sc.Min, sc.Max = len(m.started), len(m.started)
	m.history.SetSize(width, height)
	ec := &m.execTable.Columns[0]
	ec.Min, ec.Max = len(m.started), len(m.started)
	m.execTable.SetSize(width, height)
	if resized {
		m.rebuild()
	}
}

// Status summarises the pane for its frame title.
func (m *Model) Status() string {
	var s string
	switch m.view {
	case listView:
		live := 0
		for _, r := range m.runs {
			if r.State == playbook.Running {
				live++
			}
		}
		s = fmt.Sprintf("%d runs", len(m.runs))
		if live > 0 {
			s += fmt.Sprintf(" · %d running", live)
		}
	case runView:
		s = m.open.Playbook + " · " + string(m.open.State)
	case execsView:
		s = fmt.Sprintf("%d ad-hoc commands", len(m.execs))
	case execView:
		if e, ok := m.theExec(); ok {
			s = "`" + e.Command + "` · " + execState(e)
		}
	default:
		s = fmt.Sprintf("%s · %s · %d", m.open.Playbook, results[m.filter].name, len(m.events))
	}
	if len(m.vault) > 0 {
		s += " · vault ●"
	}
	if len(m.become) > 0 {
		s += " · become ●"
	}
	return s
}

// View draws the visible rows only; rows are rendered when data changes.
func (m *Model) View() string {
	if m.Width <= 0 || m.Height <= 0 {
		return ""
	}
	st := m.Ctx.Styles
	var lines []string
	switch m.view {
	case listView:
		if len(m.runs) == 0 {
			lines = append(lines, st.Muted.Render(lipgloss.Wrap("No playbook run yet: press "+m.keys.Run.Help().Key+
				" to run one, or p on hosts in the Inventory pane.", m.Width, " ")))
			break
		}
		lines = append(lines, strings.Split(m.history.View(st), "\n")...)
	case runView:
		lines = append(lines, m.head...)
		lines = append(lines, st.TableHeader.Render(hostHeader(m.Width)))
		lines = m.window(lines, m.hostRows, m.hostList.Pos, m.hostList.Offset, m.Height-len(lines))
	case eventsView:
		lines = append(lines, st.TableHeader.Render(ansi.Truncate(fmt.Sprintf("%s · %s · %d results · f: all/changed/failed · enter: details",
			m.open.Playbook, results[m.filter].name, len(m.events)), m.Width, "…")))
		switch {
		case m.evErr != nil:
			lines = append(lines, st.StatusCrit.Render(ansi.Truncate("results could not be read: "+m.evErr.Error(), m.Width, "…")))
		case m.loading && len(m.events) == 0:
			lines = append(lines, st.Muted.Render("Reading the results…"))
		case len(m.events) == 0:
			lines = append(lines, st.Muted.Render(ansi.Truncate("No "+results[m.filter].name+" result in this run.", m.Width, "…")))
		default:
			lines = m.window(lines, m.evRows, m.evList.Pos, m.evList.Offset, m.Height-1)
		}
	case eventView:
		end := min(m.detOff+m.Height, len(m.detail))
		lines = append(lines, m.detail[min(m.detOff, end):end]...)
	case execsView:
		if len(m.execs) == 0 {
			lines = append(lines, st.Muted.Render(lipgloss.Wrap("No ad-hoc command yet: type :exec CMD on HOSTS in the palette (:), "+
				"or select hosts in the Inventory pane and type :exec CMD. "+m.keys.Execs.Help().Key+": back to the runs.", m.Width, " ")))
			break
		}
		lines = append(lines, strings.Split(m.execTable.View(st), "\n")...)
	case execView:
		off := max(min(m.execOff, len(m.execLines)-m.Height), 0)
		end := min(off+m.Height, len(m.execLines))
		lines = append(lines, m.execLines[off:end]...)
	}
	return strings.Join(m.WithPrompt(lines), "\n")
}

// window appends the h rows of rows shown from off, with cur highlighted.
func (m *Model) window(lines, rows []string, cur, off, h int) []string {
	end := min(off+max(h, 0), len(rows))
	for i := off; i < end; i++ {
		if i == cur {
			lines = append(lines, m.Ctx.Styles.TableSelected.Render(ansi.Strip(rows[i])))
		} else {
			lines = append(lines, rows[i])
		}
	}
	return lines
}
