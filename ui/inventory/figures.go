package inventory

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/vigilops/vigil/ops/inventory"
	"github.com/vigilops/vigil/ui/components"
)

// The host detail's figures are read when it opens, then every
// figuresEvery while it stays open; a read gives up after figuresTimeout.
const (
	figuresEvery   = 30 * time.Second
	figuresTimeout = 10 * time.Second
)

// figuresMsg carries a host's node exporter figures, read for the
// detail's gen-th opening or refresh.
type figuresMsg struct {
	gen  int
	host string
	figs inventory.HostFigures
	err  error
}

// figuresTickMsg asks for the next refresh of read gen.
type figuresTickMsg struct{ gen int }

// figures is what the open detail knows of its host's figures.
type figures struct {
	host    string
	gen     int // of the read in flight or last done; older answers are dropped
	stop    context.CancelFunc
	loaded  bool
	figs    inventory.HostFigures
	err     error
	readAt  time.Time
	reading bool
}

// openDetail shows the host under the cursor and reads its figures.
func (m *Model) openDetail(jumped bool) tea.Cmd {
	m.detail, m.detailOff, m.watching, m.jumped = true, 0, false, jumped
	return tea.Batch(m.readFigures(), m.readSnapshots())
}

// closeDetail leaves the detail and cancels its reads.
func (m *Model) closeDetail() {
	m.detail = false
	m.stopFigures()
}

func (m *Model) stopFigures() {
	m.figs.gen++ // a read still in flight, or its tick, is dropped
	if m.figs.stop != nil {
		m.figs.stop()
		m.figs.stop = nil
	}
	m.figs.reading = false
}

// readFigures reads the figures of the host under the cursor.
func (m *Model) readFigures() tea.Cmd {
	h, ok := m.Selected()
	if !ok {
		return nil
	}
	m.stopFigures()
	if m.figs.host != h.Name {
		m.figs = figures{host: h.Name, gen: m.figs.gen}
	}
	ctx, cancel := context.WithCancel(m.Ctx.Base)
	m.figs.stop, m.figs.reading = cancel, true
	svc, gen, name := m.svc, m.figs.gen, h.Name
	return func() tea.Msg {
		rctx, rcancel := context.WithTimeout(ctx, figuresTimeout)
		defer rcancel()
		f, err := svc.HostFigures(rctx, name)
		return figuresMsg{gen: gen, host: name, figs: f, err: err}
	}
}

func (m *Model) onFigures(msg figuresMsg) tea.Cmd {
	if msg.gen != m.figs.gen || !m.detail || msg.host != m.figs.host {
		return nil
	}
	m.figs.reading = false
	if m.figs.stop != nil {
		m.figs.stop()
		m.figs.stop = nil
	}
	m.figs.err = msg.err
	if msg.err == nil {
		m.figs.figs, m.figs.loaded, m.figs.readAt = msg.figs, true, m.Ctx.Now()
	}
	if errors.Is(msg.err, inventory.ErrNoMetrics) {
		return nil // nothing to refresh from
	}
	gen := m.figs.gen
	return tea.Tick(figuresEvery, func(time.Time) tea.Msg { return figuresTickMsg{gen: gen} })
}

func (m *Model) onFiguresTick(msg figuresTickMsg) tea.Cmd {
	if msg.gen != m.figs.gen || !m.detail {
		return nil
	}
	return m.readFigures()
}

// figureLines draw the host's figures over the last hour, label makes a
// line's label.
func (m *Model) figureLines(label func(string) string) []string {
	st := m.Ctx.Styles
	f := m.figs
	lines := []string{"", st.TableHeader.Render("node exporter · last hour")}
	switch {
	case errors.Is(f.err, inventory.ErrNoMetrics):
		return append(lines, st.StatusWarn.Render("no metrics: "+f.err.Error()))
	case !f.loaded && f.err != nil:
		return append(lines, st.StatusCrit.Render("no metrics: Prometheus did not answer: "+f.err.Error()))
	case !f.loaded:
		return append(lines, st.Muted.Render("reading the figures from Prometheus…"))
	}
	x := f.figs
	now := m.Ctx.Now()
	if f.err != nil {
		lines = append(lines, st.StatusCrit.Render("Prometheus did not answer: "+f.err.Error()+" · figures from "+
			components.Age(now.Sub(f.readAt))+" ago"))
	}
	if !x.Scraped {
		return append(lines, st.StatusWarn.Render("no metrics: Prometheus scrapes no node exporter for this host (a target labelled droplet="+x.Host+")"))
	}
	scrape := "no successful scrape in the last hour"
	if d := x.SinceScrape(now); d >= 0 {
		scrape = "last scrape " + components.Age(d) + " ago"
	}
	state := st.StatusOK.Render("up")
	if !x.Up {
		state = st.StatusCrit.Render("down")
		if x.ScrapeError != "" {
			state += st.StatusCrit.Render(": " + x.ScrapeError)
		}
	}
	lines = append(lines, label("scrape")+x.Instance+" · "+state+" · "+scrape)

	w := max(min(m.Width-13-22, 60), 8)
	row := func(name, value string, s []inventory.Point, lo, hi float64) string {
		if len(s) == 0 {
			return label(name) + st.Muted.Render("no samples in the last hour")
		}
		return label(name) + fmt.Sprintf("%-20s", value) + "  " + st.StatusOK.Render(components.Spark(resample(s, x.Window, w), lo, hi))
	}
	pct := func(s []inventory.Point) string {
		if p, ok := inventory.Last(s); ok {
			return fmt.Sprintf("%3.0f%%", 100*p.Value)
		}
		return "—"
	}
	cpus := ""
	if x.CPUs > 0 {
		cpus = fmt.Sprintf(" of %d CPUs", x.CPUs)
	}
	lines = append(lines, row("CPU", pct(x.CPU)+cpus, x.CPU, 0, 1))
	lines = append(lines, row("memory", pct(x.Memory)+" of "+bytesText(x.MemoryTotal), x.Memory, 0, 1))
	load := "—"
	if p, ok := inventory.Last(x.Load1); ok {
		load = fmt.Sprintf("%.2f", p.Value)
		for _, s := range [][]inventory.Point{x.Load5, x.Load15} {
			if q, ok := inventory.Last(s); ok {
				load += fmt.Sprintf(" %.2f", q.Value)
			}
		}
	}
	lines = append(lines, row("load", load, x.Load1, 0, 0))
	rate := func(s []inventory.Point) string {
		if p, ok := inventory.Last(s); ok {
			return bytesText(p.Value) + "/s"
		}
		return "—"
	}
	if slices.Contains(x.Missing, "network") {
		lines = append(lines, label("network")+st.Muted.Render("not exported by this node exporter (its netdev collector is off)"))
	} else {
		lines = append(lines, row("network rx", rate(x.NetRx), x.NetRx, 0, 0), row("network tx", rate(x.NetTx), x.NetTx, 0, 0))
	}
	for _, d := range x.Disks {
		lines = append(lines, row("disk "+d.Mount, pct(d.Used)+" of "+bytesText(d.Size), d.Used, 0, 1))
	}
	if len(x.Disks) == 0 {
		lines = append(lines, label("disks")+st.Muted.Render("no filesystem in the last hour"))
	}
	if others := slices.DeleteFunc(slices.Clone(x.Missing), func(s string) bool { return s == "network" }); len(others) > 0 {
		lines = append(lines, st.Muted.Render("not exported by this node exporter: "+strings.Join(others, ", ")))
	}
	return lines
}

// resample spreads a series over w cells covering the window, the first
// at its start and the last at its end, each cell the mean of its points;
// a cell without any is NaN (a gap).
func resample(s []inventory.Point, win inventory.Window, w int) []float64 {
	out := make([]float64, w)
	n := make([]int, w)
	span := win.End.Sub(win.Start)
	for _, p := range s {
		i := w - 1
		if span > 0 {
			i = int(math.Round(float64(p.Time.Sub(win.Start)) / float64(span) * float64(w-1)))
		}
		i = max(min(i, w-1), 0)
		out[i] += p.Value
		n[i]++
	}
	for i := range out {
		if n[i] == 0 {
			out[i] = math.NaN()
		} else {
			out[i] /= float64(n[i])
		}
	}
	return out
}

// bytesText is a size in bytes as people read it: 1.5 GiB, 300 B.
func bytesText(v float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", v)
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}
