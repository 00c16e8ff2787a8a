package logs

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	oplogs "github.com/vigilops/vigil/ops/logs"
	"github.com/vigilops/vigil/ui/components"
)

// timeFormat is a line's time in the view and in a saved excerpt.
const timeFormat = "15:04:05.000"

// renderer draws lines into rows, and keeps the rows of the lines drawn
// in the last frame: a paused view, or one whose lines did not move, is
// drawn again without rendering them again.
type renderer struct {
	cache, next map[int64][]string // by sequence number: last frame's, this frame's
	inFrame     bool
	prefixes    map[string]string // rendered "pod container " prefixes
}

func (r *renderer) init() {
	r.cache, r.next, r.prefixes = map[int64][]string{}, map[int64][]string{}, map[string]string{}
}

// invalidate forgets every rendered row: the width, a toggle, the filter
// or the theme changed.
func (r *renderer) invalidate() {
	clear(r.cache)
	clear(r.next)
	clear(r.prefixes)
}

// rows returns the rows of the v-th line shown.
func (r *renderer) rows(m *Model, v int) []string {
	s := m.seq(v)
	if rs, ok := r.next[s]; ok {
		return rs
	}
	rs, ok := r.cache[s]
	if !ok {
		rs = m.render(m.line(v))
	}
	if r.inFrame {
		r.next[s] = rs
	} else {
		r.cache[s] = rs
	}
	return rs
}

// height is how many rows the v-th line shown takes.
func (r *renderer) height(m *Model, v int) int { return len(r.rows(m, v)) }

// endFrame keeps the rows of the lines just drawn, and only those.
func (r *renderer) endFrame() {
	r.cache, r.next = r.next, r.cache
	clear(r.next)
	r.inFrame = false
}

// podStyle is pod's colour: the one its name hashes to, as stern's, so a
// pod keeps its colour across views.
func (m *Model) podStyle(pod string) lipgloss.Style {
	ps := m.Ctx.Styles.Pods
	h := fnv.New32a()
	h.Write([]byte(pod))
	return ps[h.Sum32()%uint32(len(ps))]
}

// fullNames is the width from which the prefix names pods in full;
// narrower, a workload's pod goes by its own suffix (api-7669c8588-bl6q8
// is bl6q8), its colour telling it apart as well.
const fullNames = 110

// prefixOf is the rendered "pod container " of l; the container only
// when the pods have several.
func (m *Model) prefixOf(l oplogs.Line) string {
	k := l.Pod + "\x00" + l.Container
	if p, ok := m.r.prefixes[k]; ok {
		return p
	}
	name := l.Pod
	if i := strings.LastIndexByte(name, '-'); m.Width < fullNames && i > 0 && strings.HasPrefix(name, m.target.App+"-") {
		name = name[i+1:]
	}
	p := m.podStyle(l.Pod).Render(name) + " "
	if len(m.containers) > 1 {
		p += m.Ctx.Styles.Muted.Render(l.Container) + " "
	}
	m.r.prefixes[k] = p
	return p
}

// render draws l in the pane's width: cut, or wrapped into rows.
func (m *Model) render(l oplogs.Line) []string {
	st := m.Ctx.Styles
	var b strings.Builder
	switch l.Kind {
	case oplogs.KindLine:
		if m.prefix {
			b.WriteString(m.prefixOf(l))
		}
		if m.timestamps && !l.Time.IsZero() {
			b.WriteString(st.Muted.Render(l.Time.In(m.Ctx.Now().Location()).Format(timeFormat)))
			b.WriteByte(' ')
		}
		m.writeText(&b, clean(m.cut(l.Text)))
	case oplogs.KindPodAdded:
		b.WriteString(st.StatusOK.Render("+") + " " + m.podStyle(l.Pod).Render(l.Pod) + " › " + l.Container)
	case oplogs.KindPodGone:
		b.WriteString(st.StatusCrit.Render("-") + " " + m.podStyle(l.Pod).Render(l.Pod) + " › " + l.Container + " " + st.Muted.Render("(deleted: its log ends here)"))
	case oplogs.KindError:
		b.WriteString(st.StatusCrit.Render("! " + clean(l.Text)))
	}
	s := b.String()
	w := max(m.Width, 1)
	if !m.wrap {
		return []string{ansi.Truncate(s, w, "…")}
	}
	return strings.Split(ansi.Hardwrap(s, w, true), "\n")
}

// maxWrapped bounds the text of one line drawn wrapped: a 1 MB line of
// JSON would otherwise take thousands of rows (saved excerpts keep it whole).
const maxWrapped = 16 << 10

// cut keeps of text what can be drawn: a row's worth when lines are cut
// (four bytes a cell at most), maxWrapped when they wrap.
func (m *Model) cut(text string) string {
	limit := 4*max(m.Width, 1) + 16
	if m.wrap {
		limit = maxWrapped
	}
	if len(text) <= limit {
		return text
	}
	i := limit
	for i > 0 && !utf8.RuneStart(text[i]) {
		i--
	}
	if m.wrap {
		return text[:i] + fmt.Sprintf("… (%s bytes more)", thousands(len(text)-i))
	}
	return text[:i]
}

// writeText writes text with the filter's matches marked.
func (m *Model) writeText(b *strings.Builder, text string) {
	re := m.highlight()
	if re == nil {
		b.WriteString(text)
		return
	}
	at := 0
	for _, loc := range re.FindAllStringIndex(text, -1) {
		if loc[1] == loc[0] {
			continue
		}
		b.WriteString(text[at:loc[0]])
		b.WriteString(m.Ctx.Styles.Match.Render(text[loc[0]:loc[1]]))
		at = loc[1]
	}
	b.WriteString(text[at:])
}

// plain is l as a saved excerpt holds it: as drawn, without colour.
func (r *renderer) plain(l oplogs.Line, prefix, timestamps bool, loc *time.Location) string {
	switch l.Kind {
	case oplogs.KindPodAdded:
		return "+ " + l.Pod + " › " + l.Container
	case oplogs.KindPodGone:
		return "- " + l.Pod + " › " + l.Container + " (deleted: its log ends here)"
	case oplogs.KindError:
		return "! " + l.Text
	}
	var b strings.Builder
	if prefix {
		b.WriteString(l.Pod + " " + l.Container + " ")
	}
	if timestamps && !l.Time.IsZero() {
		b.WriteString(l.Time.In(loc).Format(timeFormat) + " ")
	}
	b.WriteString(l.Text)
	return b.String()
}

// clean makes a container's text safe to draw: tabs become spaces, other
// control characters (escape sequences of the container's own) a dot.
func clean(s string) string {
	ok := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\t':
			b.WriteString("    ")
		case r < 0x20 || r == 0x7f:
			b.WriteByte('.')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// headLines are the lines above the log: what is followed and how, and
// what is wrong.
func (m *Model) headLines() []string {
	st := m.Ctx.Styles
	w := m.Width
	out := []string{m.header()}
	if m.err != nil {
		out = append(out, ansi.Truncate(st.StatusCrit.Render("cannot follow "+m.target.String()+": "+m.err.Error()), w, "…"))
	}
	if len(m.down) > 0 {
		// The newest error says when the data stopped; the source retries.
		var last oplogs.Line
		for _, l := range m.down {
			if l.Time.After(last.Time) || last.Text == "" {
				last = l
			}
		}
		text := "✖ " + last.Text
		if n := len(m.down); n > 1 {
			text += fmt.Sprintf(" (and %d more streams)", n-1)
		}
		out = append(out, ansi.Truncate(st.StatusCrit.Render(text), w, "…"))
	}
	return out
}

// footLines are the lines below the log: a filter that does not compile,
// next to the filter bar.
func (m *Model) footLines() []string {
	if m.filterErr == "" {
		return nil
	}
	msg := m.filterErr + ": the filter is unchanged"
	rows := strings.Split(lipgloss.Wrap(msg, max(m.Width, 1), " "), "\n")
	rows = rows[:min(len(rows), 2, max(m.Height-2, 1))]
	for i, r := range rows {
		rows[i] = m.Ctx.Styles.StatusCrit.Render(r)
	}
	return rows
}

// header says what is followed, how, and whether new lines scroll in.
func (m *Model) header() string {
	st := m.Ctx.Styles
	since := m.since
	if since == 0 {
		since = m.svc.Since()
	}
	parts := []string{m.target.String(), plural(len(m.pods), "pod")}
	if m.previous {
		parts = append(parts, "previous containers")
	} else {
		parts = append(parts, "since "+components.Age(since))
	}
	if m.filtered() {
		var f []string
		if m.filterText != "" {
			f = append(f, "/"+m.filterText)
		}
		if m.errorsOnly {
			f = append(f, "errors")
		}
		parts = append(parts, fmt.Sprintf("%s %s of %s", strings.Join(f, " "), thousands(m.count()), thousands(m.buf.Len())))
	}
	if !m.target.At.IsZero() {
		parts = append(parts, "alert "+m.target.At.In(m.Ctx.Now().Location()).Format(time.TimeOnly)+" ("+m.keys.AlertTime.Help().Key+")")
	}
	left := strings.Join(parts, " · ")
	var right string
	switch {
	case m.err != nil:
		right = st.StatusCrit.Render("■ stopped")
	case m.ended:
		right = st.Muted.Render("■ ended")
	case m.follow && m.tail:
		right = st.StatusOK.Render("● following")
	case !m.follow:
		right = st.StatusWarn.Render(fmt.Sprintf("‖ paused · %s new (%s)", thousands(m.unseen), m.keys.Follow.Help().Key))
	default:
		right = st.StatusWarn.Render(fmt.Sprintf("↑ %s new (%s)", thousands(m.unseen), m.keys.Bottom.Help().Key))
	}
	rw := ansi.StringWidth(right)
	left = ansi.Truncate(left, max(m.Width-rw-1, 0), "…")
	gap := max(m.Width-ansi.StringWidth(left)-rw, 1)
	return ansi.Truncate(st.Muted.Render(left)+strings.Repeat(" ", gap)+right, m.Width, "")
}

// bodyRows is how many rows the lines have.
func (m *Model) bodyRows() int {
	if !m.open {
		return 0
	}
	return max(m.Height-len(m.headLines())-len(m.footLines())-len(m.PromptLines()), 1)
}

// Status is the buffer's fill and the lines it dropped.
func (m *Model) Status() string {
	if !m.open || m.buf == nil {
		return ""
	}
	return fmt.Sprintf("%s/%s lines · %s dropped", thousands(m.buf.Len()), thousands(m.buf.Cap()), thousands(int(m.buf.Dropped())))
}

// View draws the header and the lines that fit, the newest at the bottom
// when following.
func (m *Model) View() string {
	if m.Width <= 0 || m.Height <= 0 {
		return ""
	}
	st := m.Ctx.Styles
	if !m.open {
		msg := "No logs open. Press l on a workload in Rollouts or on an alert in Alerts, or L on a cell of Environments, to follow its pods' logs here."
		return strings.Join(m.WithPrompt(strings.Split(st.Muted.Render(lipgloss.Wrap(msg, m.Width, " ")), "\n")), "\n")
	}
	lines := m.headLines()
	foot := m.footLines()
	rows := max(m.Height-len(lines)-len(foot)-len(m.PromptLines()), 1)
	n := m.count()
	if n == 0 {
		msg := "Waiting for lines of " + m.target.String() + "…"
		switch {
		case m.err != nil:
			msg = ""
		case m.ended:
			msg = "No line in that window."
		case m.filtered() && m.buf.Len() > 0:
			msg = "No line matches the filter."
		}
		lines = append(lines, st.Muted.Render(msg))
		return strings.Join(m.WithPrompt(m.footer(lines, foot)), "\n")
	}
	m.r.inFrame = true
	if m.tail {
		// From the newest up: a line taller than the view shows its end.
		body := make([]string, rows)
		at := rows
		for v := n - 1; v >= 0 && at > 0; v-- {
			rs := m.r.rows(m, v)
			if len(rs) > at {
				rs = rs[len(rs)-at:]
			}
			at -= len(rs)
			copy(body[at:], rs)
		}
		lines = append(lines, body[at:]...)
	} else {
		for v := m.first(rows); v < n && rows > 0; v++ {
			rs := m.r.rows(m, v)
			if len(rs) > rows {
				rs = rs[:rows]
			}
			lines = append(lines, rs...)
			rows -= len(rs)
		}
	}
	m.r.endFrame()
	return strings.Join(m.WithPrompt(m.footer(lines, foot)), "\n")
}

// footer puts foot on the last rows of the pane, above the prompt.
func (m *Model) footer(lines, foot []string) []string {
	if len(foot) == 0 {
		return lines
	}
	for len(lines) < m.Height-len(foot)-len(m.PromptLines()) {
		lines = append(lines, "")
	}
	return append(lines, foot...)
}

// thousands writes n with a comma every three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 || len(s) <= 3 {
		return s
	}
	var b strings.Builder
	pre := len(s) % 3
	if pre > 0 {
		b.WriteString(s[:pre])
	}
	for i := pre; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// Legend explains the marks of the view, for help.
func (m *Model) Legend() []string {
	return []string{
		"+ pod › container   a stream followed (a pod started, or was there)",
		"- pod › container   a deleted pod's stream ended; the others go on",
		"!  a stream failed; ✖ at the top while it has not resumed (it retries by itself)",
		"● following   ‖ paused · N new   ↑ N new: scrolled up, G for the newest",
		"N/M lines · D dropped   the buffer's fill, and the oldest lines it let go",
	}
}
