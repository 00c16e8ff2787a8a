// Package logs is the Logs pane: the log lines of a workload's pods (or
// one pod, one container), followed live as stern does: pods a rollout
// starts are added and deleted ones leave with a line saying so, a colour
// per pod, the pod prefix, timestamps, wrap, the previous container and
// how far back to read as toggles. Paused or scrolled up, new lines are
// counted rather than scrolled into view (less +F). The shell's filter bar
// keeps the lines a regex matches (highlighted) and hides those of a !regex.
// The lines live in the view's bounded buffer, released when the view
// closes; one follow at a time.
package logs

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	oplogs "github.com/vigilops/vigil/ops/logs"
	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
)

// frameTime is how long the reader gathers lines after the first of a
// batch: one message a frame, not one a line.
const frameTime = 16 * time.Millisecond

// maxBatch bounds the lines of one message (a backlog read at once).
const maxBatch = 8192

// followMsg carries a follow started for generation gen.
type followMsg struct {
	gen    int
	ch     <-chan oplogs.Line
	cancel func()
	err    error
}

// linesMsg is a batch of lines of generation gen's follow; closed says
// the follow ended after them.
type linesMsg struct {
	gen    int
	lines  []oplogs.Line
	closed bool
}

// Target is what the view shows: a workload in an environment, or one of
// its pods, or one container of it.
type Target struct {
	Env, App, Pod, Container string
	// At is the time of the alert the view was opened from (zero: none):
	// the alert key scrolls to the lines of that moment.
	At time.Time
}

func (t Target) String() string {
	s := t.Env + "/" + t.App
	if t.Pod != "" {
		s += "/" + t.Pod
	}
	if t.Container != "" {
		s += "/" + t.Container
	}
	return s
}

// Model is the Logs pane.
type Model struct {
	components.Base
	svc  *oplogs.Service
	keys KeyMap

	target Target
	open   bool // a target is shown
	jumped bool // opened by a GotoMsg: esc goes back
	closed bool // the session ended

	gen    int // the follow's generation: older ones' messages are dropped
	cancel func()
	ch     <-chan oplogs.Line
	ended  bool  // the follow ended (the previous container's log is read whole)
	err    error // the follow could not start
	buf    *oplogs.Buffer

	prefix, timestamps, wrap, previous bool
	since                              time.Duration // 0: the service's

	filterText string
	filter     oplogs.Filter
	filterErr  string
	errorsOnly bool    // only the lines IsError says are errors (with the filter)
	shown      []int64 // the sequence numbers of the lines the filter keeps; nil without a filter
	spare      []int64 // the memory of the last shown, for the next
	errs       bits    // which lines held are errors

	follow bool // new lines scroll into view when at the bottom
	tail   bool // the view shows the newest lines
	pos    int  // the first line drawn, among those shown, when not tail
	unseen int  // lines that came while paused or scrolled up

	received int // lines the follow gave, dropped or not

	pods       map[string]bool        // the pods followed now
	containers map[string]bool        // the containers' names seen
	down       map[string]oplogs.Line // streams whose last word was an error, by pod/container

	r renderer
}

// New returns the pane over the logs service svc.
func New(ctx *common.Context, svc *oplogs.Service, keys KeyMap) *Model {
	m := &Model{Base: components.NewBase(ctx, "Logs", keys), svc: svc, keys: keys, prefix: true, follow: true, tail: true}
	m.r.init()
	m.bind()
	return m
}

// Init does nothing: the view follows once a jump names its target.
func (m *Model) Init() tea.Cmd { return nil }

// Close ends the follow and releases the buffer, when the session ends.
func (m *Model) Close() {
	m.closed = true
	m.Base.Close()
	m.closeView()
}

// Target returns what the view shows, and whether it is open.
func (m *Model) Target() (Target, bool) { return m.target, m.open }

// Buffer is the view's buffer (nil before the first open), for tests.
func (m *Model) Buffer() *oplogs.Buffer { return m.buf }

// Following reports whether new lines scroll into view, and how many came
// unseen while not.
func (m *Model) Following() (bool, int) { return m.follow && m.tail, m.unseen }

// Update handles the follow's messages and keys.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case followMsg:
		if msg.gen != m.gen || m.closed || !m.open {
			if msg.cancel != nil {
				msg.cancel()
			}
			return nil
		}
		m.cancel, m.ch, m.err = msg.cancel, msg.ch, msg.err
		if msg.err != nil {
			return nil
		}
		return readCmd(msg.gen, msg.ch)
	case linesMsg:
		if msg.gen != m.gen || !m.open {
			return nil
		}
		m.add(msg.lines)
		if msg.closed {
			m.ended = true
			return nil
		}
		return readCmd(msg.gen, m.ch)
	case SavedMsg:
		if msg.Err != nil {
			return common.ToastCmd(common.Error, "cannot save the lines: "+msg.Err.Error())
		}
		return common.ToastCmd(common.Success, fmt.Sprintf("saved %s lines to %s", thousands(msg.Lines), msg.Path))
	case common.GotoMsg:
		if msg.Pane != common.LogsPane {
			return nil
		}
		return m.goTo(msg.Target)
	case common.ThemeChangedMsg:
		m.r.invalidate()
	case tea.KeyPressMsg:
		return m.key(msg)
	}
	return nil
}

// readCmd reads the next batch of ch: it waits for a line, then gathers
// what comes within a frame.
func readCmd(gen int, ch <-chan oplogs.Line) tea.Cmd {
	return func() tea.Msg {
		l, ok := <-ch
		if !ok {
			return linesMsg{gen: gen, closed: true}
		}
		lines := make([]oplogs.Line, 1, 64)
		lines[0] = l
		timer := time.NewTimer(frameTime)
		defer timer.Stop()
		for len(lines) < maxBatch {
			select {
			case l, ok := <-ch:
				if !ok {
					return linesMsg{gen: gen, lines: lines, closed: true}
				}
				lines = append(lines, l)
			case <-timer.C:
				return linesMsg{gen: gen, lines: lines}
			}
		}
		return linesMsg{gen: gen, lines: lines}
	}
}

// goTo opens target: "ENV/APP", "ENV/APP/POD" or "ENV/APP/POD/CONTAINER",
// ENV an environment's name or its namespace, then "@TIME" (RFC 3339) for
// the time of the alert it comes from.
func (m *Model) goTo(target string) tea.Cmd {
	t, err := m.parseTarget(target)
	if err != nil {
		return common.ToastCmd(common.Error, err.Error())
	}
	cmd := m.Open(t)
	m.jumped = true
	return cmd
}

// parseTarget reads a GotoMsg's target.
func (m *Model) parseTarget(s string) (Target, error) {
	var at time.Time
	if rest, when, ok := strings.Cut(s, "@"); ok {
		var err error
		if at, err = time.Parse(time.RFC3339, when); err != nil {
			return Target{}, fmt.Errorf("cannot show the logs of %q: the time after @ is not RFC 3339: %v", s, err)
		}
		s = rest
	}
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 4 || slices.Contains(parts, "") {
		return Target{}, fmt.Errorf("cannot show the logs of %q: name a workload as ENV/APP (or ENV/APP/POD, ENV/APP/POD/CONTAINER)", s)
	}
	t := Target{Env: parts[0], App: parts[1], At: at}
	if len(parts) > 2 {
		t.Pod = parts[2]
	}
	if len(parts) > 3 {
		t.Container = parts[3]
	}
	if rel := m.Ctx.Services.Release; rel != nil {
		envs := rel.Envs()
		if !slices.ContainsFunc(envs, func(e release.Env) bool { return e.Name == t.Env }) {
			for _, e := range envs {
				if e.Namespace == t.Env {
					t.Env = e.Name
					break
				}
			}
		}
	}
	return t, nil
}

// Open shows t's lines, following them: the follow of what was open ends
// and its lines are released first.
func (m *Model) Open(t Target) tea.Cmd {
	m.closeView()
	m.target, m.open, m.jumped = t, true, false
	return m.start()
}

// start follows the open target with the view's options, in a new buffer
// generation.
func (m *Model) start() tea.Cmd {
	m.stop()
	m.gen++
	gen, svc, base := m.gen, m.svc, m.Ctx.Base
	if m.buf == nil {
		m.buf = svc.NewBuffer()
		m.errs = newBits(m.buf.Cap())
	}
	q := oplogs.Query{Env: m.target.Env, App: m.target.App, Pod: m.target.Pod, Container: m.target.Container,
		Since: m.since, Previous: m.previous,
		// The previous container's log is whole: read once, not followed.
		Follow: !m.previous}
	return func() tea.Msg {
		ctx, cancel := context.WithCancel(base)
		ch, err := svc.Follow(ctx, q)
		if err != nil {
			cancel()
			return followMsg{gen: gen, err: err}
		}
		return followMsg{gen: gen, ch: ch, cancel: cancel}
	}
}

// stop ends the follow, and empties the buffer and what the view derived
// from it.
func (m *Model) stop() {
	if m.cancel != nil {
		m.cancel()
		m.cancel = nil
	}
	m.ch = nil
	m.gen++ // a batch on its way is dropped
	if m.buf != nil {
		m.buf.Reset()
	}
	m.shown = nil
	if m.filtered() {
		m.shown = []int64{}
	}
	m.ended, m.err = false, nil
	m.pods, m.containers, m.down = map[string]bool{}, map[string]bool{}, map[string]oplogs.Line{}
	m.tail, m.pos, m.unseen, m.received = m.follow, 0, 0, 0
	m.r.invalidate()
}

// closeView ends the follow and releases the buffer's memory.
func (m *Model) closeView() {
	if !m.open {
		return
	}
	m.stop()
	m.buf, m.errs, m.spare = nil, nil, nil
	m.open, m.jumped = false, false
}

// add appends lines to the buffer, keeps the filter's list of shown lines
// and the scroll position on the same lines as the oldest are dropped,
// and counts what comes unseen.
func (m *Model) add(lines []oplogs.Line) {
	b := m.buf
	m.received += len(lines)
	before := b.Dropped()
	added := 0
	for _, l := range lines {
		b.Append(l)
		seq := b.Dropped() + int64(b.Len()) - 1
		m.errs.set(seq, l.Kind == oplogs.KindLine && IsError(l.Text))
		if m.shown != nil {
			if m.keep(seq, l) {
				m.shown = append(m.shown, seq)
				added++
			}
		} else {
			added++
		}
		m.note(l)
	}
	// Lines dropped from the buffer leave the view.
	gone := int(b.Dropped() - before)
	if m.shown != nil {
		dropped := b.Dropped()
		gone, _ = slices.BinarySearch(m.shown, dropped)
		m.shown = m.shown[gone:]
	}
	m.pos = max(m.pos-gone, 0)
	if !m.tail {
		m.unseen += added
	}
}

// note keeps the followed pods and the streams in trouble.
func (m *Model) note(l oplogs.Line) {
	id := l.Pod + "/" + l.Container
	switch l.Kind {
	case oplogs.KindLine:
		if len(m.down) > 0 {
			delete(m.down, id)
		}
	case oplogs.KindPodAdded:
		m.pods[l.Pod] = true
		delete(m.down, id)
		if !m.containers[l.Container] {
			m.containers[l.Container] = true
			if len(m.containers) == 2 { // prefixes name the container from now on
				m.r.invalidate()
			}
		}
	case oplogs.KindPodGone:
		delete(m.pods, l.Pod)
		delete(m.down, id)
	case oplogs.KindError:
		m.down[id] = l
	}
}

// count is how many lines the view shows (those the filter keeps).
func (m *Model) count() int {
	if m.shown != nil {
		return len(m.shown)
	}
	if m.buf == nil {
		return 0
	}
	return m.buf.Len()
}

// seq is the sequence number of the v-th line shown.
func (m *Model) seq(v int) int64 {
	if m.shown != nil {
		return m.shown[v]
	}
	return m.buf.Dropped() + int64(v)
}

// line is the v-th line shown.
func (m *Model) line(v int) oplogs.Line {
	return m.buf.At(int(m.seq(v) - m.buf.Dropped()))
}

// Lines returns the lines the view shows, oldest first, as plain text.
func (m *Model) Lines() []string {
	out := make([]string, m.count())
	for v := range out {
		out[v] = m.r.plain(m.line(v), m.prefix, m.timestamps, m.Ctx.Now().Location())
	}
	return out
}

// SetFilter keeps the lines that match the regex before " !" (or all when
// it is empty) and not the regex after "!": "error", "!health", "error
// !timeout". A regex that does not compile changes nothing: the view says
// why until the filter is fixed.
func (m *Model) SetFilter(s string) {
	inc, exc := splitFilter(s)
	f, err := oplogs.NewFilter(inc, exc)
	if err != nil {
		m.filterErr = err.Error()
		return
	}
	m.filterErr = ""
	m.filterText, m.filter = s, f
	m.refilter()
}

// splitFilter cuts a filter into its include and exclude regexes.
func splitFilter(s string) (include, exclude string) {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "!"); ok {
		return "", rest
	}
	if i := strings.LastIndex(s, " !"); i >= 0 {
		return strings.TrimSpace(s[:i]), s[i+2:]
	}
	return s, ""
}

// refilter lists the held lines the filter keeps, and keeps the view at
// the bottom or on the line it was on.
func (m *Model) refilter() {
	m.r.invalidate()
	var at int64 = -1
	if !m.tail && m.pos < m.count() {
		at = m.seq(m.pos)
	}
	if m.shown != nil && cap(m.shown) > cap(m.spare) {
		m.spare = m.shown
	}
	if !m.filtered() {
		m.shown = nil
	} else {
		// The last list's memory serves again: toggling a filter on a
		// full buffer allocates nothing.
		m.shown, m.spare = m.spare[:0], nil
		if m.shown == nil {
			m.shown = make([]int64, 0, 64)
		}
		if m.buf != nil {
			d := m.buf.Dropped()
			m.buf.Lines(0, m.buf.Len(), func(i int, l oplogs.Line) bool {
				if m.keep(d+int64(i), l) {
					m.shown = append(m.shown, d+int64(i))
				}
				return true
			})
		}
	}
	if at >= 0 {
		m.pos = m.indexOf(at)
	}
}

// filtered reports whether the view leaves lines out.
func (m *Model) filtered() bool { return m.filterText != "" || m.errorsOnly }

// keep reports whether the view shows l, line seq. Events (pods added or
// gone, errors of the follow) always show.
func (m *Model) keep(seq int64, l oplogs.Line) bool {
	if m.errorsOnly && l.Kind == oplogs.KindLine && !m.errs.get(seq) {
		return false
	}
	return m.filter.Keep(l)
}

// bits says, for each line the buffer holds, whether IsError says it is
// an error, by sequence number modulo the buffer's capacity: worked out
// once as a line comes, so the errors key filters a full buffer in
// microseconds.
type bits []uint64

func newBits(n int) bits { return make(bits, (n+63)/64) }

func (b bits) set(seq int64, on bool) {
	if len(b) == 0 {
		return
	}
	i := uint64(seq) % uint64(len(b)*64)
	if on {
		b[i/64] |= 1 << (i % 64)
	} else {
		b[i/64] &^= 1 << (i % 64)
	}
}

func (b bits) get(seq int64) bool {
	if len(b) == 0 {
		return false
	}
	i := uint64(seq) % uint64(len(b)*64)
	return b[i/64]&(1<<(i%64)) != 0
}

// indexOf is the index among the shown lines of the first at or after seq.
func (m *Model) indexOf(seq int64) int {
	if m.shown != nil {
		i, _ := slices.BinarySearch(m.shown, seq)
		return i
	}
	return max(int(seq-m.buf.Dropped()), 0)
}

// Filter is the filter in use.
func (m *Model) Filter() string { return m.filterText }

// FilterHint is the filter's syntax, shown in the empty filter bar.
func (m *Model) FilterHint() string {
	return `regex to keep (highlighted) · !regex to hide · both: RE !RE`
}

// highlight is the regex whose matches are marked: the include, else
// the error words when only errors show.
func (m *Model) highlight() *regexp.Regexp {
	if m.filter.Include == nil && m.errorsOnly {
		return errorsHighlight
	}
	return m.filter.Include
}

// SetSize sets the cells the pane draws in.
func (m *Model) SetSize(width, height int) {
	if m.Resize(width, height) {
		m.r.invalidate()
	}
}

func (m *Model) key(k tea.KeyPressMsg) tea.Cmd {
	if ok, cmd := m.PromptKey(k, m.keys.Submit, m.keys.Cancel); ok {
		return cmd
	}
	if key.Matches(k, m.keys.Back.Binding) {
		if !m.open {
			return nil
		}
		jumped := m.jumped
		m.closeView()
		if jumped {
			return common.Back
		}
		return nil
	}
	if !m.open {
		return nil
	}
	if m.scroll(k) {
		return nil
	}
	cmd, _ := common.Handle(k, m.Bindings()...)
	return cmd
}

// scroll moves the view for the navigation keys, and reports whether k
// was one. Reaching the newest lines while following follows them again.
func (m *Model) scroll(k tea.KeyPressMsg) bool {
	n, rows := m.count(), m.bodyRows()
	to, ok := m.keys.Nav().Move(k, m.first(rows), n, rows)
	if !ok {
		return false
	}
	if to >= m.tailStart(rows) {
		m.toBottom(rows)
		return true
	}
	m.tail, m.pos = false, to
	return true
}

// toBottom shows the newest lines; following, it follows them again.
func (m *Model) toBottom(rows int) {
	m.unseen = 0
	if m.follow {
		m.tail = true
		return
	}
	m.tail, m.pos = false, m.tailStart(rows)
}

// first is the index of the first line drawn in rows rows.
func (m *Model) first(rows int) int {
	if m.tail {
		return m.tailStart(rows)
	}
	return min(m.pos, max(m.count()-1, 0))
}

// tailStart is the first line drawn when the last line ends the view.
func (m *Model) tailStart(rows int) int {
	n := m.count()
	if !m.wrap {
		return max(n-rows, 0)
	}
	used := 0
	for v := n - 1; v >= 0; v-- {
		used += m.r.height(m, v)
		if used > rows {
			return min(v+1, n-1) // the last line, however tall
		}
	}
	return 0
}

// bind gives the bindings their handlers.
func (m *Model) bind() {
	k := m.keys
	k.Follow.Do = func() tea.Cmd {
		rows := m.bodyRows()
		if m.follow {
			m.pos, m.tail, m.follow = m.first(rows), false, false
			return nil
		}
		m.follow = true
		m.toBottom(rows)
		return nil
	}
	toggle := func(b *bool) func() tea.Cmd {
		return func() tea.Cmd {
			*b = !*b
			m.r.invalidate()
			return nil
		}
	}
	k.Wrap.Do = toggle(&m.wrap)
	k.Prefix.Do = toggle(&m.prefix)
	k.Timestamps.Do = toggle(&m.timestamps)
	k.Previous.Do = func() tea.Cmd {
		m.previous = !m.previous
		return m.start()
	}
	k.Since.Do = func() tea.Cmd {
		now := "the default, " + components.Age(m.svc.Since())
		if m.since > 0 {
			now = components.Age(m.since)
		}
		return m.Ask("since (e.g. 5m, 2h; empty: "+components.Age(m.svc.Since())+"): ", "now "+now, "", false, func(v string) tea.Cmd {
			v = strings.TrimSpace(v)
			d := time.Duration(0)
			if v != "" {
				var err error
				if d, err = time.ParseDuration(v); err != nil || d <= 0 {
					return common.ToastCmd(common.Error, fmt.Sprintf("%q is not a duration: type e.g. 30s, 5m or 2h", v))
				}
			}
			m.since = d
			return m.start()
		})
	}
	k.Errors.Do = func() tea.Cmd {
		m.errorsOnly = !m.errorsOnly
		m.refilter()
		return nil
	}
	k.Save.Do = m.save
	k.Copy.Do = m.copyShown
	k.AlertTime.Do = m.toAlertTime
}

// toAlertTime pauses the view on the first line shown at or after the
// time of the alert the view was opened from.
func (m *Model) toAlertTime() tea.Cmd {
	at := m.target.At
	if at.IsZero() {
		return common.ToastCmd(common.Info, "no alert time: these logs were not opened from an alert")
	}
	loc := m.Ctx.Now().Location()
	if m.count() == 0 {
		return common.ToastCmd(common.Info, "no line yet to find the alert's time "+at.In(loc).Format(time.TimeOnly)+" in")
	}
	i := m.buf.Search(at)
	v := m.indexOf(m.buf.Dropped() + int64(i))
	if v >= m.count() {
		return common.ToastCmd(common.Info, "no line at or after the alert's time "+at.In(loc).Format(time.TimeOnly)+" yet")
	}
	m.follow, m.tail, m.pos = false, false, v
	if first := m.buf.At(0); i == 0 && first.Time.After(at) {
		return common.ToastCmd(common.Info, "the alert began at "+at.In(loc).Format(time.TimeOnly)+", before the oldest line held: "+
			m.keys.Since.Help().Key+" reads further back")
	}
	return nil
}
