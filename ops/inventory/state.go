package inventory

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// State is one refresh of the inventory, with the table rows precomputed so
// that a pane renders without formatting or sorting. It is immutable.
type State struct {
	Hosts   []Host // sorted by name, then id
	Rows    []Row  // Rows[i] shows Hosts[i]
	Sizes   []Size
	Volumes map[int][]Volume // by host id
	// MonthlyTotal is the price of every host, in US dollars a month.
	MonthlyTotal float64
	Fetched      time.Time
	// Err is the last refresh's error; the hosts are then from Fetched.
	Err   error
	ErrAt time.Time
}

// Row holds a host's cells as text.
type Row struct {
	Name, Status, Region, Size, Image, PublicIPv4, PrivateIPv4, Tags, Cost, Volumes string
	// Search is the lower-cased text a filter matches against.
	Search string
}

func newState(hosts []Host, sizes []Size, vols []Volume, now time.Time) *State {
	slices.SortFunc(hosts, func(a, b Host) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return a.ID - b.ID
	})
	st := &State{Hosts: hosts, Rows: make([]Row, len(hosts)), Sizes: sizes, Volumes: map[int][]Volume{}, Fetched: now}
	for _, v := range vols {
		for _, id := range v.HostIDs {
			st.Volumes[id] = append(st.Volumes[id], v)
		}
	}
	price := map[string]float64{}
	for _, s := range sizes {
		price[s.Slug] = s.PriceMonthly
	}
	for i := range hosts {
		h := &hosts[i]
		if h.PriceMonthly == 0 {
			h.PriceMonthly = price[h.Size]
		}
		st.MonthlyTotal += h.PriceMonthly
		st.Rows[i] = row(*h, st.Volumes[h.ID])
	}
	return st
}

func row(h Host, vols []Volume) Row {
	r := Row{
		Name: h.Name, Status: h.Status, Region: h.Region, Size: h.Size, Image: h.Image,
		PublicIPv4: h.PublicIPv4, PrivateIPv4: h.PrivateIPv4, Tags: strings.Join(h.Tags, ","),
		Cost: fmt.Sprintf("$%.2f/mo", h.PriceMonthly),
	}
	if len(vols) > 0 {
		parts := make([]string, len(vols))
		for i, v := range vols {
			parts[i] = fmt.Sprintf("%s %dGB", v.Name, v.SizeGB)
		}
		r.Volumes = strings.Join(parts, ", ")
	}
	r.Search = strings.ToLower(strings.Join([]string{r.Name, r.Status, r.Region, r.Size, r.Image, r.PublicIPv4, r.PrivateIPv4, r.Tags}, " "))
	return r
}

// Host finds a host by name.
func (st *State) Host(name string) (Host, bool) {
	i, ok := slices.BinarySearchFunc(st.Hosts, name, func(h Host, n string) int { return strings.Compare(h.Name, n) })
	if !ok {
		return Host{}, false
	}
	return st.Hosts[i], true
}
