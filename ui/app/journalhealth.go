package app

import (
	"errors"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ui/common"
)

// journalHealth is the status bar's name for the shared journal: shown
// only when the journal is PostgreSQL's (audit.backend: postgres), whose
// server may go away while the console runs.
const journalHealth = "journal"

// journalShared reports whether the console shows the journal's health.
func (m *Model) journalShared() bool { return m.ctx.Journal != nil && m.ctx.Journal.Shared() }

// journalHealthNow is the shared journal's health as it stands.
func journalHealthNow(j *audit.Journal, now func() time.Time) common.HealthMsg {
	h := common.HealthMsg{Name: journalHealth, State: common.Healthy}
	if err := j.Writable(); err != nil {
		h.State, h.Err, h.Since = common.Down, err, now()
		var un *audit.UnavailableError
		if errors.As(err, &un) {
			h.Since = un.Since
		}
	}
	return h
}

// journalHealthChanged is the wake of the journal's health subscription.
type journalHealthChanged struct{}

// waitJournal waits for the journal's health to change (no timer: the
// journal says when); nothing once the subscription ends.
func waitJournal(changed <-chan struct{}) tea.Cmd {
	return func() tea.Msg {
		if _, ok := <-changed; !ok {
			return nil
		}
		return journalHealthChanged{}
	}
}
