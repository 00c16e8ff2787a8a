package incident

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigilops/vigil/ops/audit"
	"github.com/vigilops/vigil/ops/release"
)

// Releases is what incident needs of the release service to read the
// revisions of an alert's workload, from its cache; *release.Service is one.
type Releases interface {
	// Locate returns the app and environment of a workload named
	// "namespace/name", as Alert.Workload names it.
	Locate(workload string) (app, env string, ok bool)
	// History returns app's revisions in env, newest first.
	History(app, env string) ([]release.Revision, error)
}

var _ Releases = (*release.Service)(nil)

// Change is one recent change near an alert: a journal entry, a revision
// of its workload, or both when they are the same change. A revision that no
// entry and no annotation of vigil accounts for was made outside vigil
// (`kubectl set image`, `kubectl rollout undo`, a CI pipeline).
type Change struct {
	// Time is the entry's time, else when the revision became the
	// workload's (release.Revision.Since).
	Time time.Time
	// Target is the entry's target, or "env/app" for a revision.
	Target string
	// Entry is the journal's entry; nil for a revision seen only in the
	// cluster.
	Entry *audit.Entry
	// Revision is the revision the change made, nil when none was found.
	Revision *release.Revision
	// byVigil: the revision's annotations say vigil made it, and no
	// later change came between (see RecentChanges).
	byVigil bool
}

// Outside reports whether the change was made outside vigil: a revision
// that neither this journal nor vigil's annotations account for.
func (c *Change) Outside() bool {
	return c.Entry == nil && c.Revision != nil && !c.byVigil
}

// By is who made the change: the journal's actor, or the annotation's for
// a revision made by a vigil whose journal this is not; "" when outside.
func (c *Change) By() string {
	switch {
	case c.Entry != nil:
		return c.Entry.Actor
	case c.Revision != nil && c.byVigil:
		return c.Revision.By
	}
	return ""
}

// What says what changed, in a few words: the entry's action and its
// images, or the revision, its images and its change-cause.
func (c *Change) What() string {
	var b strings.Builder
	if c.Entry != nil {
		b.WriteString(c.Entry.Action + " " + c.Entry.Target)
		if c.Revision != nil {
			fmt.Fprintf(&b, " · revision %d", c.Revision.Number)
		}
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range c.Entry.Parameters {
				if strings.HasPrefix(k, "image.") && !yield(k) {
					return
				}
			}
		}) {
			fmt.Fprintf(&b, " · %s %s", strings.TrimPrefix(k, "image."), strings.Replace(c.Entry.Parameters[k], " -> ", " → ", 1))
		}
		return b.String()
	}
	r := c.Revision
	fmt.Fprintf(&b, "%s revision %d", c.Target, r.Number)
	if r.Restored {
		b.WriteString(" (restored)")
	}
	for _, ct := range r.Containers {
		if !ct.Init {
			b.WriteString(" · " + ct.Name + " " + ct.Image)
		}
	}
	if r.ChangeCause != "" && !c.Outside() {
		b.WriteString(" · " + r.ChangeCause)
	}
	return b.String()
}

// supersededSlack is how much later than a change a revision numbered
// before it may have appeared: timestamps are whole seconds, and the API
// server's clock is not vigil's.
const supersededSlack = 5 * time.Second

// superseded reports whether a revision numbered before r became the
// workload's after at: then what happened at at did not make r. A
// revision brought back by `kubectl rollout undo` keeps the annotations and
// images of its former life, and would otherwise pass for the vigil
// rollback that made it then.
func superseded(r *release.Revision, at time.Time, revs []release.Revision) bool {
	for i := range revs {
		if revs[i].Number < r.Number && revs[i].Since.After(at.Add(supersededSlack)) {
			return true
		}
	}
	return false
}

// matchSlack is how far apart a journal entry and the revision it made
// may be: the entry is written once the API server answered, the
// ReplicaSet appears when the controller gets to it.
const matchSlack = 2 * time.Minute

// RecentChanges lists what changed on the alert's workload and host in
// the last window, newest first: the journal's entries, merged with the
// workload's revisions read from the cluster (so that a change made outside
// vigil shows too). An entry and the revision it made show once. When the
// revisions cannot be read, the journal's changes come back with the error.
func (s *Service) RecentChanges(a *Alert, window time.Duration) ([]Change, error) {
	now := s.o.Now()
	since := now.Add(-window)
	entries, err := s.changes(a, since, now)
	if err != nil {
		return nil, err
	}
	var revs []release.Revision
	target := ""
	if s.o.Releases != nil && a.Workload != "" {
		if app, env, ok := s.o.Releases.Locate(a.Workload); ok {
			target = env + "/" + app
			if revs, err = s.o.Releases.History(app, env); err != nil {
				err = fmt.Errorf("reading the revisions of %s in %s (only the journal's changes are listed): %w", app, env, err)
			}
		}
	}
	out := make([]Change, 0, len(entries)+len(revs))
	used := make([]bool, len(entries))
	for i := range revs {
		r := &revs[i]
		if r.Since.Before(since) || r.Since.After(now.Add(matchSlack)) {
			continue
		}
		c := Change{Time: r.Since, Target: target, Revision: r, byVigil: r.ByVigil() && !superseded(r, r.At, revs)}
		if j := matchEntry(entries, used, target, r, revs); j >= 0 {
			used[j] = true
			c.Time, c.Target, c.Entry = entries[j].Time, entries[j].Target, &entries[j]
		}
		out = append(out, c)
	}
	for j := range entries {
		if !used[j] {
			out = append(out, Change{Time: entries[j].Time, Target: entries[j].Target, Entry: &entries[j]})
		}
	}
	slices.SortStableFunc(out, func(x, y Change) int {
		if c := y.Time.Compare(x.Time); c != 0 {
			return c
		}
		if c := cmp.Compare(seqOf(y), seqOf(x)); c != 0 {
			return c
		}
		return cmp.Compare(numberOf(y), numberOf(x))
	})
	return out, err
}

func numberOf(c Change) int64 {
	if c.Revision == nil {
		return 0
	}
	return c.Revision.Number
}

func seqOf(c Change) uint64 {
	if c.Entry == nil {
		return 0
	}
	return c.Entry.Seq
}

// matchEntry returns the index of the unused journal entry on target that
// made revision r, -1 when none did: a promotion or rollback within
// matchSlack of the revision whose images ("image.NAME": "FROM -> TO") are
// the revision's, and no revision numbered before r came after it. An entry
// journaled before images were (a rollback with only "restored") matches a
// restored revision on time alone.
func matchEntry(entries []audit.Entry, used []bool, target string, r *release.Revision, revs []release.Revision) int {
	best, bestGap := -1, matchSlack
	for j, e := range entries {
		if used[j] || e.Target != target || !makesRevision(e.Action) {
			continue
		}
		gap := e.Time.Sub(r.Since)
		if gap < 0 {
			gap = -gap
		}
		if gap > bestGap || !imagesMatch(e.Parameters, r) || superseded(r, e.Time, revs) {
			continue
		}
		best, bestGap = j, gap
	}
	return best
}

// makesRevision reports whether a journal action changes a workload's pod
// template: a promotion or a rollback.
func makesRevision(action string) bool {
	return strings.HasPrefix(action, release.ActPromote.Name) || action == release.ActRollback.Name
}

func imagesMatch(params map[string]string, r *release.Revision) bool {
	found := false
	for k, v := range params {
		name, ok := strings.CutPrefix(k, "image.")
		if !ok {
			continue
		}
		found = true
		_, to, _ := strings.Cut(v, " -> ")
		has := false
		for _, c := range r.Containers {
			if c.Name == name && c.Image == to {
				has = true
			}
		}
		if !has {
			return false
		}
	}
	return found || r.Restored
}
