package logs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigilops/vigil/internal/testclock"
	"github.com/vigilops/vigil/ops/release"
)

func TestBufferKeepsTheLastLinesAndCountsDropped(t *testing.T) {
	b := NewBuffer(3)
	if b.Cap() != 3 || b.Len() != 0 {
		t.Fatalf("new buffer: cap %d len %d", b.Cap(), b.Len())
	}
	for i := range 7 {
		b.Append(Line{Text: fmt.Sprint(i)})
	}
	var got []string
	b.Lines(0, b.Len(), func(_ int, l Line) bool { got = append(got, l.Text); return true })
	if strings.Join(got, ",") != "4,5,6" || b.Dropped() != 4 {
		t.Fatalf("lines %v, dropped %d; want 4,5,6 and 4", got, b.Dropped())
	}
	if b.At(0).Text != "4" || b.At(2).Text != "6" {
		t.Fatalf("At(0) %q At(2) %q", b.At(0).Text, b.At(2).Text)
	}
	got = nil
	b.Lines(1, 10, func(_ int, l Line) bool { got = append(got, l.Text); return len(got) < 1 })
	if strings.Join(got, ",") != "5" {
		t.Fatalf("Lines(1, 10) stopped after one: %v", got)
	}
	b.Reset()
	if b.Len() != 0 || b.Dropped() != 0 || b.lines != nil {
		t.Fatalf("after Reset: len %d dropped %d, backing array kept: %v", b.Len(), b.Dropped(), b.lines != nil)
	}
	b.Append(Line{Text: "again"})
	if b.At(0).Text != "again" {
		t.Fatalf("after Reset and Append: %q", b.At(0).Text)
	}
	if NewBuffer(0).Cap() != DefaultCapacity {
		t.Fatalf("default capacity %d", NewBuffer(0).Cap())
	}
	defer func() {
		if recover() == nil {
			t.Fatal("At out of range did not panic")
		}
	}()
	b.At(1)
}

func TestBadRegexNamesIt(t *testing.T) {
	_, err := NewFilter("ok", "a(b")
	var bad *BadRegexError
	if !errors.As(err, &bad) || bad.Expr != "a(b" || bad.What != "exclude" {
		t.Fatalf("error %v, want a BadRegexError naming the exclude a(b", err)
	}
	if want := `exclude "a(b" is not a valid regular expression: missing closing ) in "a(b"`; err.Error() != want {
		t.Fatalf("message %q\nwant    %q", err, want)
	}
	if re, err := Compile("highlight", ""); re != nil || err != nil {
		t.Fatalf("empty regex: %v %v, want nil nil", re, err)
	}
}

func TestFilterKeepsEvents(t *testing.T) {
	f, err := NewFilter("500", "health")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		l    Line
		keep bool
	}{
		{Line{Text: "GET / 500"}, true},
		{Line{Text: "GET / 200"}, false},
		{Line{Text: "GET /healthz 500"}, false},
		{Line{Text: "pod api-1 deleted", Kind: KindPodGone}, true},
		{Line{Text: "cannot reach", Kind: KindError}, true},
	} {
		if got := f.Keep(c.l); got != c.keep {
			t.Errorf("Keep(%+v) = %v, want %v", c.l, got, c.keep)
		}
	}
}

// source is a Source that plays back lines and records what it was asked.
type source struct {
	w     Workload
	q     Query
	lines []Line
}

func (s *source) Follow(ctx context.Context, w Workload, q Query) (<-chan Line, error) {
	s.w, s.q = w, q
	ch := make(chan Line, 2)
	go func() {
		defer close(ch)
		for _, l := range s.lines {
			select {
			case ch <- l:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}

func TestServiceResolvesFiltersAndDefaults(t *testing.T) {
	at := testclock.Epoch()
	src := &source{lines: []Line{
		{Pod: "api-1", Text: "started", Kind: KindPodAdded, Time: at},
		{Pod: "api-1", Text: `GET /a 200`, Time: at},
		{Pod: "api-1", Text: `GET /b 500`, Time: at},
		{Pod: "api-1", Text: `GET /healthz 500`, Time: at},
		{Pod: "api-1", Text: "deleted", Kind: KindPodGone, Time: at},
	}}
	svc := New(src, []release.Env{{Name: "prod", Context: "lab", Namespace: "shop-prod"}}, Options{})
	ch, err := svc.Follow(context.Background(), Query{Env: "prod", App: "api", Include: "500", Exclude: "healthz"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for l := range ch {
		got = append(got, l.Kind.String()+":"+l.Text)
	}
	if want := "pod-added:started|line:GET /b 500|pod-gone:deleted"; strings.Join(got, "|") != want {
		t.Fatalf("lines %q, want %q", strings.Join(got, "|"), want)
	}
	if src.w != (Workload{Context: "lab", Namespace: "shop-prod", Name: "api"}) || src.q.Since != DefaultSince {
		t.Fatalf("asked the source for %+v since %s", src.w, src.q.Since)
	}

	configured := New(src, []release.Env{{Name: "prod"}}, Options{Since: time.Hour, BufferLines: 500})
	if _, err := configured.Follow(context.Background(), Query{Env: "prod", App: "api"}); err != nil || src.q.Since != time.Hour || configured.NewBuffer().Cap() != 500 {
		t.Fatalf("configured: since %s (%v), buffer of %d", src.q.Since, err, configured.NewBuffer().Cap())
	}
	if _, err := svc.Follow(context.Background(), Query{Env: "prod", App: "api", Previous: true}); err != nil || src.q.Since != 0 {
		t.Fatalf("previous: since %s (%v), want the whole log", src.q.Since, err)
	}

	for _, c := range []struct {
		q    Query
		want string
	}{
		{Query{Env: "stage", App: "api"}, `no environment "stage" (configured: prod)`},
		{Query{Env: "prod", App: "api", Include: "(["}, `include "([" is not a valid regular expression`},
		{Query{Env: "prod", App: ""}, "no app given"},
		{Query{Env: "prod", App: "api", Since: -time.Second}, "negative"},
	} {
		if _, err := svc.Follow(context.Background(), c.q); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Follow(%+v): %v, want an error with %q", c.q, err, c.want)
		}
	}
}

// A consumer that stops (its ctx ends) does not leave the source blocked.
func TestServiceStopsWithItsContext(t *testing.T) {
	lines := make([]Line, 100)
	for i := range lines {
		lines[i] = Line{Text: "x 500"}
	}
	src := &source{lines: lines}
	svc := New(src, []release.Env{{Name: "prod", Namespace: "prod"}}, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := svc.Follow(ctx, Query{Env: "prod", App: "api", Include: "500"})
	if err != nil {
		t.Fatal(err)
	}
	<-ch
	cancel()
	done := make(chan struct{})
	go func() {
		for range ch {
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the channel was not closed after ctx ended")
	}
}

func TestBufferSearchFindsATime(t *testing.T) {
	at := testclock.Epoch()
	b := NewBuffer(4)
	for i := range 6 { // 2..5 kept
		b.Append(Line{Time: at.Add(time.Duration(i) * time.Second), Text: fmt.Sprint(i)})
	}
	for _, c := range []struct {
		t    time.Time
		want int
	}{
		{at, 0},
		{at.Add(3 * time.Second), 1},
		{at.Add(3500 * time.Millisecond), 2},
		{at.Add(5 * time.Second), 3},
		{at.Add(time.Minute), 4},
	} {
		if got := b.Search(c.t); got != c.want {
			t.Errorf("Search(+%s) = %d, want %d", c.t.Sub(at), got, c.want)
		}
	}
}

func TestNextTakesWhatIsWaiting(t *testing.T) {
	ch := make(chan Line, 10)
	for i := range 5 {
		ch <- Line{Text: fmt.Sprint(i)}
	}
	ctx := context.Background()
	if b, ok := Next(ctx, ch, 3); !ok || len(b) != 3 || b[0].Text != "0" {
		t.Fatalf("first batch %v %v, want 3 lines from 0", b, ok)
	}
	if b, ok := Next(ctx, ch, 0); !ok || len(b) != 2 || b[1].Text != "4" {
		t.Fatalf("second batch %v %v, want the 2 left", b, ok)
	}
	close(ch)
	if b, ok := Next(ctx, ch, 0); ok || b != nil {
		t.Fatalf("after close: %v %v", b, ok)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, ok := Next(cctx, make(chan Line), 0); ok {
		t.Fatal("Next did not end with its ctx")
	}
}
