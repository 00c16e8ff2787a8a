package access

import (
	"fmt"
	"strings"
)

// Confirmation is what a dangerous action asks before it runs, the same
// in the console's dialog and on the CLI's terminal: a question naming
// exactly the object the action acts on, and, when that object is
// protected, the name to type. Whether it is asked at all follows from
// the action's declaration (Action.Dangerous).
type Confirmation struct {
	Action Action
	// Entry and Target name the action and its object in the journal, as
	// the ops method records them, so that a confirmation refused is
	// journaled beside the action's other outcomes. Entry defaults to
	// Action.Name.
	Entry, Target string
	// Title is the question: "Promote api from preprod to prod?".
	Title string
	// TypeName, when set, must be typed to confirm (a protected
	// environment's name); otherwise a yes confirms.
	TypeName string
}

// Needed reports whether the action asks before it runs.
func (c Confirmation) Needed() bool { return c.Action.Dangerous }

// JournalEntry is the action's name in the journal.
func (c Confirmation) JournalEntry() string {
	if c.Entry != "" {
		return c.Entry
	}
	return c.Action.Name
}

// Prompt is the question on a line terminal, waiting for the answer on
// the same line: "Promote api from preprod to prod? Type prod to
// confirm: " or "Expire silence 6c1b…? [y/N] ".
func (c Confirmation) Prompt() string {
	if c.TypeName != "" {
		return c.Title + " Type " + c.TypeName + " to confirm: "
	}
	return c.Title + " [y/N] "
}

// Accepts reports whether a line typed in answer confirms: exactly the
// name to type, or else y or yes. Surrounding blanks (the newline) do not
// count.
func (c Confirmation) Accepts(answer string) bool {
	answer = strings.TrimSpace(answer)
	if c.TypeName != "" {
		return answer == c.TypeName
	}
	return strings.EqualFold(answer, "y") || strings.EqualFold(answer, "yes")
}

// Declined refuses the action because its confirmation was not given, for
// why ("not confirmed", "no terminal to ask on"): a Refusal, journaled as
// refused, whose message says how to proceed.
func (c Confirmation) Declined(why string) error {
	how := "answer y"
	if c.TypeName != "" {
		how = "type " + c.TypeName
	}
	return Refuse(fmt.Errorf("%s %s: %s: nothing was done; %s when asked on a terminal, or pass --yes",
		c.Action.Name, c.Target, why, how))
}
