package inventory

import (
	"errors"
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ui/components"
)

// Commands are the pane's palette commands. Those on hosts take host names,
// or apply to the pane's targets (selection, else cursor) when given none.
func (m *Model) Commands() []components.Spec {
	hostNames := func(i int) []string {
		out := make([]string, len(m.state.Hosts))
		for j, h := range m.state.Hosts {
			out[j] = h.Name
		}
		return out
	}
	templates := func(i int) []string {
		if i > 0 {
			return nil
		}
		var out []string
		for _, t := range m.svc.Templates() {
			out = append(out, t.Name)
		}
		return out
	}
	act := func(kind inventory.ActionKind) func([]string) (tea.Cmd, error) {
		return func(args []string) (tea.Cmd, error) {
			hosts, err := m.hosts(args)
			if err != nil {
				return nil, err
			}
			return m.Act(inventory.ActionRequest{Kind: kind}, hosts), nil
		}
	}
	specs := []components.Spec{
		{Name: "create", Args: "TEMPLATE NAME…", Help: "create hosts from a template", Complete: templates,
			Run: func(args []string) (tea.Cmd, error) {
				if len(args) < 2 {
					return nil, errors.New("create takes a template and host names: :create TEMPLATE NAME…")
				}
				if _, ok := m.svc.Template(args[0]); !ok {
					return nil, fmt.Errorf("no host template %q: use one of %s", args[0], strings.Join(templates(0), ", "))
				}
				return m.Create(args[0], args[1:]), nil
			}},
		{Name: "power-on", Args: "[HOST…]", Help: "power hosts on", Complete: hostNames, Run: act(inventory.PowerOn)},
		{Name: "power-off", Args: "[HOST…]", Help: "power hosts off (asks first)", Complete: hostNames, Run: act(inventory.PowerOff)},
		{Name: "power-cycle", Args: "[HOST…]", Help: "power cycle hosts (asks first)", Complete: hostNames, Run: act(inventory.PowerCycle)},
		{Name: "reboot", Args: "[HOST…]", Help: "reboot hosts (asks first)", Complete: hostNames, Run: act(inventory.Reboot)},
		{Name: "resize", Args: "SIZE [HOST…]", Help: "resize hosts: powers them off meanwhile (asks first)",
			Complete: func(i int) []string {
				if i > 0 {
					return hostNames(i)
				}
				var out []string
				for _, s := range m.state.Sizes {
					out = append(out, s.Slug)
				}
				return out
			},
			Run: func(args []string) (tea.Cmd, error) {
				if len(args) == 0 {
					return nil, errors.New("resize takes a size: :resize SIZE [HOST…]")
				}
				hosts, err := m.hosts(args[1:])
				if err != nil {
					return nil, err
				}
				return m.Act(inventory.ActionRequest{Kind: inventory.Resize, Size: args[0]}, hosts), nil
			}},
		{Name: "snapshot", Args: "[HOST…]", Help: "snapshot hosts", Complete: hostNames, Run: act(inventory.Snapshot)},
		{Name: "tag", Args: "TAG [HOST…]", Help: "add a tag to hosts", Run: m.tagCommand(false)},
		{Name: "untag", Args: "TAG [HOST…]", Help: "remove a tag from hosts", Run: m.tagCommand(true)},
		{Name: "destroy", Args: "[HOST…]", Help: "destroy hosts (type the name to confirm)", Complete: hostNames,
			Run: func(args []string) (tea.Cmd, error) {
				hosts, err := m.hosts(args)
				if err != nil {
					return nil, err
				}
				return m.PlanDestroy(hosts, ""), nil
			}},
		{Name: "destroy-tag", Args: "TAG", Help: "destroy every host with a tag (lists them first)",
			Run: func(args []string) (tea.Cmd, error) {
				if len(args) != 1 {
					return nil, errors.New("destroy-tag takes one tag: :destroy-tag TAG")
				}
				return m.PlanDestroy(nil, args[0]), nil
			}},
	}
	specs = append(specs, m.volumeCommands()...)
	specs = append(specs, m.refreshCommands()...)
	specs = append(specs, m.netCommands(hostNames)...)
	if m.Ctx.Services.Playbook != nil {
		specs = append(specs, components.Spec{Name: "exec", Args: "CMD [on HOSTS]",
			Help: "run a shell command on hosts (names separated by commas, tag:T or group:G; without on, the selected hosts): asks first; quote CMD when it holds quotes of its own",
			Run: func(args []string) (tea.Cmd, error) {
				if len(args) == 0 {
					return nil, errors.New("exec takes a command: :exec CMD on HOSTS, e.g. :exec uptime on web-01,web-02")
				}
				return m.Exec(strings.Join(args, " "))
			}})
	}
	return specs
}

func (m *Model) tagCommand(remove bool) func([]string) (tea.Cmd, error) {
	return func(args []string) (tea.Cmd, error) {
		if len(args) == 0 {
			return nil, errors.New("give the tag first: :tag TAG [HOST…]")
		}
		hosts, err := m.hosts(args[1:])
		if err != nil {
			return nil, err
		}
		return m.Tag(args[0], remove, hosts), nil
	}
}

// hosts finds hosts by name, or returns the pane's targets for no names.
func (m *Model) hosts(names []string) ([]inventory.Host, error) {
	if len(names) == 0 {
		t := m.Targets()
		if len(t) == 0 {
			return nil, errors.New("no host: name some, or select them in the Inventory pane")
		}
		return t, nil
	}
	out := make([]inventory.Host, 0, len(names))
	for _, n := range names {
		h, ok := m.state.Host(n)
		if !ok {
			return nil, fmt.Errorf("no host %q in the inventory", n)
		}
		out = append(out, h)
	}
	return out, nil
}
