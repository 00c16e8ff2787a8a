package inventory

import (
	"context"
	"errors"
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/vigilops/vigil/ops/access"
	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ui/common"
	"github.com/vigilops/vigil/ui/components"
)

// snapsMsg carries the snapshots of a host's volumes, for its detail.
type snapsMsg struct {
	host  string
	snaps map[string][]inventory.VolumeSnapshot // by volume id
	err   error
}

// volumeSnaps are the snapshots shown in the detail of host.
type volumeSnaps struct {
	host  string
	snaps map[string][]inventory.VolumeSnapshot
	err   error
}

// readSnapshots lists the snapshots of the volumes of the host under the
// cursor, when the cloud has block-storage snapshots.
func (m *Model) readSnapshots() tea.Cmd {
	h, ok := m.Selected()
	if !ok || !m.svc.HasStorage() {
		return nil
	}
	vols := m.state.Volumes[h.ID]
	if len(vols) == 0 {
		return nil
	}
	svc, base := m.svc, m.Ctx.Base
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, planTimeout)
		defer cancel()
		out := map[string][]inventory.VolumeSnapshot{}
		var errs []error
		for _, v := range vols {
			s, err := svc.VolumeSnapshots(ctx, v)
			if err != nil {
				errs = append(errs, err)
			}
			out[v.ID] = s
		}
		return snapsMsg{host: h.Name, snaps: out, err: errors.Join(errs...)}
	}
}

func (m *Model) onSnaps(msg snapsMsg) tea.Cmd {
	m.snaps = volumeSnaps{host: msg.host, snaps: msg.snaps, err: msg.err}
	return nil
}

// snapshotLines list a volume's snapshots under it in the detail.
func (m *Model) snapshotLines(h inventory.Host, v inventory.Volume) []string {
	if m.snaps.host != h.Name || !m.svc.HasStorage() {
		return nil
	}
	st := m.Ctx.Styles
	if m.snaps.err != nil {
		return []string{st.StatusWarn.Render("    snapshots: " + m.snaps.err.Error())}
	}
	snaps := m.snaps.snaps[v.ID]
	if len(snaps) == 0 {
		return []string{st.Muted.Render("    no snapshot: " + m.keys.VolumeSnapshot.Help().Key + " takes one")}
	}
	out := make([]string, 0, len(snaps))
	for _, s := range snaps {
		created := ""
		if !s.Created.IsZero() {
			created = components.Age(m.Ctx.Now().Sub(s.Created)) + " ago"
		}
		out = append(out, fmt.Sprintf("    ◦ %s  %.2f GB  %s  %s", s.Name, s.SizeGB, s.Region, created))
	}
	return out
}

// hostVolume finds the volume to act on: named, or the only one of the
// host under the cursor.
func (m *Model) hostVolume(name string) (inventory.Volume, error) {
	if name != "" {
		for _, vols := range m.state.Volumes {
			for _, v := range vols {
				if v.Name == name || v.ID == name {
					return v, nil
				}
			}
		}
		return inventory.Volume{}, fmt.Errorf("no attached volume %q in the inventory", name)
	}
	h, ok := m.Selected()
	if !ok {
		return inventory.Volume{}, errors.New("no host: move to one with a volume")
	}
	switch vols := m.state.Volumes[h.ID]; len(vols) {
	case 0:
		return inventory.Volume{}, fmt.Errorf("%s has no volume attached", h.Name)
	case 1:
		return vols[0], nil
	default:
		names := make([]string, len(vols))
		for i, v := range vols {
			names[i] = v.Name
		}
		return inventory.Volume{}, fmt.Errorf("%s has %d volumes (%s): name one, :volume-snapshot VOLUME", h.Name, len(vols), strings.Join(names, ", "))
	}
}

func (m *Model) storageReady() error {
	if !m.svc.HasStorage() {
		return errors.New("volume snapshots are not available with this cloud connection")
	}
	return nil
}

// SnapshotVolume takes a snapshot of v called name (empty: VOLUME-DATE).
func (m *Model) SnapshotVolume(v inventory.Volume, name string) tea.Cmd {
	svc, actor := m.svc, m.Ctx.Actor
	return m.snapshotDo("snapshot volume "+v.Name, func(ctx context.Context) (string, error) {
		s, err := svc.TakeVolumeSnapshot(ctx, actor, v, name)
		return "snapshot " + s.Name + " of " + v.Name + " taken", err
	})
}

// DeleteSnapshot deletes a snapshot once its name is typed.
func (m *Model) DeleteSnapshot(name string) tea.Cmd {
	svc, base, actor := m.svc, m.Ctx.Base, m.Ctx.Actor
	ask := m.Ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, planTimeout)
		defer cancel()
		s, err := svc.FindVolumeSnapshot(ctx, name)
		if err != nil {
			return snapshotDoneMsg{what: "delete snapshot " + name, err: err}
		}
		run := snapshotDo(base, "delete snapshot "+s.Name, func(ctx context.Context) (string, error) {
			return "snapshot " + s.Name + " deleted", svc.DeleteVolumeSnapshot(ctx, actor, s)
		})
		conf := access.Confirmation{Action: inventory.ActDeleteSnapshot, Title: "Delete snapshot " + s.Name + "? Type its name to confirm.", TypeName: s.Name}
		body := fmt.Sprintf("The snapshot of volume %s taken %s is deleted for good (%.2f GB, %s).", s.VolumeID, s.Created.Format("2006-01-02 15:04"), s.SizeGB, s.Region)
		return runCmdMsg{cmd: ask.Confirm(conf, body, run)}
	}
}

// RestoreSnapshot creates volume newName from the snapshot called name.
func (m *Model) RestoreSnapshot(name, newName string) tea.Cmd {
	svc, actor := m.svc, m.Ctx.Actor
	return m.snapshotDo("restore snapshot "+name, func(ctx context.Context) (string, error) {
		s, err := svc.FindVolumeSnapshot(ctx, name)
		if err != nil {
			return "", err
		}
		v, err := svc.RestoreVolumeSnapshot(ctx, actor, s, newName, 0)
		return fmt.Sprintf("volume %s (%d GB, %s) created from %s, attached to nothing", v.Name, v.SizeGB, v.Region, s.Name), err
	})
}

// runCmdMsg hands a command built off the update loop (a confirmation that
// needed a lookup first) back to it.
type runCmdMsg struct{ cmd tea.Cmd }

// snapshotDoneMsg ends a snapshot action.
type snapshotDoneMsg struct {
	what, done string
	err        error
}

func (m *Model) snapshotDo(what string, f func(context.Context) (string, error)) tea.Cmd {
	return snapshotDo(m.Ctx.Base, what, f)
}

func snapshotDo(base context.Context, what string, f func(context.Context) (string, error)) tea.Cmd {
	return tea.Sequence(common.ToastCmd(common.Info, what+"…"), func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, actionTimeout)
		defer cancel()
		done, err := f(ctx)
		return snapshotDoneMsg{what: what, done: done, err: err}
	})
}

func (m *Model) onSnapshotDone(msg snapshotDoneMsg) tea.Cmd {
	if msg.err != nil {
		return common.ToastCmd(common.Error, msg.what+": "+msg.err.Error())
	}
	return tea.Batch(common.ToastCmd(common.Success, msg.done), m.readSnapshots())
}

// bindVolumes gives the volume snapshot bindings their handlers.
func (m *Model) bindVolumes() {
	k := m.keys
	k.VolumeSnapshot.Do = func() tea.Cmd {
		if err := m.storageReady(); err != nil {
			return common.ToastCmd(common.Error, err.Error())
		}
		v, err := m.hostVolume("")
		if err != nil {
			return common.ToastCmd(common.Error, err.Error())
		}
		return m.ask("Snapshot volume "+v.Name+": snapshot name (empty: VOLUME-DATE)", "", "", func(s string) tea.Cmd {
			return m.SnapshotVolume(v, strings.TrimSpace(s))
		})
	}
	k.RestoreSnapshot.Do = func() tea.Cmd {
		if err := m.storageReady(); err != nil {
			return common.ToastCmd(common.Error, err.Error())
		}
		return m.ask("Restore: SNAPSHOT NEW-VOLUME-NAME", "a new volume, in the snapshot's region, attached to nothing", m.lastSnapshot()+" ", func(s string) tea.Cmd {
			f := strings.Fields(s)
			if len(f) != 2 {
				return common.ToastCmd(common.Error, "give the snapshot and the new volume's name, e.g. db-data-20261207-101500 db-data-copy")
			}
			return m.RestoreSnapshot(f[0], f[1])
		})
	}
	k.DeleteSnapshot.Do = func() tea.Cmd {
		if err := m.storageReady(); err != nil {
			return common.ToastCmd(common.Error, err.Error())
		}
		return m.ask("Delete the volume snapshot called:", "its name is typed again to confirm", m.lastSnapshot(), func(s string) tea.Cmd {
			return m.DeleteSnapshot(strings.TrimSpace(s))
		})
	}
}

// lastSnapshot is the newest snapshot shown in the open detail, to offer in
// a prompt; "" when none.
func (m *Model) lastSnapshot() string {
	h, ok := m.Selected()
	if !ok || m.snaps.host != h.Name {
		return ""
	}
	for _, v := range m.state.Volumes[h.ID] {
		if s := m.snaps.snaps[v.ID]; len(s) > 0 {
			return s[len(s)-1].Name
		}
	}
	return ""
}

// volumeCommands are the palette's volume snapshot commands.
func (m *Model) volumeCommands() []components.Spec {
	if !m.svc.HasStorage() {
		return nil
	}
	return []components.Spec{
		{Name: "volume-snapshot", Args: "[VOLUME] [NAME]", Help: "snapshot a volume (without VOLUME, the one of the host under the cursor)",
			Run: func(args []string) (tea.Cmd, error) {
				vol, name := "", ""
				if len(args) > 0 {
					vol = args[0]
				}
				if len(args) > 1 {
					name = args[1]
				}
				if len(args) > 2 {
					return nil, errors.New("volume-snapshot takes a volume and a snapshot name: :volume-snapshot VOLUME [NAME]")
				}
				v, err := m.hostVolume(vol)
				if err != nil {
					return nil, err
				}
				return m.SnapshotVolume(v, name), nil
			}},
		{Name: "restore-snapshot", Args: "SNAPSHOT NEW-VOLUME", Help: "create a volume from a volume snapshot, in its region",
			Run: func(args []string) (tea.Cmd, error) {
				if len(args) != 2 {
					return nil, errors.New("restore-snapshot takes a snapshot and the new volume's name: :restore-snapshot SNAPSHOT NEW-VOLUME")
				}
				return m.RestoreSnapshot(args[0], args[1]), nil
			}},
		{Name: "delete-snapshot", Args: "SNAPSHOT", Help: "delete a volume snapshot (type its name to confirm)",
			Run: func(args []string) (tea.Cmd, error) {
				if len(args) != 1 {
					return nil, errors.New("delete-snapshot takes one snapshot name: :delete-snapshot SNAPSHOT")
				}
				return m.DeleteSnapshot(args[0]), nil
			}},
	}
}
