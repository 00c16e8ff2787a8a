package inventory

import (
	"charm.land/bubbles/v2/key"

	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ops/network"
	"github.com/vigilops/vigil/ops/refresh"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
)

// KeyMap is the Inventory pane's bindings. Actions apply to the selected
// hosts, or to the host under the cursor when none is selected.
type KeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom *common.Binding
	Select, SelectAll, Details, Back        *common.Binding
	Create, PowerOn, PowerOff, PowerCycle   *common.Binding
	Reboot, Resize, Snapshot, Tag, Untag    *common.Binding
	Destroy, Refresh, Progress, RunPlaybook *common.Binding
	SSH, Check                              *common.Binding
	VolumeSnapshot, RestoreSnapshot         *common.Binding // the volumes of the host under the cursor
	DeleteSnapshot                          *common.Binding
	DataRefresh, DeleteOldVolume            *common.Binding // the data refresh view
	// The network view and its sub-views' actions.
	Network, NetPrev, NetNext, NetAdd, NetRemove *common.Binding
	Submit, Cancel                               *common.Binding // in a prompt
}

// NewKeyMap declares the pane's default bindings.
func NewKeyMap() KeyMap {
	return KeyMap{
		Up:              common.NewBinding("inventory.up", "↑/k", "previous host", "up", "k"),
		Down:            common.NewBinding("inventory.down", "↓/j", "next host", "down", "j"),
		PageUp:          common.NewBinding("inventory.page_up", "pgup", "page up", "pgup", "ctrl+u"),
		PageDown:        common.NewBinding("inventory.page_down", "pgdn", "page down", "pgdown", "ctrl+d"),
		Top:             common.NewBinding("inventory.top", "g", "first host", "g", "home"),
		Bottom:          common.NewBinding("inventory.bottom", "G", "last host", "G", "end"),
		Select:          common.NewBinding("inventory.select", "space", "select the host", "space"),
		SelectAll:       common.NewBinding("inventory.select_all", "A", "select every host shown, or none", "A"),
		Details:         common.NewBinding("inventory.details", "enter/d", "host details", "enter", "d"),
		Back:            common.NewBinding("inventory.back", "esc", "back: close details, clear the selection, then the filter", "esc"),
		Create:          common.NewBinding("inventory.create", "n", "new hosts from a template", "n").For(inventory.ActCreate),
		PowerOn:         common.NewBinding("inventory.power_on", "o", "power on", "o").For(inventory.ActPowerOn),
		PowerOff:        common.NewBinding("inventory.power_off", "O", "power off", "O").For(inventory.ActPowerOff),
		PowerCycle:      common.NewBinding("inventory.power_cycle", "C", "power cycle", "C").For(inventory.ActPowerCycle),
		Reboot:          common.NewBinding("inventory.reboot", "b", "reboot", "b").For(inventory.ActReboot),
		Resize:          common.NewBinding("inventory.resize", "R", "resize (powers off)", "R").For(inventory.ActResize),
		Snapshot:        common.NewBinding("inventory.snapshot", "S", "snapshot", "S").For(inventory.ActSnapshot),
		Tag:             common.NewBinding("inventory.tag", "t", "add a tag", "t").For(inventory.ActTag),
		Untag:           common.NewBinding("inventory.untag", "T", "remove a tag", "T").For(inventory.ActUntag),
		Destroy:         common.NewBinding("inventory.destroy", "D", "destroy (type the name)", "D").For(inventory.ActDestroy),
		Refresh:         common.NewBinding("inventory.refresh", "ctrl+r", "refresh from the cloud", "ctrl+r"),
		Progress:        common.NewBinding("inventory.progress", "w", "watch the hosts being created", "w"),
		RunPlaybook:     common.NewBinding("inventory.run", "p", "run a playbook on these hosts", "p"),
		SSH:             common.NewBinding("inventory.ssh", "s", "open a shell", "s").For(inventory.ActSSH),
		VolumeSnapshot:  common.NewBinding("inventory.volume_snapshot", "V", "snapshot the host's volume", "V").For(inventory.ActVolumeSnapshot),
		RestoreSnapshot: common.NewBinding("inventory.restore_snapshot", "U", "restore a volume snapshot into a new volume", "U").For(inventory.ActRestoreSnapshot),
		DataRefresh:     common.NewBinding("inventory.data_refresh", "F", "data refresh: its steps (open or close)", "F"),
		DeleteOldVolume: common.NewBinding("inventory.delete_old_volume", "E", "delete the old data volume a refresh kept (type its name)", "E").For(refresh.ActDeleteOldVolume),
		DeleteSnapshot:  common.NewBinding("inventory.delete_snapshot", "X", "delete a volume snapshot (type its name)", "X").For(inventory.ActDeleteSnapshot),
		Check:           common.NewBinding("inventory.check", "c", "check a port", "c"),
		Network:         common.NewBinding("inventory.network", "N", "network view (firewalls, load balancers, DNS, IPs)", "N"),
		NetPrev:         common.NewBinding("inventory.network_prev", "h/←", "previous network view", "h", "left"),
		NetNext:         common.NewBinding("inventory.network_next", "l/→", "next network view", "l", "right"),
		NetAdd:          common.NewBinding("inventory.network_add", "a", "add a firewall, backend, record or IP", "a").For(network.ActFirewall),
		NetRemove:       common.NewBinding("inventory.network_remove", "del", "remove a firewall, backend, record or IP", "delete").For(network.ActDetachBackend),
		Submit:          common.NewBinding("inventory.submit", "enter", "accept the prompt", "enter"),
		Cancel:          common.NewBinding("inventory.cancel", "esc", "close the prompt", "esc", "ctrl+c"),
	}
}

// Bindings lists every binding of the pane.
func (k KeyMap) Bindings() []*common.Binding { return append(k.PaneBindings(), k.PromptBindings()...) }

// PaneBindings are the bindings of the table and details, which share the
// keyboard with the shell's.
func (k KeyMap) PaneBindings() []*common.Binding {
	return []*common.Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom, k.Select, k.SelectAll,
		k.Details, k.Back, k.Create, k.PowerOn, k.PowerOff, k.PowerCycle, k.Reboot, k.Resize, k.Snapshot,
		k.Tag, k.Untag, k.Destroy, k.Refresh, k.Progress, k.RunPlaybook, k.SSH, k.VolumeSnapshot, k.RestoreSnapshot,
		k.DeleteSnapshot, k.DataRefresh, k.DeleteOldVolume, k.Check, k.Network, k.NetPrev, k.NetNext, k.NetAdd, k.NetRemove}
}

// PromptBindings are those of an open prompt, which takes every key: they
// may reuse the pane's keys (enter, esc).
func (k KeyMap) PromptBindings() []*common.Binding { return []*common.Binding{k.Submit, k.Cancel} }

// ShortHelp implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding {
	return common.Keys(k.Select, k.Details, k.SSH, k.Create, k.RunPlaybook, k.Destroy)
}

// FullHelp implements help.KeyMap.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		common.Keys(k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom),
		common.Keys(k.Select, k.SelectAll, k.Details, k.Back, k.Refresh, k.Progress, k.SSH),
		common.Keys(k.Create, k.PowerOn, k.PowerOff, k.PowerCycle, k.Reboot, k.Resize),
		common.Keys(k.Snapshot, k.Tag, k.Untag, k.Destroy, k.RunPlaybook),
		common.Keys(k.VolumeSnapshot, k.RestoreSnapshot, k.DeleteSnapshot, k.DataRefresh, k.DeleteOldVolume),
		common.Keys(k.Network, k.NetPrev, k.NetNext, k.NetAdd, k.NetRemove, k.Check),
	}
}

// Nav is the bindings that move the cursor and scroll.
func (k KeyMap) Nav() components.Nav {
	return components.Nav{Up: k.Up, Down: k.Down, PageUp: k.PageUp, PageDown: k.PageDown, Top: k.Top, Bottom: k.Bottom}
}

// netHelp is the help of the network view: its own keys first.
type netHelp struct{ k KeyMap }

func (h netHelp) ShortHelp() []key.Binding {
	return common.Keys(h.k.NetAdd, h.k.NetRemove, h.k.Check, h.k.NetNext, h.k.Network)
}

func (h netHelp) FullHelp() [][]key.Binding {
	k := h.k
	return [][]key.Binding{
		common.Keys(k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom),
		common.Keys(k.Network, k.NetPrev, k.NetNext, k.NetAdd, k.NetRemove, k.Check, k.Refresh),
	}
}
