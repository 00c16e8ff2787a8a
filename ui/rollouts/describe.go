package rollouts

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	wl "github.com/vigilops/vigil/ops/workload"
	"github.com/vigilops/vigil/ui/components"
)

// page is what the detail shows: the live rollout, or the workload's
// description or YAML, read once when asked.
type page int

const (
	livePage page = iota
	describePage
	yamlPage
)

// describedMsg carries the open workload's description.
type describedMsg struct {
	gen  int
	desc wl.Description
	err  error
}

// showPage shows p of the open workload, reading its description again:
// it is a snapshot, and the key asks for the present one.
func (m *Model) showPage(p page) tea.Cmd {
	svc := m.Ctx.Services.Workload
	if svc == nil {
		return nil
	}
	m.page, m.desc, m.descErr, m.scroll = p, nil, nil, 0
	m.rebuild()
	gen, base, app, env := m.gen, m.Ctx.Base, m.app, m.env
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, ActionTimeout)
		defer cancel()
		d, err := svc.Describe(ctx, app, env)
		return describedMsg{gen: gen, desc: d, err: err}
	}
}

// pageLines draws the description or the YAML.
func (m *Model) pageLines() []string {
	st := m.Ctx.Styles
	what := "describe"
	if m.page == yamlPage {
		what = "YAML"
	}
	title := st.Title.Render(m.app+" in "+m.env) + st.Muted.Render(" · "+what+" · esc: back to the rollout")
	switch {
	case m.descErr != nil:
		return []string{title, st.StatusCrit.Render("cannot read it: " + m.descErr.Error())}
	case m.desc == nil:
		return []string{title, st.Muted.Render("Reading…")}
	case m.page == yamlPage:
		return append([]string{title}, strings.Split(strings.TrimRight(m.desc.YAML, "\n"), "\n")...)
	}
	return append([]string{title}, describe(m.desc, m.Ctx.Now(), st.TableHeader.Render)...)
}

// describe writes d as kubectl describe does, section by section. Env
// vars are names and where their value comes from, never values.
func describe(d *wl.Description, now time.Time, header func(...string) string) []string {
	var out []string
	add := func(format string, a ...any) { out = append(out, fmt.Sprintf(format, a...)) }
	section := func(title string) { out = append(out, "", header(title)) }
	add("%s %s/%s, created %s ago", d.Ref.Kind, d.Ref.Namespace, d.Ref.Name, components.Age(now.Sub(d.Created)))
	add("Selector:  %s", d.Selector)
	add("Strategy:  %s", d.Strategy)
	r := d.Replicas
	add("Replicas:  %d desired · %d updated · %d current · %d ready · %d available", r.Desired, r.Updated, r.Current, r.Ready, r.Available)
	if len(d.Labels) > 0 {
		var ls []string
		for _, k := range slices.Sorted(maps.Keys(d.Labels)) {
			ls = append(ls, k+"="+d.Labels[k])
		}
		add("Labels:    %s", strings.Join(ls, ", "))
	}
	for _, c := range d.Containers {
		kind := "Container"
		if c.Init {
			kind = "Init container"
		}
		section(kind + " " + c.Name)
		add("  Image:      %s", c.Image)
		if len(c.Ports) > 0 {
			add("  Ports:      %s", strings.Join(c.Ports, ", "))
		}
		if len(c.Requests) > 0 || len(c.Limits) > 0 {
			add("  Requests:   %s", resources(c.Requests))
			add("  Limits:     %s", resources(c.Limits))
		}
		for _, p := range []struct {
			name  string
			probe *wl.Probe
		}{{"Liveness", c.Liveness}, {"Readiness", c.Readiness}, {"Startup", c.Startup}} {
			if p.probe != nil {
				add("  %-11s %s", p.name+":", p.probe)
			}
		}
		if len(c.Env) > 0 {
			add("  Env (names only):")
			for _, e := range c.Env {
				if e.From != "" {
					add("    %s  from %s", e.Name, e.From)
				} else {
					add("    %s", e.Name)
				}
			}
		}
		for _, e := range c.EnvFrom {
			line := "  Env from:   " + e.Kind + " " + e.Name
			if e.Prefix != "" {
				line += " (prefix " + e.Prefix + ")"
			}
			out = append(out, line)
		}
		for _, mt := range c.Mounts {
			ro := ""
			if mt.ReadOnly {
				ro = " (read-only)"
			}
			add("  Mount:      %s from %s%s", mt.Path, mt.Volume, ro)
		}
	}
	if len(d.Volumes) > 0 {
		section("Volumes")
		for _, v := range d.Volumes {
			add("  %s  %s %s", v.Name, v.Kind, v.Source)
		}
	}
	if len(d.Claims) > 0 {
		section("Claims")
		for _, c := range d.Claims {
			add("  %s  %s %s %s %s %s", c.Name, c.Phase, c.Capacity, c.StorageClass, strings.Join(c.AccessModes, ","), c.Volume)
		}
	}
	if len(d.Conditions) > 0 {
		section("Conditions")
		for _, c := range d.Conditions {
			add("  %-14s %-7s %s %s", c.Type, c.Status, c.Reason, c.Message)
		}
	}
	if len(d.Owned) > 0 {
		section("Owns")
		for _, o := range d.Owned {
			cur := ""
			if o.Current {
				cur = " (current)"
			}
			add("  %s %s revision %d%s: %d/%d ready, %s old", o.Kind, o.Name, o.Revision, cur, o.Ready, o.Desired, components.Age(now.Sub(o.Created)))
			for _, p := range o.Pods {
				add("    pod %s", p)
			}
		}
	}
	return out
}

// resources reads a requests or limits map: "cpu=100m memory=64Mi", or
// "none".
func resources(r map[string]string) string {
	if len(r) == 0 {
		return "none"
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(r)) {
		out = append(out, k+"="+r[k])
	}
	return strings.Join(out, " ")
}
