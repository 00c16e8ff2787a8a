package access

import (
	"strings"
	"testing"
)

func TestConfirmation(t *testing.T) {
	act := Action{Name: "promote to a protected environment", MinRole: Operator, Mutates: true, Dangerous: true}
	typed := Confirmation{Action: act, Target: "prod/api", Title: "Promote api from preprod to prod?", TypeName: "prod"}
	simple := Confirmation{Action: Action{Name: "expire a silence", Dangerous: true}, Entry: "alert.unack", Target: "silence/x", Title: "Expire silence x?"}
	if !typed.Needed() || (Confirmation{Action: Action{Name: "promote"}}).Needed() {
		t.Fatal("Needed must follow Action.Dangerous")
	}
	if got := typed.Prompt(); got != "Promote api from preprod to prod? Type prod to confirm: " {
		t.Errorf("typed prompt %q", got)
	}
	if got := simple.Prompt(); got != "Expire silence x? [y/N] " {
		t.Errorf("simple prompt %q", got)
	}
	for answer, want := range map[string]bool{"prod\n": true, " prod \n": true, "y\n": false, "Prod\n": false, "prod2\n": false, "": false} {
		if typed.Accepts(answer) != want {
			t.Errorf("typed.Accepts(%q) = %v", answer, !want)
		}
	}
	for answer, want := range map[string]bool{"y\n": true, "Yes\n": true, "n\n": false, "\n": false, "x": false} {
		if simple.Accepts(answer) != want {
			t.Errorf("simple.Accepts(%q) = %v", answer, !want)
		}
	}
	err := typed.Declined("not confirmed")
	if !IsRefusal(err) || !strings.Contains(err.Error(), "promote to a protected environment prod/api: not confirmed") ||
		!strings.Contains(err.Error(), "type prod when asked on a terminal, or pass --yes") {
		t.Errorf("Declined: %v (refusal %v)", err, IsRefusal(err))
	}
	if simple.JournalEntry() != "alert.unack" || typed.JournalEntry() != act.Name {
		t.Errorf("journal entries %q, %q", simple.JournalEntry(), typed.JournalEntry())
	}
}
