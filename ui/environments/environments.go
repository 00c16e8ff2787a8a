// Package environments is the Environments pane: the release matrix, apps ×
// environments, with versions, replica counts, health and drift; and
// promotion of a cell to the next environment, through a preview and the
// confirm dialog.
package environments

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
)

// ActionTimeout bounds one promotion, its hook included, or one freeze.
const ActionTimeout = 5 * time.Minute

// MatrixMsg carries a new snapshot of the matrix.
type MatrixMsg struct{ Matrix *release.Matrix }

// PromotedMsg is the outcome of a promotion.
type PromotedMsg struct {
	Plan release.PromotePlan
	Err  error
}

// FreezeMsg is the outcome of a freeze or an unfreeze.
type FreezeMsg struct {
	Env    string
	Frozen bool // the freeze was set, rather than lifted
	Err    error
}

// cachedRow is a rendered row and what it was rendered from.
type cachedRow struct {
	cells *release.Cell // the row's Cells array: a rebuilt row has a new one
	text  string
}

// Model is the Environments pane.
type Model struct {
	components.Base
	svc  *release.Service
	keys KeyMap

	matrix *release.Matrix
	health common.HealthMsg // the last health sent to the status bar

	filterText string
	words      []string
	visible    []int             // indexes into matrix.Rows that pass the filter
	list       components.Cursor // over visible
	col        int               // environment index of the cursor
	drift      int               // cells with drift, for the status
	empty      []bool            // by environment: connected, and no app in it

	lay  layout
	rows map[string]cachedRow // by app, for the current width, columns and theme

	showClaims bool        // the storage view is open (claims.go)
	claims     []claimLine // its lines, built when the matrix changes
	claimsOff  int
}

// New returns the pane over the release service svc.
func New(ctx *common.Context, svc *release.Service, keys KeyMap) *Model {
	m := &Model{Base: components.NewBase(ctx, "Environments", keys), svc: svc, keys: keys, rows: map[string]cachedRow{}}
	m.bind()
	return m
}

// Init subscribes to the matrix's changes.
func (m *Model) Init() tea.Cmd {
	svc := m.svc
	changes, cancel := svc.Subscribe()
	return m.Subscribe(changes, cancel, func() tea.Msg { return MatrixMsg{Matrix: svc.Matrix()} })
}

// Update handles the matrix's messages and the pane's keys.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case MatrixMsg:
		return tea.Batch(m.SetMatrix(msg.Matrix), m.Wait())
	case PromotedMsg:
		return promotedToast(msg)
	case FreezeMsg:
		return freezeToast(msg)
	case PreparePlannedMsg:
		return m.prepareCmd(msg)
	case PreparedMsg:
		return preparedToast(msg)
	case common.ThemeChangedMsg:
		clear(m.rows)
	case tea.KeyPressMsg:
		return m.key(msg)
	}
	return nil
}

// SetMatrix shows mat, keeping the cursor on the app it was on, and
// returns the status bar's health message when the clusters' state changed.
func (m *Model) SetMatrix(mat *release.Matrix) tea.Cmd {
	if mat == nil {
		return nil
	}
	app := ""
	if r, ok := m.Selected(); ok {
		app = r.App
	}
	if m.matrix == nil || len(m.matrix.Envs) != len(mat.Envs) {
		clear(m.rows)
	}
	m.matrix = mat
	m.lay = columns(m.Width, mat)
	m.refilter()
	if app != "" {
		for i, r := range m.visible {
			if mat.Rows[r].App == app {
				m.list.Pos = i
				break
			}
		}
	}
	empty := emptyEnvs(mat)
	if !slices.Equal(empty, m.empty) {
		clear(m.rows)
	}
	m.empty = empty
	m.drift = 0
	for _, r := range mat.Rows {
		for _, c := range r.Cells {
			if c.Drift {
				m.drift++
			}
		}
	}
	m.clamp()
	if m.showClaims {
		m.buildClaims()
	}
	return m.healthCmd()
}

// emptyEnvs tells, by environment, those whose cluster answers and that
// hold no app: their namespace is absent or empty, and may be prepared.
func emptyEnvs(mat *release.Matrix) []bool {
	out := make([]bool, len(mat.Envs))
	for i, e := range mat.Envs {
		out[i] = e.Conn.Connected
	}
	for _, r := range mat.Rows {
		for i, c := range r.Cells {
			if c.Workload != nil && i < len(out) {
				out[i] = false
			}
		}
	}
	return out
}

// healthCmd reports the Kubernetes contexts' connection to the status bar
// when it changed: ok when all are connected, degraded when some are not,
// down when none is.
func (m *Model) healthCmd() tea.Cmd {
	seen := map[string]bool{}
	var down []release.Conn
	total := 0
	for _, e := range m.matrix.Envs {
		if seen[e.Conn.Context] {
			continue
		}
		seen[e.Conn.Context] = true
		total++
		if !e.Conn.Connected {
			down = append(down, e.Conn)
		}
	}
	h := common.HealthMsg{Name: "kubernetes", State: common.Healthy}
	if len(down) > 0 {
		h.State = common.Degraded
		if len(down) == total {
			h.State = common.Down
		}
		msgs := make([]string, len(down))
		for i, c := range down {
			msgs[i] = components.ConnText(c, m.Ctx.Now())
			if !c.LastData.IsZero() && (h.Since.IsZero() || c.LastData.Before(h.Since)) {
				h.Since = c.LastData
			}
		}
		h.Err = errors.New(strings.Join(msgs, "; "))
	}
	if h.State == m.health.State && errText(h.Err) == errText(m.health.Err) {
		return nil
	}
	if h.Since.IsZero() { // healthy, or never connected
		h.Since = m.Ctx.Now()
	}
	m.health = h
	return func() tea.Msg { return h }
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// SetFilter keeps the apps whose name, or a version in some environment,
// contains every word of s (any case).
func (m *Model) SetFilter(s string) {
	m.filterText = s
	m.words = strings.Fields(strings.ToLower(s))
	m.list.Pos, m.list.Offset = 0, 0
	m.refilter()
	m.clamp()
}

// Filter is the current filter text.
func (m *Model) Filter() string { return m.filterText }

// FilterHint is the filter's syntax, shown in the empty filter bar.
func (m *Model) FilterHint() string { return `words of an app name or version` }

func (m *Model) refilter() {
	m.visible = m.visible[:0]
	if m.matrix == nil {
		return
	}
	for i := range m.matrix.Rows {
		if m.match(&m.matrix.Rows[i]) {
			m.visible = append(m.visible, i)
		}
	}
}

func (m *Model) match(r *release.Row) bool {
	for _, w := range m.words {
		found := strings.Contains(strings.ToLower(r.App), w)
		for _, c := range r.Cells {
			found = found || strings.Contains(strings.ToLower(c.Version), w)
		}
		if !found {
			return false
		}
	}
	return true
}

// Selected returns the row under the cursor.
func (m *Model) Selected() (*release.Row, bool) {
	if m.matrix == nil || len(m.visible) == 0 {
		return nil, false
	}
	return &m.matrix.Rows[m.visible[m.list.Pos]], true
}

// Cell returns the app and environment under the cursor.
func (m *Model) Cell() (app, env string, ok bool) {
	r, ok := m.Selected()
	if !ok || m.col >= len(r.Cells) {
		return "", "", false
	}
	return r.App, r.Cells[m.col].Env, true
}

func (m *Model) listHeight() int { return max(m.Height-1-m.noticeLines()-m.footerLines(), 1) }

func (m *Model) key(k tea.KeyPressMsg) tea.Cmd {
	if m.showClaims {
		return m.claimsKey(k)
	}
	envs := 0
	if m.matrix != nil {
		envs = len(m.matrix.Envs)
	}
	if pos, ok := m.keys.Nav().Move(k, m.list.Pos, len(m.visible), m.listHeight()); ok {
		m.list.Pos = pos
		m.clamp()
		return nil
	}
	switch {
	case key.Matches(k, m.keys.Right.Binding):
		m.col = min(m.col+1, max(envs-1, 0))
	case key.Matches(k, m.keys.Left.Binding):
		m.col = max(m.col-1, 0)
	case key.Matches(k, m.keys.Back.Binding):
		if m.filterText != "" {
			m.SetFilter("")
		}
	default:
		cmd, _ := common.Handle(k, m.Bindings()...)
		return cmd
	}
	m.clamp()
	return nil
}

// bind gives the action bindings their handlers.
func (m *Model) bind() {
	k := m.keys
	k.Detail.Do = m.onCell(func(app, env string) tea.Cmd {
		return func() tea.Msg { return common.GotoMsg{Pane: common.RolloutsPane, Target: env + "/" + app} }
	})
	k.Logs.Do = m.onCell(func(app, env string) tea.Cmd {
		return func() tea.Msg { return common.GotoMsg{Pane: common.LogsPane, Target: env + "/" + app} }
	})
	k.Promote.Do = m.onCell(func(app, env string) tea.Cmd {
		next, err := m.svc.Next(env)
		if err != nil {
			return common.ToastCmd(common.Error, err.Error())
		}
		return m.PromoteCmd(app, env, next.Name)
	})
	k.Claims.Do = m.toggleClaims
	k.Prepare.Do = func() tea.Cmd {
		if m.matrix == nil || len(m.matrix.Envs) == 0 {
			return nil
		}
		return m.PrepareCmd(m.matrix.Envs[m.col].Name)
	}
}

// onCell is a handler acting on the cell under the cursor, if any.
func (m *Model) onCell(act func(app, env string) tea.Cmd) func() tea.Cmd {
	return func() tea.Cmd {
		if app, env, ok := m.Cell(); ok {
			return act(app, env)
		}
		return nil
	}
}

// PromoteCmd previews the promotion of app from from ("" for the
// environment before to) into to, and asks to confirm it; a protected
// environment asks for its name to be typed. A freeze known from the cache
// refuses at once. A session that may not act skips the dialog: ops refuses
// and journals the attempt.
func (m *Model) PromoteCmd(app, from, to string) tea.Cmd { return m.promoteRevision(app, from, to, 0) }

// promoteRevision is PromoteCmd for revision of the source (0: what it
// runs now).
func (m *Model) promoteRevision(app, from, to string, revision int64) tea.Cmd {
	actor := m.Ctx.Actor
	plan, err := m.svc.PlanPromoteRevision(actor, app, from, to, revision)
	if err != nil {
		return common.ToastCmd(common.Error, "cannot promote: "+err.Error())
	}
	if plan.Frozen != nil {
		return common.ToastCmd(common.Error, "refused: "+(&release.FrozenError{Env: to, Freeze: *plan.Frozen}).Error())
	}
	if !plan.Changes() {
		return common.ToastCmd(common.Info, fmt.Sprintf("%s in %s already runs the images of %s: nothing to promote", app, plan.To.Name, plan.From.Name))
	}
	svc, base := m.svc, m.Ctx.Base
	run := func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, ActionTimeout)
		defer cancel()
		return PromotedMsg{Plan: plan, Err: svc.Promote(ctx, actor, plan)}
	}
	// A session that may not act, and a source the config refuses to
	// promote from, go straight to ops, which refuses and journals it.
	if !m.Ctx.MayAct() || svc.CheckSource(plan) != nil {
		return run
	}
	c := plan.Confirmation()
	req := common.ConfirmMsg{Title: c.Title, Body: Preview(plan), TypeName: c.TypeName, OnYes: run}
	if w := plan.SourceWarning(); w != "" {
		// An unhealthy source is confirmed a second time, on its own.
		req.OnYes = nil
		req.Then = &common.ConfirmMsg{
			Title: fmt.Sprintf("%s/%s is %s: promote it to %s anyway?", plan.From.Name, app, plan.Source.Health, plan.To.Name),
			Body:  "⚠ " + strings.TrimSuffix(w, ".") + ".\nThe promotion copies its images as they are.",
			OnYes: run,
		}
	}
	return func() tea.Msg { return req }
}

// Preview says exactly what plan changes, one line per container.
func Preview(plan release.PromotePlan) string {
	var b strings.Builder
	for _, c := range plan.Images {
		kind := "container"
		if c.Init {
			kind = "init container"
		}
		if c.Changed() {
			fmt.Fprintf(&b, "%s %s: %s → %s\n", kind, c.Container, c.From, c.To)
		} else {
			fmt.Fprintf(&b, "%s %s: %s (unchanged)\n", kind, c.Container, c.From)
		}
	}
	if plan.Hook != "" {
		fmt.Fprintf(&b, "first, job template %s runs in %s and must succeed\n", plan.Hook, plan.To.Name)
	}
	fmt.Fprintf(&b, "annotations: %s=%s, %s=%s", release.AnnotationPromotedFrom, plan.From.Name, release.AnnotationPromotedBy, plan.Annotations[release.AnnotationPromotedBy])
	if plan.To.Protected {
		b.WriteString("\n" + plan.To.Name + " is protected.")
	}
	if w := plan.SourceWarning(); w != "" {
		b.WriteString("\n⚠ " + strings.TrimSuffix(w, ".") + ".")
	}
	return b.String()
}

func promotedToast(msg PromotedMsg) tea.Cmd {
	p := msg.Plan
	switch {
	case msg.Err == nil:
		return common.ToastCmd(common.Success, fmt.Sprintf("promoted %s to %s: the rollout is under way (enter shows it)", p.App, p.To.Name))
	case access.IsRefusal(msg.Err):
		return common.ToastCmd(common.Error, "refused: "+msg.Err.Error())
	}
	return common.ToastCmd(common.Error, fmt.Sprintf("promoting %s to %s failed: %v", p.App, p.To.Name, msg.Err))
}

func freezeToast(msg FreezeMsg) tea.Cmd {
	what := "unfroze " + msg.Env
	if msg.Frozen {
		what = "froze " + msg.Env
	}
	switch {
	case msg.Err == nil:
		return common.ToastCmd(common.Success, what)
	case access.IsRefusal(msg.Err):
		return common.ToastCmd(common.Error, "refused: "+msg.Err.Error())
	}
	return common.ToastCmd(common.Error, "could not "+strings.Replace(what, "froze", "freeze", 1)+": "+msg.Err.Error())
}

// clamp keeps the cursor on a row and the offset showing it.
func (m *Model) clamp() {
	if m.matrix != nil {
		m.col = max(min(m.col, len(m.matrix.Envs)-1), 0)
	}
	m.list.Clamp(len(m.visible), m.listHeight())
	if lay := m.lay; lay.shown > 0 {
		first := lay.first
		if m.col < first {
			first = m.col
		}
		if m.col >= first+lay.shown {
			first = m.col - lay.shown + 1
		}
		if first != lay.first {
			m.lay.first = first
			clear(m.rows)
		}
	}
}

// SetSize sets the cells the pane draws in.
func (m *Model) SetSize(width, height int) {
	if m.Resize(width, height) {
		clear(m.rows)
		m.lay = columns(width, m.matrix)
	}
	m.clamp()
}

// Status summarises the pane for its frame title.
func (m *Model) Status() string {
	if m.matrix == nil {
		return ""
	}
	s := fmt.Sprintf("%d apps · %d environments", len(m.matrix.Rows), len(m.matrix.Envs))
	if m.drift > 0 {
		s += fmt.Sprintf(" · %d drift", m.drift)
	}
	if m.filterText != "" {
		s = fmt.Sprintf("%d of %d apps · filter %s", len(m.visible), len(m.matrix.Rows), m.filterText)
	}
	// The cell under the cursor, whole: the matrix may cut its version.
	if r, ok := m.Selected(); ok && m.col < len(r.Cells) && r.Cells[m.col].Workload != nil {
		c := &r.Cells[m.col]
		s += " · " + c.Env + "/" + r.App + " " + c.Version + cellTail(c)
		if Urgent(c.Health) && c.Reason != "" {
			s += " · " + c.Reason
		}
		if c.Drift {
			s += " ◂ drift from " + c.DriftFrom
		}
	}
	return s
}
