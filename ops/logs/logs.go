// Package logs follows the log lines of a workload's pods, as stern does:
// every pod of the workload (or one pod, one container), pods that appear
// added and deleted ones leaving with a line that says so, the previous
// container of a restarted pod on request, include and exclude regexes.
// Source is its port to a cluster; Buffer is the bounded ring a view keeps
// its lines in.
package logs

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"time"

	"github.com/vigilops/vigil/ops/release"
)

// DefaultSince is how far back a follow starts when Query.Since is zero.
const DefaultSince = 15 * time.Minute

// Kind says what a Line is.
type Kind uint8

const (
	// KindLine is a line the container printed.
	KindLine Kind = iota
	// KindPodAdded says a pod's container is now followed (Text names it).
	KindPodAdded
	// KindPodGone says a pod was deleted: its stream ended, the others go on.
	KindPodGone
	// KindError says a stream failed (Text: what, and the time of its last
	// data); the source retries by itself with a backoff.
	KindError
	// KindResumed says a stream that failed is back; the lines missed
	// meanwhile follow.
	KindResumed
)

func (k Kind) String() string {
	switch k {
	case KindLine:
		return "line"
	case KindPodAdded:
		return "pod-added"
	case KindPodGone:
		return "pod-gone"
	case KindError:
		return "error"
	case KindResumed:
		return "resumed"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Line is one line of a container's log, or an event of the follow. Pod
// and Container are shared by every line of a stream (no copy per line).
type Line struct {
	Pod       string
	Container string
	Time      time.Time // when the container printed it (the runtime's time), or when the event happened
	Text      string    // without its trailing newline
	Kind      Kind
}

// Query says which lines to follow.
type Query struct {
	Env       string        // environment name, as configured
	App       string        // the workload (Deployment or StatefulSet) name
	Pod       string        // only this pod of the workload ("": all of them)
	Container string        // only this container ("": all of them)
	Since     time.Duration // lines from this long ago on (0: the service's, DefaultSince unless configured; with Previous, the whole log)
	Follow    bool          // keep streaming (and add pods as they appear) until ctx ends
	Previous  bool          // the previous container of restarted pods instead of the current one
	Include   string        // regex: only lines matching it ("": all)
	Exclude   string        // regex: no line matching it ("": none)
}

// Workload is where a query's lines come from, resolved from its Env.
type Workload struct {
	Context   string // kubeconfig context ("" for the current one)
	Namespace string
	Name      string
}

// Source streams the lines of a workload's pods: the port a cluster
// integration implements.
type Source interface {
	// Follow starts streaming the lines of w's pods that q selects (Pod,
	// Container, Since, Follow, Previous; Include and Exclude are applied
	// by the Service) and returns at once. The channel is closed when every
	// stream has ended: without q.Follow, once the pods' lines are read;
	// with it, only after ctx ends. Lines of one container arrive in order.
	// An error before any stream (no such workload, no cluster) is returned.
	Follow(ctx context.Context, w Workload, q Query) (<-chan Line, error)
}

// BadRegexError is a regex that does not compile.
type BadRegexError struct {
	What string // what it was given as: "--grep", "highlight", ...
	Expr string
	Err  error
}

func (e *BadRegexError) Error() string {
	return fmt.Sprintf("%s %q is not a valid regular expression: %v", e.What, e.Expr, unwrapSyntax(e.Err))
}

func (e *BadRegexError) Unwrap() error { return e.Err }

// unwrapSyntax drops regexp's "error parsing regexp: " prefix: the
// message already says what failed.
func unwrapSyntax(err error) string {
	var se *syntax.Error
	if errors.As(err, &se) {
		return fmt.Sprintf("%s in %q", se.Code, se.Expr)
	}
	return err.Error()
}

// Compile compiles expr, given as what; an empty expr is nil. A regex
// that does not compile is a *BadRegexError naming it.
func Compile(what, expr string) (*regexp.Regexp, error) {
	if expr == "" {
		return nil, nil
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, &BadRegexError{What: what, Expr: expr, Err: err}
	}
	return re, nil
}

// Filter keeps the lines that match Include (when set) and not Exclude
// (when set). Events (pods added or gone, errors) always pass.
type Filter struct {
	Include *regexp.Regexp
	Exclude *regexp.Regexp
}

// NewFilter compiles a filter of include and exclude regexes.
func NewFilter(include, exclude string) (Filter, error) {
	in, err := Compile("include", include)
	if err != nil {
		return Filter{}, err
	}
	ex, err := Compile("exclude", exclude)
	if err != nil {
		return Filter{}, err
	}
	return Filter{Include: in, Exclude: ex}, nil
}

// Keep reports whether l passes the filter.
func (f Filter) Keep(l Line) bool {
	if l.Kind != KindLine {
		return true
	}
	if f.Include != nil && !f.Include.MatchString(l.Text) {
		return false
	}
	return f.Exclude == nil || !f.Exclude.MatchString(l.Text)
}

// Options are the service's settings (config's kubernetes.logs).
type Options struct {
	Since       time.Duration // a query's Since when it has none; 0: DefaultSince
	BufferLines int           // the capacity of NewBuffer's buffers; 0: DefaultCapacity
}

// Service follows the logs of the configured environments' workloads.
type Service struct {
	src  Source
	envs map[string]release.Env
	opts Options
}

// New returns a service reading envs' workloads from src.
func New(src Source, envs []release.Env, opts Options) *Service {
	m := make(map[string]release.Env, len(envs))
	for _, e := range envs {
		m[e.Name] = e
	}
	if opts.Since <= 0 {
		opts.Since = DefaultSince
	}
	if opts.BufferLines <= 0 {
		opts.BufferLines = DefaultCapacity
	}
	return &Service{src: src, envs: m, opts: opts}
}

// NewBuffer returns an empty buffer of the configured capacity, for a view.
func (s *Service) NewBuffer() *Buffer { return NewBuffer(s.opts.BufferLines) }

// Since is how far back a query without one starts.
func (s *Service) Since() time.Duration { return s.opts.Since }

// env returns the environment named name.
func (s *Service) env(name string) (release.Env, error) {
	e, ok := s.envs[name]
	if !ok {
		return e, fmt.Errorf("no environment %q (configured: %s)", name, strings.Join(slices.Sorted(maps.Keys(s.envs)), ", "))
	}
	return e, nil
}

// Follow validates q (its regexes, its env), defaults Since (but for the
// previous container: a crash's last words may be older), and streams
// the lines of q.App in q.Env that pass q's filter. See Source.Follow for
// when the channel closes.
func (s *Service) Follow(ctx context.Context, q Query) (<-chan Line, error) {
	if q.App == "" {
		return nil, fmt.Errorf("no app given")
	}
	f, err := NewFilter(q.Include, q.Exclude)
	if err != nil {
		return nil, err
	}
	e, err := s.env(q.Env)
	if err != nil {
		return nil, err
	}
	if q.Since < 0 {
		return nil, fmt.Errorf("since %s is negative", q.Since)
	}
	if q.Since == 0 && !q.Previous {
		q.Since = s.opts.Since
	}
	in, err := s.src.Follow(ctx, Workload{Context: e.Context, Namespace: e.Namespace, Name: q.App}, q)
	if err != nil {
		return nil, err
	}
	if f.Include == nil && f.Exclude == nil {
		return in, nil
	}
	out := make(chan Line, cap(in))
	go func() {
		defer close(out)
		for l := range in {
			if !f.Keep(l) {
				continue
			}
			select {
			case out <- l:
			case <-ctx.Done():
				// Drain, so the source's streams can end.
				for range in {
				}
				return
			}
		}
	}()
	return out, nil
}

// Next waits for a line of ch and returns it with every line already
// waiting behind it, up to max (0: no limit but the channel's buffer): a
// view takes a follow's lines a batch per message, not one message per line
// (at 2,000 lines a second, a frame gets some thirty). ok is false once ch
// is closed and drained, or ctx ended.
func Next(ctx context.Context, ch <-chan Line, max int) (batch []Line, ok bool) {
	select {
	case l, open := <-ch:
		if !open {
			return nil, false
		}
		batch = append(batch, l)
	case <-ctx.Done():
		return nil, false
	}
	for max <= 0 || len(batch) < max {
		select {
		case l, open := <-ch:
			if !open {
				return batch, true
			}
			batch = append(batch, l)
		default:
			return batch, true
		}
	}
	return batch, true
}

// TimeFormat is how the kubelet writes a line's time (kubectl logs
// --timestamps): RFC 3339 with nine fixed digits, in UTC.
const TimeFormat = "2006-01-02T15:04:05.000000000Z07:00"

// AppendText appends l as stern and vigil logs print it, without colour:
// "pod container " when prefix, the time when timestamps, then the text,
// and a newline. Saving or copying what a view shows gives the same text.
func AppendText(b []byte, l Line, prefix, timestamps bool) []byte {
	if prefix {
		b = append(b, l.Pod...)
		b = append(b, ' ')
		b = append(b, l.Container...)
		b = append(b, ' ')
	}
	if timestamps && !l.Time.IsZero() {
		b = l.Time.UTC().AppendFormat(b, TimeFormat)
		b = append(b, ' ')
	}
	b = append(b, l.Text...)
	return append(b, '\n')
}
