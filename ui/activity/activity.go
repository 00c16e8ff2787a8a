// Package activity is the Activity pane: the audit journal as a live
// timeline, newest first, filterable by actor, target and text.
package activity

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/presence"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
)

// MaxEntries is how many entries the pane keeps; older ones are left to `vigil audit`.
const MaxEntries = 10000

// loadedMsg carries the journal's newest entries, and the live feed that
// was opened just before reading them.
type loadedMsg struct {
	entries []audit.Entry
	feed    <-chan audit.Entry
	cancel  func()
	err     error
}

// EntryMsg is an entry appended to the journal while the pane is open.
type EntryMsg struct{ Entry audit.Entry }

// feedClosedMsg says the journal was closed.
type feedClosedMsg struct{}

type row struct{ plain, styled string }

type layout struct {
	time, actor, action, target, result int
	timeFmt                             string
}

// Model is the Activity pane.
type Model struct {
	ctx  *common.Context
	keys KeyMap
	loc  *time.Location

	width, height int
	cols          layout
	wide          widths // the widest action and target, for cols

	entries []audit.Entry // newest first
	maxSeq  uint64        // the newest Seq read by the first query
	loaded  bool
	err     error
	feed    <-chan audit.Entry
	cancel  func()

	filterText string
	filter     filter
	visible    []int             // indexes into entries that pass the filter
	list       components.Cursor // over visible

	rows map[uint64]row // rendered rows by Seq, for the current width and theme

	detail    []string // the open entry's detail lines; nil when the timeline shows
	detailOff int

	here string // under vigil serve: who else is connected, and on which pane
}

// New returns the pane over ctx's journal.
func New(ctx *common.Context, keys KeyMap) *Model {
	return &Model{ctx: ctx, keys: keys, loc: ctx.Now().Location(), rows: map[uint64]row{}}
}

// Title names the pane in its tab.
func (m *Model) Title() string { return "Activity" }

// KeyMap returns the pane's bindings, for help.
func (m *Model) KeyMap() help.KeyMap { return m.keys }

// Bindings lists the pane's bindings.
func (m *Model) Bindings() []*common.Binding { return m.keys.Bindings() }

// Init subscribes to the journal, then reads its newest entries.
func (m *Model) Init() tea.Cmd {
	j := m.ctx.Journal
	return func() tea.Msg {
		feed, cancel := j.Subscribe()
		entries, err := j.Query(audit.Query{Limit: MaxEntries})
		return loadedMsg{entries: entries, feed: feed, cancel: cancel, err: err}
	}
}

// Close ends the live feed.
func (m *Model) Close() {
	if m.cancel != nil {
		m.cancel()
	}
}

func waitCmd(feed <-chan audit.Entry) tea.Cmd {
	return func() tea.Msg {
		e, ok := <-feed
		if !ok {
			return feedClosedMsg{}
		}
		return EntryMsg{Entry: e}
	}
}

// Update handles the journal's messages and the pane's keys.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case loadedMsg:
		m.loaded, m.err, m.feed, m.cancel = true, msg.err, msg.feed, msg.cancel
		m.entries = make([]audit.Entry, len(msg.entries))
		for i, e := range msg.entries {
			m.entries[len(msg.entries)-1-i] = e
			m.maxSeq = max(m.maxSeq, e.Seq)
		}
		m.wide = widths{}
		for i := range m.entries {
			m.measure(&m.entries[i])
		}
		m.refilter()
		return waitCmd(m.feed)
	case EntryMsg:
		m.add(msg.Entry)
		return waitCmd(m.feed)
	case feedClosedMsg:
		m.feed = nil
	case presence.Snapshot:
		m.here = hereNow(msg)
	case common.ThemeChangedMsg:
		clear(m.rows)
		m.rebuildDetail()
	case tea.KeyPressMsg:
		m.key(msg)
	}
	return nil
}

// add puts a live entry at the top, keeping the selection on the entry it was on.
func (m *Model) add(e audit.Entry) {
	if e.Seq <= m.maxSeq {
		return // already read by the first query
	}
	m.entries = slices.Insert(m.entries, 0, e)
	m.measure(&m.entries[0])
	if len(m.entries) > MaxEntries {
		drop := m.entries[MaxEntries:]
		for i := range drop {
			delete(m.rows, drop[i].Seq)
		}
		m.entries = m.entries[:MaxEntries]
	}
	// Shift the indexes rather than filter everything again.
	n := 0
	for _, i := range m.visible {
		if i+1 < len(m.entries) {
			m.visible[n] = i + 1
			n++
		}
	}
	m.visible = m.visible[:n]
	if m.filter.match(&m.entries[0]) {
		m.visible = slices.Insert(m.visible, 0, 0)
		if m.list.Pos > 0 {
			m.list.Pos++
			m.list.Offset++
		}
	}
	m.clamp()
}

// SetFilter filters the timeline; see filter for the syntax.
func (m *Model) SetFilter(s string) {
	m.filterText = s
	m.filter = parseFilter(s)
	m.list.Pos, m.list.Offset = 0, 0
	m.refilter()
}

// Filter is the current filter text.
func (m *Model) Filter() string { return m.filterText }

// FilterHint is the filter's syntax, shown in the empty filter bar.
func (m *Model) FilterHint() string { return `actor:NAME target:PATH or words` }

func (m *Model) refilter() {
	m.visible = m.visible[:0]
	for i := range m.entries {
		if m.filter.match(&m.entries[i]) {
			m.visible = append(m.visible, i)
		}
	}
	m.clamp()
}

// Visible returns the entries the filter lets through, newest first.
func (m *Model) Visible() []audit.Entry {
	out := make([]audit.Entry, len(m.visible))
	for i, j := range m.visible {
		out[i] = m.entries[j]
	}
	return out
}

// Selected returns the entry under the cursor.
func (m *Model) Selected() (audit.Entry, bool) {
	if len(m.visible) == 0 {
		return audit.Entry{}, false
	}
	return m.entries[m.visible[m.list.Pos]], true
}

// InDetail reports whether an entry's details are open.
func (m *Model) InDetail() bool { return m.detail != nil }

func (m *Model) listHeight() int { return max(m.height-1, 1) } // minus the header

func (m *Model) key(k tea.KeyPressMsg) {
	if m.detail != nil {
		if key.Matches(k, m.keys.Back.Binding) {
			m.detail = nil
			return
		}
		m.detailOff, _ = m.keys.Nav().Scroll(k, m.detailOff, len(m.detail), m.height)
		return
	}
	if m.list.Key(k, m.keys.Nav(), len(m.visible), m.listHeight()) {
		return
	}
	switch {
	case key.Matches(k, m.keys.Back.Binding):
		if m.filterText != "" {
			m.SetFilter("")
		}
	case key.Matches(k, m.keys.Details.Binding):
		if len(m.visible) > 0 {
			m.detailOff = 0
			m.detail = []string{}
			m.rebuildDetail()
		}
	}
	m.clamp()
}

// clamp keeps the cursor on an entry and the offset showing the cursor.
func (m *Model) clamp() { m.list.Clamp(len(m.visible), m.listHeight()) }

// SetSize sets the cells the pane draws in.
func (m *Model) SetSize(width, height int) {
	if width != m.width {
		clear(m.rows)
		m.cols = columns(width, m.wide)
	}
	m.width, m.height = width, height
	m.clamp()
	m.rebuildDetail()
}

// widths are the widest action and target of the entries.
type widths struct{ action, target int }

// measure widens m.wide for e, and lays the columns out again when it grew.
func (m *Model) measure(e *audit.Entry) {
	w := widths{max(m.wide.action, ansi.StringWidth(e.Action)), max(m.wide.target, ansi.StringWidth(e.Target))}
	if w != m.wide {
		m.wide = w
		if c := columns(m.width, w); c != m.cols {
			m.cols = c
			clear(m.rows)
		}
	}
}

// columns lays out the list at width w. The action column takes the free
// width its longest action needs, as long as the target keeps
// what its longest value needs (up to 24): neither is cut while the other
// has room.
func columns(w int, wide widths) layout {
	if w >= 72 {
		l := layout{time: 14, actor: 12, action: 18, result: 9, timeFmt: "01-02 15:04:05"}
		if want := wide.action; want > l.action {
			keep := max(min(wide.target, 24), 12)
			l.action = max(l.action, min(want, w-l.time-l.actor-l.result-4-keep))
		}
		l.target = w - l.time - l.actor - l.action - l.result - 4
		return l
	}
	l := layout{time: 5, actor: 8, action: 10, result: 7, timeFmt: "15:04"}
	l.target = max(w-l.time-l.actor-l.action-l.result-4, 0)
	return l
}

func (m *Model) resultStyle(r audit.Result) lipgloss.Style {
	st := m.ctx.Styles
	switch r {
	case audit.OK:
		return st.StatusOK
	case audit.Failed:
		return st.StatusCrit
	case audit.Refused:
		return st.StatusWarn
	}
	return st.StatusUnknown
}

func (m *Model) row(e *audit.Entry) row {
	if r, ok := m.rows[e.Seq]; ok {
		return r
	}
	c := m.cols
	head := components.Cell(e.Time.In(m.loc).Format(c.timeFmt), c.time) + " " +
		components.Cell(e.Actor, c.actor) + " " + components.Cell(e.Action, c.action) + " " + components.Cell(e.Target, c.target) + " "
	res := components.Cell(string(e.Result), c.result)
	r := row{plain: ansi.Truncate(head+res, m.width, "")}
	r.styled = ansi.Truncate(m.ctx.Styles.Body.Render(head)+m.resultStyle(e.Result).Render(res), m.width, "")
	m.rows[e.Seq] = r
	return r
}

func (m *Model) rebuildDetail() {
	if m.detail == nil || len(m.visible) == 0 {
		return
	}
	e := m.entries[m.visible[m.list.Pos]]
	st := m.ctx.Styles
	label := func(s string) string { return st.TableHeader.Render(fmt.Sprintf("%-11s", s)) }
	who := e.Actor
	if e.Role != "" {
		who += " · " + e.Role
	}
	if e.Key != "" {
		who += " · key " + e.Key
	}
	lines := []string{
		label("time") + e.Time.In(m.loc).Format(time.RFC3339),
		label("actor") + who,
		label("action") + e.Action,
		label("target") + e.Target,
		label("result") + m.resultStyle(e.Result).Render(string(e.Result)),
	}
	if e.Error != "" {
		lines = append(lines, label("error")+lipgloss.Wrap(e.Error, max(m.width-11, 10), " "))
	}
	if len(e.Parameters) > 0 {
		lines = append(lines, "", st.TableHeader.Render("parameters"))
		for _, k := range slices.Sorted(maps.Keys(e.Parameters)) {
			lines = append(lines, "  "+k+" = "+e.Parameters[k])
		}
	} else {
		lines = append(lines, "", st.Muted.Render("no parameters"))
	}
	m.detail = m.detail[:0]
	for _, l := range lines {
		for _, w := range strings.Split(l, "\n") {
			m.detail = append(m.detail, ansi.Truncate(w, m.width, "…"))
		}
	}
}

// Status summarises the pane for its frame title.
func (m *Model) Status() string {
	switch {
	case !m.loaded:
		return ""
	case m.detail != nil:
		e, _ := m.Selected()
		return e.Action + " " + e.Target
	case m.filterText != "":
		return fmt.Sprintf("%d of %d · filter %s", len(m.visible), len(m.entries), m.filterText)
	}
	return fmt.Sprintf("%d entries", len(m.entries)) + m.here
}

// hereNow names the other administrators connected to vigil serve and the
// pane each is on, for the pane's title: " · here: bob on Alerts, carol".
func hereNow(s presence.Snapshot) string {
	others := s.Others()
	if len(others) == 0 {
		return ""
	}
	names := make([]string, len(others))
	for i, e := range others {
		names[i] = e.Actor.Name
		if e.Pane != "" {
			names[i] += " on " + e.Pane
		}
	}
	return " · here: " + strings.Join(names, ", ")
}

// View draws the visible rows only.
func (m *Model) View() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	st := m.ctx.Styles
	msg := ""
	switch {
	case !m.loaded:
		msg = "Reading the journal…"
	case m.err != nil:
		msg = "The journal could not be read: " + m.err.Error()
	case m.detail != nil:
		end := min(m.detailOff+m.height, len(m.detail))
		return strings.Join(m.detail[m.detailOff:end], "\n")
	case len(m.entries) == 0:
		msg = "Nothing journaled yet: every action taken in vigil, by anyone, appears here as it happens."
	case len(m.visible) == 0:
		msg = "No entry matches the filter " + m.filterText + ": press / to change it (esc in the filter clears it)."
	}
	if msg != "" {
		return st.Muted.Render(lipgloss.Wrap(msg, m.width, " "))
	}
	var b strings.Builder
	c := m.cols
	if m.height > 1 {
		hdr := components.Cell("TIME", c.time) + " " + components.Cell("ACTOR", c.actor) + " " + components.Cell("ACTION", c.action) + " " +
			components.Cell("TARGET", c.target) + " " + components.Cell("RESULT", c.result)
		b.WriteString(st.TableHeader.Render(ansi.Truncate(hdr, m.width, "")))
	}
	end := min(m.list.Offset+m.listHeight(), len(m.visible))
	for i := m.list.Offset; i < end; i++ {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		r := m.row(&m.entries[m.visible[i]])
		if i == m.list.Pos {
			b.WriteString(st.TableSelected.Render(r.plain))
		} else {
			b.WriteString(r.styled)
		}
	}
	return b.String()
}
