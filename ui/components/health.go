package components

import (
	"time"

	"charm.land/lipgloss/v2"

	"github.com/vigilops/vigil/ops/release"
	"github.com/vigilops/vigil/ui/styles"
)

// HealthMark is the one-cell mark of a health.
func HealthMark(h release.Health) string {
	switch h {
	case release.Healthy:
		return "✓"
	case release.Progressing:
		return "↻"
	case release.Paused:
		return "‖"
	case release.Degraded:
		return "!"
	case release.Stalled:
		return "✗"
	case release.Alerting:
		return "▲"
	}
	return "·"
}

// HealthStyle is the theme's colour of a health.
func HealthStyle(h release.Health, st *styles.Styles) lipgloss.Style {
	switch h {
	case release.Healthy:
		return st.StatusOK
	case release.Progressing, release.Degraded:
		return st.StatusWarn
	case release.Paused:
		return st.StatusUnknown
	case release.Stalled, release.Alerting:
		return st.StatusCrit
	}
	return st.Muted
}

// ConnText says which context is disconnected, since when, and why.
func ConnText(c release.Conn, now time.Time) string {
	name := c.Context
	if name == "" {
		name = "the current kube context"
	}
	s := name + " disconnected"
	if !c.LastData.IsZero() {
		s += ", last data " + Age(now.Sub(c.LastData)) + " ago"
	}
	if c.Err != "" {
		s += ": " + c.Err
	}
	return s
}
