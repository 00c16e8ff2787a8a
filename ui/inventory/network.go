package inventory

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/help"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ops/network"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
	"github.com/vigilops/vigil/ui/styles"
)

// netView is a sub-view of the network view.
type netView int

const (
	netFirewalls netView = iota
	netLoadBalancers
	netDomains
	netReservedIPs
	netViews
)

func (v netView) String() string {
	return [...]string{"firewalls", "load balancers", "domains", "reserved IPs"}[v]
}

// netPlanMsg carries a plan worked out off the Update loop.
type netPlanMsg struct {
	plan network.Plan
	err  error
}

// checkMsg carries a reachability check's answer.
type checkMsg struct {
	r   network.Reachability
	err error
}

// netPane is the network view of the Inventory pane: firewalls, load
// balancers, domains and reserved IPs, each a table over the network
// service's last refresh.
type netPane struct {
	svc   *network.Service
	on    bool
	view  netView
	state *network.State
	fw    *components.Table[network.Firewall]
	lb    *components.Table[network.LoadBalancer]
	dns   *components.Table[network.Record]
	rip   *components.Table[network.ReservedIP]
	// records are the records to offer removing once the hosts they point
	// at are destroyed, by host name.
	records map[string]network.Plan
	cancel  func()
}

func (m *Model) newNetPane() {
	svc := m.Ctx.Services.Network
	if svc == nil {
		return
	}
	n := &netPane{svc: svc, state: svc.State(), records: map[string]network.Plan{}}
	n.fw = &components.Table[network.Firewall]{
		Columns: []components.Column[network.Firewall]{
			{Title: "NAME", Min: 12, Max: 20, Prio: 9, Value: func(f network.Firewall) string { return f.Name }},
			{Title: "STATUS", Min: 9, Max: 9, Prio: 3, Value: func(f network.Firewall) string { return f.Status }},
			{Title: "HOSTS", Min: 12, Flex: 1, Prio: 7, Value: func(f network.Firewall) string { return m.coveredHosts(f) }},
			{Title: "TAGS", Min: 6, Max: 16, Prio: 5, Value: func(f network.Firewall) string { return strings.Join(f.Tags, ",") }},
			{Title: "INBOUND", Min: 20, Flex: 2, Prio: 8, Value: func(f network.Firewall) string { return rules(f.Inbound) },
				Style: func(f network.Firewall, st *styles.Styles) lipgloss.Style {
					for _, r := range f.Inbound {
						if r.OpenToWorld() {
							return st.StatusWarn
						}
					}
					return lipgloss.NewStyle()
				}},
			{Title: "OUTBOUND", Min: 10, Flex: 1, Prio: 1, Value: func(f network.Firewall) string { return rules(f.Outbound) }},
		},
		Key: func(f network.Firewall) string { return f.ID },
	}
	n.lb = &components.Table[network.LoadBalancer]{
		Columns: []components.Column[network.LoadBalancer]{
			{Title: "NAME", Min: 10, Max: 20, Prio: 9, Value: func(lb network.LoadBalancer) string { return lb.Name }},
			{Title: "IP", Min: 15, Max: 15, Prio: 8, Value: func(lb network.LoadBalancer) string { return lb.IP }},
			{Title: "REGION", Min: 6, Max: 6, Prio: 4, Value: func(lb network.LoadBalancer) string { return lb.Region }},
			{Title: "FORWARDING", Min: 14, Max: 30, Prio: 6, Value: func(lb network.LoadBalancer) string { return forwarding(lb.Forwarding) }},
			{Title: "CHECK", Min: 8, Max: 14, Prio: 3, Value: func(lb network.LoadBalancer) string { return lb.HealthCheck.String() }},
			{Title: "BACKENDS", Min: 16, Flex: 1, Prio: 10, Value: func(lb network.LoadBalancer) string { return m.backends(lb) },
				Style: func(lb network.LoadBalancer, st *styles.Styles) lipgloss.Style {
					for _, b := range svc.Backends(lb) {
						if b.Health == network.Unhealthy {
							return st.StatusCrit
						}
					}
					return st.StatusOK
				}},
		},
		Key: func(lb network.LoadBalancer) string { return lb.ID },
	}
	n.dns = &components.Table[network.Record]{
		Columns: []components.Column[network.Record]{
			{Title: "NAME", Min: 16, Flex: 1, Prio: 9, Value: func(r network.Record) string { return r.FQDN() }},
			{Title: "TYPE", Min: 5, Max: 5, Prio: 8, Value: func(r network.Record) string { return r.Type }},
			{Title: "DATA", Min: 15, Flex: 1, Prio: 7, Value: func(r network.Record) string { return r.Data }},
			{Title: "TTL", Min: 5, Max: 6, Prio: 2, Right: true, Value: func(r network.Record) string { return strconv.Itoa(r.TTL) }},
			{Title: "HOST", Min: 10, Max: 20, Prio: 6, Value: func(r network.Record) string { return m.recordHost(r) }},
		},
		Key: func(r network.Record) string { return r.Domain + "/" + strconv.Itoa(r.ID) },
	}
	n.rip = &components.Table[network.ReservedIP]{
		Columns: []components.Column[network.ReservedIP]{
			{Title: "IP", Min: 15, Max: 15, Prio: 9, Value: func(r network.ReservedIP) string { return r.IP }},
			{Title: "REGION", Min: 6, Max: 6, Prio: 5, Value: func(r network.ReservedIP) string { return r.Region }},
			{Title: "HOST", Min: 10, Flex: 1, Prio: 8, Value: func(r network.ReservedIP) string {
				if r.HostID == 0 {
					return "(unassigned)"
				}
				return m.hostName(r.HostID)
			}},
		},
		Key: func(r network.ReservedIP) string { return r.IP },
	}
	m.netw = n
	m.setNetState(svc.State())
}

func rules(rs []network.Rule) string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
	}
	return strings.Join(out, "; ")
}

func forwarding(fs []network.Forwarding) string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = fmt.Sprintf("%s:%d→%s:%d", f.EntryProtocol, f.EntryPort, f.TargetProtocol, f.TargetPort)
	}
	return strings.Join(out, " ")
}

func (m *Model) hostName(id int) string {
	for _, h := range m.state.Hosts {
		if h.ID == id {
			return h.Name
		}
	}
	return fmt.Sprintf("droplet %d", id)
}

func (m *Model) coveredHosts(f network.Firewall) string {
	var names []string
	for _, h := range m.state.Hosts {
		if f.Covers(h) {
			names = append(names, h.Name)
		}
	}
	return strings.Join(names, ", ")
}

// backends is "web-1 ✓, web-2 ✗ (connection refused)".
func (m *Model) backends(lb network.LoadBalancer) string {
	var out []string
	for _, b := range m.netw.svc.Backends(lb) {
		s := m.hostName(b.HostID)
		switch b.Health {
		case network.Healthy:
			s += " ✓"
		case network.Unhealthy:
			s += " ✗"
			if b.Reason != "" {
				s += " (" + b.Reason + ")"
			}
		default:
			s += " ?"
		}
		out = append(out, s)
	}
	if lb.Tag != "" {
		return "tag:" + lb.Tag + " " + strings.Join(out, ", ")
	}
	return strings.Join(out, ", ")
}

func (m *Model) recordHost(r network.Record) string {
	for _, h := range m.state.Hosts {
		if r.Type == "A" && r.Data == h.PublicIPv4 {
			return h.Name
		}
	}
	return ""
}

// netInit subscribes to the network service, when there is one.
func (m *Model) netInit() tea.Cmd {
	if m.netw == nil {
		return nil
	}
	changes, cancel := m.netw.svc.Subscribe()
	m.netw.cancel = cancel
	return netWaitCmd(changes)
}

func netWaitCmd(changes <-chan struct{}) tea.Cmd {
	return func() tea.Msg {
		if _, ok := <-changes; !ok {
			return nil
		}
		return netStateMsgWith{changes: changes}
	}
}

// netStateMsgWith re-arms the wait on changes once handled.
type netStateMsgWith struct{ changes <-chan struct{} }

func (m *Model) setNetState(st *network.State) {
	n := m.netw
	n.state = st
	n.fw.SetRows(st.Firewalls)
	n.lb.SetRows(st.LoadBalancers)
	n.dns.SetRows(st.Records)
	n.rip.SetRows(st.ReservedIPs)
	m.netResize()
}

func (m *Model) netResize() {
	if m.netw == nil {
		return
	}
	h := m.listHeight() // the sub-view line takes the header's place above the table's own
	for _, t := range []interface{ SetSize(int, int) }{m.netw.fw, m.netw.lb, m.netw.dns, m.netw.rip} {
		t.SetSize(m.Width, h)
	}
}

// toggleNetwork opens or closes the network view.
func (m *Model) toggleNetwork() tea.Cmd {
	if m.netw == nil {
		return common.ToastCmd(common.Info, "no network view: it needs the digitalocean section of the config")
	}
	m.netw.on = !m.netw.on
	m.closeDetail()
	keys := func() tea.Msg { return common.KeysChangedMsg{} }
	if m.netw.on {
		svc, base := m.netw.svc, m.Ctx.Base
		return tea.Batch(keys, func() tea.Msg { // read afresh on opening
			ctx, cancel := context.WithTimeout(base, planTimeout)
			defer cancel()
			svc.Refresh(ctx)
			return nil
		})
	}
	return keys
}

func (m *Model) netShift(d int) tea.Cmd {
	if m.netw == nil || !m.netw.on {
		return nil
	}
	m.netw.view = (m.netw.view + netView(d) + netViews) % netViews
	return nil
}

func (m *Model) netTableKey(k tea.KeyPressMsg) bool {
	n := m.netw
	nav := m.keys.Nav()
	switch n.view {
	case netFirewalls:
		return n.fw.KeyPress(k, nav)
	case netLoadBalancers:
		return n.lb.KeyPress(k, nav)
	case netDomains:
		return n.dns.KeyPress(k, nav)
	default:
		return n.rip.KeyPress(k, nav)
	}
}

// netLines draws the network view: a line naming the sub-views, the
// current one's table, and a hint.
func (m *Model) netLines() []string {
	n := m.netw
	st := m.Ctx.Styles
	var tabs []string
	for v := netView(0); v < netViews; v++ {
		if v == n.view {
			tabs = append(tabs, st.TableHeader.Render("["+v.String()+"]"))
		} else {
			tabs = append(tabs, st.Muted.Render(" "+v.String()+" "))
		}
	}
	lines := []string{ansi.Truncate(strings.Join(tabs, " ")+st.Muted.Render("  "+m.keys.NetPrev.Help().Key+"/"+m.keys.NetNext.Help().Key+": switch · "+m.keys.Network.Help().Key+": hosts"), m.Width, "…")}
	if n.state.Err != nil {
		lines = append(lines, st.StatusCrit.Render(ansi.Truncate("network not read: "+n.state.Err.Error(), m.Width, "…")))
	}
	var table string
	empty := ""
	switch n.view {
	case netFirewalls:
		table, empty = n.fw.View(st), "No firewall: press "+m.keys.NetAdd.Help().Key+" to create one from a template."
		if n.fw.Len() > 0 {
			empty = ""
		}
	case netLoadBalancers:
		table, empty = n.lb.View(st), "No load balancer: :lb-create NAME HOST… makes one."
		if n.lb.Len() > 0 {
			empty = ""
		}
	case netDomains:
		table, empty = n.dns.View(st), "No DNS record: press "+m.keys.NetAdd.Help().Key+" to point a name at a host."
		if n.dns.Len() > 0 {
			empty = ""
		}
	default:
		table, empty = n.rip.View(st), "No reserved IP: :reserve-ip REGION reserves one."
		if n.rip.Len() > 0 {
			empty = ""
		}
	}
	if n.state.Fetched.IsZero() && n.state.Err == nil {
		return append(lines, st.Muted.Render("Reading the network from DigitalOcean…"))
	}
	if empty != "" {
		return append(lines, st.Muted.Render(lipgloss.Wrap(empty, m.Width, " ")))
	}
	return append(lines, splitLines(table)...)
}

// netAdd is the add key in each sub-view.
func (m *Model) netAdd() tea.Cmd {
	n := m.netw
	if n == nil || !n.on {
		return nil
	}
	switch n.view {
	case netFirewalls:
		var names []string
		for _, t := range n.svc.Templates() {
			names = append(names, t.Name+" ("+strings.Join(t.Rules, "; ")+")")
		}
		if len(names) == 0 {
			return common.ToastCmd(common.Error, "no firewall template: define some under digitalocean.network.firewalls")
		}
		return m.ask("Firewall from template: TEMPLATE [HOST…]", "templates: "+strings.Join(names, ", "), "", func(s string) tea.Cmd {
			f := strings.Fields(s)
			if len(f) == 0 {
				return nil
			}
			return m.planCmd(func() (network.Plan, error) { return n.svc.PlanFirewallTemplate(f[0], f[1:]...) })
		})
	case netLoadBalancers:
		lb, ok := n.lb.Selected()
		if !ok {
			return nil
		}
		return m.ask("Put behind "+lb.Name+": HOST", "", "", func(s string) tea.Cmd {
			return m.planCmd(func() (network.Plan, error) { return n.svc.PlanAddBackend(lb.Name, strings.TrimSpace(s)) })
		})
	case netDomains:
		return m.ask("Point a name at a host: HOST [NAME] [DOMAIN]", "NAME defaults to the host's name, DOMAIN to digitalocean.network.domain", "", func(s string) tea.Cmd {
			f := append(strings.Fields(s), "", "", "")
			return m.planCmd(func() (network.Plan, error) { return n.svc.PlanHostRecord(f[0], f[1], f[2]) })
		})
	default:
		r, ok := n.rip.Selected()
		if !ok {
			return nil
		}
		return m.ask("Point "+r.IP+" at: HOST", "", "", func(s string) tea.Cmd {
			return m.planCmd(func() (network.Plan, error) { return n.svc.PlanAssignIP(r.IP, strings.TrimSpace(s)) })
		})
	}
}

// netRemove is the remove key in each sub-view.
func (m *Model) netRemove() tea.Cmd {
	n := m.netw
	if n == nil || !n.on {
		return nil
	}
	switch n.view {
	case netFirewalls:
		if f, ok := n.fw.Selected(); ok {
			return m.planCmd(func() (network.Plan, error) { return n.svc.PlanDeleteFirewall(f.Name) })
		}
	case netLoadBalancers:
		if lb, ok := n.lb.Selected(); ok {
			return m.ask("Detach from "+lb.Name+": HOST", "", "", func(s string) tea.Cmd {
				return m.planCmd(func() (network.Plan, error) { return n.svc.PlanRemoveBackend(lb.Name, strings.TrimSpace(s)) })
			})
		}
	case netDomains:
		if r, ok := n.dns.Selected(); ok {
			return m.planCmd(func() (network.Plan, error) { return n.svc.PlanRemoveRecord(r.FQDN(), r.Type) })
		}
	default:
		if r, ok := n.rip.Selected(); ok {
			return m.planCmd(func() (network.Plan, error) { return n.svc.PlanUnassignIP(r.IP) })
		}
	}
	return nil
}

// planCmd works a plan out as a command (it reads only the last refresh,
// but keeps Update free of the service's locks).
func (m *Model) planCmd(plan func() (network.Plan, error)) tea.Cmd {
	return func() tea.Msg {
		p, err := plan()
		return netPlanMsg{plan: p, err: err}
	}
}

// onNetPlan shows the plan and asks before applying it: a dangerous plan
// through the session's confirmation, any other as a plain yes/no, since
// every change shows its plan first. A refused plan is applied all the
// same, so that the refusal is journaled, and said.
func (m *Model) onNetPlan(msg netPlanMsg) tea.Cmd {
	p := msg.plan
	switch {
	case msg.err != nil:
		return common.ToastCmd(common.Error, msg.err.Error())
	case p.Refusal == nil && p.Empty():
		return common.ToastCmd(common.Info, p.Title+": nothing to change")
	}
	run := m.applyCmd(p)
	if p.Refusal != nil {
		return run
	}
	body := "Plan:\n  " + strings.Join(p.Lines(), "\n  ")
	if !m.Ctx.MayAct() {
		return common.ToastCmd(common.Error, p.Title+": not allowed in this session (read-only, or viewer role)")
	}
	if p.Action.Dangerous {
		return m.Ctx.Confirm(p.Confirmation(), body, run)
	}
	req := common.ConfirmMsg{Title: p.Title + "?", Body: body, OnYes: run}
	return func() tea.Msg { return req }
}

func (m *Model) applyCmd(p network.Plan) tea.Cmd {
	svc, actor := m.netw.svc, m.Ctx.Actor
	return m.do(strings.ToLower(p.Title[:1])+p.Title[1:], nil, actionTimeout, func(ctx context.Context) error {
		return svc.Apply(ctx, actor, p)
	})
}

// Check asks whether the firewalls allow port on host from the bastion,
// and whether it answers; the answer is a toast.
func (m *Model) Check(host string, port int) tea.Cmd {
	if m.netw == nil {
		return common.ToastCmd(common.Error, "check needs the digitalocean section of the config")
	}
	svc, base := m.netw.svc, m.Ctx.Base
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, planTimeout)
		defer cancel()
		r, err := svc.Check(ctx, host, port)
		return checkMsg{r: r, err: err}
	}
}

func (m *Model) onCheck(msg checkMsg) tea.Cmd {
	switch {
	case msg.err != nil:
		return common.ToastCmd(common.Error, "check: "+msg.err.Error())
	case msg.r.Allowed && msg.r.Answers:
		return common.ToastCmd(common.Success, msg.r.Verdict())
	}
	return common.ToastCmd(common.Error, msg.r.Verdict())
}

func (m *Model) askCheck() tea.Cmd {
	host := ""
	if h, ok := m.Selected(); ok && (m.netw == nil || !m.netw.on) {
		host = h.Name + " "
	}
	return m.ask("Check: HOST PORT", "whether the firewalls allow it from the bastion, and whether it answers from here", host, func(s string) tea.Cmd {
		f := strings.Fields(s)
		if len(f) != 2 {
			return common.ToastCmd(common.Error, "give a host and a port, e.g. web-01 443")
		}
		port, err := strconv.Atoi(f[1])
		if err != nil {
			return common.ToastCmd(common.Error, "port "+f[1]+": a number from 1 to 65535")
		}
		return m.Check(f[0], port)
	})
}

// netDetailLines are the network lines of a host's detail.
func (m *Model) netDetailLines(h inventory.Host, label func(string) string) []string {
	if m.netw == nil {
		return nil
	}
	st := m.Ctx.Styles
	hn := m.netw.svc.Host(h)
	var fws []string
	for _, f := range hn.Firewalls {
		fws = append(fws, f.Name+" ("+rules(f.Inbound)+")")
	}
	vpc := h.VPCID
	if hn.VPC.ID != "" {
		vpc = hn.VPC.Name + " " + hn.VPC.IPRange
	}
	var recs []string
	for _, r := range hn.Records {
		recs = append(recs, r.FQDN()+" "+r.Type)
	}
	var lbs []string
	for _, lb := range hn.LoadBalancers {
		lbs = append(lbs, lb.Name)
	}
	none := func(s []string, what string) string {
		if len(s) == 0 {
			return st.Muted.Render(what)
		}
		return strings.Join(s, "; ")
	}
	rip := hn.ReservedIP
	if rip == "" {
		rip = st.Muted.Render("none")
	}
	return []string{"",
		label("firewalls") + none(fws, "none: every port is open to all"),
		label("VPC") + vpc,
		label("reserved IP") + rip,
		label("records") + none(recs, "none"),
		label("load bal.") + none(lbs, "none"),
	}
}

// offerRecordRemoval asks, once hosts are destroyed, to remove the DNS
// records that pointed at them.
func (m *Model) offerRecordRemoval(hosts []string) tea.Cmd {
	if m.netw == nil {
		return nil
	}
	var cmds []tea.Cmd
	for _, h := range hosts {
		p, ok := m.netw.records[h]
		delete(m.netw.records, h)
		if ok && !p.Empty() {
			p.Title = h + " is destroyed; remove its DNS records too"
			cmds = append(cmds, m.Ctx.Confirm(p.Confirmation(), "Plan:\n  "+strings.Join(p.Lines(), "\n  "), m.applyCmd(p)))
		}
	}
	return tea.Sequence(cmds...)
}

// noteRecords keeps, before a destroy, the record removal to offer after it.
func (m *Model) noteRecords(hosts []inventory.Host) {
	if m.netw == nil {
		return
	}
	for _, h := range hosts {
		m.netw.records[h.Name] = m.netw.svc.PlanRemoveHostRecords(h)
	}
}

// netCommands are the palette's network commands: each works a plan out,
// then asks as the keys do.
func (m *Model) netCommands(hostNames func(int) []string) []components.Spec {
	if m.netw == nil {
		return nil
	}
	svc := m.netw.svc
	plan := func(f func(args []string) (network.Plan, error), min int, usage string) func([]string) (tea.Cmd, error) {
		return func(args []string) (tea.Cmd, error) {
			if len(args) < min {
				return nil, errors.New("usage: " + usage)
			}
			return m.planCmd(func() (network.Plan, error) { return f(args) }), nil
		}
	}
	arg := func(args []string, i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	return []components.Spec{
		{Name: "check", Args: "HOST PORT", Help: "whether the firewalls allow a TCP port from the bastion, and whether it answers", Complete: hostNames,
			Run: func(args []string) (tea.Cmd, error) {
				if len(args) != 2 {
					return nil, errors.New("check takes a host and a port: :check HOST PORT")
				}
				port, err := strconv.Atoi(args[1])
				if err != nil || port < 1 || port > 65535 {
					return nil, fmt.Errorf("port %q: a number from 1 to 65535", args[1])
				}
				return m.Check(args[0], port), nil
			}},
		{Name: "network", Help: "open or close the network view", Run: func([]string) (tea.Cmd, error) { return m.toggleNetwork(), nil }},
		{Name: "firewall", Args: "TEMPLATE [HOST…]", Help: "create or update a firewall from its template (shows the plan, asks first)",
			Run: plan(func(a []string) (network.Plan, error) { return svc.PlanFirewallTemplate(a[0], a[1:]...) }, 1, ":firewall TEMPLATE [HOST…]")},
		{Name: "firewall-rule", Args: "FIREWALL PORTS from SOURCES", Help: `add an inbound rule, like :firewall-rule web 5432 from tag:web`,
			Run: plan(func(a []string) (network.Plan, error) { return svc.PlanAddRule(a[0], strings.Join(a[1:], " ")) }, 4, ":firewall-rule FIREWALL PORTS from SOURCES")},
		{Name: "firewall-unrule", Args: "FIREWALL PORTS from SOURCES", Help: "remove an inbound rule",
			Run: plan(func(a []string) (network.Plan, error) { return svc.PlanRemoveRule(a[0], strings.Join(a[1:], " ")) }, 4, ":firewall-unrule FIREWALL PORTS from SOURCES")},
		{Name: "lb-create", Args: "NAME FORWARDING CHECK HOST…", Help: "a load balancer in front of hosts, like :lb-create web-lb http:80:http:80 tcp:22 web-1 web-2",
			Run: plan(func(a []string) (network.Plan, error) {
				f, err := network.ParseForwarding(a[1])
				if err != nil {
					return network.Plan{}, err
				}
				proto, port, _ := strings.Cut(a[2], ":")
				n, err := strconv.Atoi(strings.SplitN(port, "/", 2)[0])
				if err != nil {
					return network.Plan{}, fmt.Errorf("health check %q: write PROTOCOL:PORT[/PATH], like tcp:22 or http:80/health", a[2])
				}
				hc := network.HealthCheck{Protocol: proto, Port: n}
				if _, path, ok := strings.Cut(port, "/"); ok {
					hc.Path = "/" + path
				}
				return svc.PlanCreateLoadBalancer(a[0], a[3:], []network.Forwarding{f}, hc)
			}, 4, ":lb-create NAME FORWARDING CHECK HOST…")},
		{Name: "lb-add", Args: "LB HOST", Help: "put a host behind a load balancer",
			Run: plan(func(a []string) (network.Plan, error) { return svc.PlanAddBackend(a[0], a[1]) }, 2, ":lb-add LB HOST")},
		{Name: "lb-remove", Args: "LB HOST", Help: "detach a host from a load balancer (asks first)",
			Run: plan(func(a []string) (network.Plan, error) { return svc.PlanRemoveBackend(a[0], a[1]) }, 2, ":lb-remove LB HOST")},
		{Name: "record", Args: "HOST [NAME] [DOMAIN]", Help: "point NAME.DOMAIN at a host (a name taken asks before replacing)", Complete: hostNames,
			Run: plan(func(a []string) (network.Plan, error) { return svc.PlanHostRecord(a[0], arg(a, 1), arg(a, 2)) }, 1, ":record HOST [NAME] [DOMAIN]")},
		{Name: "cname", Args: "NAME TARGET [DOMAIN]", Help: "make NAME.DOMAIN an alias of TARGET (a CNAME; a name taken asks before replacing)",
			Run: plan(func(a []string) (network.Plan, error) {
				target := a[1]
				if strings.Contains(target, ".") && !strings.HasSuffix(target, ".") {
					target += "."
				}
				return svc.PlanRecord(network.Record{Type: "CNAME", Name: a[0], Data: target, TTL: 300}, arg(a, 2))
			}, 2, ":cname NAME TARGET [DOMAIN]")},
		{Name: "reserve-ip", Args: "REGION", Help: "reserve an IP in a region",
			Run: plan(func(a []string) (network.Plan, error) { return svc.PlanReserveIP(a[0]), nil }, 1, ":reserve-ip REGION")},
		{Name: "assign-ip", Args: "IP HOST", Help: "point a reserved IP at a host",
			Run: plan(func(a []string) (network.Plan, error) { return svc.PlanAssignIP(a[0], a[1]) }, 2, ":assign-ip IP HOST")},
		{Name: "unassign-ip", Args: "IP", Help: "take a reserved IP off its host",
			Run: plan(func(a []string) (network.Plan, error) { return svc.PlanUnassignIP(a[0]) }, 1, ":unassign-ip IP")},
	}
}

// offerRecords plans, for new hosts of a template with record: true, an A
// record NAME.<network.domain> each, and asks before registering them.
func (m *Model) offerRecords(hosts []inventory.Host) tea.Cmd {
	if m.netw == nil {
		return nil
	}
	svc := m.netw.svc
	var cmds []tea.Cmd
	for _, h := range hosts {
		if h.PublicIPv4 == "" {
			continue
		}
		rec := network.Record{Type: "A", Name: h.Name, Data: h.PublicIPv4, TTL: 300}
		cmds = append(cmds, m.planCmd(func() (network.Plan, error) { return svc.PlanRecord(rec, "") }))
	}
	return tea.Sequence(cmds...)
}

// KeyMap is the help the shell shows: the network view's keys while it is open.
func (m *Model) KeyMap() help.KeyMap {
	if m.netw != nil && m.netw.on {
		return netHelp{m.keys}
	}
	return m.Base.KeyMap()
}
