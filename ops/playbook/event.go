// Package playbook runs Ansible playbooks against the inventory's hosts and
// follows them live: the dynamic inventory and Prometheus targets built from
// hosts, the events of a run, its progress and per-host recap, the history of
// runs, and the guarded, journaled run, cancel and rerun-failed actions.
package playbook

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Kind is what an event reports.
type Kind string

const (
	KindPlay   Kind = "play"
	KindTask   Kind = "task"
	KindResult Kind = "result" // one host's result of a task
	KindStats  Kind = "stats"  // the recap, at the end
)

// Status is a host's result of one task.
type Status string

const (
	StatusOK          Status = "ok"
	StatusChanged     Status = "changed"
	StatusFailed      Status = "failed"
	StatusSkipped     Status = "skipped"
	StatusUnreachable Status = "unreachable"
)

// Recap is one host's line of the play recap.
type Recap struct {
	OK          int `json:"ok"`
	Changed     int `json:"changed"`
	Unreachable int `json:"unreachable"`
	Failed      int `json:"failures"`
	Skipped     int `json:"skipped"`
	Rescued     int `json:"rescued"`
	Ignored     int `json:"ignored"`
}

// Event is one step of a run, from Ansible's structured output.
type Event struct {
	Seq    int       `json:"seq"`
	Time   time.Time `json:"time"`
	Kind   Kind      `json:"kind"`
	Play   string    `json:"play,omitempty"`
	TaskID string    `json:"task_id,omitempty"`
	Task   string    `json:"task,omitempty"`
	Action string    `json:"action,omitempty"` // the module
	Host   string    `json:"host,omitempty"`
	Status Status    `json:"status,omitempty"`
	Msg    string    `json:"msg,omitempty"`
	Stdout string    `json:"stdout,omitempty"`
	Stderr string    `json:"stderr,omitempty"`
	Diff   string    `json:"diff,omitempty"`
	// Recap is set on the stats event.
	Recap map[string]Recap `json:"recap,omitempty"`
}

// maxField bounds each text field an event keeps, so that one huge command
// output does not fill the history.
const maxField = 64 << 10

func clip(s string) string {
	if len(s) <= maxField {
		return s
	}
	return s[:maxField] + fmt.Sprintf("\n… (%d more bytes cut)", len(s)-maxField)
}

// ErrNotEvent is returned for a line that is not an event (a warning or
// other text among the JSON lines).
var ErrNotEvent = errors.New("not an Ansible event")

type wireTask struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type wireLine struct {
	Event     string                     `json:"_event"`
	Timestamp string                     `json:"_timestamp"`
	Play      *wireTask                  `json:"play"`
	Task      *wireTask                  `json:"task"`
	Hosts     map[string]json.RawMessage `json:"hosts"`
	Stats     map[string]Recap           `json:"stats"`
}

type wireResult struct {
	Action  string          `json:"action"`
	Changed bool            `json:"changed"`
	Msg     json.RawMessage `json:"msg"`
	Stdout  string          `json:"stdout"`
	Stderr  string          `json:"stderr"`
	Diff    json.RawMessage `json:"diff"`
	Skip    string          `json:"skip_reason"`
}

// ParseLine turns one line of the ansible.posix.jsonl stdout callback into
// events: none for events vigil does not follow, one per host for a result.
// A line that is not a JSON object gives ErrNotEvent; a truncated or odd one
// an error naming the problem. It never panics on any input.
func ParseLine(line []byte) ([]Event, error) {
	line = []byte(strings.TrimSpace(string(line)))
	if len(line) == 0 || line[0] != '{' {
		return nil, ErrNotEvent
	}
	var w wireLine
	if err := json.Unmarshal(line, &w); err != nil {
		return nil, fmt.Errorf("unreadable Ansible event: %w", err)
	}
	if w.Event == "" {
		return nil, ErrNotEvent
	}
	t, _ := time.Parse("2006-01-02T15:04:05.999999999Z07:00", w.Timestamp)
	base := Event{Time: t}
	if w.Task != nil {
		base.TaskID, base.Task = w.Task.ID, w.Task.Name
	}
	switch w.Event {
	case "v2_playbook_on_play_start":
		if w.Play == nil {
			return nil, errors.New("play start without a play")
		}
		base.Kind, base.Play = KindPlay, w.Play.Name
		return []Event{base}, nil
	case "v2_playbook_on_task_start", "v2_playbook_on_handler_task_start", "v2_runner_on_start":
		if w.Task == nil {
			return nil, fmt.Errorf("%s without a task", w.Event)
		}
		base.Kind = KindTask
		return []Event{base}, nil
	case "v2_playbook_on_stats":
		base.Kind, base.Recap = KindStats, w.Stats
		if base.Recap == nil {
			base.Recap = map[string]Recap{}
		}
		return []Event{base}, nil
	case "v2_runner_on_ok", "v2_runner_on_failed", "v2_runner_on_skipped", "v2_runner_on_unreachable":
		names := make([]string, 0, len(w.Hosts))
		for h := range w.Hosts {
			names = append(names, h)
		}
		slices.Sort(names)
		out := make([]Event, 0, len(names))
		for _, h := range names {
			var r wireResult
			if err := json.Unmarshal(w.Hosts[h], &r); err != nil {
				return nil, fmt.Errorf("unreadable result for host %s: %w", h, err)
			}
			e := base
			e.Kind, e.Host, e.Action = KindResult, h, r.Action
			e.Msg, e.Stdout, e.Stderr, e.Diff = clip(text(r.Msg)), clip(r.Stdout), clip(r.Stderr), clip(diffText(r.Diff))
			switch w.Event {
			case "v2_runner_on_failed":
				e.Status = StatusFailed
			case "v2_runner_on_skipped":
				e.Status = StatusSkipped
				if e.Msg == "" {
					e.Msg = r.Skip
				}
			case "v2_runner_on_unreachable":
				e.Status = StatusUnreachable
			default:
				e.Status = StatusOK
				if r.Changed {
					e.Status = StatusChanged
				}
			}
			out = append(out, e)
		}
		return out, nil
	}
	return nil, nil
}

// text renders a msg, which modules give as a string or as any JSON value.
func text(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

type wireDiff struct {
	Before       json.RawMessage `json:"before"`
	After        json.RawMessage `json:"after"`
	BeforeHeader string          `json:"before_header"`
	AfterHeader  string          `json:"after_header"`
	Prepared     string          `json:"prepared"`
}

// diffText renders the diff of a result (one object or a list of them) as
// text: the module's prepared diff when it gave one, else before and after.
func diffText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var ds []wireDiff
	if err := json.Unmarshal(raw, &ds); err != nil {
		var d wireDiff
		if err := json.Unmarshal(raw, &d); err != nil {
			return string(raw)
		}
		ds = []wireDiff{d}
	}
	var b strings.Builder
	for _, d := range ds {
		if d.Prepared != "" {
			b.WriteString(d.Prepared)
			continue
		}
		before, after := text(d.Before), text(d.After)
		if before == "" && after == "" {
			continue
		}
		fmt.Fprintf(&b, "--- %s\n+++ %s\n", or(d.BeforeHeader, "before"), or(d.AfterHeader, "after"))
		for _, l := range lines(before) {
			b.WriteString("-" + l + "\n")
		}
		for _, l := range lines(after) {
			b.WriteString("+" + l + "\n")
		}
	}
	return b.String()
}

func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
