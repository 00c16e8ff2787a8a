package inventory

import (
	"testing"
	"time"

	"github.com/vigilops/vigil/ui/common"
)

// The refresh tick of a detail that closed, or of an older read, reads
// nothing; that of the open detail reads again.
func TestFiguresTickOnlyWhileOpen(t *testing.T) {
	m := &Model{detail: true}
	m.Ctx = &common.Context{Now: time.Now}
	m.figs.gen = 4
	if cmd := m.onFiguresTick(figuresTickMsg{gen: 3}); cmd != nil {
		t.Fatal("an older read's tick reads")
	}
	m.detail = false
	if cmd := m.onFiguresTick(figuresTickMsg{gen: 4}); cmd != nil {
		t.Fatal("a closed detail's tick reads")
	}
	m.detail = true
	if cmd := m.onFigures(figuresMsg{gen: 3, host: ""}); cmd != nil {
		t.Fatal("an older read's answer is taken")
	}
	if cmd := m.onFigures(figuresMsg{gen: 4, host: ""}); cmd == nil {
		t.Fatal("the open detail's answer schedules no refresh")
	}
}
