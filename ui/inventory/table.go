package inventory

import (
	"fmt"
	"strconv"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ui/components"
	"github.com/vigilops/vigil/ui/styles"
)

// host is a row of the host table: the host and its rendered cells, from
// one state of the inventory.
type host struct {
	row *inventory.Row
	h   *inventory.Host
}

// newTable declares the host table. Columns are left out, lowest Prio
// first, when the pane is narrow; TAGS and VOLUMES take the width left.
func (m *Model) newTable() *components.Table[host] {
	text := func(title string, width, prio int, v func(r *inventory.Row) string) components.Column[host] {
		return components.Column[host]{Title: title, Min: width, Max: width, Prio: prio, Value: func(x host) string { return v(x.row) }}
	}
	flex := func(c components.Column[host]) components.Column[host] { c.Flex = 1; return c }
	status := text("STATUS", 7, 9, func(r *inventory.Row) string { return r.Status })
	status.Style = func(x host, _ *styles.Styles) lipgloss.Style { return m.statusStyle(x.h.Status) }
	return &components.Table[host]{
		Columns: []components.Column[host]{
			{Title: "", Min: 1, Max: 1, Prio: 11, Value: func(x host) string {
				if m.selected[x.h.ID] {
					return "●"
				}
				return ""
			}},
			text("NAME", 18, 10, func(r *inventory.Row) string { return r.Name }),
			status,
			text("REGION", 6, 6, func(r *inventory.Row) string { return r.Region }),
			text("SIZE", 12, 5, func(r *inventory.Row) string { return r.Size }),
			text("IMAGE", 13, 1, func(r *inventory.Row) string { return r.Image }),
			text("PUBLIC IP", 15, 8, func(r *inventory.Row) string { return r.PublicIPv4 }),
			text("PRIVATE IP", 15, 2, func(r *inventory.Row) string { return r.PrivateIPv4 }),
			flex(text("TAGS", 10, 7, func(r *inventory.Row) string { return r.Tags })),
			{Title: "AGE", Min: 4, Max: 4, Prio: 4, Value: func(x host) string {
				if x.h.Created.IsZero() {
					return ""
				}
				return components.Age(x.h.Age(m.Ctx.Now()))
			}},
			text("COST", 10, 3, func(r *inventory.Row) string { return r.Cost }),
			flex(text("VOLUMES", 10, 0, func(r *inventory.Row) string { return r.Volumes })),
		},
		Key: func(x host) string { return strconv.Itoa(x.h.ID) },
	}
}

// hosts are the state's hosts as table rows.
func hosts(st *inventory.State) []host {
	out := make([]host, len(st.Hosts))
	for i := range st.Hosts {
		out[i] = host{row: &st.Rows[i], h: &st.Hosts[i]}
	}
	return out
}

func (m *Model) statusStyle(status string) lipgloss.Style {
	st := m.Ctx.Styles
	switch status {
	case "active":
		return st.StatusOK
	case "off", "archive":
		return st.StatusCrit
	case "new":
		return st.StatusWarn
	}
	return st.StatusUnknown
}

// detailLines describe the host under the cursor.
func (m *Model) detailLines() []string {
	h, ok := m.Selected()
	if !ok {
		return nil
	}
	st := m.Ctx.Styles
	label := func(s string) string { return st.TableHeader.Render(fmt.Sprintf("%-13s", s)) }
	created := ""
	if !h.Created.IsZero() {
		created = h.Created.In(m.Ctx.Now().Location()).Format("2006-01-02 15:04") + " (" + components.Age(h.Age(m.Ctx.Now())) + " ago)"
	}
	lines := []string{
		label("name") + h.Name + fmt.Sprintf("  (id %d)", h.ID),
		label("status") + m.statusStyle(h.Status).Render(h.Status) + lockNote(h),
		label("region") + h.Region,
		label("size") + h.Size,
		label("image") + h.Image,
		label("public IPv4") + h.PublicIPv4,
		label("private IPv4") + h.PrivateIPv4,
		label("tags") + strings.Join(h.Tags, ", "),
		label("created") + created,
		label("cost") + fmt.Sprintf("$%.2f a month", h.PriceMonthly),
	}
	if h.Protected() {
		lines = append(lines, st.StatusWarn.Render("protected: vigil refuses to destroy this host"))
	}
	if b, ok := m.busy[h.Name]; ok {
		lines = append(lines, st.StatusWarn.Render("in progress: "+b))
	}
	if m.figs.host == h.Name {
		lines = append(lines, m.figureLines(label)...)
	} else { // the host under the cursor changed under the detail: the next refresh reads it
		lines = append(lines, "", st.Muted.Render("node exporter: reading the figures from Prometheus…"))
	}
	lines = append(lines, m.netDetailLines(h, label)...)
	vols := m.state.Volumes[h.ID]
	if len(vols) == 0 {
		lines = append(lines, "", st.Muted.Render("no block-storage volume attached"))
	} else {
		lines = append(lines, "", st.TableHeader.Render("volumes"))
		for _, v := range vols {
			lines = append(lines, fmt.Sprintf("  %s  %d GB  %s  %s", v.Name, v.SizeGB, v.Region, v.Filesystem))
			lines = append(lines, m.snapshotLines(h, v)...)
		}
	}
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, m.Width, "…")
	}
	return lines
}

func lockNote(h inventory.Host) string {
	if h.Locked {
		return "  (locked: an action is in progress)"
	}
	return ""
}
