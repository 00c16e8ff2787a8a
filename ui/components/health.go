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

// LockText describes a held lock on what at now: who holds it, through
// which bastion and for what, since when and when it expires (then
// another bastion may take it, even if its holder died): "🔒 web in test
// locked by alice on bastion-a (promote from dev) since 21:54:20 ·
// expires 22:04:20, in 9m".
func LockText(what string, l *release.LockedError, now time.Time) string {
	s := "🔒 " + what + " locked by " + l.Who()
	if !l.Since.IsZero() {
		s += " since " + l.Since.In(now.Location()).Format("15:04:05")
	}
	return s + " · expires " + l.Until.In(now.Location()).Format("15:04:05") + ", in " + Age(l.Until.Sub(now))
}
