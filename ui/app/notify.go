package app

import (
	"fmt"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/vigilops/vigil/ops/incident"
)

// NotifyEvery is the least time between two notifications of one alert
// group (its name and namespace).
const NotifyEvery = time.Minute

// notifier tells a session that opted in of newly firing alerts of the
// configured severities: a desktop notification through its own terminal
// (OSC 9 and OSC 777, which terminals and tmux pass on) and the bell, at
// most one per alert group a minute. It also keeps the count of critical
// alerts the window title shows. Alerts firing when the session opened are
// not news.
type notifier struct {
	on         bool
	severities []string
	started    bool
	seen       map[string]bool      // fingerprints of the firing alerts already told
	last       map[string]time.Time // by group: the last notification
	critical   int
}

func newNotifier(on bool, severities []string) *notifier {
	if len(severities) == 0 {
		severities = []string{string(incident.Critical)}
	}
	return &notifier{on: on, severities: severities, seen: map[string]bool{}, last: map[string]time.Time{}}
}

// snapshot takes the alerts' new state and returns the notification to
// send, if any.
func (n *notifier) snapshot(s *incident.Snapshot, now time.Time) tea.Cmd {
	if s == nil {
		return nil
	}
	n.critical = s.Counts.Critical
	firing := map[string]bool{}
	var news []*incident.Alert
	for _, a := range s.Alerts {
		if a.State != incident.Firing || !slices.Contains(n.severities, string(a.Severity)) {
			continue
		}
		firing[a.Fingerprint] = true
		if !n.seen[a.Fingerprint] {
			n.seen[a.Fingerprint] = true
			news = append(news, a)
		}
	}
	for fp := range n.seen { // resolved ones may fire again, as news
		if !firing[fp] {
			delete(n.seen, fp)
		}
	}
	if !n.started {
		n.started = true
		return nil
	}
	if !n.on {
		return nil
	}
	var told []string
	for _, a := range news {
		group := a.Name + "/" + a.Labels["namespace"]
		if now.Sub(n.last[group]) < NotifyEvery {
			continue
		}
		n.last[group] = now
		where := a.Labels["namespace"]
		if w := a.Labels["deployment"]; w != "" {
			where += "/" + w
		} else if h := a.Host; h != "" {
			where = h
		}
		told = append(told, strings.TrimSpace(fmt.Sprintf("%s %s %s", a.Severity, a.Name, where)))
	}
	if len(told) == 0 {
		return nil
	}
	return tea.Raw(notification("vigil", strings.Join(told, " · ")))
}

// title is the window title: the count of critical alerts, when any.
func (n *notifier) title() string {
	if n.critical == 0 {
		return "vigil"
	}
	return fmt.Sprintf("vigil · %d critical", n.critical)
}

// notification is the escape sequences of a desktop notification, then
// the bell. Text from alerts is cleaned of control characters and of the
// separator OSC 777 uses, so that an alert cannot write escapes of its own.
func notification(title, body string) string {
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == ';' {
				return ' '
			}
			return r
		}, s)
	}
	title, body = clean(title), clean(body)
	return "\x1b]9;" + title + ": " + body + "\x07" + "\x1b]777;notify;" + title + ";" + body + "\x07" + "\a"
}
