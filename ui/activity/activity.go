// Package activity is the Activity pane: the audit journal as a live
// timeline, newest first, filterable by actor, target and text.
package activity

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/handover"
	"github.com/vigilops/vigil/ops/presence"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
	"github.com/vigilops/vigil/ui/styles"
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

// Model is the Activity pane.
type Model struct {
	components.Base
	keys    KeyMap
	loc     *time.Location
	timeFmt string // the TIME column's, for the width

	entries []audit.Entry // newest first
	table   *components.Table[audit.Entry]
	maxSeq  uint64 // the newest Seq read by the first query
	loaded  bool
	err     error
	feed    <-chan audit.Entry
	cancel  func()

	filterText string
	filter     filter

	detail    []string // the open entry's detail lines; nil when the timeline shows
	detailOff int

	here string // under vigil serve: who else is connected, and on which pane
}

// New returns the pane over ctx's journal.
func New(ctx *common.Context, keys KeyMap) *Model {
	m := &Model{Base: components.NewBase(ctx, "Activity", keys), keys: keys, loc: ctx.Now().Location(), timeFmt: wideTime}
	m.table = &components.Table[audit.Entry]{
		Columns: []components.Column[audit.Entry]{
			{Title: "TIME", Value: func(e audit.Entry) string { return e.Time.In(m.loc).Format(m.timeFmt) }, Min: len(wideTime), Max: len(wideTime)},
			{Title: "ACTOR", Value: func(e audit.Entry) string { return e.Actor }, Min: 12, Max: 12},
			{Title: "ACTION", Value: func(e audit.Entry) string { return e.Action }, Min: 18},
			{Title: "TARGET", Value: func(e audit.Entry) string { return e.Target }, Min: 12, Flex: 1, Prio: -1},
			{Title: "RESULT", Value: func(e audit.Entry) string { return string(e.Result) }, Min: 9, Max: 9,
				Style: func(e audit.Entry, _ *styles.Styles) lipgloss.Style { return m.resultStyle(e.Result) }},
		},
		Key: func(e audit.Entry) string { return strconv.FormatUint(e.Seq, 10) },
	}
	return m
}

// The TIME column's formats: with the date when the pane is wide enough.
const (
	wideTime   = "01-02 15:04:05"
	narrowTime = "15:04"
)

// Init subscribes to the journal, then reads its newest entries.
func (m *Model) Init() tea.Cmd {
	j := m.Ctx.Journal
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
		m.table.SetRows(m.entries)
		return waitCmd(m.feed)
	case EntryMsg:
		m.add(msg.Entry)
		return waitCmd(m.feed)
	case feedClosedMsg:
		m.feed = nil
	case presence.Snapshot:
		m.here = hereNow(msg)
	case common.ThemeChangedMsg:
		m.rebuildDetail()
	case common.GotoMsg:
		return m.goTo(msg.Target)
	case tea.KeyPressMsg:
		m.key(msg)
	}
	return nil
}

// goTo opens the newest hand-over among the entries read, in full.
func (m *Model) goTo(target string) tea.Cmd {
	if target != common.HandoverTarget {
		return nil
	}
	for _, e := range m.entries {
		if e.Action != handover.Entry || e.Result != audit.OK {
			continue
		}
		m.SetFilter("")
		m.table.Select(m.table.Key(e))
		m.detailOff = 0
		m.detail = []string{}
		m.rebuildDetail()
		return nil
	}
	return common.ToastCmd(common.Info, fmt.Sprintf("no hand-over among the last %d entries of the journal: vigil handover --show prints the latest", MaxEntries))
}

// add puts a live entry at the top; the selection stays on its entry.
func (m *Model) add(e audit.Entry) {
	if e.Seq <= m.maxSeq {
		return // already read by the first query
	}
	m.entries = slices.Insert(m.entries, 0, e)
	if len(m.entries) > MaxEntries {
		m.entries = m.entries[:MaxEntries]
	}
	m.table.SetRows(m.entries)
}

// SetFilter filters the timeline; see filter for the syntax.
func (m *Model) SetFilter(s string) {
	m.filterText = s
	m.filter = parseFilter(s)
	if strings.TrimSpace(s) == "" {
		m.table.SetFilter(nil)
		return
	}
	m.table.SetFilter(func(e audit.Entry) bool { return m.filter.match(&e) })
}

// Filter is the current filter text.
func (m *Model) Filter() string { return m.filterText }

// FilterHint is the filter's syntax, shown in the empty filter bar.
func (m *Model) FilterHint() string { return `actor:NAME target:PATH or words` }

// Visible returns the entries the filter lets through, newest first.
func (m *Model) Visible() []audit.Entry { return m.table.Rows() }

// Selected returns the entry under the cursor.
func (m *Model) Selected() (audit.Entry, bool) { return m.table.Selected() }

// InDetail reports whether an entry's details are open.
func (m *Model) InDetail() bool { return m.detail != nil }

func (m *Model) key(k tea.KeyPressMsg) {
	if m.detail != nil {
		if key.Matches(k, m.keys.Back.Binding) {
			m.detail = nil
			return
		}
		m.detailOff, _ = m.keys.Nav().Scroll(k, m.detailOff, len(m.detail), m.Height)
		return
	}
	if m.table.KeyPress(k, m.keys.Nav()) {
		return
	}
	switch {
	case key.Matches(k, m.keys.Back.Binding):
		if m.filterText != "" {
			m.SetFilter("")
		}
	case key.Matches(k, m.keys.Details.Binding):
		if m.table.Len() > 0 {
			m.detailOff = 0
			m.detail = []string{}
			m.rebuildDetail()
		}
	}
}

// SetSize sets the cells the pane draws in.
func (m *Model) SetSize(width, height int) {
	m.Resize(width, height)
	// Narrow, the time without its date and shorter actor, action and
	// result columns; the target gives way first.
	m.timeFmt = wideTime
	widths := [][2]int{{len(wideTime), len(wideTime)}, {12, 12}, {18, 0}, {12, 0}, {9, 9}}
	if width < 72 {
		m.timeFmt = narrowTime
		widths = [][2]int{{len(narrowTime), len(narrowTime)}, {8, 8}, {10, 0}, {0, 0}, {7, 7}}
	}
	for i, w := range widths {
		m.table.Columns[i].Min, m.table.Columns[i].Max = w[0], w[1]
	}
	m.table.SetSize(width, height)
	m.rebuildDetail()
}

func (m *Model) resultStyle(r audit.Result) lipgloss.Style {
	st := m.Ctx.Styles
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

func (m *Model) rebuildDetail() {
	e, ok := m.table.Selected()
	if m.detail == nil || !ok {
		return
	}
	st := m.Ctx.Styles
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
		lines = append(lines, label("error")+lipgloss.Wrap(e.Error, max(m.Width-11, 10), " "))
	}
	if h, err := handover.FromEntry(e); e.Action == handover.Entry && e.Result == audit.OK && err == nil {
		// A hand-over reads as one, not as its JSON.
		lines = append(lines, "", st.TableHeader.Render("hand-over"))
		for _, l := range strings.Split(strings.TrimRight(handover.Text(h), "\n"), "\n") {
			lines = append(lines, lipgloss.Wrap(components.Printable(l), max(m.Width, 10), " "))
		}
	} else if len(e.Parameters) > 0 {
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
			m.detail = append(m.detail, ansi.Truncate(w, m.Width, "…"))
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
		return fmt.Sprintf("%d of %d · filter %s", m.table.Len(), len(m.entries), m.filterText)
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
		if e.Bastion != "" {
			names[i] += " via " + e.Bastion // connected to another bastion
		}
	}
	return " · here: " + strings.Join(names, ", ")
}

// View draws the visible rows only.
func (m *Model) View() string {
	if m.Width <= 0 || m.Height <= 0 {
		return ""
	}
	st := m.Ctx.Styles
	msg := ""
	switch {
	case !m.loaded:
		msg = "Reading the journal…"
	case m.err != nil:
		msg = "The journal could not be read: " + m.err.Error()
	case m.detail != nil:
		end := min(m.detailOff+m.Height, len(m.detail))
		return strings.Join(m.detail[m.detailOff:end], "\n")
	case len(m.entries) == 0:
		msg = "Nothing journaled yet: every action taken in vigil, by anyone, appears here as it happens."
	case m.table.Len() == 0:
		msg = "No entry matches the filter " + m.filterText + ": press / to change it (esc in the filter clears it)."
	}
	if msg != "" {
		return st.Muted.Render(lipgloss.Wrap(msg, m.Width, " "))
	}
	return m.table.View(st)
}
