// Package app is vigil's shell: the root Bubble Tea model that holds the
// panes, the status bar, the command palette, the filter bar, help,
// toasts and confirm dialogs, and routes messages between them.
package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/config"
	"github.com/vigilops/vigil/ops/presence"
	"github.com/vigilops/vigil/themes"
	"github.com/vigilops/vigil/ui/activity"
	"github.com/vigilops/vigil/ui/alerts"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
	"github.com/vigilops/vigil/ui/environments"
	"github.com/vigilops/vigil/ui/inventory"
	"github.com/vigilops/vigil/ui/logs"
	"github.com/vigilops/vigil/ui/monitoring"
	"github.com/vigilops/vigil/ui/rollouts"
	"github.com/vigilops/vigil/ui/runs"
	"github.com/vigilops/vigil/ui/welcome"
)

// Options is what the CLI hands the shell.
type Options struct {
	Config   *config.Config
	Theme    *themes.Theme
	ThemeDir string // user themes ($XDG_CONFIG_HOME/vigil/themes); "" for none
	Actor    access.Actor
	Guard    access.Guard
	Journal  *audit.Journal
	Services *common.Services // shared ops services; nil for none
	Context  context.Context  // the session's; carries its presence under vigil serve
	NoColor  bool             // NO_COLOR: attributes only, no colours
	Now      func() time.Time // the clock; time.Now when nil
	// Notice is said when the console opens (why it is read-only, say).
	Notice string
	// Exec runs a command on the session's terminal (common.Context.Exec):
	// vigil serve's; nil for the local terminal.
	Exec common.ShellFunc
}

// Model is the shell.
type Model struct {
	// The shared journal's health subscription (journalShared).
	journalChanged <-chan struct{}
	journalCancel  func()

	ctx    *common.Context
	keys   GlobalKeys
	notify *notifier

	slots  []slot
	active int
	// jumps are the panes GotoMsgs left, the latest last: a BackMsg
	// returns to the latest. Choosing a pane by key forgets them.
	jumps []int

	reg         *components.Registry
	themeNames  []string // for :theme completion, read once
	palette     *components.Palette
	filter      *components.FilterBar
	toasts      components.Toasts
	confirm     *components.Confirm
	confirmKeys components.ConfirmKeys
	showHelp    bool
	helpOff     int    // the first line of help shown, when it is taller than the screen
	helpBox     string // the help overlay, rendered when opened, scrolled or resized
	helpKeys    HelpKeys
	help        help.Model

	health   map[string]common.HealthMsg
	inFlight []inFlight // confirmed actions waiting for their result, oldest first
	flightID int
	presence presence.Snapshot // the other sessions of vigil serve
	ticking  bool              // a clock tick is scheduled
	tickGen  int               // the scheduled tick's generation: older ones are dropped
	tickSec  bool              // the scheduled tick is the next second, not the next minute
	closed   chan struct{}     // closed by Close: a pending tick ends with the session
	frame    frame
	initCmd  tea.Cmd
}

// New builds the shell for one session.
func New(opts Options) *Model {
	cfg := opts.Config
	if cfg == nil {
		cfg = config.Default()
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	theme := opts.Theme
	if theme == nil {
		// The embedded default theme always loads; themes' tests check it.
		theme, _ = themes.Load(themes.Default, "")
	}
	services := opts.Services
	if services == nil {
		services = &common.Services{}
	}
	base := opts.Context
	if base == nil {
		base = context.Background()
	}
	ctx := &common.Context{Base: base,
		Config: cfg, ThemeDir: opts.ThemeDir, NoColor: opts.NoColor,
		Actor: opts.Actor, Guard: opts.Guard, Journal: opts.Journal, Services: services, Now: now, Exec: opts.Exec,
	}
	ctx.SetTheme(theme)

	m := &Model{
		ctx:         ctx,
		closed:      make(chan struct{}),
		keys:        NewGlobalKeys(),
		reg:         &components.Registry{},
		confirmKeys: components.NewConfirmKeys(),
		helpKeys:    NewHelpKeys(),
		help:        help.New(),
		health:      map[string]common.HealthMsg{},
	}
	m.help.Styles = ctx.Styles.Help
	m.palette = components.NewPalette(m.reg, components.NewPaletteKeys(), ctx.Styles)
	m.filter = components.NewFilterBar(components.NewFilterKeys(), ctx.Styles)

	if len(cfg.Integrations()) == 0 {
		var toActivity *common.Binding
		if ctx.Journal != nil {
			toActivity = m.keys.Pane[4]
		}
		m.slots = append(m.slots, slot{pane: welcome.New(ctx, toActivity)})
	}
	if ctx.Services.Inventory != nil {
		m.slots = append(m.slots, slot{key: 1, pane: inventory.New(ctx, ctx.Services.Inventory, inventory.NewKeyMap())})
	}
	if ctx.Services.Release != nil {
		m.slots = append(m.slots, slot{key: 2, pane: environments.New(ctx, ctx.Services.Release, environments.NewKeyMap())},
			slot{key: 3, pane: rollouts.New(ctx, ctx.Services.Release, rollouts.NewKeyMap())})
	}
	if ctx.Services.Incident != nil {
		m.slots = append(m.slots, slot{key: common.AlertsPane, pane: alerts.New(ctx, alerts.NewKeyMap())})
	}
	if ctx.Journal != nil {
		m.slots = append(m.slots, slot{key: 5, pane: activity.New(ctx, activity.NewKeyMap())})
	}
	if ctx.Services.Playbook != nil {
		m.slots = append(m.slots, slot{key: 6, pane: runs.New(ctx, ctx.Services.Playbook, runs.NewKeyMap())})
	}
	if ctx.Services.Logs != nil {
		m.slots = append(m.slots, slot{key: common.LogsPane, pane: logs.New(ctx, ctx.Services.Logs, logs.NewKeyMap())})
	}
	if ctx.Services.Monitoring != nil {
		m.slots = append(m.slots, slot{key: common.MonitoringPane, pane: monitoring.New(ctx, ctx.Services.Monitoring, monitoring.NewKeyMap())})
	}
	m.active = m.firstPane()

	all := m.bindings()
	var cmds []tea.Cmd
	// Names of panes that do not exist in this session are not mistakes:
	// ValidateKeys checks against every pane.
	common.Remap(all, cfg.Keys)
	if err := ValidateKeys(cfg.Keys); err != nil {
		cmds = append(cmds, common.ToastCmd(common.Error, err.Error()))
	}
	if who := ctx.WhoMayNotAct(); who != "" {
		common.Disable(all, who)
	}
	m.themeNames = themes.Available(ctx.ThemeDir)
	if am := cfg.Alertmanager; am != nil {
		m.notify = newNotifier(am.Notifications, am.NotifySeverities)
	} else {
		m.notify = newNotifier(false, nil)
	}
	m.registerCommands()
	for _, s := range m.slots {
		cmds = append(cmds, s.pane.Init())
	}
	if opts.Notice != "" {
		cmds = append(cmds, common.ToastCmd(common.Error, opts.Notice))
	}
	if ctx.Journal != nil {
		cmds = append(cmds, showHandover(ctx))
	}
	if m.journalShared() {
		var changed <-chan struct{}
		changed, m.journalCancel = ctx.Journal.SubscribeWritable()
		m.journalChanged = changed
		h := journalHealthNow(ctx.Journal, ctx.Now)
		cmds = append(cmds, func() tea.Msg { return h }, waitJournal(changed))
	}
	m.initCmd = tea.Batch(cmds...)
	return m
}

// firstPane is the pane a session opens on: the one that answers "is
// anything on fire?" (Alerts), else "what runs where?" (Environments), else
// the first there is.
func (m *Model) firstPane() int {
	for _, key := range []int{common.AlertsPane, common.EnvironmentsPane} {
		for i, s := range m.slots {
			if s.key == key {
				return i
			}
		}
	}
	return 0
}

// bindings are every binding of this session, for remapping.
func (m *Model) bindings() []*common.Binding {
	all := m.keys.Bindings()
	all = append(all, m.palette.Keys.Bindings()...)
	all = append(all, m.filter.Keys.Bindings()...)
	all = append(all, m.confirmKeys.Bindings()...)
	all = append(all, m.helpKeys.Bindings()...)
	for _, s := range m.slots {
		all = append(all, s.pane.Bindings()...)
	}
	return all
}

// Pane returns the focused pane.
func (m *Model) Pane() Pane {
	if len(m.slots) == 0 {
		return nil
	}
	return m.slots[m.active].pane
}

// Close releases what the panes hold, such as their journal
// subscriptions. Call it once the program has ended.
func (m *Model) Close() {
	select {
	case <-m.closed:
	default:
		close(m.closed)
	}
	for _, s := range m.slots {
		if c, ok := s.pane.(Closer); ok {
			c.Close()
		}
	}
	if m.journalCancel != nil {
		m.journalCancel()
	}
}

// Init starts the panes.
func (m *Model) Init() tea.Cmd { return m.initCmd }

// clockTickMsg redraws the clock and the ages beside it.
type clockTickMsg struct{ gen int }

// inFlight is one confirmed action, shown in the status bar from its
// confirmation to its result (every action has its own timeout).
type inFlight struct {
	id    int
	what  string
	since time.Time
}

// landedMsg carries a confirmed action's result, so that it leaves the
// status bar before the result is handled.
type landedMsg struct {
	id     int
	result tea.Msg
}

// fly runs a confirmed action, shown as in flight until it lands.
func (m *Model) fly(title string, run tea.Cmd) tea.Cmd {
	if run == nil {
		return nil
	}
	m.flightID++
	id := m.flightID
	m.inFlight = append(m.inFlight, inFlight{id: id, what: strings.TrimSuffix(title, "?"), since: m.ctx.Now()})
	m.frame.health = m.healthView()
	return func() tea.Msg { return landedMsg{id: id, result: run()} }
}

func (m *Model) land(msg landedMsg) tea.Cmd {
	m.inFlight = slices.DeleteFunc(m.inFlight, func(f inFlight) bool { return f.id == msg.id })
	m.frame.health = m.healthView()
	if msg.result == nil {
		return nil
	}
	// Back to the runtime, which runs batches and routes the rest here.
	return func() tea.Msg { return msg.result }
}

// themeLoadedMsg carries a theme read for :theme.
type themeLoadedMsg struct {
	theme *themes.Theme
	err   error
}

// Update routes msg.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := m.update(msg)
	return m, tea.Batch(cmd, m.armClock())
}

func (m *Model) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.ctx.Width, m.ctx.Height = msg.Width, msg.Height
		m.layout()
		return nil
	case tea.KeyPressMsg:
		return m.key(msg)
	case clockTickMsg:
		if msg.gen != m.tickGen {
			return nil // replaced by a sooner tick
		}
		m.ticking = false
		m.frame.health = m.healthView() // the ages of the states change with the clock
		return nil
	case themeLoadedMsg:
		if msg.err != nil {
			return common.ToastCmd(common.Error, msg.err.Error())
		}
		m.setTheme(msg.theme)
		return tea.Batch(m.broadcast(common.ThemeChangedMsg{}), common.ToastCmd(common.Success, "theme "+msg.theme.Name))
	case common.HealthMsg:
		return m.setHealth(msg)
	case journalHealthChanged:
		return tea.Batch(m.setHealth(journalHealthNow(m.ctx.Journal, m.ctx.Now)), waitJournal(m.journalChanged))
	case landedMsg:
		return m.land(msg)
	case presence.Snapshot:
		m.presence = msg
		m.layout()
		return m.broadcast(msg)
	case common.ToastMsg:
		return m.toasts.Push(msg)
	case alerts.SnapshotMsg:
		return tea.Batch(m.notify.snapshot(msg.Snap, m.ctx.Now()), m.broadcast(msg))
	case common.GotoMsg:
		return m.goTo(msg)
	case common.BackMsg:
		if n := len(m.jumps); n > 0 {
			to := m.jumps[n-1]
			m.jumps = m.jumps[:n-1]
			m.focus(to)
		}
		return nil
	case common.BadgeChangedMsg, common.KeysChangedMsg:
		m.layout()
		return nil
	case common.RunCommandMsg:
		cmd, err := m.reg.RunArgs(msg.Args)
		if err != nil {
			return common.ToastCmd(common.Error, err.Error())
		}
		return cmd
	case common.ConfirmMsg:
		var cmd tea.Cmd
		m.confirm, cmd = components.NewConfirm(msg, m.confirmKeys, m.ctx.Styles)
		m.confirm.SetWidth(m.frame.w)
		return cmd
	}
	if m.toasts.Update(msg) {
		return nil
	}
	return m.broadcast(msg)
}

// broadcast hands a message to every pane.
func (m *Model) broadcast(msg tea.Msg) tea.Cmd {
	var cmds []tea.Cmd
	for _, s := range m.slots {
		cmds = append(cmds, s.pane.Update(msg))
	}
	return tea.Batch(cmds...)
}

func (m *Model) key(k tea.KeyPressMsg) tea.Cmd {
	switch {
	case m.confirm != nil:
		d, cmd := m.confirm.Update(k)
		switch d {
		case components.Accepted:
			req := m.confirm.Request()
			m.confirm = nil
			if req.Then != nil { // a second confirmation before it runs
				next := *req.Then
				return func() tea.Msg { return next }
			}
			return m.fly(req.Title, req.OnYes)
		case components.Rejected:
			req := m.confirm.Request()
			m.confirm = nil
			return common.ToastCmd(common.Info, "cancelled: "+req.Title)
		}
		return cmd
	case m.palette.Active():
		return m.palette.Update(k)
	case m.filter.Active():
		before := m.filter.Value()
		cmd := m.filter.Update(k)
		if v := m.filter.Value(); v != before {
			if f, ok := m.Pane().(Filterable); ok {
				f.SetFilter(v)
			}
		}
		return cmd
	case m.showHelp:
		switch {
		case key.Matches(k, m.keys.Quit.Binding):
			return tea.Quit
		case key.Matches(k, m.helpKeys.Close.Binding):
			m.showHelp = false
		case key.Matches(k, m.helpKeys.Down.Binding):
			m.helpOff++
			m.renderHelp()
		case key.Matches(k, m.helpKeys.Up.Binding):
			m.helpOff = max(m.helpOff-1, 0)
			m.renderHelp()
		}
		return nil
	}
	if c, ok := m.Pane().(Capturer); ok && c.Capturing() {
		return m.Pane().Update(k)
	}
	switch {
	case key.Matches(k, m.keys.Quit.Binding):
		return tea.Quit
	case key.Matches(k, m.keys.Help.Binding):
		m.openHelp()
		return nil
	case key.Matches(k, m.keys.Palette.Binding):
		return m.palette.Open()
	case m.Pane() == nil:
		return nil
	case key.Matches(k, m.keys.Filter.Binding):
		if f, ok := m.Pane().(Filterable); ok {
			return m.filter.Open(f.Filter(), f.FilterHint())
		}
		return common.ToastCmd(common.Info, m.Pane().Title()+" has nothing to filter")
	case key.Matches(k, m.keys.NextPane.Binding):
		m.jumps = nil
		m.focus((m.active + 1) % len(m.slots))
		return nil
	case key.Matches(k, m.keys.PrevPane.Binding):
		m.jumps = nil
		m.focus((m.active + len(m.slots) - 1) % len(m.slots))
		return nil
	}
	for i, b := range m.keys.Pane {
		if key.Matches(k, b.Binding) {
			m.jumps = nil
			return m.focusKey(i + 1)
		}
	}
	if cmd := m.Pane().Update(k); cmd != nil {
		return cmd
	}
	// A key that does nothing because its binding is disabled says why.
	if why := common.DisabledWhy(m.Pane().Bindings(), k.String()); why != "" {
		return common.ToastCmd(common.Info, why)
	}
	return nil
}

// focusKey focuses the pane on number key n, or says why there is none.
func (m *Model) focusKey(n int) tea.Cmd {
	for i, s := range m.slots {
		if s.key == n {
			m.focus(i)
			return nil
		}
	}
	return common.ToastCmd(common.Info, fmt.Sprintf("no pane %d: its integration is not configured (vigil config init writes an example)", n))
}

// goTo focuses the pane a GotoMsg names and hands it the message.
func (m *Model) goTo(g common.GotoMsg) tea.Cmd {
	for i, s := range m.slots {
		if s.key == g.Pane {
			if i != m.active {
				m.jumps = append(m.jumps, m.active)
			}
			m.focus(i)
			return s.pane.Update(g)
		}
	}
	return common.ToastCmd(common.Info, fmt.Sprintf("cannot show %s: no pane %d in this session (its integration is not configured)", g.Target, g.Pane))
}

func (m *Model) focus(i int) {
	if i == m.active || i < 0 || i >= len(m.slots) {
		return
	}
	m.active = i
	m.layout()
}

func (m *Model) setTheme(t *themes.Theme) {
	m.ctx.SetTheme(t)
	m.help.Styles = m.ctx.Styles.Help
	m.palette.SetStyles(m.ctx.Styles)
	m.filter.SetStyles(m.ctx.Styles)
	m.layout()
}

// setHealth records an integration's health; a fall to down is also a toast.
func (m *Model) setHealth(h common.HealthMsg) tea.Cmd {
	configured := h.Name == journalHealth && m.journalShared()
	for _, n := range m.ctx.Config.Integrations() {
		configured = configured || n == h.Name
	}
	if !configured {
		return nil
	}
	prev := m.health[h.Name]
	m.health[h.Name] = h
	m.layout()
	if h.State == common.Down && prev.State != common.Down {
		text := h.Name + " is down"
		if h.Err != nil {
			text += ": " + h.Err.Error()
		}
		if h.Name == journalHealth && h.Err != nil {
			text = h.Err.Error() // says what is refused, and that it comes back by itself
		}
		return common.ToastCmd(common.Error, text)
	}
	if h.Name == journalHealth && h.State == common.Healthy && prev.State == common.Down {
		return common.ToastCmd(common.Success, "the shared journal is back: actions are journaled again")
	}
	return nil
}

// clockShown reports whether the status bar, and so the clock, is drawn.
func (m *Model) clockShown() bool {
	return m.frame.status && !m.palette.Active() && !m.filter.Active()
}

// armClock schedules the next clock tick while the clock is on screen:
// at the next minute (the clock shows minutes), or at the next second
// while an age under a minute is shown. An idle console wakes once a
// minute, not once a second.
func (m *Model) armClock() tea.Cmd {
	if !m.clockShown() {
		return nil
	}
	sec := m.secondsShown()
	if m.ticking && (m.tickSec || !sec) {
		return nil
	}
	m.ticking, m.tickSec = true, sec
	m.tickGen++
	gen, every, closed := m.tickGen, time.Minute, m.closed
	if sec {
		every = time.Second
	}
	// As tea.Every (on the wall clock's next second or minute), but ended
	// by Close: a minute's wait must not outlive an SSH session.
	now := time.Now()
	wait := now.Truncate(every).Add(every).Sub(now)
	return func() tea.Msg {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
			return clockTickMsg{gen: gen}
		case <-closed:
			return nil
		}
	}
}

// secondsShown reports whether the status bar shows an age in seconds: an
// action in flight or an integration's trouble younger than a minute.
func (m *Model) secondsShown() bool {
	now := m.ctx.Now()
	for _, f := range m.inFlight {
		if now.Sub(f.since) < time.Minute {
			return true
		}
	}
	for _, h := range m.health {
		if h.State != common.Healthy && !h.Since.IsZero() && now.Sub(h.Since) < time.Minute {
			return true
		}
	}
	return false
}
