// Package audit is the append-only journal of everything actors do.
package audit

import "time"

// Result of an action as the journal records it.
type Result string

const (
	OK        Result = "ok"
	Failed    Result = "failed"
	Refused   Result = "refused"
	Cancelled Result = "cancelled"
)

// Entry is one journaled action.
type Entry struct {
	// Seq is assigned by the journal; it orders entries written in the same instant.
	Seq uint64 `json:"seq"`
	// ID is the entry's idempotency key in the shared journal (PostgreSQL):
	// an append retried after its answer was lost finds the entry stored
	// rather than writing it twice. The bbolt journal needs none; empty
	// there unless set by the caller.
	ID         string            `json:"id,omitempty"`
	Time       time.Time         `json:"time"`
	Actor      string            `json:"actor"`
	Role       string            `json:"role,omitempty"`
	Key        string            `json:"key,omitempty"` // SSH key fingerprint, when any
	Action     string            `json:"action"`
	Target     string            `json:"target"`
	Parameters map[string]string `json:"parameters,omitempty"`
	Result     Result            `json:"result"`
	Error      string            `json:"error,omitempty"`
}

// Query selects entries; zero fields match everything.
type Query struct {
	Since  time.Time // entries at or after Since
	Until  time.Time // entries before Until
	Actor  string
	Target string // an entry matches when its target equals Target or starts with Target + "/"
	Limit  int    // newest Limit entries; 0 for all
}
