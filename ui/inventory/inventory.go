// Package inventory is the Inventory pane: the hosts (droplets) as a table
// with details, a selection, a filter, the power, resize, snapshot, tag and
// destroy actions, and the creation of hosts from a template, followed live.
package inventory

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ops/refresh"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
)

// Health is the name the status bar shows the cloud's health under.
const Health = "digitalocean"

// stateMsg says the inventory service has a new state.
type stateMsg struct{}

// Model is the Inventory pane.
type Model struct {
	components.Base
	svc   *inventory.Service
	keys  KeyMap
	table *components.Table[host]

	state  *inventory.State
	health common.HealthState

	filterText string
	selected   map[int]bool // host ids

	detail     bool
	jumped     bool // the detail was opened by a GotoMsg: esc goes back
	detailOff  int
	create     *creation // the last creation, running or finished
	watching   bool      // the creation view is open
	busy       map[string]string
	figs       figures      // of the host whose detail is open
	snaps      volumeSnaps  // of the host whose detail is open
	refresh    *refreshView // the last data refresh, running or finished
	refreshing bool         // the refresh view is open
	// missed is the host a jump did not find: s then opens no shell on
	// whichever host the cursor is on, until another key.
	missed string
	// netw is the network view, nil without a network service.
	netw *netPane
}

// New returns the pane over the inventory service.
func New(ctx *common.Context, svc *inventory.Service, keys KeyMap) *Model {
	m := &Model{Base: components.NewBase(ctx, "Inventory", keys), svc: svc, keys: keys, state: svc.State(),
		selected: map[int]bool{}, busy: map[string]string{}}
	m.table = m.newTable()
	m.newNetPane()
	m.bind()
	m.table.SetRows(hosts(m.state))
	return m
}

// Init subscribes to the inventory's changes and shows its current state.
func (m *Model) Init() tea.Cmd {
	changes, cancel := m.svc.Subscribe()
	return tea.Batch(m.Subscribe(changes, cancel, func() tea.Msg { return stateMsg{} }), m.netInit())
}

// Update handles the service's messages, the results of actions and keys.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case stateMsg:
		cmd := m.setState(m.svc.State())
		return tea.Batch(cmd, m.Wait())
	case common.ThemeChangedMsg:
	case common.GotoMsg:
		return m.show(msg.Target)
	case figuresMsg:
		return m.onFigures(msg)
	case figuresTickMsg:
		return m.onFiguresTick(msg)
	case sshOpenedMsg:
		return m.onSSHOpened(msg)
	case execDoneMsg:
		return m.onExecDone(msg)
	case createProgressMsg:
		return m.onCreateProgress(msg)
	case createDoneMsg:
		return m.onCreateDone(msg)
	case busyMsg:
		return m.onBusy(msg)
	case actionDoneMsg:
		return m.onActionDone(msg)
	case planMsg:
		return m.onPlan(msg)
	case snapsMsg:
		return m.onSnaps(msg)
	case snapshotDoneMsg:
		return m.onSnapshotDone(msg)
	case runCmdMsg:
		return msg.cmd
	case refreshPlanMsg:
		return m.onRefreshPlan(msg)
	case refreshStartedMsg:
		return m.onRefreshStarted(msg)
	case refreshProgressMsg:
		return m.onRefreshProgress(msg)
	case refreshDoneMsg:
		return m.onRefreshDone(msg)
	case refreshLoadedMsg:
		return m.onRefreshLoaded(msg)
	case oldVolumesMsg:
		return m.onOldVolumes(msg)
	case netStateMsgWith:
		m.setNetState(m.netw.svc.State())
		return netWaitCmd(msg.changes)
	case netPlanMsg:
		return m.onNetPlan(msg)
	case checkMsg:
		return m.onCheck(msg)
	case tea.KeyPressMsg:
		return m.key(msg)
	}
	return nil
}

// setState takes a new inventory state, keeping the cursor on its host,
// and reports a change of the cloud's health to the status bar.
func (m *Model) setState(st *inventory.State) tea.Cmd {
	m.state = st
	m.table.SetRows(hosts(st))
	m.resize()
	if st.Fetched.IsZero() && st.Err == nil {
		return nil // not loaded yet
	}
	h := common.HealthMsg{Name: Health, State: common.Healthy, Since: st.Fetched}
	if st.Err != nil {
		h.State, h.Since, h.Err = common.Down, st.ErrAt, st.Err
	}
	if h.State == m.health {
		return nil
	}
	m.health = h.State
	return func() tea.Msg { return h }
}

// show opens the details of the host called name, clearing the filter.
// A host the inventory does not list is said, and s then opens no shell
// on another host by surprise.
func (m *Model) show(name string) tea.Cmd {
	m.SetFilter("")
	i := slices.IndexFunc(m.state.Hosts, func(h inventory.Host) bool { return h.Name == name })
	if i < 0 || !m.table.Select(strconv.Itoa(m.state.Hosts[i].ID)) {
		m.closeDetail()
		m.missed = name
		return common.ToastCmd(common.Error, "no host "+name+" in the inventory (destroyed, or not read yet): press "+
			m.keys.Refresh.Help().Key+" to read the cloud again")
	}
	m.missed = ""
	return m.openDetail(true)
}

// Close ends the subscription and the detail's reads.
func (m *Model) Close() {
	if m.netw != nil && m.netw.cancel != nil {
		m.netw.cancel()
	}
	m.stopFigures()
	m.Base.Close()
}

// SetFilter shows only the hosts whose cells contain every word of s.
func (m *Model) SetFilter(s string) {
	m.filterText = s
	words := strings.Fields(strings.ToLower(s))
	if len(words) == 0 {
		m.table.SetFilter(nil)
		return
	}
	m.table.SetFilter(func(x host) bool {
		for _, w := range words {
			if !strings.Contains(x.row.Search, w) {
				return false
			}
		}
		return true
	})
}

// Filter is the current filter text.
func (m *Model) Filter() string { return m.filterText }

// FilterHint is the filter's syntax, shown in the empty filter bar.
func (m *Model) FilterHint() string { return `words of a name, address, region, size or tag` }

// Selected returns the host under the cursor.
func (m *Model) Selected() (inventory.Host, bool) {
	x, ok := m.table.Selected()
	if !ok {
		return inventory.Host{}, false
	}
	return *x.h, true
}

// Targets are the hosts an action applies to: the selection, in table
// order, or else the host under the cursor.
func (m *Model) Targets() []inventory.Host {
	var out []inventory.Host
	for _, h := range m.state.Hosts {
		if m.selected[h.ID] {
			out = append(out, h)
		}
	}
	if len(out) == 0 {
		if h, ok := m.Selected(); ok {
			out = append(out, h)
		}
	}
	return out
}

func (m *Model) listHeight() int {
	h := m.Height - 1 // the header
	if m.state.Err != nil {
		h--
	}
	h -= len(m.PromptLines())
	return max(h, 1)
}

func (m *Model) key(k tea.KeyPressMsg) tea.Cmd {
	if ok, cmd := m.PromptKey(k, m.keys.Submit, m.keys.Cancel); ok {
		m.resize() // the prompt may have closed
		return cmd
	}
	if missed := m.missed; missed != "" {
		m.missed = ""
		if key.Matches(k, m.keys.SSH.Binding) {
			return common.ToastCmd(common.Error, "no shell: "+missed+" is not in the inventory; move to a host first")
		}
	}
	if m.refreshing {
		return m.refreshKey(k)
	}
	if m.watching {
		if key.Matches(k, m.keys.Back.Binding, m.keys.Progress.Binding) {
			m.watching = false
		}
		return nil
	}
	if m.detail {
		return m.detailKey(k)
	}
	if m.netw != nil && m.netw.on {
		if m.netTableKey(k) {
			return nil
		}
		if key.Matches(k, m.keys.Back.Binding) {
			return m.toggleNetwork()
		}
		cmd, _ := common.Handle(k, m.keys.Network, m.keys.NetPrev, m.keys.NetNext, m.keys.NetAdd, m.keys.NetRemove, m.keys.Check, m.keys.Refresh)
		return cmd
	}
	if m.table.KeyPress(k, m.keys.Nav()) {
		return nil
	}
	switch {
	case key.Matches(k, m.keys.Select.Binding):
		if h, ok := m.Selected(); ok {
			m.toggle(h.ID)
			m.table.KeyPress(tea.KeyPressMsg{Code: tea.KeyDown}, m.keys.Nav())
		}
	case key.Matches(k, m.keys.SelectAll.Binding):
		m.selectAll()
	case key.Matches(k, m.keys.Details.Binding):
		if m.table.Len() > 0 {
			return m.openDetail(false)
		}
	case key.Matches(k, m.keys.Back.Binding):
		switch {
		case len(m.selected) > 0:
			clear(m.selected)
		case m.filterText != "":
			m.SetFilter("")
		}
	case key.Matches(k, m.keys.Progress.Binding):
		if m.create != nil {
			m.watching = true
		} else {
			return common.ToastCmd(common.Info, "no hosts are being created: press "+m.keys.Create.Help().Key+" to create some")
		}
	default:
		cmd, _ := common.Handle(k, m.Bindings()...)
		return cmd
	}
	return nil
}

func (m *Model) detailKey(k tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(k, m.keys.Back.Binding):
		m.closeDetail()
		if m.jumped {
			m.jumped = false
			return common.Back
		}
	case key.Matches(k, m.keys.Down.Binding):
		m.detailOff++
	case key.Matches(k, m.keys.Up.Binding):
		m.detailOff = max(m.detailOff-1, 0)
	default:
		cmd, _ := common.Handle(k, m.Bindings()...)
		return cmd
	}
	return nil
}

func (m *Model) toggle(id int) {
	if m.selected[id] {
		delete(m.selected, id)
	} else {
		m.selected[id] = true
	}
}

// selectAll selects every host shown, or clears the selection when they
// all are selected already.
func (m *Model) selectAll() {
	all := true
	for _, x := range m.table.Rows() {
		all = all && m.selected[x.h.ID]
	}
	for _, x := range m.table.Rows() {
		if all {
			delete(m.selected, x.h.ID)
		} else {
			m.selected[x.h.ID] = true
		}
	}
}

// resize gives the table the rows left by the error line and the prompt.
func (m *Model) resize() {
	m.table.SetSize(m.Width, m.listHeight()+1)
	m.netResize()
}

// SetSize sets the cells the pane draws in.
func (m *Model) SetSize(width, height int) {
	m.Resize(width, height)
	m.resize()
}

// Status summarises the pane for its frame title.
func (m *Model) Status() string {
	st := m.state
	if st.Fetched.IsZero() && st.Err == nil {
		return ""
	}
	s := fmt.Sprintf("%d hosts · $%.2f/mo", len(st.Hosts), st.MonthlyTotal)
	if m.filterText != "" {
		s = fmt.Sprintf("%d of %d hosts · filter %s", m.table.Len(), len(st.Hosts), m.filterText)
	}
	if len(m.selected) > 0 {
		s += fmt.Sprintf(" · %d selected", len(m.selected))
	}
	if c := m.create; c != nil && !c.done {
		s += fmt.Sprintf(" · creating %d/%d", c.reachable(), len(c.names))
	}
	if r := m.refresh; r != nil && r.running {
		s += fmt.Sprintf(" · refreshing %s %d/%d", r.st.Target, min(int(r.st.Next), refresh.NumSteps), refresh.NumSteps)
	}
	return s
}

func splitLines(s string) []string { return strings.Split(s, "\n") }

// View draws the visible rows only.
func (m *Model) View() string {
	if m.Width <= 0 || m.Height <= 0 {
		return ""
	}
	st := m.Ctx.Styles
	var lines []string
	if m.state.Err != nil {
		age := "never loaded"
		if !m.state.Fetched.IsZero() {
			age = "data from " + components.Age(m.Ctx.Now().Sub(m.state.Fetched)) + " ago"
		}
		lines = append(lines, st.StatusCrit.Render(ansi.Truncate("DigitalOcean unreachable · "+age+" · retrying: "+m.state.Err.Error(), m.Width, "…")))
	}
	switch {
	case m.refreshing && m.refresh != nil:
		lines = append(lines, m.refreshLines()...)
	case m.watching:
		lines = append(lines, m.creationLines()...)
	case m.netw != nil && m.netw.on:
		lines = append(lines, m.netLines()...)
	case m.detail:
		d := m.detailLines()
		off := max(min(m.detailOff, len(d)-m.Height+len(lines)), 0)
		lines = append(lines, d[off:]...)
	case m.state.Fetched.IsZero() && m.state.Err == nil:
		lines = append(lines, st.Muted.Render(lipgloss.Wrap("Reading the hosts from DigitalOcean…", m.Width, " ")))
	case len(m.state.Hosts) == 0 && m.state.Err == nil:
		lines = append(lines, st.Muted.Render(lipgloss.Wrap("No hosts yet: press "+m.keys.Create.Help().Key+" to create some from a template.", m.Width, " ")))
	case m.table.Len() == 0 && m.filterText != "":
		lines = append(lines, st.Muted.Render(lipgloss.Wrap("No host matches the filter "+m.filterText+": press / to change it (esc in the filter clears it).", m.Width, " ")))
	default:
		lines = append(lines, splitLines(m.table.View(st))...)
	}
	return strings.Join(m.WithPrompt(lines), "\n")
}
