package incident

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// List polls once and returns the alerts matching filter: the core of
// `vigil alerts`. It fails when the filter is bad or when every configured
// source failed; a single failing source shows in Snapshot.Problems.
func (s *Service) List(ctx context.Context, filter string) (View, *Snapshot, error) {
	ms, err := s.ParseFilter(filter)
	if err != nil {
		return View{}, nil, fmt.Errorf("bad --filter %q: %w", filter, err)
	}
	s.Refresh(ctx)
	snap := s.Snapshot()
	var errs []error
	ok := false
	for _, src := range []struct {
		name string
		st   SourceStatus
	}{{"Prometheus", snap.Prometheus}, {"Alertmanager", snap.Alertmanager}} {
		switch {
		case !src.st.Configured:
		case src.st.Err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", src.name, src.st.Err))
		default:
			ok = true
		}
	}
	if !ok {
		return View{}, snap, errors.Join(errs...)
	}
	return snap.View(ms, ""), snap, nil
}

// Problems describes the sources that failed their last poll, with the age
// of the data still shown at now, e.g. "Alertmanager unreachable, showing
// data from 40s ago, retrying: …".
func (s *Snapshot) Problems(now time.Time) []string {
	var out []string
	for _, src := range []struct {
		name string
		st   SourceStatus
	}{{"Prometheus", s.Prometheus}, {"Alertmanager", s.Alertmanager}} {
		if src.st.Err == nil {
			continue
		}
		if src.st.LastOK.IsZero() {
			out = append(out, fmt.Sprintf("%s unreachable, no data yet, retrying: %v", src.name, src.st.Err))
		} else {
			out = append(out, fmt.Sprintf("%s unreachable, showing data from %s ago, retrying: %v", src.name, src.st.Age(now).Round(time.Second), src.st.Err))
		}
	}
	return out
}

// WriteTable prints alerts as `vigil alerts` shows them.
func WriteTable(w io.Writer, alerts []*Alert, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEVERITY\tALERT\tON\tSTATE\tAGE\tFINGERPRINT\tSUMMARY")
	for _, a := range alerts {
		on := a.Workload
		if on == "" {
			on = a.Host
		}
		state := string(a.State)
		if a.Ack != nil && a.State == Acknowledged {
			state += fmt.Sprintf(" by %s, %s left (silence %s)", a.Ack.Owner, a.Ack.Remaining(now).Round(time.Second), a.Ack.SilenceID)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", orDash(string(a.Severity)), a.Name, orDash(on), state,
			a.Age(now).Round(time.Second), a.Fingerprint, strings.ReplaceAll(a.Annotations["summary"], "\n", " "))
	}
	return tw.Flush()
}

// WriteJSON prints alerts as `vigil alerts --json` shows them: one array.
func WriteJSON(w io.Writer, alerts []*Alert) error {
	if alerts == nil {
		alerts = []*Alert{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(alerts)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
