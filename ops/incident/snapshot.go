package incident

import (
	"cmp"
	"slices"
	"time"
)

// Counts are the numbers a tab title shows, over active alerts.
// Critical and Warning count the alerts nobody has acknowledged or
// silenced yet; Acked counts those that are, whatever their severity.
type Counts struct {
	Critical int `json:"critical"`
	Warning  int `json:"warning"`
	Acked    int `json:"acked"`
	Total    int `json:"total"`
}

func (c *Counts) add(a *Alert) {
	if !a.Active() {
		return
	}
	c.Total++
	if a.State == Acknowledged || a.State == Silenced {
		c.Acked++
		return
	}
	switch a.Severity {
	case Critical:
		c.Critical++
	case Warning:
		c.Warning++
	}
}

// Snapshot is the alert list at one instant, sorted once when built.
type Snapshot struct {
	Time time.Time
	// Alerts are sorted: active before resolved, then by severity (most
	// urgent first), then by age (oldest first). An alert that did not
	// change since the previous snapshot is the same pointer.
	Alerts []*Alert
	// Silences are Alertmanager's, active first, then pending, then expired.
	Silences                 []Silence
	Counts                   Counts
	Prometheus, Alertmanager SourceStatus
	byFP                     map[string]*Alert
}

func newSnapshot(now time.Time, active, resolved map[string]*Alert, silences []Silence, prom, am SourceStatus) *Snapshot {
	s := &Snapshot{
		Time:         now,
		Alerts:       make([]*Alert, 0, len(active)+len(resolved)),
		Silences:     slices.Clone(silences),
		Prometheus:   prom,
		Alertmanager: am,
		byFP:         make(map[string]*Alert, len(active)+len(resolved)),
	}
	for _, m := range []map[string]*Alert{active, resolved} {
		for fp, a := range m {
			s.Alerts = append(s.Alerts, a)
			s.byFP[fp] = a
			s.Counts.add(a)
		}
	}
	slices.SortFunc(s.Alerts, compareAlerts)
	slices.SortFunc(s.Silences, compareSilences)
	return s
}

// compareSilences puts active silences first, then pending, then expired,
// each with the latest ending first.
func compareSilences(a, b Silence) int {
	if c := cmp.Compare(silenceRank(a.State), silenceRank(b.State)); c != 0 {
		return c
	}
	return b.EndsAt.Compare(a.EndsAt)
}

func silenceRank(state string) int {
	switch state {
	case "active":
		return 0
	case "pending":
		return 1
	}
	return 2
}

func compareAlerts(a, b *Alert) int {
	if a.Active() != b.Active() {
		if a.Active() {
			return -1
		}
		return 1
	}
	if c := cmp.Compare(b.Severity.Rank(), a.Severity.Rank()); c != 0 {
		return c
	}
	if c := a.StartsAt.Compare(b.StartsAt); c != 0 {
		return c
	}
	return cmp.Compare(a.Fingerprint, b.Fingerprint)
}

// Alert returns the alert with this fingerprint, active or recently resolved.
func (s *Snapshot) Alert(fingerprint string) (*Alert, bool) {
	a, ok := s.byFP[fingerprint]
	return a, ok
}

// Stale reports whether some configured source failed its last poll.
func (s *Snapshot) Stale() bool {
	return s.Prometheus.Err != nil || s.Alertmanager.Err != nil
}

// View is a filtered and grouped look at a snapshot, computed when the data
// or the filter changes, never while drawing.
type View struct {
	// Alerts are the matching alerts in snapshot order.
	Alerts []*Alert
	// Groups partition Alerts by the value of the grouping label; groups
	// are ordered by their first alert, so the most urgent group leads.
	Groups []AlertGroup
	Counts Counts
}

// AlertGroup is the alerts sharing one value of the grouping label.
type AlertGroup struct {
	Label, Value string
	Alerts       []*Alert
	Counts       Counts
}

// View filters the snapshot with matchers (all must match) and groups the
// result by the label groupBy ("alertname" when empty).
func (s *Snapshot) View(filter []Matcher, groupBy string) View {
	if groupBy == "" {
		groupBy = "alertname"
	}
	v := View{Alerts: make([]*Alert, 0, len(s.Alerts))}
	index := map[string]int{}
	for _, a := range s.Alerts {
		if !MatchAll(filter, a.Labels) {
			continue
		}
		v.Alerts = append(v.Alerts, a)
		v.Counts.add(a)
		key := a.Labels[groupBy]
		i, ok := index[key]
		if !ok {
			i = len(v.Groups)
			index[key] = i
			v.Groups = append(v.Groups, AlertGroup{Label: groupBy, Value: key})
		}
		g := &v.Groups[i]
		g.Alerts = append(g.Alerts, a)
		g.Counts.add(a)
	}
	return v
}
